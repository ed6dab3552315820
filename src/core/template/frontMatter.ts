import { isAlias, isMap, isScalar, isSeq, parseDocument, visit, type Alias, type Document, type Node, type Pair, type YAMLError, type YAMLMap } from 'yaml';
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
import { coerceValue, describeValue } from './values';

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
  /** `training_system:`, likewise. */
  readonly trainingSystem?: { readonly value: string; readonly span: Span };
  readonly issues: Issue[];
}

/** Front matter longer than this is refused: no real one comes near, and YAML's duplicate-key check is pairwise. */
export const MAX_FRONT_MATTER_CHARS = 64 * 1024;

/** The aliases of the default model table; settings may add more (ParseOptions.modelAliases). */
export const DEFAULT_MODEL_ALIASES: readonly string[] = ['opus', 'sonnet', 'haiku'];
const CLAUDE_MODEL_ID = /^claude-[a-z0-9][a-z0-9.-]*(@[0-9]+)?$/;

const FENCE = /^---[ \t]*$/;
/** YAML's own end-of-document marker closes front matter too (as in Pandoc). */
const CLOSING_FENCE = /^(---|\.\.\.)[ \t]*$/;

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
    const c = text.charCodeAt(i);
    if ((c === 45 /* - */ || c === 46) /* . */ && CLOSING_FENCE.test(text.slice(i, end))) {
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

export function parseFrontMatter(text: string, fallbackName: string, modelAliases: readonly string[] = DEFAULT_MODEL_ALIASES): FrontMatterParse {
  const found = split(text);
  if (!found) {
    const late = /^(?:\uFEFF)?(?:[ \t]*\r?\n|[ \t]*\r)+(---)[ \t]*(?:\r?\n|\r)/.exec(text.slice(0, 4096));
    const issues = late
      ? [
          issue(
            'PL012',
            { start: late[0].length - late[1]!.length - (late[0].endsWith('\r\n') ? 2 : 1), end: late[0].length - (late[0].endsWith('\r\n') ? 2 : 1) },
            'This looks like front matter, but front matter must start on the first line: remove the blank lines above it. As it is, it is sent to the model as text.',
          ),
        ]
      : [];
    return { bodyStart: 0, keys: [], settings: defaultSettings(fallbackName), issues };
  }

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
  // The YAML library reads a CRLF file differently from the same file with LF line ends in
  // corner cases; give it LF only and map its offsets back.
  const { normalised, toSource } = normaliseLineEnds(source);
  let doc: Document.Parsed;
  try {
    doc = parseDocument(normalised, { prettyErrors: false, uniqueKeys: true, keepSourceTokens: false });
  } catch {
    // The YAML library recurses; absurd nesting can exhaust the stack. Report, do not throw.
    issues.push(issue('PL005', found.open, 'The front matter is nested too deeply to read.'));
    return { region, bodyStart, keys: [], settings: defaultSettings(fallbackName), issues };
  }
  for (const error of doc.errors) {
    issues.push(issue('PL005', yamlErrorSpan(source, base, error, toSource(error.pos[0])), `Invalid YAML: ${yamlMessage(error.code, error.message)}`));
  }
  if (doc.errors.length > 0) {
    return { region, bodyStart, keys: [], settings: defaultSettings(fallbackName), issues };
  }

  const reader = new FrontMatterReader(doc, base, toSource, issues, modelAliases);
  const result = reader.read(fallbackName, found.open);
  return { region, bodyStart, ...result, issues };
}

/**
 * Where a YAML error is best shown: the line's content around it. The YAML library places an
 * unclosed quote or flow collection (`[`, `{`) where it gave up looking, at the start of a later
 * line or at the very end; the mistake is on the last line with content before that point.
 */
function yamlErrorSpan(source: string, base: number, error: YAMLError, pos: number): Span {
  let at = Math.min(Math.max(pos, 0), source.length);
  if (error.code === 'MISSING_CHAR' && /quote/.test(error.message)) {
    // A quoted scalar may span lines: the quote was opened on the last line with an odd count.
    const quote = error.message.includes("'") ? "'" : '"';
    const lines = source.slice(0, at).split(/\r\n|\r|\n/);
    let offset = at;
    for (let i = lines.length - 1; i >= 0; i--) {
      offset -= lines[i]!.length;
      if (lines[i]!.split(quote).length % 2 === 0) return lineSpan(source, base, offset);
      offset -= source[offset - 1] === '\n' && source[offset - 2] === '\r' ? 2 : 1;
    }
  }
  const unclosed = error.code === 'MISSING_CHAR' || /^Flow (sequence|map)/.test(error.message);
  const atLineStart = at === 0 || source[at - 1] === '\n' || source[at - 1] === '\r';
  if (at === source.length || (unclosed && atLineStart && at > 0)) {
    let k = at;
    while (k > 0 && /\s/.test(source[k - 1]!)) k--;
    at = Math.max(0, k - 1);
  }
  return lineSpan(source, base, at);
}

/** `\r\n` and `\r` become `\n`; `toSource` maps an offset in the result back to `source`. */
function normaliseLineEnds(source: string): { normalised: string; toSource: (offset: number) => number } {
  if (!source.includes('\r')) return { normalised: source, toSource: (offset) => offset };
  const dropped: number[] = []; // offsets in the result where a \r of a \r\n pair was dropped
  let normalised = '';
  let last = 0;
  for (let i = source.indexOf('\r'); i >= 0; i = source.indexOf('\r', i + 1)) {
    normalised += source.slice(last, i);
    if (source[i + 1] === '\n') dropped.push(normalised.length);
    else normalised += '\n';
    last = i + 1;
  }
  normalised += source.slice(last);
  return {
    normalised,
    toSource: (offset) => {
      let lo = 0;
      let hi = dropped.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (dropped[mid]! <= offset) lo = mid + 1;
        else hi = mid;
      }
      return offset + lo;
    },
  };
}

