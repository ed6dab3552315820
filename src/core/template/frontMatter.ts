import { isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node, type Pair } from 'yaml';
import { issue, invalidNameReason, nearest, type Issue } from './issues';
import { FRONT_MATTER_KEYS, VARIABLE_KEYS, isFrontMatterKey, isVariableKey } from './schema';
import {
  ESCAPE_MODES,
  TIERS,
  VARIABLE_TYPES,
  type EscapeMode,
  type KeyInfo,
  type Scalar,
  type Span,
  type TemplateSettings,
  type Tier,
  type VariableDecl,
  type VariableType,
} from './types';
import { coerceValue } from './values';

export interface FrontMatterParse {
  /** From the opening `---` to the end of the closing `---` line; absent without front matter. */
  readonly region?: Span;
  /** Where the body starts. */
  readonly bodyStart: number;
  readonly keys: KeyInfo[];
  readonly settings: TemplateSettings;
  /** The declared variables, or undefined when there is no usable `variables:` block. */
  readonly declared?: VariableDecl[];
  /** The system prompt's value and the source span of its YAML scalar. */
  readonly system?: { readonly value: string; readonly span: Span };
  readonly issues: Issue[];
}

/** Front matter longer than this is refused (measured: 64 KB of keys parses in ~0.15 s). */
export const MAX_FRONT_MATTER_CHARS = 64 * 1024;

const FENCE = /^---[ \t]*$/;

/** Locates the front matter: a first line `---` and the next line `---`. */
function split(text: string): { open: Span; content: Span; close?: Span } | undefined {
  const start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const firstEnd = lineEnd(text, start);
  if (!FENCE.test(text.slice(start, firstEnd))) return undefined;
  const contentStart = nextLine(text, firstEnd);
  let i = contentStart;
  while (i < text.length) {
    const end = lineEnd(text, i);
    // Cheap test first: most lines do not start with '-'.
    if (text.charCodeAt(i) === 45 && FENCE.test(text.slice(i, end))) {
      return { open: { start, end: firstEnd }, content: { start: contentStart, end: i }, close: { start: i, end } };
    }
    i = nextLine(text, end);
  }
  return { open: { start, end: firstEnd }, content: { start: contentStart, end: text.length } };
}

function lineEnd(text: string, from: number): number {
  let i = from;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 10 || c === 13) break;
    i++;
  }
  return i;
}

function nextLine(text: string, end: number): number {
  if (text.charCodeAt(end) === 13 && text.charCodeAt(end + 1) === 10) return end + 2;
  return end < text.length ? end + 1 : end;
}

export function defaultSettings(name: string): TemplateSettings {
  return { name, tier: 'template', active: true, personas: [], emotions: [], escape: 'html' };
}

export function parseFrontMatter(text: string, fallbackName: string): FrontMatterParse {
  const found = split(text);
  if (!found) return { bodyStart: 0, keys: [], settings: defaultSettings(fallbackName), issues: [] };

  const issues: Issue[] = [];
  const region: Span = { start: found.open.start, end: found.close ? found.close.end : text.length };
  const bodyStart = found.close ? nextLine(text, found.close.end) : text.length;
  if (!found.close) {
    issues.push(
      issue(
        'PL005',
        found.open,
        'The front matter opened here is never closed: add a line `---` between the front matter and the template body.',
      ),
    );
  }

  const base = found.content.start;
  if (found.content.end - base > MAX_FRONT_MATTER_CHARS) {
    // The YAML library checks duplicate keys pairwise; no real front matter comes near this size.
    const size = Math.round((found.content.end - base) / 1024);
    issues.push(
      issue('PL005', found.open, `The front matter is ${size} KB; front matter over ${MAX_FRONT_MATTER_CHARS / 1024} KB is not read.`),
    );
    return { region, bodyStart, keys: [], settings: defaultSettings(fallbackName), issues };
  }
  const source = text.slice(base, found.content.end);
  let doc: Document.Parsed;
  try {
    doc = parseDocument(source, { prettyErrors: false, uniqueKeys: true, keepSourceTokens: false });
  } catch (error) {
    // The YAML library recurses; absurd nesting can exhaust the stack. Report, do not throw.
    issues.push(issue('PL005', found.open, `The front matter could not be read: ${(error as Error).message}`));
    return { region, bodyStart, keys: [], settings: defaultSettings(fallbackName), issues };
  }
  for (const error of doc.errors) {
    const start = base + Math.min(error.pos[0], source.length);
    const end = Math.max(start + 1, base + Math.min(error.pos[1], source.length));
    const first = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    issues.push(issue('PL005', { start, end: Math.min(end, found.content.end + 1) }, `Invalid YAML: ${first}`));
  }
  if (doc.errors.length > 0) {
    return { region, bodyStart, keys: [], settings: defaultSettings(fallbackName), issues };
  }

  const reader = new FrontMatterReader(doc, base, issues);
  const result = reader.read(fallbackName, found.open);
  return { region, bodyStart, ...result, issues };
}

