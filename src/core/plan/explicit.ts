import type { ParsedTemplate, RawParameters } from '../template';
import { describeValues, validateCandidates, type Candidate } from './cells';
import { PLAN_LIMITS, type PlanProblem, type PlanResult } from './types';

/** One value set given explicitly (a coverage fill plan, another extension) with its count. */
export interface ExplicitCell {
  readonly values: Readonly<Record<string, unknown>>;
  readonly count: number;
}

/**
 * Explicit value sets as a plan: each cell's values (coerced, defaults and `given` values filling
 * the variables it does not name) and its count. Every cell is rendered before the plan is
 * returned; a problem names the cell (`cell 2 (persona="Near Retiree")`) and the variable.
 * Cells that end with the same values become one, their counts added.
 */
export function explicitPlan(template: ParsedTemplate, cells: readonly ExplicitCell[], given: RawParameters = {}): PlanResult {
  const fail = (problems: PlanProblem[]): PlanResult => ({ ok: false, problems });
  if (template.hasErrors) return fail([{ message: 'The template has errors: fix them before generating (promptloom check).' }]);
  if (!Array.isArray(cells) || cells.length === 0) return fail([{ message: 'The plan has no value sets.' }]);
  const problems: PlanProblem[] = [];
  let conversations = 0;
  cells.forEach((cell, i) => {
    const values: unknown = cell?.values;
    if (typeof values !== 'object' || values === null || Array.isArray(values)) problems.push({ message: `cell ${i + 1}: the values must be an object of variable names and values.`, cell: i });
    if (!Number.isInteger(cell?.count) || cell.count < 1) problems.push({ message: `cell ${i + 1}: the count must be a positive whole number, not ${String(cell?.count)}.`, cell: i });
    else conversations += cell.count;
  });
  if (problems.length > 0) return fail(problems.slice(0, PLAN_LIMITS.problems));
  if (conversations > PLAN_LIMITS.conversations) {
    return fail([{ message: `${conversations.toLocaleString('en-US')} conversations are over the limit of ${PLAN_LIMITS.conversations.toLocaleString('en-US')} per plan.` }]);
  }

  // Cells are named by the values that tell them apart (all of a lone cell's).
  const names = [...new Set(cells.flatMap((c) => Object.keys(c.values)))];
  const differing = names.filter((name) => new Set(cells.map((c) => JSON.stringify(c.values[name] ?? null))).size > 1);
  const shown = cells.length > 1 ? differing : names;
  const base = toMap(given);
  const candidates = function* (): Generator<Candidate> {
    for (let i = 0; i < cells.length; i++) {
      const raw = new Map(base);
      const own = new Map<string, unknown>();
      for (const name of Object.keys(cells[i]!.values)) {
        const value = cells[i]!.values[name];
        own.set(name, value);
        if (value !== undefined && value !== null) raw.set(name, value);
      }
      const described = shown.filter((name) => own.has(name));
      yield { raw, count: cells[i]!.count, cell: i, label: `cell ${i + 1}${described.length > 0 ? ` (${describeValues(own, described)})` : ''}` };
    }
  };
  const validated = validateCandidates(template, candidates());
  if (!validated.ok) return fail(validated.problems);
  const varied = template.variables.map((v) => v.name).filter((name) => new Set(validated.cells.map((c) => JSON.stringify(c.values[name] ?? null))).size > 1);
  return { ok: true, plan: { cells: validated.cells, varied, conversations } };
}

function toMap(raw: RawParameters): Map<string, unknown> {
  if (raw instanceof Map) return new Map(raw);
  return new Map(Object.keys(raw).map((k) => [k, (raw as Record<string, unknown>)[k]]));
}
