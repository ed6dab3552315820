import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { buildPlan, planKey, type Plan } from '../../../src/core/plan';
import { parse } from '../../helpers/template';
import { marginal, planOf, problemsOf, spreadOf } from './helpers';

/** A template with one dropdown per size: v0 with options a0…, v1 with b0…, and so on. */
function dropdowns(sizes: readonly number[]) {
  const lines = ['---', 'variables:'];
  sizes.forEach((n, i) => {
    const letter = String.fromCharCode(97 + i);
    lines.push(`  v${i}: { type: dropdown, options: [${Array.from({ length: n }, (_, k) => `${letter}${k}`).join(', ')}] }`);
  });
  lines.push('---', sizes.map((_, i) => `<<v${i}>>`).join(' '));
  return parse(...lines);
}

const counts = (plan: Plan) => plan.cells.map((c) => c.count);
const sorted = (m: Map<string, number>) => [...m.values()].sort((a, b) => a - b);

describe('buildPlan: balanced', () => {
  const t = dropdowns([2, 3]);

  it('2×3, N = 6: every combination once', () => {
    const plan = planOf(buildPlan(t, { vary: ['v0', 'v1'], sampling: 'balanced', count: 6 }));
    assert.deepEqual(counts(plan), [1, 1, 1, 1, 1, 1]);
    assert.equal(new Set(plan.cells.map((c) => planKey(c.values))).size, 6);
    assert.equal(plan.conversations, 6);
    assert.deepEqual(plan.varied, ['v0', 'v1']);
  });

  it('2×3, N = 7: one combination twice, values 4/3 and 3/2/2', () => {
    const plan = planOf(buildPlan(t, { vary: ['v0', 'v1'], count: 7 }));
    assert.deepEqual([...counts(plan)].sort(), [1, 1, 1, 1, 1, 2]);
    assert.deepEqual(sorted(marginal(plan, 'v0')), [3, 4]);
    assert.deepEqual(sorted(marginal(plan, 'v1')), [2, 2, 3]);
  });

  it('2×3, N = 4 (fewer than the combinations): 4 distinct combinations, values 2/2 and 2/1/1', () => {
    const plan = planOf(buildPlan(t, { vary: ['v0', 'v1'], count: 4 }));
    assert.deepEqual(counts(plan), [1, 1, 1, 1]);
    assert.deepEqual(sorted(marginal(plan, 'v0')), [2, 2]);
    assert.deepEqual(sorted(marginal(plan, 'v1')), [1, 1, 2]);
  });

  const four = parse(
    '---',
    'personas: [P1, P2, P3, P4, P5]',
    'variables:',
    '  persona: {}',
    '  vip: { type: boolean }',
    '  years: { type: number, min: 0, max: 30, step: 5 }',
    '  tone: { examples: [calm, curt, chatty, formal] }',
    '  note: { default: none }',
    '---',
    '<<persona>> <<vip>> <<years>> <<tone>> <<note>>',
  );

  it('4 variables (5×2×7×4 = 280 combinations), N = 10,000: 200 combinations ×36 and 80 ×35', () => {
    const plan = planOf(buildPlan(four, { vary: 'all', count: 10_000, seed: 42 }));
    assert.deepEqual(plan.varied, ['persona', 'vip', 'years', 'tone']);
    assert.equal(plan.cells.length, 280);
    assert.equal(plan.cells.filter((c) => c.count === 36).length, 200);
    assert.equal(plan.cells.filter((c) => c.count === 35).length, 80);
    assert.equal(plan.conversations, 10_000);
    assert.deepEqual(sorted(marginal(plan, 'persona')), [2000, 2000, 2000, 2000, 2000]);
    assert.deepEqual(sorted(marginal(plan, 'vip')), [5000, 5000]);
    assert.deepEqual(sorted(marginal(plan, 'years')), [1428, 1428, 1428, 1429, 1429, 1429, 1429]);
    assert.deepEqual(sorted(marginal(plan, 'tone')), [2500, 2500, 2500, 2500]);
    for (const cell of plan.cells) assert.equal(cell.values.note, 'none');
  });

  it('4 variables with more combinations (11,000) than conversations (10,000): distinct cells, balanced values', () => {
    const big = dropdowns([10, 10, 11, 10]);
    const plan = planOf(buildPlan(big, { vary: 'all', count: 10_000, seed: 7 }));
    assert.equal(plan.cells.length, 10_000);
    assert.ok(plan.cells.every((c) => c.count === 1));
    assert.equal(new Set(plan.cells.map((c) => planKey(c.values))).size, 10_000);
    assert.deepEqual(sorted(marginal(plan, 'v0')), Array(10).fill(1000));
    assert.deepEqual(sorted(marginal(plan, 'v2')), [909, 909, 909, 909, 909, 909, 909, 909, 909, 909, 910]);
  });

  it('property: each value of each variable within 1 of the others; combinations within 1 while N ≥ C; distinct below', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 400 }), fc.integer(), (sizes, n, seed) => {
        const template = dropdowns(sizes);
        const plan = planOf(buildPlan(template, { vary: 'all', count: n, seed }));
        assert.equal(plan.conversations, n);
        sizes.forEach((size, i) => {
          const m = marginal(plan, `v${i}`);
          const all = Array.from({ length: size }, (_, k) => m.get(`${String.fromCharCode(97 + i)}${k}`) ?? 0);
          assert.ok(spreadOf(all) <= 1, `v${i}: ${all.join(',')}`);
        });
        const combos = sizes.reduce((a, b) => a * b, 1);
        if (n >= combos) {
          assert.equal(plan.cells.length, combos);
          const low = Math.floor(n / combos);
          assert.ok(plan.cells.every((c) => c.count === low || c.count === low + 1));
        } else {
          assert.equal(plan.cells.length, n);
          assert.ok(plan.cells.every((c) => c.count === 1));
        }
        assert.equal(new Set(plan.cells.map((c) => planKey(c.values))).size, plan.cells.length);
      }),
      { numRuns: 300 },
    );
  });

  it('the same seed gives the same plan; seeds choose which values get the extras', () => {
    const a = buildPlan(t, { vary: ['v0', 'v1'], count: 4, seed: 5 });
    const b = buildPlan(t, { vary: ['v0', 'v1'], count: 4, seed: 5 });
    assert.deepEqual(a, b);
    const distinct = new Set(Array.from({ length: 10 }, (_, seed) => JSON.stringify(planOf(buildPlan(t, { vary: ['v0', 'v1'], count: 4, seed })).cells)));
    assert.ok(distinct.size > 1, 'every seed gave the same plan');
  });

  it('cells are listed in domain order', () => {
    const plan = planOf(buildPlan(t, { vary: ['v1', 'v0'], count: 6 }));
    assert.deepEqual(
      plan.cells.map((c) => `${String(c.values.v0)}${String(c.values.v1)}`),
      ['a0b0', 'a0b1', 'a0b2', 'a1b0', 'a1b1', 'a1b2'],
    );
    assert.deepEqual(plan.varied, ['v0', 'v1'], 'declaration order, whatever the order asked');
  });
});

