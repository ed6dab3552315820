import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { completionsAt, hoverAt, parseTemplate, renderTemplate, FRONT_MATTER_KEYS, VARIABLE_KEYS } from '../../../src/core/template';
import { codes, only, parse, textAt } from '../../helpers/template';

describe('template keys for value plans', () => {
  it('values, step and examples are read into the declaration', () => {
    const t = parse(
      '---',
      'variables:',
      '  risk: { type: number, min: 1, max: 5, values: [1, "3", 5] }',
      '  years: { type: number, min: 0, max: 1, step: 0.25 }',
      '  tone: { max_length: 5, examples: [calm, curt, 42] }',
      '---',
      '<<risk>> <<years>> <<tone>>',
    );
    assert.deepEqual(t.diagnostics, []);
    const byName = (n: string) => t.variables.find((v) => v.name === n)!;
    assert.deepEqual(byName('risk').values, [1, 3, 5]);
    assert.equal(byName('years').step, 0.25);
    assert.deepEqual(byName('tone').examples, ['calm', 'curt', '42']);
  });

  const invalid: [string, string, RegExp][] = [
    ['  x: { type: number, min: 0, max: 10, values: [3, 11] }', '11', /above the maximum 10/],
    ['  x: { type: number, values: [3, three] }', 'three', /expected a number/],
    ['  x: { type: number, values: [3, 3.0] }', '3.0', /listed twice/],
    ['  x: { type: number, values: [] }', '[]', /empty/],
    ['  x: { type: number, values: 3 }', '3', /must be a list/],
    ['  x: { type: text, values: [1] }', '[1]', /only to number variables.*examples/],
    ['  x: { type: number, min: 0, max: 9, step: 0 }', '0', /above 0/],
    ['  x: { type: number, min: 0, max: 9, step: -2 }', '-2', /above 0/],
    ['  x: { type: number, min: 0, step: 2 }', '2', /give both/],
    ['  x: { type: number, min: 0, max: 9, values: [1], step: 2 }', '2', /not used when `values` are listed/],
    ['  x: { type: boolean, step: 2 }', '2', /only to number variables.*true and false/],
    ['  x: { max_length: 4, examples: [calm, chatty] }', 'chatty', /6 characters long, over the limit of 4/],
    ['  x: { examples: [calm, calm] }', 'calm', /listed twice/],
    ['  x: { type: dropdown, options: [a], examples: [a] }', '[a]', /only to text variables.*options/],
    ['  x: { examples: [[a], b] }', '[a]', /single value/],
  ];
  for (const [line, at, message] of invalid) {
    it(`PL006 on ${line.trim()}`, () => {
      const t = parse('---', 'variables:', line, '---', '<<x>>');
      const d = only(t, 'PL006');
      assert.match(d.message, message);
      assert.equal(textAt(t, d.range), at);
      // The offending item itself (the last such text), not an earlier equal one.
      assert.equal(t.lines.offset(d.range.start), t.text.lastIndexOf(at));
    });
  }

  it('an invalid list is left out of the declaration', () => {
    const t = parse('---', 'variables:', '  x: { type: number, max: 2, values: [1, 5] }', '---', '<<x>>');
    assert.equal(t.variables[0]!.values, undefined);
  });

  it('hover and completion explain the new keys', () => {
    for (const key of ['values', 'step', 'examples'] as const) assert.match(VARIABLE_KEYS[key], /plan/);
    assert.match(FRONT_MATTER_KEYS.training_system, /exported training data/);
    const text = ['---', 'training_system: x', 'variables:', '  n: { type: number, min: 0, max: 9, step: 3 }', '---', '<<n>>'].join('\n');
    const t = parseTemplate(text);
    const hover = hoverAt(t, text.indexOf('training_system') + 2)!;
    assert.match(hover.markdown, /^\*\*training_system\*\*: The system message written to exported/);
    assert.match(hoverAt(t, text.indexOf('step') + 1)!.markdown, /^\*\*step\*\*: Spacing/);
    assert.match(hoverAt(t, text.indexOf('  n:') + 2)!.markdown, /- step: 3/);
    const atKey = parseTemplate(['---', 'variables:', '  n:', '    type: number', '    ', '---', '<<n>>'].join('\n'));
    const offset = atKey.text.indexOf('    \n---') + 4;
    const labels = completionsAt(atKey, offset).map((c) => c.label);
    for (const key of ['values', 'step', 'examples']) assert.ok(labels.includes(key), `${key} in ${labels.join(',')}`);
  });
});

