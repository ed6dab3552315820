import { strict as assert } from 'node:assert';
import { renderTemplate, type RenderResult } from '../../../src/core/template';
import { codes, only, parse, textAt } from '../../helpers/template';

function prompt(result: RenderResult): string {
  assert.ok(result.ok, JSON.stringify(result));
  return result.value.prompt;
}

describe('body syntax details', () => {
  it('block tags and comments alone on their line take the line with them', () => {
    const t = parse(
      '---',
      'escape: none',
      'variables:',
      '  taxes: { type: boolean, default: false }',
      '---',
      'Start.',
      '<<#if taxes>>',
      'Discuss taxes.',
      '<<else>>',
      '  Do not discuss taxes.',
      '<</if>>',
      '  <<! a note',
      '      over two lines >>  ',
      'End.',
    );
    assert.deepEqual(codes(t), []);
    assert.equal(prompt(renderTemplate(t, {})), 'Start.\n  Do not discuss taxes.\nEnd.');
    assert.equal(prompt(renderTemplate(t, { taxes: true })), 'Start.\nDiscuss taxes.\nEnd.');
  });

  it('tags sharing a line with text keep the line', () => {
    const t = parse('---', 'escape: none', '---', 'A <<#if x>>yes<</if>> B', '<<x>>', '<<#if x>>tail');
    assert.equal(prompt(renderTemplate(parse('A <<#if x>>yes<</if>> B', '<<x>>', 'C'), { x: '1' })), 'A yes B\n1\nC');
    assert.ok(t.hasErrors);
  });

  it('standalone tags work with CRLF line ends', () => {
    const t = parse('a\r\n<<#if x>>\r\nb\r\n<</if>>\r\nc');
    assert.equal(prompt(renderTemplate(t, { x: 'y' })), 'a\r\nb\r\nc');
    assert.equal(prompt(renderTemplate(t, {})), 'a\r\nc');
  });

  it('<<<name>>> keeps the outer angle brackets as text', () => {
    const t = parse('---', 'escape: none', '---', '<<<tag>>> and <<<<x>>');
    assert.deepEqual(codes(t), []);
    assert.equal(prompt(renderTemplate(t, { tag: 'b', x: 'y' })), '<b> and <<y');
  });

  it('inline if texts decode \\" \\\\ \\n \\t and refuse other escapes', () => {
    const t = parse('<<if x "a\\"b\\\\c\\nd\\te" "no">>');
    assert.equal(prompt(renderTemplate(t, { x: 1 })), 'a"b\\c\nd\te');
    const bad = parse('<<if x "a\\qb">>');
    assert.match(only(bad, 'PL010').message, /Unknown escape `\\q`/);
  });

  it('an unterminated quote in an inline if says so', () => {
    const t = parse('<<if x "open>>');
    assert.match(only(t, 'PL001').message, /quoted text in this tag is never closed/);
  });

  it('a quote outside an inline if is not a string', () => {
    const t = parse('<<name" >>');
    assert.equal(textAt(t, only(t, 'PL010').range), '<<name" >>');
  });

  it('one rule decides PL008 (a bad name) and PL010 (an expression) everywhere', () => {
    const cases: [string, 'PL008' | 'PL010', string][] = [
      ['<<first-name>>', 'PL008', 'first-name'],
      ['<<#if first-name>>x<</if>>', 'PL008', 'first-name'],
      ['<<if first-name "x">>', 'PL008', 'first-name'],
      ['<<#if a.b>>x<</if>>', 'PL010', 'a.b'],
      ['<<if a.b "x">>', 'PL010', 'a.b'],
      ['<<if a==b "x">>', 'PL010', 'a==b'],
      ['<<é>>', 'PL008', 'é'],
    ];
    for (const [body, code, at] of cases) {
      const t = parse(body);
      assert.deepEqual(codes(t), [code], body);
      assert.ok(textAt(t, t.diagnostics[0]!.range).includes(at), body);
    }
    assert.match(only(parse('<<#if !vip>>x<</if>>'), 'PL010').message, /use `<<#unless vip>>`/);
  });

  it('allows a space after # in a block tag', () => {
    const t = parse('<<# if a>>x<</if>>');
    assert.deepEqual(codes(t), []);
  });

  it('\\<< stays a literal even before a placeholder', () => {
    const t = parse('---', 'escape: none', '---', 'C:\\<<a>> and <<a>>');
    assert.equal(prompt(renderTemplate(t, { a: 'x' })), 'C:<<a>> and x');
  });

  it('PL009 quotes the placeholder as written', () => {
    assert.match(only(parse('{{ spaced }}'), 'PL009').message, /^`\{\{ spaced \}\}`/);
  });

  it('refuses output over the size limit instead of running out of memory', () => {
    const t = parse('---', 'escape: none', '---', '<<a>>'.repeat(2000));
    const result = renderTemplate(t, { a: 'x'.repeat(20_000) });
    assert.ok(!result.ok);
    assert.match(result.problems[0]!.message, /would be over 32 MB/);
  });
});

describe('system prompt in YAML', () => {
  it('diagnoses the decoded value of a double-quoted scalar, with ranges in the file', () => {
    const t = parse('---', 'system: "Be <<if formal \\"formal\\" \\"casual\\">>. Hi <<who>>."', '---', 'x');
    assert.deepEqual(codes(t), []);
    const r = renderTemplate(t, { who: 'Ann', formal: 'yes' });
    assert.ok(r.ok);
    assert.equal(r.value.system, 'Be formal. Hi Ann.');
    const who = t.uses.find((u) => u.name === 'who')!;
    assert.equal(t.text.slice(who.span.start, who.span.end), 'who');
    const formal = t.uses.find((u) => u.name === 'formal')!;
    assert.equal(t.text.slice(formal.span.start, formal.span.end), 'formal');
  });

  it('finds placeholders that exist only after YAML decoding, pointing at the whole scalar', () => {
    const t = parse('---', 'system: "Hi \\x3C\\x3Cwho>>"', '---', 'x');
    assert.deepEqual(t.variables.map((v) => v.name), ['who']);
    const use = t.uses[0]!;
    assert.equal(t.text.slice(use.span.start, use.span.end), '"Hi \\x3C\\x3Cwho>>"');
    const r = renderTemplate(t, { who: 'Bo' });
    assert.ok(r.ok);
    assert.equal(r.value.system, 'Hi Bo');
  });

  const mapped: [string, string[]][] = [
    ['plain multi-line', ['system: Talk to', '  <<who>> kindly', '  and <<bad']],
    ['single-quoted', ["system: 'It''s <<who>>, <<bad'"]],
    ['block literal', ['system: |', '  Line one.', '  Line <<who>>.', '  <<bad']],
    ['folded', ['system: >-', '  Line one', '  and <<who>>', '  <<bad']],
    ['CRLF block', ['system: |\r', '  Line <<who>>.\r', '  <<bad\r']],
  ];
  for (const [title, lines] of mapped) {
    it(`maps ranges back into a ${title} scalar`, () => {
      const t = parse('---', ...lines, '---', 'x');
      const use = t.uses.find((u) => u.name === 'who')!;
      assert.equal(t.text.slice(use.span.start, use.span.end), 'who');
      assert.equal(textAt(t, only(t, 'PL001').range), '<<bad');
    });
  }
});
