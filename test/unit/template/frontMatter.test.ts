import { strict as assert } from 'node:assert';
import { parseTemplate, renderTemplate } from '../../../src/core/template';
import { codes, only, parse, textAt } from '../../helpers/template';

describe('front matter details', () => {
  it('PL005 for an unclosed flow list or quote points at the line that opened it', () => {
    for (const line of ['name: [unclosed', 'name: "unterminated', 'personas: {a: 1']) {
      const t = parse('---', line, 'tier: scenario', '---', 'x');
      const d = t.diagnostics.find((x) => x.code === 'PL005')!;
      assert.ok(d, line);
      assert.equal(textAt(t, d.range), line, line);
    }
  });

  it('a broken alias is PL005 at the alias, reported once', () => {
    const t = parse('---', 'system: *nope', '---', 'x');
    assert.deepEqual(codes(t), ['PL005']);
    assert.equal(textAt(t, t.diagnostics[0]!.range), '*nope');
  });

  it('YAML merge keys fill in variable settings without overriding them', () => {
    const t = parse(
      '---',
      'variables:',
      '  age: &num { type: number, min: 0, max: 100, default: 30 }',
      '  score: { <<: *num, default: 50 }',
      '---',
      '<<age>> <<score>>',
    );
    assert.deepEqual(t.diagnostics, []);
    const score = t.variables.find((v) => v.name === 'score')!;
    assert.deepEqual([score.type, score.min, score.max, score.default], ['number', 0, 100, 50]);
    const r = renderTemplate(t, { score: '101' });
    assert.ok(!r.ok);
    assert.match(r.problems[0]!.message, /above the maximum 100/);
  });

  it('many aliases stay linear', () => {
    const aliases = Array.from({ length: 12_000 }, () => '*x').join(', ');
    const t = parse('---', 'name: &x a', `personas: [${aliases}]`, '---', 'x');
    assert.equal(t.settings.personas.length, 12_000);
  });

  it('`...` closes front matter, as YAML’s end-of-document marker', () => {
    const t = parse('---', 'tier: scenario', '...', 'Body <<x>>');
    assert.deepEqual(codes(t), []);
    assert.equal(t.settings.tier, 'scenario');
    assert.equal(t.text.slice(t.body.span.start), 'Body <<x>>');
  });

  it('PL012 when front matter is pushed down by blank lines', () => {
    const t = parse('', '  ', '---', 'tier: scenario', '---', 'Body');
    const d = only(t, 'PL012');
    assert.equal(d.severity, 'warning');
    assert.equal(textAt(t, d.range), '---');
    assert.deepEqual(d.range.start, { line: 2, character: 0 });
  });

  it('checks the model against the aliases and Claude ids', () => {
    assert.deepEqual(codes(parse('---', 'model: sonnet', '---', 'x')), []);
    assert.deepEqual(codes(parse('---', 'model: claude-sonnet-4-5-20250929', '---', 'x')), []);
    const d = only(parse('---', 'model: sonet', '---', 'x'), 'PL006');
    assert.match(d.message, /Did you mean `sonnet`\?/);
    assert.equal(only(parse('---', 'model: gpt-4o', '---', 'x'), 'PL006').severity, 'error');
    const custom = parseTemplate('---\nmodel: fast\n---\nx', { modelAliases: ['fast'] });
    assert.deepEqual(custom.diagnostics, []);
    assert.equal(custom.settings.model, 'fast');
  });

  it('duplicate dropdown options', () => {
    const t = parse('---', 'variables:', '  x: { type: dropdown, options: [a, b, a] }', '---', '<<x>>');
    assert.match(only(t, 'PL006').message, /"a" is listed twice/);
  });

  it('an empty enum value points at the key and reads well', () => {
    const t = parse('---', 'tier:', '---', 'x');
    const d = only(t, 'PL006');
    assert.equal(d.message, '`tier` is empty: use one of `template`, `scenario`, `edge_case`.');
    assert.equal(textAt(t, d.range), 'tier');
  });

  it('a list or mapping as a default', () => {
    const t = parse('---', 'variables:', '  a:', '    default: [1, 2]', '---', '<<a>>');
    assert.match(only(t, 'PL006').message, /must be a single value, not a list/);
  });

  it('a variable with malformed settings is still declared: no PL002 cascade', () => {
    const t = parse('---', 'variables:', '  b: text', '---', '<<b>>');
    assert.deepEqual(codes(t), ['PL006']);
  });

  it('suggests keys for shortenings and near misses, but not for unrelated short words', () => {
    const cases: [string, string | undefined][] = [
      ['escaping', 'escape'],
      ['threshold', 'quality_threshold'],
      ['teir', 'tier'],
      ['maxTokens', 'max_tokens'],
      ['zzzz', undefined],
    ];
    for (const [key, suggestion] of cases) {
      const d = only(parse('---', `${key}: 1`, '---', 'x'), 'PL007');
      assert.equal(d.data?.suggestion, suggestion, key);
    }
    const t = parse('---', 'variables:', '  a: {}', '---', '<<a>><<b>>');
    assert.doesNotMatch(only(t, 'PL002').message, /Did you mean/);
  });
});