type Value = Node | null;

/** Walks the YAML tree once, checking each key and value and recording where it stands. */
class FrontMatterReader {
  readonly keys: KeyInfo[] = [];

  constructor(
    private readonly doc: Document.Parsed,
    private readonly base: number,
    private readonly issues: Issue[],
  ) {}

  read(fallbackName: string, openSpan: Span): Omit<FrontMatterParse, 'region' | 'bodyStart' | 'issues'> {
    const settings = { ...defaultSettings(fallbackName) } as { -readonly [K in keyof TemplateSettings]: TemplateSettings[K] };
    let declared: VariableDecl[] | undefined;
    let system: FrontMatterParse['system'];
    const contents = this.doc.contents as Value;
    if (contents === null || (isScalar(contents) && contents.value === null)) {
      return { keys: this.keys, settings };
    }
    if (!isMap(contents)) {
      this.report('PL006', this.span(contents) ?? openSpan, 'The front matter must be `key: value` lines, such as `tier: scenario`.');
      return { keys: this.keys, settings };
    }

    for (const pair of contents.items as Pair<Value, Value>[]) {
      const key = this.keyOf(pair);
      if (!key) continue;
      const { name, span } = key;
      const value = this.deref(pair.value);
      const valueSpan = this.span(value);
      this.keys.push({ path: [name], keySpan: span, ...(valueSpan ? { valueSpan } : {}) });
      if (!isFrontMatterKey(name)) {
        this.unknownKey(name, span, Object.keys(FRONT_MATTER_KEYS), 'front-matter key');
        continue;
      }
      const at = valueSpan ?? span;
      switch (name) {
        case 'name':
        case 'description':
        case 'model': {
          const s = this.string(value, at, name);
          if (s !== undefined) settings[name] = s;
          break;
        }
        case 'system': {
          const s = this.string(value, at, name);
          if (s !== undefined && valueSpan) system = { value: s, span: valueSpan };
          break;
        }
        case 'tier':
          settings.tier = this.oneOf(value, at, name, TIERS, settings.tier) as Tier;
          break;
        case 'escape':
          settings.escape = this.oneOf(value, at, name, ESCAPE_MODES, settings.escape) as EscapeMode;
          break;
        case 'temperature':
        case 'quality_threshold': {
          const n = this.number(value, at, name, { min: 0, max: 1 });
          if (n !== undefined) settings[name === 'temperature' ? 'temperature' : 'qualityThreshold'] = n;
          break;
        }
        case 'max_tokens': {
          const n = this.number(value, at, name, { min: 1, integer: true });
          if (n !== undefined) settings.maxTokens = n;
          break;
        }
        case 'active': {
          const v = this.scalar(value);
          if (typeof v === 'boolean') settings.active = v;
          else this.report('PL006', at, '`active` must be `true` or `false`.');
          break;
        }
        case 'personas':
        case 'emotions': {
          const list = this.stringList(value, at, name);
          if (list) settings[name] = list;
          break;
        }
        case 'variables':
          declared = this.variables(value, at);
          break;
      }
    }
    return { keys: this.keys, settings, ...(declared ? { declared } : {}), ...(system ? { system } : {}) };
  }

