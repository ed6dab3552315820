/**
 * Coverage of a template's value plans: how many approved conversations each combination of the
 * values its batches varied has, which combinations fall short, and a plan that fills them.
 *
 * Definitions (all versions of the template together):
 * - **Varied variables**: the variables taking more than one distinct value across the cells of
 *   the plans of the template's batches (batches run with one value set have no plan and vary
 *   nothing). In the order of the newest plan's values (declaration order), then any others.
 * - **Cells**: the plans' cells projected on the varied variables (a cell that has no value for a
 *   varied variable, say from a version before it existed, has `null` there). `requested` sums the
 *   plan counts of every batch's cells with that projection; `approved` and `total` count the
 *   template's conversations (approved ones, and all) whose values have that projection, whichever
 *   batch (or none) they came from. `values` are a cell's full values in the newest plan that has
 *   it: what a fill plan renders with.
 * - **Target** (`gaps`): the number of approved conversations every cell should have. Default: the
 *   highest approved count among the cells, or `planned` (the most conversations one plan asked
 *   for one cell) when that is higher: an evenly planned dataset is complete when every cell has
 *   what one plan asked per cell approved. Not the summed `requested`: a fill plan asks again for
 *   what a cell lacks, and that must not raise the target it is filling to.
 * - **Gap**: a cell whose approved count is under the target; it `lacks` target − approved.
 *
 * Pure over the store: reads, never writes.
 */
import type { Database } from '../store/database';

export interface CoverageCell {
  /** The combination: a value (or null) per varied variable, in `Coverage.varied` order. */
  readonly combination: readonly unknown[];
  /** The cell's full values in the newest plan that has it (every variable, as rendered then). */
  readonly values: Readonly<Record<string, unknown>>;
  /** Conversations asked for with this combination, over all batches. */
  readonly requested: number;
  /** Approved conversations with this combination. */
  readonly approved: number;
  /** Conversations with this combination, whatever their status. */
  readonly total: number;
}

export interface Coverage {
  readonly templateId: number;
  /** The varied variables (see the definitions above); empty when no plan varied anything. */
  readonly varied: readonly string[];
  /** Per varied variable, its values in order of first appearance (oldest plan first), null last. */
  readonly domains: readonly (readonly unknown[])[];
  /** One per distinct combination, in the order the plans list them (oldest plan first). */
  readonly cells: readonly CoverageCell[];
  /** The most conversations a single plan asked for a single cell (0 without plans). */
  readonly planned: number;
}

export interface Gap {
  readonly cell: CoverageCell;
  /** Approved conversations the cell needs to reach the target. */
  readonly lacks: number;
}

export interface Gaps {
  readonly target: number;
  /** The cells under the target, least covered first (then in the coverage's order). */
  readonly gaps: readonly Gap[];
  /** The sum of what the gaps lack. */
  readonly lacking: number;
}

interface PlanCellRow {
  readonly values: Record<string, unknown>;
  readonly count: number;
}

