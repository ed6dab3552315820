import { renderTemplate, type ParsedTemplate, type RenderProblem, type Scalar } from '../template';
import { planKey } from './key';
import { PLAN_LIMITS, type PlanCell, type PlanProblem } from './types';

/** A value set before validation, with where it came from for messages. */
export interface Candidate {
  readonly raw: ReadonlyMap<string, unknown>;
  readonly count: number;
  /** How a message names it: `cell 3 (tone="calm", age=40)` or `line 4`. */
  readonly label: string;
  readonly cell?: number;
  readonly line?: number;
}

/**
 * Renders every candidate (so every value set of a plan is known to render before anything is
 * sent), keeps the coerced values, and merges candidates that end with the same values (their
 * counts are added; the first one's place is kept). Problems name the candidate and the variable.
 */
export function validateCandidates(
  template: ParsedTemplate,
  candidates: Iterable<Candidate>,
): { ok: true; cells: PlanCell[] } | { ok: false; problems: PlanProblem[] } {
  const problems: PlanProblem[] = [];
  let skipped = 0;
  const merged = new Map<string, { values: Record<string, Scalar>; count: number }>();
  for (const candidate of candidates) {
    const result = renderTemplate(template, candidate.raw);
    if (!result.ok) {
      for (const problem of result.problems) {
        if (problems.length < PLAN_LIMITS.problems) problems.push(toProblem(candidate, problem));
        else skipped++;
      }
      continue;
    }
    if (problems.length > 0) continue;
    const values = result.value.parameters;
    const key = planKey(values);
    const known = merged.get(key);
    if (known) known.count += candidate.count;
    else merged.set(key, { values, count: candidate.count });
  }
  if (skipped > 0) problems.push({ message: `…and ${skipped.toLocaleString('en-US')} more problems like these.` });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, cells: [...merged.values()] };
}

function toProblem(candidate: Candidate, problem: RenderProblem): PlanProblem {
  const where = { ...(candidate.cell !== undefined ? { cell: candidate.cell } : {}), ...(candidate.line !== undefined ? { line: candidate.line } : {}) };
  if (problem.variable === undefined) return { message: `${candidate.label}: ${problem.message}`, ...where };
  return { message: `${candidate.label}: ${problem.variable}: ${problem.message}`, variable: problem.variable, ...where };
}

/** `tone="calm", age=40`: a value set as messages and tables show it. */
export function describeValues(values: ReadonlyMap<string, unknown>, names: readonly string[]): string {
  return names
    .map((name) => {
      const v = values.get(name);
      const shown = typeof v === 'string' ? JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v) : String(v);
      return `${name}=${shown}`;
    })
    .join(', ');
}
