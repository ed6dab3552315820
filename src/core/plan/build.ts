import { seededRandom } from '../generation/random';
import { coerceValue, renderTemplate, type ParsedTemplate, type RawParameters, type Scalar } from '../template';
import { describeValues, validateCandidates, type Candidate } from './cells';
import { domainOf, unknownVariable, type Domain } from './domain';
import { balancedCells, combinations, compareIndices, gridCells, randomCells, shuffled, type IndexCell } from './sampling';
import { PLAN_LIMITS, SAMPLINGS, type PlanProblem, type PlanResult, type Sampling } from './types';

export interface PlanOptions {
  /** The variables to vary, or `'all'`: every variable that has a domain. */
  readonly vary: readonly string[] | 'all';
  /** Default `balanced`. */
  readonly sampling?: Sampling;
  /** Conversations in all (`balanced`, `random`), or per combination (`grid`). */
  readonly count: number;
  /** Default 0. The same seed (and inputs) always gives the same plan. */
  readonly seed?: number;
  /** Values of the variables not varied, as given to `renderTemplate`; defaults fill the rest. A value given for a varied variable is not used. */
  readonly given?: RawParameters;
}

/**
 * The plan of a batch: which values each conversation gets. Varied variables take the values of
 * their domains (see `domainOf`); the others take `given` values and defaults, as rendering does.
 * Every cell is rendered before the plan is returned, so a plan that builds is a plan that renders.
 */
export function buildPlan(template: ParsedTemplate, options: PlanOptions): PlanResult {
  const fail = (problems: PlanProblem[]): PlanResult => ({ ok: false, problems });
  if (template.hasErrors) {
    const result = renderTemplate(template, {});
    return fail(result.ok ? [] : result.problems.map((p) => ({ message: `The template has errors: ${p.message}` })));
  }
  const sampling = options.sampling ?? 'balanced';
  if (!SAMPLINGS.includes(sampling)) return fail([{ message: `Unknown sampling "${String(sampling)}": use ${SAMPLINGS.join(', ')}.` }]);
  const { count } = options;
  if (!Number.isInteger(count) || count < 1) return fail([{ message: `The count must be a positive whole number, not ${String(count)}.` }]);
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) return fail([{ message: `The seed must be a whole number, not ${String(seed)}.` }]);

  // The varied variables, in declaration order, with their domains.
  const varied: { name: string; domain: Domain }[] = [];
  const problems: PlanProblem[] = [];
  if (options.vary === 'all') {
    for (const decl of template.variables) {
      const result = domainOf(template, decl.name);
      if (result.ok) varied.push({ name: decl.name, domain: result.domain });
    }
  } else {
    const wanted = new Set(options.vary);
    for (const name of wanted) if (!template.variables.some((v) => v.name === name)) problems.push(unknownVariable(template, name));
    for (const decl of template.variables) {
      if (!wanted.has(decl.name)) continue;
      const result = domainOf(template, decl.name);
      if (result.ok) varied.push({ name: decl.name, domain: result.domain });
      else problems.push(result.problem);
    }
  }
  if (problems.length > 0) return fail(problems);

  const sizes = varied.map((v) => v.domain.values.length);
  const total = combinations(sizes, PLAN_LIMITS.conversations);
  const conversations = sampling === 'grid' ? total * count : count;
  if (conversations > PLAN_LIMITS.conversations) {
    const what =
      sampling === 'grid'
        ? total === Infinity
          ? `The grid has over ${PLAN_LIMITS.conversations.toLocaleString('en-US')} combinations`
          : `The grid of ${total.toLocaleString('en-US')} combinations × ${count.toLocaleString('en-US')} is ${conversations.toLocaleString('en-US')} conversations`
        : `${count.toLocaleString('en-US')} conversations are`;
    return fail([{ message: `${what}, over the limit of ${PLAN_LIMITS.conversations.toLocaleString('en-US')} per plan: vary fewer variables or lower the count.` }]);
  }

  const random = seededRandom(seed);
  let cells: IndexCell[];
  switch (sampling) {
    case 'grid':
      cells = gridCells(sizes, count);
      break;
    case 'random':
      cells = randomCells(sizes, count, random);
      break;
    case 'balanced':
      cells = balancedCells(
        sizes,
        count,
        sizes.map((n) => shuffled(n, random)),
      );
      break;
  }
  cells.sort(compareIndices);

  const names = varied.map((v) => v.name);
  const given = withoutVaried(options.given ?? {}, names);
  // A bad given value would fail every cell alike: say so once.
  for (const [name, value] of given) {
    const decl = template.variables.find((v) => v.name === name);
    if (!decl) problems.push(unknownVariable(template, name));
    else if (value !== undefined && value !== null) {
      const coerced = coerceValue(decl, value);
      if (!coerced.ok) problems.push({ message: `The given value of \`${name}\` is invalid: ${coerced.reason}.`, variable: name });
    }
  }
  if (problems.length > 0) return fail(problems);
  const candidates = function* (): Generator<Candidate> {
    for (let c = 0; c < cells.length; c++) {
      const cell = cells[c]!;
      const raw = new Map<string, unknown>(given);
      const values = new Map<string, Scalar>();
      cell.indices.forEach((index, i) => values.set(names[i]!, varied[i]!.domain.values[index]!));
      for (const [name, value] of values) raw.set(name, value);
      yield { raw, count: cell.count, cell: c, label: `cell ${c + 1}${names.length > 0 ? ` (${describeValues(values, names)})` : ''}` };
    }
  };
  const validated = validateCandidates(template, candidates());
  if (!validated.ok) return fail(validated.problems);
  const sum = validated.cells.reduce((n, cell) => n + cell.count, 0);
  return { ok: true, plan: { cells: validated.cells, varied: names, conversations: sum } };
}

function withoutVaried(raw: RawParameters, varied: readonly string[]): Map<string, unknown> {
  const map = new Map<string, unknown>();
  const entries: Iterable<[string, unknown]> = raw instanceof Map ? raw : Object.keys(raw).map((k) => [k, (raw as Record<string, unknown>)[k]]);
  for (const [name, value] of entries) if (!varied.includes(name)) map.set(name, value);
  return map;
}
