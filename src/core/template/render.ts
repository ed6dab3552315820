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
  if (template.hasErrors) return { ok: false, problems: templateProblems(template) };
  const { values, problems } = resolveValues(template, toMap(raw));
  if (problems.length > 0) return { ok: false, problems };
  const texts = renderParts(template, values, new Set());
  if (!texts) return { ok: false, problems: [tooLarge()] };
  const join = (parts: readonly Segment[]) => parts.map((p) => (p.kind === 'text' ? p.text : '')).join('');
  const parameters: Record<string, Scalar> = {};
  for (const [name, value] of values) parameters[name] = value; // names are identifiers, never `__proto__`
  return {
    ok: true,
    value: {
      ...(texts.system ? { system: join(texts.system) } : {}),
      ...(texts.trainingSystem ? { trainingSystem: join(texts.trainingSystem) } : {}),
      prompt: join(texts.prompt),
      parameters,
    },
  };
}

/** A piece of a draft: text as it would be sent, or the place of a value still missing or invalid. */
export type Segment = { readonly kind: 'text'; readonly text: string } | { readonly kind: 'missing'; readonly variable: string };

/** The prompt before every value is right: each missing or invalid value marked where it goes. */
export interface Draft {
  readonly system?: readonly Segment[];
  readonly trainingSystem?: readonly Segment[];
  readonly prompt: readonly Segment[];
  /** Why values are marked (by variable), and values given for names the template lacks. */
  readonly problems: readonly RenderProblem[];
}

export type DraftResult = { readonly ok: true; readonly value: Draft } | { readonly ok: false; readonly problems: readonly RenderProblem[] };

/**
 * Renders what can be rendered while values are missing, for the preview: defaults applied, each
 * required value without a (valid) value a `missing` segment, and conditions on such a value
 * false. Fails only when the template itself has errors, as `renderTemplate` does.
 */
export function renderWithPlaceholders(template: ParsedTemplate, raw: RawParameters): DraftResult {
  if (template.hasErrors) return { ok: false, problems: templateProblems(template) };
  const { values, problems } = resolveValues(template, toMap(raw));
  const declared = new Set(template.variables.map((d) => d.name));
  const unresolved = new Set(problems.flatMap((p) => (p.variable !== undefined && declared.has(p.variable) ? [p.variable] : [])));
  const parts = renderParts(template, values, unresolved);
  if (!parts) return { ok: false, problems: [tooLarge()] };
  return { ok: true, value: { ...parts, problems } };
}

function templateProblems(template: ParsedTemplate): RenderProblem[] {
  return template.diagnostics.filter((d) => d.severity === 'error').map((d) => ({ message: `line ${d.range.start.line + 1}: ${d.code} ${d.message}` }));
}

function tooLarge(): RenderProblem {
  return { message: `the rendered prompt would be over ${MAX_RENDERED_CHARS / 1048576} MB` };
}

/** Values after coercion and defaults, in declaration order, and what is wrong with the rest. */
function resolveValues(template: ParsedTemplate, given: ReadonlyMap<string, unknown>): { values: Map<string, Scalar>; problems: RenderProblem[] } {
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
  return { values, problems };
}

/** The body, system and training system as segments; undefined when over the size limit. */
function renderParts(template: ParsedTemplate, values: ReadonlyMap<string, Scalar>, unresolved: ReadonlySet<string>): Omit<Draft, 'problems'> | undefined {
  const escape = ESCAPERS[template.settings.escape];
  const part = (nodes: readonly BodyNode[]) => {
    const out = new SegmentWriter();
    renderNodes(nodes, values, unresolved, escape, out);
    return out.finish();
  };
  try {
    return {
      ...(template.system ? { system: part(template.system.nodes) } : {}),
      ...(template.trainingSystem ? { trainingSystem: part(template.trainingSystem.nodes) } : {}),
      prompt: part(template.body.nodes),
    };
  } catch (error) {
    if (!(error instanceof OutputTooLarge)) throw error;
    return undefined;
  }
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

/** Collects text into as few segments as it can: a complete render is one text segment. */
class SegmentWriter {
  private readonly segments: Segment[] = [];
  private text = '';
  private length = 0;

  write(text: string): void {
    this.text += text;
    this.length += text.length;
    if (this.length > MAX_RENDERED_CHARS) throw new OutputTooLarge();
  }

  missing(variable: string): void {
    this.flush();
    this.segments.push({ kind: 'missing', variable });
  }

  finish(): Segment[] {
    this.flush();
    return this.segments;
  }

  private flush(): void {
    if (this.text !== '') this.segments.push({ kind: 'text', text: this.text });
    this.text = '';
  }
}

function renderNodes(nodes: readonly BodyNode[], values: ReadonlyMap<string, Scalar>, unresolved: ReadonlySet<string>, escape: (s: string) => string, out: SegmentWriter): void {
  for (const node of nodes) {
    switch (node.kind) {
      case 'text':
        out.write(node.text);
        break;
      case 'placeholder': {
        const value = values.get(node.name);
        if (value !== undefined) out.write(escape(String(value)));
        else if (unresolved.has(node.name)) out.missing(node.name);
        break;
      }
      case 'inlineIf':
        out.write(isTruthy(values.get(node.name)) ? node.whenTrue : node.whenFalse);
        break;
      case 'block': {
        const truthy = isTruthy(values.get(node.name));
        renderNodes(truthy === (node.block === 'if') ? node.body : node.elseBody, values, unresolved, escape, out);
        break;
      }
      case 'comment':
        break;
    }
  }
}

const HTML: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export const ESCAPERS: Readonly<Record<EscapeMode, (s: string) => string>> = {
  html: (s) => (/[&<>"']/.test(s) ? s.replace(/[&<>"']/g, (c) => HTML[c]!) : s),
  xml: (s) => (/[&<>]/.test(s) ? s.replace(/[&<>]/g, (c) => HTML[c]!) : s),
  none: (s) => s,
};