/** A template's coverage, from its batches' plans and its conversations. */
export async function coverage(db: Database, templateId: number): Promise<Coverage> {
  // Newest first: the newest plan names a combination's values and sets the orders.
  const plans = (await db.all(`SELECT plan FROM batches b WHERE template_id = ? AND plan IS NOT NULL ORDER BY created_at DESC, ${db.dialect.insertionOrder('b')} DESC`, [templateId])).map((r) =>
    planCells(r.plan),
  );

  // Varied variables: more than one distinct value among the cells that have one.
  const seen = new Map<string, Set<string>>();
  const order: string[] = [];
  for (const plan of plans) {
    for (const cell of plan) {
      for (const name of Object.keys(cell.values)) {
        let values = seen.get(name);
        if (!values) {
          values = new Set();
          seen.set(name, values);
          order.push(name);
        }
        values.add(canonical(cell.values[name]));
      }
    }
  }
  const varied = order.filter((name) => seen.get(name)!.size > 1);

  const combinationOf = (values: Readonly<Record<string, unknown>>): unknown[] => varied.map((name) => (Object.prototype.hasOwnProperty.call(values, name) ? (values[name] ?? null) : null));
  const keyOf = (combination: readonly unknown[]): string => JSON.stringify(combination.map(canonical));

  interface Building {
    combination: unknown[];
    values: Record<string, unknown>;
    requested: number;
    approved: number;
    total: number;
  }
  const cells = new Map<string, Building>();
  const domains = varied.map(() => new Map<string, unknown>());
  let planned = 0;
  // Oldest plan first, so cells and values keep their places as new plans (a fill plan) arrive;
  // a newer plan's full values replace an older one's.
  for (const plan of [...plans].reverse()) {
    for (const cell of plan) {
      planned = Math.max(planned, cell.count);
      const combination = combinationOf(cell.values);
      const key = keyOf(combination);
      const known = cells.get(key);
      if (known) {
        known.requested += cell.count;
        known.values = cell.values;
      } else cells.set(key, { combination, values: cell.values, requested: cell.count, approved: 0, total: 0 });
      combination.forEach((value, i) => {
        const k = canonical(value);
        if (!domains[i]!.has(k)) domains[i]!.set(k, value);
      });
    }
  }

  if (cells.size > 0) {
    for (const row of await db.all('SELECT parameters, status FROM conversations WHERE template_id = ?', [templateId])) {
      const parameters = parseObject(row.parameters);
      if (!parameters) continue;
      const cell = cells.get(keyOf(combinationOf(parameters)));
      if (!cell) continue;
      cell.total++;
      if (row.status === 'approved') cell.approved++;
    }
  }

  return {
    templateId,
    varied,
    // No value (a plan from before the variable existed) comes last.
    domains: domains.map((d) => [...[...d.values()].filter((v) => v !== null), ...(d.has('null') ? [null] : [])]),
    cells: [...cells.values()],
    planned,
  };
}

/**
 * The cells under `target` approved conversations (default: see the definitions above), with
 * what each lacks, least covered first.
 */
export function gaps(of: Coverage, target?: number): Gaps {
  const highest = of.cells.reduce((n, c) => Math.max(n, c.approved), of.planned);
  const goal = target ?? highest;
  if (!Number.isInteger(goal) || goal < 0) throw new RangeError(`the coverage target must be a whole number, at least 0, not ${String(goal)}`);
  const found = of.cells
    .map((cell, index) => ({ cell, index, lacks: goal - cell.approved }))
    .filter((g) => g.lacks > 0)
    .sort((a, b) => b.lacks - a.lacks || a.index - b.index)
    .map(({ cell, lacks }) => ({ cell, lacks }));
  return { target: goal, gaps: found, lacking: found.reduce((n, g) => n + g.lacks, 0) };
}

/** A plan of explicit value sets that fills the gaps: each gap's full values, as many as it lacks. */
export function fillPlan(of: Gaps): { readonly values: Readonly<Record<string, unknown>>; readonly count: number }[] {
  return of.gaps.map((g) => ({ values: g.cell.values, count: g.lacks }));
}

/** A value's identity: JSON (strings, numbers and booleans stay apart: "1" is not 1). */
function canonical(value: unknown): string {
  return JSON.stringify(value ?? null);
}

/** A stored plan's cells, or none when the column does not hold a plan (a broken or newer row). */
function planCells(raw: unknown): PlanCellRow[] {
  if (typeof raw !== 'string') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  return parsed.flatMap((cell: unknown) => {
    if (typeof cell !== 'object' || cell === null) return [];
    const { values, count } = cell as { values?: unknown; count?: unknown };
    if (typeof values !== 'object' || values === null || Array.isArray(values)) return [];
    if (typeof count !== 'number' || !Number.isFinite(count) || count < 0) return [];
    return [{ values: values as Record<string, unknown>, count }];
  });
}

function parseObject(raw: unknown): Record<string, unknown> | undefined {
  if (typeof raw !== 'string') return undefined;
  try {
    const value = JSON.parse(raw) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