/** The content of the line holding `at`, without its indentation and trailing spaces. */
function lineSpan(source: string, base: number, at: number): Span {
  let start = at;
  while (start > 0 && source[start - 1] !== '\n' && source[start - 1] !== '\r') start--;
  while (start < source.length && (source[start] === ' ' || source[start] === '\t')) start++;
  let end = lineEnd(source, start);
  while (end > start + 1 && /\s/.test(source[end - 1]!)) end--;
  return { start: base + start, end: base + Math.max(end, start + 1) };
}

/** The YAML library's messages, minus positions and advice about its own API. */
function yamlMessage(code: string, message: string): string {
  if (code === 'MULTIPLE_DOCS') return 'the front matter holds more than one YAML document (a `---` or `...` line inside it?).';
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

type Value = Node | null;

interface Entry {
  readonly name: string;
  readonly keySpan: Span;
  readonly value: Value;
  /** True when the entry came from a YAML merge key (`<<: *anchor`): reported at its source. */
  readonly merged: boolean;
}

/** Walks the YAML tree once, checking each key and value and recording where it stands. */
class FrontMatterReader {
  readonly keys: KeyInfo[] = [];

  /** Each alias's anchored node, found in one pass (resolving aliases one by one is O(document)). */
  private readonly aliasTargets = new Map<Alias, Node | undefined>();

  constructor(
    doc: Document.Parsed,
    private readonly base: number,
    private readonly toSource: (offset: number) => number,
    private readonly issues: Issue[],
    private readonly modelAliases: readonly string[],
  ) {
    this.doc = doc;
    const anchors = new Map<string, Node>();
    visit(doc, {
      Node: (_key, node) => {
        if (node.anchor) anchors.set(node.anchor, node);
      },
      Alias: (_key, alias) => {
        this.aliasTargets.set(alias, anchors.get(alias.source));
      },
    });
  }

  private readonly doc: Document.Parsed;

  read(fallbackName: string, openSpan: Span): Omit<FrontMatterParse, 'region' | 'bodyStart' | 'issues'> {
    const settings = { ...defaultSettings(fallbackName) } as { -readonly [K in keyof TemplateSettings]: TemplateSettings[K] };
    let declared: VariableDecl[] | undefined;
    let system: FrontMatterParse['system'];
    let trainingSystem: FrontMatterParse['trainingSystem'];
    const contents = this.doc.contents as Value;
    if (contents === null || (isScalar(contents) && contents.value === null)) {
      return { keys: this.keys, settings };
    }
    if (!isMap(contents)) {
      this.report('PL006', this.span(contents) ?? openSpan, 'The front matter must be `key: value` lines, such as `tier: scenario`.');
      return { keys: this.keys, settings };
    }

    for (const { name, keySpan: span, value, merged } of this.entries(contents)) {
      const valueSpan = this.span(value);
      if (!merged) this.keys.push({ path: [name], keySpan: span, ...(valueSpan ? { valueSpan } : {}) });
      if (!isFrontMatterKey(name)) {
        if (!merged) this.unknownKey(name, span, Object.keys(FRONT_MATTER_KEYS), 'front-matter key');
        continue;
      }
      // An empty value has an empty span; point at the key instead.
      const at = valueSpan && valueSpan.end > valueSpan.start ? valueSpan : span;
      switch (name) {
        case 'name':
        case 'description': {
          const s = this.string(value, at, name);
          if (s !== undefined) settings[name] = s;
          break;
        }
        case 'model': {
          const s = this.string(value, at, name);
          if (s !== undefined && this.checkModel(s, at)) settings.model = s;
          break;
        }
        case 'system': {
          const s = this.string(value, at, name);
          if (s !== undefined && valueSpan) system = { value: s, span: valueSpan };
          break;
        }
        case 'training_system': {
          const s = this.string(value, at, name);
          if (s !== undefined && valueSpan) trainingSystem = { value: s, span: valueSpan };
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
    return {
      keys: this.keys,
      settings,
      ...(declared ? { declared } : {}),
      ...(system ? { system } : {}),
      ...(trainingSystem ? { trainingSystem } : {}),
    };
  }

  private variables(value: Value, at: Span): VariableDecl[] | undefined {
    if (value === null || (isScalar(value) && value.value === null)) return [];
    if (!isMap(value)) {
      this.report('PL006', at, '`variables` must map each variable name to its settings, such as `persona: { type: text }`.');
      return undefined;
    }
    const declared: VariableDecl[] = [];
    for (const entry of this.entries(value)) {
      const spec = entry.value;
      const specSpan = this.span(spec);
      if (entry.merged) continue; // a whole variable merged in would have no place of its own
      this.keys.push({ path: ['variables', entry.name], keySpan: entry.keySpan, ...(specSpan ? { valueSpan: specSpan } : {}) });
      const reason = invalidNameReason(entry.name);
      if (reason) {
        this.report('PL008', entry.keySpan, `${reason}.`);
        continue;
      }
      declared.push(this.variable(entry.name, entry.keySpan, spec, specSpan ?? entry.keySpan));
    }
    return declared;
  }

  /** A variable's declaration; invalid settings are reported and left at their defaults. */
  private variable(name: string, nameSpan: Span, spec: Value, at: Span): VariableDecl {
    const plain: VariableDecl = { name, type: 'text', required: true, inferred: false, nameSpan };
    if (spec === null || (isScalar(spec) && spec.value === null)) return plain;
    if (!isMap(spec)) {
      // Still declared (as text), so its uses do not cascade into PL002.
      this.report('PL006', at, `The settings of \`${name}\` must be \`key: value\` lines, such as \`{ type: number, default: 3 }\`.`);
      return plain;
    }
    const fields = new Map<string, { value: Value; span: Span }>();
    for (const entry of this.entries(spec)) {
      const valueSpan = this.span(entry.value);
      if (!entry.merged) this.keys.push({ path: ['variables', name, entry.name], keySpan: entry.keySpan, ...(valueSpan ? { valueSpan } : {}) });
      if (!isVariableKey(entry.name)) {
        if (!entry.merged) this.unknownKey(entry.name, entry.keySpan, Object.keys(VARIABLE_KEYS), 'variable setting');
        continue;
      }
      fields.set(entry.name, { value: entry.value, span: valueSpan ?? entry.keySpan });
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
        const duplicate = list?.find((option, i) => list.findIndex((o) => String(o) === String(option)) !== i);
        if (list && list.length === 0) this.report('PL006', options.span, `Dropdown \`${name}\` needs at least one option.`);
        else if (duplicate !== undefined) this.report('PL006', options.span, `Option ${JSON.stringify(duplicate)} is listed twice.`);
        if (list && list.length > 0) decl.options = list;
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
    this.planSettings(name, type, decl, fields);
    const def = fields.get('default');
    if (def) {
      const raw = this.scalar(def.value);
      if (raw === undefined) {
        this.report('PL006', def.span, `The default of \`${name}\` must be a single value, not ${describeValue(def.value?.toJSON())}.`);
      } else if (raw === null) {
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

  /**
   * `values:` (numbers), `step:` (numbers) and `examples:` (text): what a value plan varies the
   * variable over. Each listed value follows the variable's own rules (`min`/`max`, `max_length`).
   */
  private planSettings(
    name: string,
    type: VariableType,
    decl: { -readonly [K in keyof VariableDecl]: VariableDecl[K] },
    fields: ReadonlyMap<string, { value: Value; span: Span }>,
  ): void {
    const elsewhere: Record<VariableType, string> = {
      text: 'a text variable varies over its `examples`',
      number: 'a number variable varies over its `values` or a `step` spread',
      dropdown: 'a dropdown varies over its `options`',
      boolean: 'a boolean varies over true and false',
    };
    const values = fields.get('values');
    if (values) {
      if (type !== 'number') {
        this.report('PL006', values.span, `\`values\` apply only to number variables, and \`${name}\` is ${type}: ${elsewhere[type]}.`);
      } else {
        const list = this.planList(name, decl, values, 'values');
        if (list) decl.values = list.map(Number);
      }
    }
    const step = fields.get('step');
    if (step) {
      if (type !== 'number') {
        this.report('PL006', step.span, `\`step\` applies only to number variables, and \`${name}\` is ${type}: ${elsewhere[type]}.`);
      } else {
        const n = this.number(step.value, step.span, 'step', {});
        if (n === undefined) return; // reported; `examples` cannot apply to a number either
        if (n <= 0) {
          this.report('PL006', step.span, `\`step\` must be above 0, not ${n}.`);
        } else if (values) {
          this.report('PL006', step.span, `\`step\` spreads \`min\`..\`max\` and is not used when \`values\` are listed: remove one of them.`);
        } else if (decl.min === undefined || decl.max === undefined) {
          this.report('PL006', step.span, `\`step\` spreads \`${name}\` from \`min\` to \`max\`: give both.`);
        } else {
          decl.step = n;
        }
      }
    }
    const examples = fields.get('examples');
    if (examples) {
      if (type !== 'text') {
        this.report('PL006', examples.span, `\`examples\` apply only to text variables, and \`${name}\` is ${type}: ${elsewhere[type]}.`);
      } else {
        const list = this.planList(name, decl, examples, 'examples');
        if (list) decl.examples = list.map(String);
      }
    }
  }

  /** A non-empty list whose items are valid values of the variable, without repeats. */
  private planList(name: string, decl: VariableDecl, field: { value: Value; span: Span }, key: string): Scalar[] | undefined {
    const items = this.scalarItems(field.value, field.span, key);
    if (!items) return undefined;
    if (items.length === 0) {
      this.report('PL006', field.span, `\`${key}\` of \`${name}\` is empty: list at least one value, or remove it.`);
      return undefined;
    }
    const seen = new Set<string>();
    const list: Scalar[] = [];
    for (const item of items) {
      const coerced = coerceValue(decl, item.value);
      if (!coerced.ok) {
        this.report('PL006', item.span, `An item of \`${key}\` of \`${name}\` is invalid: ${coerced.reason}.`);
        return undefined;
      }
      const id = String(coerced.value);
      if (seen.has(id)) {
        this.report('PL006', item.span, `${JSON.stringify(coerced.value)} is listed twice in \`${key}\`.`);
        return undefined;
      }
      seen.add(id);
      list.push(coerced.value);
    }
    return list;
  }

  // ---- helpers ----------------------------------------------------------------------------

  private report(code: 'PL005' | 'PL006' | 'PL007' | 'PL008', span: Span, message: string, data?: Record<string, string>): void {
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

  /**
   * A map's entries in order, with YAML merge keys (`<<: *anchor`, `<<: [*a, *b]`) expanded:
   * merged entries come after the map's own and never override them.
   */
  private entries(map: YAMLMap<unknown, unknown>, depth = 0): Entry[] {
    const own: Entry[] = [];
    const merges: Value[] = [];
    for (const pair of map.items as Pair<Value, Value>[]) {
      const key = this.keyOf(pair);
      if (!key) continue;
      if (key.name === '<<' && depth < 8) {
        const source = this.deref(pair.value);
        if (isSeq(source)) for (const item of source.items as Value[]) merges.push(this.deref(item));
        else merges.push(source);
        continue;
      }
      const value = this.deref(pair.value);
      if (isAlias(pair.value) && value === null) continue; // a broken alias is reported once, by deref
      own.push({ name: key.name, keySpan: key.span, value, merged: false });
    }
    const names = new Set(own.map((e) => e.name));
    for (const source of merges) {
      if (!isMap(source)) {
        if (source) this.report('PL006', this.span(source)!, 'A merge key `<<` takes a mapping or a list of mappings.');
        continue;
      }
      for (const entry of this.entries(source, depth + 1)) {
        if (names.has(entry.name)) continue;
        names.add(entry.name);
        own.push({ ...entry, merged: true });
      }
    }
    return own;
  }

  /** Model aliases of the model table, or a full Claude model id. */
  private checkModel(model: string, at: Span): boolean {
    if (this.modelAliases.includes(model) || CLAUDE_MODEL_ID.test(model)) return true;
    const suggestion = nearest(model, this.modelAliases);
    const hint = suggestion ? ` Did you mean \`${suggestion}\`?` : '';
    this.report('PL006', at, `Unknown model ${shown(model)}: use an alias (${this.modelAliases.join(', ')}) or a Claude model id such as \`claude-sonnet-4-5\`.${hint}`);
    return false;
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
      const target = this.aliasTargets.get(node);
      if (!target) this.report('PL005', this.span(node)!, `Invalid YAML: the alias \`*${node.source}\` refers to no anchor \`&${node.source}\` above it.`);
      return target ?? null;
    }
    return (node as Node | null | undefined) ?? null;
  }

  private span(node: Value): Span | undefined {
    const range = node?.range;
    if (!range) return undefined;
    const start = this.toSource(range[0]);
    return { start: this.base + start, end: this.base + Math.max(start, this.toSource(range[1])) };
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
    const choices = allowed.map((a) => `\`${a}\``).join(', ');
    if (v === null || v === '') this.report('PL006', at, `\`${key}\` is empty: use one of ${choices}.`);
    else this.report('PL006', at, `Unknown ${key} ${shown(v)}: use one of ${choices}.${hint}`);
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
      this.report('PL006', at, `\`${key}\` must be ${expected}, not ${shown(v)}.`);
      return undefined;
    }
    if ((rule.integer && !Number.isInteger(v)) || (rule.min !== undefined && v < rule.min) || (rule.max !== undefined && v > rule.max)) {
      this.report('PL006', at, `\`${key}\` must be ${expected}, not ${v}.`);
      return undefined;
    }
    return v;
  }

  private scalarList(value: Value, at: Span, key: string): Scalar[] | undefined {
    return this.scalarItems(value, at, key)?.map((item) => item.value);
  }

  /** A list of single values, each with where it stands. */
  private scalarItems(value: Value, at: Span, key: string): { value: Scalar; span: Span }[] | undefined {
    if (!isSeq(value)) {
      this.report('PL006', at, `\`${key}\` must be a list, such as \`[a, b]\`.`);
      return undefined;
    }
    const list: { value: Scalar; span: Span }[] = [];
    for (const item of value.items as Value[]) {
      const node = this.deref(item);
      const v = this.scalar(node);
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') list.push({ value: v, span: this.span(node) ?? at });
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

/** A YAML value as diagnostics show it: code in backticks, other things in words. */
function shown(v: unknown): string {
  if (typeof v === 'string') return `\`${v.length > 40 ? v.slice(0, 40) + '…' : v}\``;
  if (typeof v === 'number' || typeof v === 'boolean') return `\`${String(v)}\``;
  return describeValue(v);
}
