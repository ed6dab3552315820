import { strict as assert } from 'node:assert';
import { completionsAt, definitionAt, fixesFor, hoverAt, outline, renameTargetAt, renameVariable, type TextEdit, type ParsedTemplate } from '../../../src/core/template';
import { parse } from '../../helpers/template';

const TEMPLATE = [
  '---',
  'tier: scenario',
  'system: Speak with <<persona>>.',
  'variables:',
  '  persona:',
  '    type: dropdown',
  '    options: [Anxious Investor, Skeptical Beginner]',
  '    help: Who the client is',
  '  years:',
  '    type: number',
  '    min: 0',
  '    default: 10',
  '---',
  'Hi <<persona>>, <<years>> years.',
  '<<#if years>>',
  'Soon.',
  '<</if>>',
];

/** The offset just after the first occurrence of `marker` (or at `|` within it). */
function at(t: ParsedTemplate, marker: string, nth = 0): number {
  const bar = marker.indexOf('|');
  const needle = marker.replace('|', '');
  let i = -1;
  for (let n = 0; n <= nth; n++) i = t.text.indexOf(needle, i + 1);
  assert.ok(i >= 0, `marker ${marker}`);
  return i + (bar >= 0 ? bar : needle.length);
}

function apply(text: string, edits: readonly TextEdit[]): string {
  return [...edits].sort((a, b) => b.span.start - a.span.start).reduce((s, e) => s.slice(0, e.span.start) + e.newText + s.slice(e.span.end), text);
}

