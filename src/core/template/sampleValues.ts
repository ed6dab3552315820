import type { Scalar, TemplateSettings, VariableDecl } from './types';
import { coerceValue } from './values';

/**
 * Sample values: a plausible value for a variable nobody gave one, so a template can be seen,
 * tested or rendered before its real values exist. One rule for the preview's "Fill sample
 * values", Test Template's stand-ins and `promptloom render --sample`, so all three agree:
 *
 *   1. the first of its `examples:`
 *   2. its `default:`
 *   3. its first option (a dropdown's `options:`; for a text variable named `persona` or `emotion`,
 *      the template's `personas:` / `emotions:`, as value plans do)
 *   4. the middle of its range (`min`..`max`; a whole number when both bounds are whole; with one
 *      bound, that bound)
 *   5. what its `help:` gives after "e.g." (up to the next comma, period or closing parenthesis)
 *   6. its name in words (`client_name` → "client name")
 *
 * Each candidate must be a valid value of the variable (its type, range, length): one that is not
 * is passed over. A boolean that reaches the end is false, a number 0 (or its bound), a text its
 * name cut to `max_length`: a sample is always valid.
 */
export type SampleSource = 'example' | 'default' | 'option' | 'range' | 'help' | 'name';

export interface Sample {
  readonly value: Scalar;
  /** Which step of the rule gave it: the preview says so. */
  readonly from: SampleSource;
}

export type SampledVariable = Pick<VariableDecl, 'name' | 'type' | 'examples' | 'default' | 'options' | 'min' | 'max' | 'maxLength' | 'help'>;

/** The template lists a `persona` / `emotion` text variable takes its first option from. */
export type SampleLists = Partial<Pick<TemplateSettings, 'personas' | 'emotions'>>;

export function sampleValue(v: SampledVariable, lists: SampleLists = {}): Sample {
  const candidates: [SampleSource, unknown][] = [
    ['example', v.examples?.[0]],
    ['default', v.default],
    ['option', firstOption(v, lists)],
    ['range', middleOfRange(v)],
    ['help', v.help !== undefined ? exampleInText(v.help) : undefined],
    ['name', v.type === 'text' ? nameInWords(v.name) : undefined],
  ];
  for (const [from, candidate] of candidates) {
    if (candidate === undefined) continue;
    const coerced = coerceValue(v, candidate);
    if (coerced.ok) return { value: coerced.value, from };
  }
  // Nothing above fits: the plainest valid value of the type.
  switch (v.type) {
    case 'boolean':
      return { value: false, from: 'name' };
    case 'number':
      return { value: clamp(0, v.min, v.max), from: 'range' };
    default:
      return { value: [...nameInWords(v.name)].slice(0, v.maxLength ?? Infinity).join(''), from: 'name' };
  }
}

/**
 * Samples for the required variables that have no value in `given` (absent, null or empty text):
 * what a render would report missing. Given values, even invalid ones, are left to the caller.
 */
export function sampleMissing(variables: readonly (SampledVariable & Pick<VariableDecl, 'required'>)[], given: ReadonlyMap<string, unknown>, lists: SampleLists = {}): Map<string, Sample> {
  const samples = new Map<string, Sample>();
  for (const v of variables) {
    if (!v.required || hasValue(given.get(v.name))) continue;
    samples.set(v.name, sampleValue(v, lists));
  }
  return samples;
}

function hasValue(value: unknown): boolean {
  return value !== undefined && value !== null && value !== '';
}

function firstOption(v: SampledVariable, lists: SampleLists): Scalar | undefined {
  if (v.options && v.options.length > 0) return v.options[0];
  if (v.type !== 'text') return undefined;
  const list = v.name === 'persona' ? lists.personas : v.name === 'emotion' ? lists.emotions : undefined;
  return list?.[0];
}

function middleOfRange(v: SampledVariable): number | undefined {
  if (v.type !== 'number') return undefined;
  if (v.min === undefined || v.max === undefined) return v.min ?? v.max;
  const middle = (v.min + v.max) / 2;
  // 0..60 gives 30; 1..4 gives 3 (rounded), not 2.5; 0.1..0.4 keeps 0.25.
  return Number.isInteger(v.min) && Number.isInteger(v.max) ? Math.round(middle) : middle;
}

function clamp(n: number, min: number | undefined, max: number | undefined): number {
  if (min !== undefined && n < min) return min;
  if (max !== undefined && n > max) return max;
  return n;
}

/**
 * The example a help text gives: "Employer (e.g. Acme Corp, Globex)" → "Acme Corp". Ends at a
 * comma, period or semicolon that ends a phrase (not the one in "$1.2M" or "40,000"), or a closing
 * parenthesis; a quoted example is the whole quotation, without its quotes.
 */
export function exampleInText(text: string): string | undefined {
  const start = /\be\.g\.[\s,:]*/i.exec(text);
  if (!start) return undefined;
  const rest = text.slice(start.index + start[0].length);
  // Quoted: the whole quotation, whatever commas or periods it holds.
  const quoted = /^(["'“‘`])(.*?)(["'”’`])/s.exec(rest);
  if (quoted && quoted[2]!.trim() !== '' && CLOSING[quoted[1]!] === quoted[3]) return quoted[2]!.trim();
  const end = /[,.;](?!\d)|\)/.exec(rest);
  const example = (end ? rest.slice(0, end.index) : rest)
    .trim()
    .replace(/^["'“‘`](.*)["'”’`]$/s, '$1')
    .trim();
  return example === '' ? undefined : example;
}

const CLOSING: Readonly<Record<string, string>> = { '"': '"', "'": "'", '“': '”', '‘': '’', '`': '`' };

/** `client_name`, `clientName` and `CLIENT_NAME` → "client name". */
export function nameInWords(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/_+/g, ' ')
    .trim()
    .toLowerCase()
    .replace(/\s+/g, ' ') || name;
}