  private variables(value: Value, at: Span): VariableDecl[] | undefined {
    if (value === null || (isScalar(value) && value.value === null)) return [];
    if (!isMap(value)) {
      this.report('PL006', at, '`variables` must map each variable name to its settings, such as `persona: { type: text }`.');
      return undefined;
    }
    const declared: VariableDecl[] = [];
    for (const pair of value.items as Pair<Value, Value>[]) {
      const key = this.keyOf(pair);
      if (!key) continue;
      const spec = this.deref(pair.value);
      const specSpan = this.span(spec);
      this.keys.push({ path: ['variables', key.name], keySpan: key.span, ...(specSpan ? { valueSpan: specSpan } : {}) });
      const reason = invalidNameReason(key.name);
      if (reason) {
        this.report('PL008', key.span, `${reason}.`);
        continue;
      }
      const decl = this.variable(key.name, key.span, spec, specSpan ?? key.span);
      if (decl) declared.push(decl);
    }
    return declared;
  }

  private variable(name: string, nameSpan: Span, spec: Value, at: Span): VariableDecl | undefined {
    if (spec === null || (isScalar(spec) && spec.value === null)) {
      return { name, type: 'text', required: true, inferred: false, nameSpan };
    }
    if (!isMap(spec)) {
      this.report('PL006', at, `The settings of \`${name}\` must be \`key: value\` lines (type, default, options, …).`);
      return undefined;
    }
    const fields = new Map<string, { value: Value; span: Span }>();
    for (const pair of spec.items as Pair<Value, Value>[]) {
      const key = this.keyOf(pair);
      if (!key) continue;
      const value = this.deref(pair.value);
      const valueSpan = this.span(value);
      this.keys.push({ path: ['variables', name, key.name], keySpan: key.span, ...(valueSpan ? { valueSpan } : {}) });
      if (!isVariableKey(key.name)) {
        this.unknownKey(key.name, key.span, Object.keys(VARIABLE_KEYS), 'variable setting');
        continue;
      }
      fields.set(key.name, { value, span: valueSpan ?? key.span });
    }

    const typeField = fields.get('type');
    const type = typeField
      ? (this.oneOf(typeField.value, typeField.span, 'type', VARIABLE_TYPES, 'text') as VariableType)
      : 'text';
    const decl: { -readonly [K in keyof VariableDecl]: VariableDecl[K] } = { name, type, required: true, inferred: false, nameSpan };

    const help = fields.get('help');
    if (help) {
      const s = this.string(help.value, help.span, 'help');
      if (s !== undefined) decl.help = s;
    }
    const options = fields.get('options');
    if (options) {
      if (type !== 'dropdown') {
        this.report('PL006', options.span, `\`options\` apply only to dropdown variables: set \`type: dropdown\` on \`${name}\` or remove them.`);
      } else {
        const list = this.scalarList(options.value, options.span, 'options');
        if (list && list.length === 0) this.report('PL006', options.span, `Dropdown \`${name}\` needs at least one option.`);
        else if (list) decl.options = list;
      }
    } else if (type === 'dropdown') {
      this.report('PL006', typeField!.span, `Dropdown \`${name}\` has no \`options\`: list the values it may take.`);
    }
    for (const bound of ['min', 'max'] as const) {
      const field = fields.get(bound);
      if (!field) continue;
      if (type !== 'number') {
        this.report('PL006', field.span, `\`${bound}\` applies only to number variables, and \`${name}\` is ${type}.`);
        continue;
      }
      const n = this.number(field.value, field.span, bound, {});
      if (n !== undefined) decl[bound] = n;
    }
    if (decl.min !== undefined && decl.max !== undefined && decl.min > decl.max) {
      this.report('PL006', fields.get('max')!.span, `\`max\` (${decl.max}) is below \`min\` (${decl.min}).`);
      delete decl.max;
    }
    const maxLength = fields.get('max_length');
    if (maxLength) {
      if (type !== 'text') {
        this.report('PL006', maxLength.span, `\`max_length\` applies only to text variables, and \`${name}\` is ${type}.`);
      } else {
        const n = this.number(maxLength.value, maxLength.span, 'max_length', { min: 1, integer: true });
        if (n !== undefined) decl.maxLength = n;
      }
    }
    const def = fields.get('default');
    if (def) {
      const raw = this.scalar(def.value);
      if (raw === undefined || raw === null) {
        this.report('PL006', def.span, `The default of \`${name}\` is empty: give a value or remove \`default\`.`);
      } else if (type === 'dropdown' && !decl.options) {
        // Already reported: no options to check the default against.
      } else {
        const coerced = coerceValue(decl, raw);
        if (coerced.ok) {
          decl.default = coerced.value;
          decl.required = false;
        } else {
          this.report('PL006', def.span, `The default of \`${name}\` is invalid: ${coerced.reason}.`);
        }
      }
    }
    return decl;
  }

