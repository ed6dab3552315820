import { strict as assert } from 'node:assert';
import { buildPlan, planKey, remainingPlan } from '../../../src/core/plan';
import { renderTemplate } from '../../../src/core/template';
import { parse } from '../../helpers/template';
import { planOf } from './helpers';

describe('planKey and remainingPlan', () => {
  it('planKey is canonical JSON with sorted keys', () => {
    assert.equal(planKey({ b: 1, a: 'x', c: true }), '{"a":"x","b":1,"c":true}');
    assert.equal(planKey({ c: true, a: 'x', b: 1 }), planKey({ b: 1, c: true, a: 'x' }));
    assert.notEqual(planKey({ a: 1 }), planKey({ a: '1' }));
    assert.equal(planKey({}), '{}');
  });

  it("a cell's key is the key of the parameters a conversation rendered with its values stores", () => {
    const t = parse('---', 'variables:', '  n: { type: number, values: [1, 2] }', '  d: { default: x }', '---', '<<n>><<d>>');
    const plan = planOf(buildPlan(t, { vary: ['n'], count: 2 }));
    for (const cell of plan.cells) {
      const r = renderTemplate(t, cell.values);
      assert.ok(r.ok);
      assert.equal(planKey(r.value.parameters), planKey(cell.values));
    }
  });

  it('remainingPlan: what each cell still lacks, complete cells dropped, order kept', () => {
    const cells = [
      { values: { a: 1 }, count: 3 },
      { values: { a: 2 }, count: 3 },
      { values: { a: 3 }, count: 3 },
    ];
    const stored = new Map([
      [planKey({ a: 1 }), 1],
      [planKey({ a: 2 }), 5],
      [planKey({ a: 9 }), 2],
    ]);
    assert.deepEqual(remainingPlan(cells, stored), [
      { values: { a: 1 }, count: 2 },
      { values: { a: 3 }, count: 3 },
    ]);
    assert.deepEqual(remainingPlan(cells, { [planKey({ a: 3 })]: 3 }), [
      { values: { a: 1 }, count: 3 },
      { values: { a: 2 }, count: 3 },
    ]);
    assert.deepEqual(remainingPlan(cells, {}), cells);
  });
});
