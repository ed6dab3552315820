import type { PlanCell } from './types';

/**
 * A value set's canonical JSON: keys sorted, so the same values always give the same key. Used to
 * count stored conversations per plan cell (coverage, and `resume` completing a plan).
 */
export function planKey(values: Readonly<Record<string, unknown>>): string {
  const sorted: Record<string, unknown> = {};
  for (const name of Object.keys(values).sort()) {
    // Names are identifiers, never `__proto__`; defineProperty keeps even that one an own key.
    Object.defineProperty(sorted, name, { value: values[name], enumerable: true, writable: true, configurable: true });
  }
  return JSON.stringify(sorted);
}

/**
 * What a plan still lacks: each cell's count less the conversations already stored with its
 * values (by `planKey`), cells already complete left out, order kept.
 */
export function remainingPlan(
  cells: readonly PlanCell[],
  storedCountsByKey: ReadonlyMap<string, number> | Readonly<Record<string, number>>,
): PlanCell[] {
  const stored = (key: string): number => {
    const n = storedCountsByKey instanceof Map ? storedCountsByKey.get(key) : Object.prototype.hasOwnProperty.call(storedCountsByKey, key) ? (storedCountsByKey as Record<string, number>)[key] : undefined;
    return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : 0;
  };
  const remaining: PlanCell[] = [];
  for (const cell of cells) {
    const left = cell.count - stored(planKey(cell.values));
    if (left > 0) remaining.push({ values: cell.values, count: left });
  }
  return remaining;
}
