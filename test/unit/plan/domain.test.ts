import { strict as assert } from 'node:assert';
import { domainOf, spread, variableDomains } from '../../../src/core/plan';
import { parse, textAt } from '../../helpers/template';

describe('plan domains', () => {
  const t = parse(
    '---',
    'personas: [Anxious Investor, Skeptical Beginner, Anxious Investor]',
    'emotions: [fear]',
    'variables:',
    '  persona: {}',
    '  emotion: { examples: [joy, anger] }',
    '  level: { type: dropdown, options: [low, high] }',
    '  vip: { type: boolean }',
    '  risk: { type: number, min: 1, max: 9, values: [2, 4] }',
    '  years: { type: number, min: 10, max: 20, step: 5 }',
    '  age: { type: number, min: 1, max: 4 }',
    '  tone: {}',
    '  count: { type: number, min: 0 }',
    '---',
    '<<persona>> <<emotion>> <<level>> <<vip>> <<risk>> <<years>> <<age>> <<tone>> <<count>>',
  );
  const values = (name: string) => {
    const r = domainOf(t, name);
    assert.ok(r.ok, name);
    return [r.domain.source, r.domain.values];
  };

  it('dropdown options, booleans, number values and spreads (step default 1)', () => {
    assert.deepEqual(values('level'), ['options', ['low', 'high']]);
    assert.deepEqual(values('vip'), ['boolean', [true, false]]);
    assert.deepEqual(values('risk'), ['values', [2, 4]]);
    assert.deepEqual(values('years'), ['spread', [10, 15, 20]]);
    assert.deepEqual(values('age'), ['spread', [1, 2, 3, 4]]);
  });

  it('persona takes personas: (without repeats); an emotion variable with examples keeps its own', () => {
    assert.deepEqual(values('persona'), ['personas', ['Anxious Investor', 'Skeptical Beginner']]);
    assert.deepEqual(values('emotion'), ['examples', ['joy', 'anger']]);
  });

  it('emotion without examples takes emotions:', () => {
    const e = parse('---', 'emotions: [fear, relief]', '---', '<<emotion>>');
    const r = domainOf(e, 'emotion');
    assert.ok(r.ok);
    assert.deepEqual([r.domain.source, r.domain.values], ['emotions', ['fear', 'relief']]);
  });

  it('PL013 for a text variable without examples, on its declaration, naming it and the fix', () => {
    const r = domainOf(t, 'tone');
    assert.ok(!r.ok);
    assert.equal(r.problem.variable, 'tone');
    const d = r.problem.diagnostic!;
    assert.equal(d.code, 'PL013');
    assert.equal(d.severity, 'error');
    assert.equal(textAt(t, d.range), 'tone');
    assert.equal(d.range.start.line, 11);
    assert.match(d.message, /`tone` is a text variable with no `examples`.*examples: \[/);
  });

  it('PL013 for persona without personas: mentions the list', () => {
    const p = parse('---', 'variables:', '  persona: {}', '---', '<<persona>>');
    const r = domainOf(p, 'persona');
    assert.ok(!r.ok);
    assert.equal(r.problem.diagnostic?.code, 'PL013');
    assert.match(r.problem.message, /`personas:`/);
  });

  it('PL013 for an inferred variable points at its first use', () => {
    const p = parse('Hello <<name>>, <<name>>.');
    const r = domainOf(p, 'name');
    assert.ok(!r.ok);
    assert.equal(textAt(p, r.problem.diagnostic!.range), 'name');
    assert.equal(r.problem.diagnostic!.range.start.character, 8);
    assert.match(r.problem.message, /declare it under `variables:`/);
  });

  it('PL013 for a number without values or both bounds, and for a spread over 1,000 values', () => {
    const r = domainOf(t, 'count');
    assert.ok(!r.ok);
    assert.equal(r.problem.diagnostic?.code, 'PL013');
    assert.match(r.problem.message, /neither `values` nor both `min` and `max`/);
    const big = parse('---', 'variables:', '  n: { type: number, min: 0, max: 100000 }', '---', '<<n>>');
    const b = domainOf(big, 'n');
    assert.ok(!b.ok);
    assert.match(b.problem.message, /100,001 values, over the limit of 1,000: set a larger `step`/);
    const fine = parse('---', 'variables:', '  n: { type: number, min: 0, max: 100000, step: 200 }', '---', '<<n>>');
    const f = domainOf(fine, 'n');
    assert.ok(f.ok);
    assert.equal(f.domain.values.length, 501);
    assert.equal(f.domain.values[500], 100000);
  });

  it('an unknown name is a problem with a suggestion, not PL013', () => {
    const r = domainOf(t, 'tonne');
    assert.ok(!r.ok);
    assert.equal(r.problem.diagnostic, undefined);
    assert.match(r.problem.message, /`tonne` is not a variable.*Did you mean `tone`/);
  });

  it('spreads keep decimal steps exact and stop at max', () => {
    assert.deepEqual(spread(0, 0.3, 0.1), { ok: true, values: [0, 0.1, 0.2, 0.3] });
    assert.deepEqual(spread(1, 2, 0.4), { ok: true, values: [1, 1.4, 1.8] });
    assert.deepEqual(spread(-1, 1, 1), { ok: true, values: [-1, 0, 1] });
    assert.deepEqual(spread(5, 5, 3), { ok: true, values: [5] });
    assert.equal(spread(0, 1000, 1).ok, false);
    assert.equal(spread(0, 999, 1).ok, true);
  });

  it('variableDomains lists every variable for the plan step, varyable or not', () => {
    const list = variableDomains(t);
    assert.deepEqual(
      list.map((v) => [v.name, v.canVary, v.domain?.values.length ?? null, v.problem?.diagnostic?.code ?? null]),
      [
        ['persona', true, 2, null],
        ['emotion', true, 2, null],
        ['level', true, 2, null],
        ['vip', true, 2, null],
        ['risk', true, 2, null],
        ['years', true, 3, null],
        ['age', true, 4, null],
        ['tone', false, null, 'PL013'],
        ['count', false, null, 'PL013'],
      ],
    );
  });
});