  // ---- helpers ----------------------------------------------------------------------------

  private report(code: 'PL006' | 'PL007' | 'PL008', span: Span, message: string, data?: Record<string, string>): void {
    this.issues.push(issue(code, span, message, data));
  }

  private unknownKey(name: string, span: Span, known: string[], what: string): void {
    const suggestion = nearest(name, known);
    if (suggestion) {
      this.report('PL007', span, `Unknown ${what} \`${name}\`: did you mean \`${suggestion}\`?`, { suggestion });
    } else {
      this.report('PL007', span, `Unknown ${what} \`${name}\`. Known: ${known.join(', ')}.`);
    }
  }

  private keyOf(pair: Pair<Value, Value>): { name: string; span: Span } | undefined {
    const key = this.deref(pair.key);
    const span = this.span(key);
    if (!span) return undefined;
    const v = this.scalar(key);
    if (typeof v === 'string') return { name: v, span };
    if (typeof v === 'number' || typeof v === 'boolean') return { name: String(v), span };
    this.report('PL006', span, 'Keys must be plain names.');
    return undefined;
  }

  /** Follows a YAML alias to its anchor (one level; the anchored node is already parsed). */
  private deref(node: unknown): Value {
    if (isAlias(node)) {
      const target = node.resolve(this.doc);
      return (target as Node | undefined) ?? null;
    }
    return (node as Node | null | undefined) ?? null;
  }

  private span(node: Value): Span | undefined {
    const range = node?.range;
    if (!range) return undefined;
    return { start: this.base + range[0], end: this.base + Math.max(range[0], range[1]) };
  }

  private scalar(node: Value): unknown {
    return isScalar(node) ? node.value : undefined;
  }

  private string(value: Value, at: Span, key: string): string | undefined {
    const v = this.scalar(value);
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    this.report('PL006', at, `\`${key}\` must be text.`);
    return undefined;
  }

  private oneOf(value: Value, at: Span, key: string, allowed: readonly string[], fallback: string): string {
    const v = this.scalar(value);
    if (typeof v === 'string' && allowed.includes(v)) return v;
    const suggestion = typeof v === 'string' ? nearest(v, allowed) : undefined;
    const hint = suggestion ? ` Did you mean \`${suggestion}\`?` : '';
    this.report('PL006', at, `Unknown ${key} ${describe(v)}: use one of ${allowed.map((a) => `\`${a}\``).join(', ')}.${hint}`);
    return fallback;
  }

  private number(value: Value, at: Span, key: string, rule: { min?: number; max?: number; integer?: boolean }): number | undefined {
    const v = this.scalar(value);
    const expected =
      rule.integer && rule.min === 1
        ? 'a positive whole number'
        : rule.min !== undefined && rule.max !== undefined
          ? `a number from ${rule.min} to ${rule.max}`
          : 'a number';
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.report('PL006', at, `\`${key}\` must be ${expected}, not ${describe(v)}.`);
      return undefined;
    }
    if ((rule.integer && !Number.isInteger(v)) || (rule.min !== undefined && v < rule.min) || (rule.max !== undefined && v > rule.max)) {
      this.report('PL006', at, `\`${key}\` must be ${expected}, not ${v}.`);
      return undefined;
    }
    return v;
  }

  private scalarList(value: Value, at: Span, key: string): Scalar[] | undefined {
    if (!isSeq(value)) {
      this.report('PL006', at, `\`${key}\` must be a list, such as \`[a, b]\`.`);
      return undefined;
    }
    const list: Scalar[] = [];
    for (const item of value.items as Value[]) {
      const node = this.deref(item);
      const v = this.scalar(node);
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') list.push(v);
      else {
        this.report('PL006', this.span(node) ?? at, `Each item of \`${key}\` must be a single value.`);
        return undefined;
      }
    }
    return list;
  }

  private stringList(value: Value, at: Span, key: string): string[] | undefined {
    return this.scalarList(value, at, key)?.map(String);
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'a list or mapping';
  if (v === null) return 'an empty value';
  if (typeof v === 'string') return `\`${v.length > 40 ? v.slice(0, 40) + '…' : v}\``;
  return `\`${String(v)}\``;
}