describe('training_system', () => {
  const lines = [
    '---',
    'escape: none',
    'system: You write conversations between an advisor and <<persona>>.',
    'training_system: You are an advisor. The client is <<persona>><<if vip ", a VIP">>.',
    'variables:',
    '  persona: {}',
    '  vip: { type: boolean, default: false }',
    '---',
    'Write a conversation with <<persona>>.',
  ];

  it('is parsed like system: nodes, spans and uses', () => {
    const t = parse(...lines);
    assert.deepEqual(t.diagnostics, []);
    assert.equal(t.trainingSystem!.value, 'You are an advisor. The client is <<persona>><<if vip ", a VIP">>.');
    const uses = t.uses.filter((u) => u.in === 'training_system');
    assert.deepEqual(
      uses.map((u) => [u.name, u.role, textAt(t, t.lines.range(u.span))]),
      [
        ['persona', 'value', 'persona'],
        ['vip', 'condition', 'vip'],
      ],
    );
  });

  it('renderTemplate returns it rendered with the same values, beside the generation system prompt', () => {
    const r = renderTemplate(parse(...lines), { persona: 'Ann', vip: 'yes' });
    assert.ok(r.ok);
    assert.equal(r.value.trainingSystem, 'You are an advisor. The client is Ann, a VIP.');
    assert.equal(r.value.system, 'You write conversations between an advisor and Ann.');
    const without = renderTemplate(parse('---', 'system: s <<a>>', '---', '<<a>>'), { a: '1' });
    assert.ok(without.ok);
    assert.equal('trainingSystem' in without.value, false);
  });

  it('values are escaped as in the system prompt', () => {
    const r = renderTemplate(parse('---', 'training_system: Client <<a>>', '---', '<<a>>'), { a: '<b>' });
    assert.ok(r.ok);
    assert.equal(r.value.trainingSystem, 'Client &lt;b&gt;');
  });

  it('an undeclared placeholder in it is PL002 on the name; a variable used only there is not PL003', () => {
    const t = parse('---', 'training_system: You help <<persna>> and <<tone>>.', 'variables:', '  persona: {}', '  tone: {}', '---', '<<persona>>');
    assert.deepEqual(codes(t), ['PL002']);
    const d = only(t, 'PL002');
    assert.equal(textAt(t, d.range), 'persna');
    assert.match(d.message, /did you mean `persona`/i);
  });

  it('block scalars map spans back, and a syntax error in it is reported there', () => {
    const t = parse('---', 'training_system: |', '  Line one.', '  Client <<persona', '---', '<<persona>>');
    const d = only(t, 'PL001');
    assert.equal(d.range.start.line, 3);
  });

  it('must be text', () => {
    const t = parse('---', 'training_system: [a, b]', '---', 'x');
    assert.match(only(t, 'PL006').message, /`training_system` must be text/);
  });
});

describe('the examples of prompt-format.md', () => {
  const doc = readFileSync(join(__dirname, '../../../docs/prompt-format.md'), 'utf8');
  const blocks = [...doc.matchAll(/^```\n(---\n[\s\S]*?)^```$/gm)].map((m) => m[1]!);

  it('parse without diagnostics, and the value-plan example varies what it says', () => {
    assert.ok(blocks.length >= 2, `found ${blocks.length} examples`);
    for (const block of blocks) {
      const t = parseTemplate(block);
      assert.deepEqual(t.diagnostics, [], block);
    }
    const first = parseTemplate(blocks[0]!);
    assert.deepEqual(first.variables.find((v) => v.name === 'investment_amount')!.examples, ['$40,000 in an index fund', '$1.2M across three brokers']);
    assert.ok(first.trainingSystem);
  });
});