describe('buildPlan: grid and random', () => {
  const t = dropdowns([2, 3]);

  it('grid: every combination, count each', () => {
    const plan = planOf(buildPlan(t, { vary: 'all', sampling: 'grid', count: 3 }));
    assert.deepEqual(counts(plan), [3, 3, 3, 3, 3, 3]);
    assert.equal(plan.conversations, 18);
    assert.equal(new Set(plan.cells.map((c) => planKey(c.values))).size, 6);
  });

  it('grid over 4 variables', () => {
    const plan = planOf(buildPlan(dropdowns([2, 3, 4, 5]), { vary: 'all', sampling: 'grid', count: 2 }));
    assert.equal(plan.cells.length, 120);
    assert.equal(plan.conversations, 240);
    assert.deepEqual(sorted(marginal(plan, 'v3')), [48, 48, 48, 48, 48]);
  });

  it('random: exactly count conversations, merged cells, values from the domains; seeded', () => {
    const t3 = dropdowns([3, 3]);
    const one = planOf(buildPlan(t3, { vary: 'all', sampling: 'random', count: 50, seed: 1 }));
    assert.equal(one.cells.reduce((n, c) => n + c.count, 0), 50);
    assert.equal(one.conversations, 50);
    assert.equal(new Set(one.cells.map((c) => planKey(c.values))).size, one.cells.length);
    assert.ok(one.cells.length <= 9);
    assert.ok(one.cells.every((c) => /^a[0-2]$/.test(String(c.values.v0)) && /^b[0-2]$/.test(String(c.values.v1))));
    assert.deepEqual(planOf(buildPlan(t3, { vary: 'all', sampling: 'random', count: 50, seed: 1 })), one);
    assert.notDeepEqual(planOf(buildPlan(t3, { vary: 'all', sampling: 'random', count: 50, seed: 2 })), one);
  });
});

