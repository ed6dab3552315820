import type { ParsedTemplate } from './parse';
import type { BodyNode, EscapeMode, Scalar } from './types';
import { coerceValue, isTruthy } from './values';

/**
 * Renders a parsed template with parameter values. A tree walk over the parsed nodes: nothing is
 * compiled to JavaScript, so it runs under `--disallow-code-generation-from-strings` and in a
 * webview without `unsafe-eval`. Values are inserted as data and never parsed again.
 */
export interface Rendered {
  readonly system?: string;
  /** `training_system:` rendered with the same values: the system message of exported training data. */
  readonly trainingSystem?: string;
  readonly prompt: string;
  /** The values used, after coercion and defaults, in declaration order. */
  readonly parameters: Record<string, Scalar>;
}

export interface RenderProblem {
  /** The variable concerned; absent for problems of the template itself. */
  readonly variable?: string;
  readonly message: string;
}

export type RenderResult = { readonly ok: true; readonly value: Rendered } | { readonly ok: false; readonly problems: readonly RenderProblem[] };

/** Parameter values as given: a plain object (from JSON or a form) or a Map. */
export type RawParameters = Readonly<Record<string, unknown>> | ReadonlyMap<string, unknown>;

export function renderTemplate(template: ParsedTemplate, raw: RawParameters): RenderResult {
  if (template.hasErrors) {
    return {
      ok: false,
      problems: template.diagnostics
        .filter((d) => d.severity === 'error')
        .map((d) => ({ message: `line ${d.range.start.line + 1}: ${d.code} ${d.message}` })),
    };
  }

  const given = toMap(raw);
  const values = new Map<string, Scalar>();
  const problems: RenderProblem[] = [];
  for (const decl of template.variables) {
    const value = given.get(decl.name);
    if (value === undefined || value === null) {
      if (decl.default !== undefined) values.set(decl.name, decl.default);
      else if (decl.required) problems.push({ variable: decl.name, message: 'is required but has no value' });
      continue;
    }
    const coerced = coerceValue(decl, value);
    if (coerced.ok) values.set(decl.name, coerced.value);
    else problems.push({ variable: decl.name, message: coerced.reason });
  }
  const declared = new Set(template.variables.map((d) => d.name));
  for (const name of given.keys()) {
    if (!declared.has(name)) {
      const known = [...declared].join(', ') || 'none';
      problems.push({ variable: name, message: `is not a variable of this template (variables: ${known})` });
    }
  }
  if (problems.length > 0) return { ok: false, problems };

  const escape = ESCAPERS[template.settings.escape];
  let prompt: string;
  let system: string | undefined;
  let trainingSystem: string | undefined;
  try {
    prompt = renderNodes(template.body.nodes, values, escape);
    if (template.system) system = renderNodes(template.system.nodes, values, escape);
    if (template.trainingSystem) trainingSystem = renderNodes(template.trainingSystem.nodes, values, escape);
  } catch (error) {
    if (!(error instanceof OutputTooLarge)) throw error;
    return { ok: false, problems: [{ message: `the rendered prompt would be over ${MAX_RENDERED_CHARS / 1048576} MB` }] };
  }
  const parameters: Record<string, Scalar> = {};
  for (const [name, value] of values) parameters[name] = value; // names are identifiers, never `__proto__`
  return {
    ok: true,
    value: { ...(system !== undefined ? { system } : {}), ...(trainingSystem !== undefined ? { trainingSystem } : {}), prompt, parameters },
  };
}

/** No prompt is this long; a template inserting a big value thousands of times is a mistake. */
export const MAX_RENDERED_CHARS = 32 * 1024 * 1024;
class OutputTooLarge extends Error {}

function toMap(raw: RawParameters): ReadonlyMap<string, unknown> {
  if (raw instanceof Map) return raw;
  // Own keys only: a JSON `"__proto__"` key is just an unknown name here, never the prototype.
  const map = new Map<string, unknown>();
  for (const key of Object.keys(raw)) map.set(key, (raw as Record<string, unknown>)[key]);
  return map;
}

function renderNodes(nodes: readonly BodyNode[], values: ReadonlyMap<string, Scalar>, escape: (s: string) => string): string {
  let out = '';
  for (const node of nodes) {
    switch (node.kind) {
      case 'text':
        out += node.text;
        break;
      case 'placeholder': {
        const value = values.get(node.name);
        if (value !== undefined) out += escape(String(value));
        if (out.length > MAX_RENDERED_CHARS) throw new OutputTooLarge();
        break;
      }
      case 'inlineIf':
        out += isTruthy(values.get(node.name)) ? node.whenTrue : node.whenFalse;
        break;
      case 'block': {
        const truthy = isTruthy(values.get(node.name));
        out += renderNodes(truthy === (node.block === 'if') ? node.body : node.elseBody, values, escape);
        if (out.length > MAX_RENDERED_CHARS) throw new OutputTooLarge();
        break;
      }
      case 'comment':
        break;
    }
  }
  return out;
}

const HTML: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export const ESCAPERS: Readonly<Record<EscapeMode, (s: string) => string>> = {
  html: (s) => (/[&<>"']/.test(s) ? s.replace(/[&<>"']/g, (c) => HTML[c]!) : s),
  xml: (s) => (/[&<>]/.test(s) ? s.replace(/[&<>]/g, (c) => HTML[c]!) : s),
  none: (s) => s,
};
