import { strict as assert } from 'node:assert';
import { pairwiseAccuracy, ranks, spearman } from '../../../bench/rankAgreement';

describe('rank agreement (quality validation)', () => {
  it('ranks ties at their mean rank', () => {
    assert.deepEqual(ranks([10, 20, 20, 5]), [2, 3.5, 3.5, 1]);
  });
  it('gives ρ = 1 for the same order, −1 reversed, and the textbook value otherwise', () => {
    assert.equal(spearman([1, 2, 3, 4], [10, 20, 30, 40]), 1);
    assert.equal(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
    // ρ = 1 − 6·Σd² / (n(n² − 1)): Σd² = 4 → 0.8, Σd² = 8 → 0.6
    assert.ok(Math.abs(spearman([1, 2, 3, 4, 5], [1, 3, 2, 5, 4]) - 0.8) < 1e-12);
    assert.ok(Math.abs(spearman([1, 2, 3, 4, 5], [3, 1, 2, 5, 4]) - 0.6) < 1e-12);
  });
  it('counts pairs by rating gap, with score ties as half', () => {
    // Pairs with gap ≥ 1: (0,1) right, (0,2) tie, (1,2) wrong → 1.5 / 3
    assert.equal(pairwiseAccuracy([1, 2, 1], [1, 2, 3]), 0.5);
    assert.equal(pairwiseAccuracy([1, 2, 3], [1, 2, 3]), 1);
    assert.ok(Number.isNaN(pairwiseAccuracy([1, 2], [3, 3.5])));
  });
});