describe('language features (pure)', () => {
  const t = parse(...TEMPLATE);

  it('hover on a placeholder describes the variable', () => {
    const hover = hoverAt(t, at(t, 'Hi <<pers|ona'))!;
    assert.equal(t.text.slice(hover.span.start, hover.span.end), 'persona');
    assert.match(hover.markdown, /^\*\*persona\*\*: dropdown, required/);
    assert.match(hover.markdown, /Who the client is/);
    assert.match(hover.markdown, /options: `Anxious Investor`, `Skeptical Beginner`/);
    const years = hoverAt(t, at(t, '<<ye|ars>>'))!;
    assert.match(years.markdown, /number, optional/);
    assert.match(years.markdown, /default: `10`/);
    assert.match(years.markdown, /min: 0/);
  });

  it('hover on front-matter keys explains them', () => {
    assert.match(hoverAt(t, at(t, 'ti|er:'))!.markdown, /^\*\*tier\*\*: Kind of conversation/);
    assert.match(hoverAt(t, at(t, '    ty|pe: number'))!.markdown, /^\*\*type\*\*: Kind of value/);
    assert.match(hoverAt(t, at(t, '  pers|ona:'))!.markdown, /^\*\*persona\*\*: dropdown/);
    assert.equal(hoverAt(t, at(t, 'Soo|n')), undefined);
  });

  it('go to definition from a use, in the body and in system:', () => {
    for (const marker of ['Hi <<pers|ona', 'with <<pers|ona', '#if ye|ars']) {
      const def = definitionAt(t, at(t, marker))!;
      assert.ok(def, marker);
      assert.equal(t.lines.position(def.start).line, marker.includes('ye') ? 8 : 4);
    }
    assert.equal(definitionAt(parse('<<x>>'), 3), undefined, 'inferred variables have no declaration');
  });

  it('rename changes the declaration and every use', () => {
    const target = renameTargetAt(t, at(t, 'Hi <<pers|ona'))!;
    assert.equal(target.name, 'persona');
    const result = renameVariable(t, 'persona', 'client');
    assert.ok(result.ok);
    const renamed = apply(t.text, result.edits);
    assert.equal((renamed.match(/<<client>>/g) ?? []).length, 2);
    assert.match(renamed, /^ {2}client:$/m);
    assert.doesNotMatch(renamed, /persona/);
    assert.deepEqual(parse(renamed).diagnostics, []);
  });

  it('rename refuses bad or clashing names', () => {
    for (const [name, reason] of [['2x', /not a valid/], ['__proto__', /reserved/], ['years', /already has/]] as const) {
      const result = renameVariable(t, 'persona', name);
      assert.ok(!result.ok);
      assert.match(result.reason, reason);
    }
  });

  it('outline: settings, variables under variables, blocks', () => {
    const items = outline(t);
    assert.deepEqual(items.map((i) => [i.kind, i.name]), [
      ['setting', 'tier'],
      ['setting', 'system'],
      ['setting', 'variables'],
      ['block', '#if years'],
    ]);
    assert.deepEqual(items[2]!.children.map((c) => [c.name, c.detail]), [
      ['persona', 'dropdown'],
      ['years', 'number (optional)'],
    ]);
    const nested = outline(parse('<<#if a>><<#unless b>>x<</unless>><<else>><<#if c>>y<</if>><</if>>'));
    assert.deepEqual(nested[nested.length - 1]!.children.map((c) => c.name), ['#unless b', '#if c']);
  });

  it('completion after <<#if lists booleans, then optional variables, then the rest', () => {
    const t = parse('---', 'variables:', '  topic: { type: text }', '  note: { type: text, default: none }', '  vip: { type: boolean }', '---', 'x <<#if ');
    const items = completionsAt(t, t.text.length);
    const order = [...items].sort((a, b) => (a.sortText ?? '').localeCompare(b.sortText ?? '')).map((c) => c.label);
    assert.deepEqual(order, ['vip', 'note', 'topic']);
  });

  it('the hover on an undeclared variable names it in code, whatever its characters', () => {
    const t = parse('---', 'variables:', '  a: {}', '---', '<<a>> <<__init__>>');
    const hover = hoverAt(t, t.text.indexOf('__init__') + 2)!;
    assert.equal(hover.markdown, '`__init__` is not declared in `variables:`. Declare it there (a quick fix does), or correct the name.');
  });

  describe('quick fixes', () => {
    it('PL009 converts {{x}} to <<x>>', () => {
      const bad = parse('---', 'variables:', '  x: {}', '---', 'Hi {{ x }}');
      const d = bad.diagnostics.find((x) => x.code === 'PL009')!;
      const [fix] = fixesFor(bad, d);
      assert.equal(fix!.title, 'Convert to <<x>>');
      assert.equal(apply(bad.text, fix!.edits), bad.text.replace('{{ x }}', '<<x>>'));
    });

    it('PL007 replaces the misspelled key', () => {
      const bad = parse('---', 'temprature: 0.5', '---', 'x');
      const [fix] = fixesFor(bad, bad.diagnostics[0]!);
      assert.equal(apply(bad.text, fix!.edits), bad.text.replace('temprature', 'temperature'));
    });

    it('PL002 declares the variable (and offers the near name)', () => {
      const bad = parse(...TEMPLATE.slice(0, 13), 'Hi <<persona>> <<years>> <<yeers>> <<budget>>');
      const [yeers, budget] = bad.diagnostics.filter((d) => d.code === 'PL002');
      assert.deepEqual(fixesFor(bad, yeers!).map((f) => f.title), ["Change to 'years'", "Declare 'yeers' in variables:"]);
      const declare = fixesFor(bad, budget!);
      assert.deepEqual(declare.map((f) => [f.title, f.preferred]), [["Declare 'budget' in variables:", true]]);
      const fixed = parse(apply(bad.text, declare[0]!.edits));
      assert.deepEqual(fixed.variables.map((v) => v.name), ['persona', 'years', 'budget']);
      assert.deepEqual(fixed.diagnostics.map((d) => d.code), ['PL002'], 'only yeers is left');
    });

    it('PL004 closes a block left open at the end of the body, and corrects a mismatched closing tag', () => {
      const open = parse('---', 'variables:', '  vip: { type: boolean }', '---', '<<#if vip>>', 'Premium client.', '');
      const never = open.diagnostics.find((d) => d.code === 'PL004')!;
      const [fix] = fixesFor(open, never);
      assert.equal(fix!.title, 'Close with <</if>> at the end');
      const closed = parse(apply(open.text, fix!.edits));
      assert.deepEqual(closed.diagnostics, [], closed.text);
      assert.ok(closed.text.endsWith('Premium client.\n<</if>>\n'), JSON.stringify(closed.text));
      // No final newline: the tag goes on a line of its own all the same.
      const bare = parse('---', 'variables:', '  vip: { type: boolean }', '---', 'A <<#if vip>>B');
      const closedBare = parse(apply(bare.text, fixesFor(bare, bare.diagnostics.find((d) => d.code === 'PL004')!)[0]!.edits));
      assert.deepEqual(closedBare.diagnostics, []);
      const wrong = parse('---', 'variables:', '  vip: { type: boolean }', '---', '<<#if vip>>x<</unless>>');
      const [change] = fixesFor(wrong, wrong.diagnostics.find((d) => d.code === 'PL004')!);
      assert.equal(change!.title, 'Change to <</if>>');
      assert.deepEqual(parse(apply(wrong.text, change!.edits)).diagnostics, []);
    });

    it('PL002 declare works with CRLF and an empty variables block', () => {
      const bad = parseCrlf(['---', 'variables:', '---', '<<a>>']);
      const fix = fixesFor(bad, bad.diagnostics.find((d) => d.code === 'PL002')!)[0]!;
      const fixed = parse(apply(bad.text, fix.edits));
      assert.deepEqual(fixed.diagnostics, []);
      assert.match(fixed.text, /variables:\r\n {2}a:\r\n {4}type: text\r\n---/);
    });
  });

  describe('completion', () => {
    const labels = (offset: number, tpl = t) => completionsAt(tpl, offset).map((c) => c.label);

    it('variable names after <<, with if/else', () => {
      const tpl = parse(...TEMPLATE, 'More <<pe');
      const items = completionsAt(tpl, tpl.text.length);
      assert.deepEqual(items.map((c) => c.label), ['persona', 'years', 'if', 'else']);
      assert.equal(tpl.text.slice(items[0]!.replace.start, items[0]!.replace.end), 'pe');
    });

    it('block keywords after <<# and closers after <</', () => {
      const a = parse(...TEMPLATE, '<<#');
      assert.deepEqual(labels(a.text.length, a), ['if', 'unless']);
      const b = parse(...TEMPLATE, '<</');
      assert.deepEqual(labels(b.text.length, b), ['if', 'unless']);
      const c = parse(...TEMPLATE, '<<#if y');
      assert.deepEqual(labels(c.text.length, c), ['persona', 'years']);
    });

    it('nothing after a literal \\<< or in plain text', () => {
      const tpl = parse(...TEMPLATE, 'x \\<<pe');
      assert.deepEqual(labels(tpl.text.length, tpl), []);
      assert.deepEqual(labels(at(t, 'Soo|n')), []);
    });

    it('front-matter keys not yet present, by nesting level', () => {
      const top = parse('---', 'tier: scenario', 'te', '---', 'x');
      const items = labels(at(top, 'te|\n---'), top);
      assert.ok(items.includes('temperature') && !items.includes('tier') && !items.includes('type'));
      const varKeys = parse('---', 'variables:', '  x:', '    type: text', '    ', '---', '<<x>>');
      const v = labels(at(varKeys, '    |\n---'), varKeys);
      assert.ok(v.includes('default') && v.includes('max_length') && !v.includes('type') && !v.includes('tier'), v.join());
    });

    it('enum values for tier, escape, model and type', () => {
      const cases: [string[], string, string[]][] = [
        [['tier: '], 'tier: |', ['template', 'scenario', 'edge_case']],
        [['escape: x'], 'escape: x|', ['html', 'xml', 'none']],
        [['model: '], 'model: |', ['opus', 'sonnet', 'haiku']],
        [['variables:', '  v:', '    type: '], 'type: |', ['text', 'number', 'dropdown', 'boolean']],
      ];
      for (const [lines, marker, expected] of cases) {
        const tpl = parse('---', ...lines, '---', '<<v>>');
        assert.deepEqual(labels(at(tpl, marker), tpl), expected, marker);
      }
      const custom = parse('---', 'model: ', '---', 'x');
      assert.deepEqual(completionsAt(custom, at(custom, 'model: |'), { modelAliases: ['fast'] }).map((c) => c.label), ['fast']);
    });

    it('placeholders in the system prompt complete like the body', () => {
      const tpl = parse('---', 'system: Hi <<', 'variables:', '  who: {}', '---', '<<who>>');
      assert.deepEqual(labels(at(tpl, 'Hi <<|'), tpl), ['who', 'if', 'else']);
    });
  });
});

function parseCrlf(lines: string[]): ParsedTemplate {
  return parse(lines.join('\r\n'));
}