describe('buildPlan: values not varied, and problems', () => {
  const t = parse(
    '---',
    'personas: [Ann, Skeptical Beginner]',
    'variables:',
    '  persona: { max_length: 10 }',
    '  level: { type: dropdown, options: [low, high] }',
    '  years: { type: number, min: 0, max: 9, default: 3 }',
    '  tone: {}',
    '---',
    '<<persona>> <<level>> <<years>> <<tone>>',
  );

  it('given values and defaults fill the variables not varied, coerced as rendering does', () => {
    const plan = planOf(buildPlan(t, { vary: ['level'], count: 2, given: new Map([['tone', 'calm'], ['persona', 'Bo'], ['level', 'ignored']]) }));
    assert.deepEqual(
      plan.cells.map((c) => c.values),
      [
        { persona: 'Bo', level: 'low', years: 3, tone: 'calm' },
        { persona: 'Bo', level: 'high', years: 3, tone: 'calm' },
      ],
    );
    const withYears = planOf(buildPlan(t, { vary: ['level'], count: 2, given: { tone: 'calm', persona: 'Bo', years: '7' } }));
    assert.ok(withYears.cells.every((c) => c.values.years === 7));
  });

  it('nothing varied: one cell of count conversations', () => {
    const plan = planOf(buildPlan(t, { vary: [], count: 5, given: { tone: 'x', persona: 'Bo', level: 'low' } }));
    assert.deepEqual(plan.cells, [{ values: { persona: 'Bo', level: 'low', years: 3, tone: 'x' }, count: 5 }]);
  });

  it('a cell that does not render is named with its values and the variable', () => {
    const r = buildPlan(t, { vary: ['persona'], count: 4, given: { tone: 'x', level: 'low' } });
    assert.ok(!r.ok);
    assert.equal(r.problems.length, 1);
    assert.equal(r.problems[0]!.variable, 'persona');
    assert.equal(r.problems[0]!.cell, 1);
    assert.equal(r.problems[0]!.message, 'cell 2 (persona="Skeptical Beginner"): persona: is 18 characters long, over the limit of 10');
  });

  it('a missing required value is reported once, not once per cell', () => {
    const r = buildPlan(t, { vary: ['level'], count: 4, given: { persona: 'Bo' } });
    assert.ok(!r.ok);
    assert.deepEqual(
      r.problems.map((p) => [p.variable, p.message]),
      [
        ['tone', 'cell 1 (level="low"): tone: is required but has no value'],
        ['tone', 'cell 2 (level="high"): tone: is required but has no value'],
      ],
    );
  });

  it('a bad or unknown given value is one problem', () => {
    assert.deepEqual(problemsOf(buildPlan(t, { vary: ['level'], count: 4, given: { tone: 'x', persona: 'Bo', years: 12 } })), [
      'The given value of `years` is invalid: 12 is above the maximum 9.',
    ]);
    assert.deepEqual(problemsOf(buildPlan(t, { vary: ['level'], count: 4, given: { tone: 'x', persona: 'Bo', yeras: 1 } })), [
      '`yeras` is not a variable of this template. Did you mean `years`?',
    ]);
  });

  it('PL013 when varying a text variable without examples; vary-all leaves it out', () => {
    const r = buildPlan(t, { vary: ['tone', 'level'], count: 4, given: { persona: 'Bo' } });
    assert.ok(!r.ok);
    assert.equal(r.problems.length, 1);
    assert.equal(r.problems[0]!.diagnostic?.code, 'PL013');
    assert.equal(r.problems[0]!.variable, 'tone');
    const simple = parse('---', 'variables:', '  a: { type: boolean }', '  b: {}', '---', '<<a>><<b>>');
    const all = planOf(buildPlan(simple, { vary: 'all', count: 2, given: { b: 'x' } }));
    assert.deepEqual(all.varied, ['a']);
    assert.deepEqual(all.cells, [
      { values: { a: true, b: 'x' }, count: 1 },
      { values: { a: false, b: 'x' }, count: 1 },
    ]);
  });

  it('an unknown name, a bad count, a plan too large and a template with errors are refused', () => {
    assert.match(problemsOf(buildPlan(t, { vary: ['levle'], count: 1 }))[0]!, /`levle` is not a variable.*Did you mean `level`/);
    assert.match(problemsOf(buildPlan(t, { vary: ['level'], count: 0 }))[0]!, /positive whole number, not 0/);
    assert.match(problemsOf(buildPlan(t, { vary: ['level'], count: 2.5 }))[0]!, /positive whole number, not 2.5/);
    assert.match(problemsOf(buildPlan(t, { vary: ['level'], count: 100_001, given: { tone: 'x', persona: 'Bo' } }))[0]!, /over the limit of 100,000/);
    assert.match(
      problemsOf(buildPlan(dropdowns([50, 50, 50]), { vary: 'all', sampling: 'grid', count: 1 }))[0]!,
      /The grid has over 100,000 combinations, over the limit/,
    );
    assert.match(problemsOf(buildPlan(dropdowns([10, 10]), { vary: 'all', sampling: 'grid', count: 1001 }))[0]!, /100 combinations × 1,001 is 100,100 conversations/);
    assert.match(problemsOf(buildPlan(parse('<<a'), { vary: [], count: 1 }))[0]!, /The template has errors: line 1: PL001/);
  });
});
