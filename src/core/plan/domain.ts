import { nearest } from '../template/issues';
import type { Diagnostic, ParsedTemplate, Scalar, VariableDecl, VariableType } from '../template';
import { PLAN_LIMITS, type PlanProblem } from './types';

/** Where a variable's domain comes from. */
export type DomainSource = 'options' | 'boolean' | 'values' | 'spread' | 'examples' | 'personas' | 'emotions';

/** The values a plan varies a variable over, distinct and in the order the template gives them. */
export interface Domain {
  readonly values: readonly Scalar[];
  readonly source: DomainSource;
}

export type DomainResult = { readonly ok: true; readonly domain: Domain } | { readonly ok: false; readonly problem: PlanProblem };

/**
 * The values variable `name` is varied over: a dropdown's options; a boolean's true and false; a
 * number's `values:`, or its spread over `min`..`max` by `step` (default 1); a text variable's
 * `examples:`; and a text variable named `persona` or `emotion` without examples takes the
 * template's `personas:` or `emotions:`. No domain is a PL013 problem on the declaration.
 */
export function domainOf(template: ParsedTemplate, name: string): DomainResult {
  const decl = template.variables.find((v) => v.name === name);
  if (!decl) return { ok: false, problem: unknownVariable(template, name) };
  switch (decl.type) {
    case 'dropdown':
      return decl.options && decl.options.length > 0
        ? found(decl.options, 'options')
        : noDomain(template, decl, `\`${name}\` is a dropdown without \`options\`: list the values it may take.`);
    case 'boolean':
      return found([true, false], 'boolean');
    case 'number':
      return numberDomain(template, decl);
    case 'text': {
      if (decl.examples && decl.examples.length > 0) return found(decl.examples, 'examples');
      const list = name === 'persona' ? 'personas' : name === 'emotion' ? 'emotions' : undefined;
      if (list && template.settings[list].length > 0) return found(template.settings[list], list);
      const where = decl.inferred
        ? `declare it under \`variables:\` with \`examples: [...]\``
        : `list some under its settings (\`examples: [first, second]\`)`;
      const alternative = list ? `, or list the template's \`${list}:\`` : '';
      return noDomain(template, decl, `\`${name}\` is a text variable with no \`examples\` to vary over: ${where}${alternative}, or give it one value instead of varying it.`);
    }
  }
}

/** `min`..`max` by `step`: `min`, `min + step`, … up to `max`, or why there is no such spread. */
export function spread(min: number, max: number, step = 1): { ok: true; values: number[] } | { ok: false; size: number } {
  if (!(step > 0) || !Number.isFinite(min) || !Number.isFinite(max) || max < min) return { ok: false, size: NaN };
  // The small tolerance keeps `max` when (max - min) / step lands a hair below a whole number.
  const size = Math.floor((max - min) / step + 1e-9) + 1;
  if (size > PLAN_LIMITS.spread) return { ok: false, size };
  const values: number[] = [];
  for (let i = 0; i < size; i++) {
    // 0.1 * 3 is 0.30000000000000004: keep 15 significant digits, as people write them.
    values.push(Math.min(max, Number((min + i * step).toPrecision(15))));
  }
  return { ok: true, values };
}

function numberDomain(template: ParsedTemplate, decl: VariableDecl): DomainResult {
  if (decl.values && decl.values.length > 0) return found(decl.values, 'values');
  if (decl.min === undefined || decl.max === undefined) {
    return noDomain(
      template,
      decl,
      `\`${decl.name}\` is a number with neither \`values\` nor both \`min\` and \`max\` to spread over: list \`values: [...]\`, or give \`min\`, \`max\` and a \`step\`.`,
    );
  }
  const step = decl.step ?? 1;
  const result = spread(decl.min, decl.max, step);
  if (result.ok) return found(result.values, 'spread');
  return noDomain(
    template,
    decl,
    `\`${decl.name}\` spread from ${decl.min} to ${decl.max} by ${step} has ${result.size.toLocaleString('en-US')} values, over the limit of ${PLAN_LIMITS.spread.toLocaleString('en-US')}: set a larger \`step\` or list \`values\`.`,
  );
}

/** A variable as the plan step of Generate Batch… shows it: its domain, or why it cannot be varied. */
export interface VariableDomain {
  readonly name: string;
  readonly type: VariableType;
  readonly canVary: boolean;
  readonly domain?: Domain;
  /** When it cannot be varied: the PL013 problem (message and diagnostic). */
  readonly problem?: PlanProblem;
}

/** Every variable of the template, in declaration order, with its domain or the reason it has none. */
export function variableDomains(template: ParsedTemplate): VariableDomain[] {
  return template.variables.map((decl) => {
    const result = domainOf(template, decl.name);
    return result.ok
      ? { name: decl.name, type: decl.type, canVary: true, domain: result.domain }
      : { name: decl.name, type: decl.type, canVary: false, problem: result.problem };
  });
}

function found(values: readonly Scalar[], source: DomainSource): DomainResult {
  // Lists such as `personas:` are not checked for repeats; a plan varies over distinct values.
  const seen = new Set<string>();
  const distinct: Scalar[] = [];
  for (const value of values) {
    const id = `${typeof value}:${String(value)}`;
    if (seen.has(id)) continue;
    seen.add(id);
    distinct.push(value);
  }
  return { ok: true, domain: { values: distinct, source } };
}

function noDomain(template: ParsedTemplate, decl: VariableDecl, message: string): DomainResult {
  const diagnostic: Diagnostic = {
    code: 'PL013',
    severity: 'error',
    message,
    range: template.lines.range(decl.nameSpan),
    data: { name: decl.name },
  };
  return { ok: false, problem: { message, variable: decl.name, diagnostic } };
}

export function unknownVariable(template: ParsedTemplate, name: string): PlanProblem {
  const names = template.variables.map((v) => v.name);
  const suggestion = nearest(name, names);
  const hint = suggestion ? ` Did you mean \`${suggestion}\`?` : ` Variables: ${names.join(', ') || 'none'}.`;
  return { message: `\`${name}\` is not a variable of this template.${hint}`, variable: name };
}
