import { strict as assert } from 'node:assert';
import type { Plan, PlanResult } from '../../../src/core/plan';

export function planOf(result: PlanResult): Plan {
  assert.ok(result.ok, `expected a plan, got ${result.ok ? '' : JSON.stringify(result.problems, null, 1)}`);
  return result.plan;
}

export function problemsOf(result: PlanResult): string[] {
  assert.ok(!result.ok, `expected problems, got a plan of ${result.ok ? result.plan.cells.length : 0} cells`);
  return result.problems.map((p) => p.message);
}

/** How many conversations each value of `name` gets. */
export function marginal(plan: Plan, name: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const cell of plan.cells) {
    const key = String(cell.values[name]);
    counts.set(key, (counts.get(key) ?? 0) + cell.count);
  }
  return counts;
}

export function spreadOf(counts: Iterable<number>): number {
  const list = [...counts];
  return Math.max(...list) - Math.min(...list);
}
