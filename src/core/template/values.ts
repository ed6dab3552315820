import type { Scalar, VariableDecl } from './types';

/**
 * Turns a raw value (from JSON, a form, or `--param name=value`) into the variable's type, or
 * says why it cannot. Used for parameters at render time and for `default:` in the front matter,
 * so both follow one set of rules.
 */
export type Coerced = { readonly ok: true; readonly value: Scalar } | { readonly ok: false; readonly reason: string };

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const TRUE_WORDS: ReadonlySet<string> = new Set(['true', 'yes', '1']);
const FALSE_WORDS: ReadonlySet<string> = new Set(['false', 'no', '0']);

type Shape = Pick<VariableDecl, 'type' | 'options' | 'min' | 'max' | 'maxLength'>;

export function coerceValue(decl: Shape, raw: unknown): Coerced {
  switch (decl.type) {
    case 'number':
      return coerceNumber(decl, raw);
    case 'boolean':
      return coerceBoolean(raw);
    case 'dropdown':
      return coerceDropdown(decl, raw);
    case 'text':
      return coerceText(decl, raw);
  }
}

/** A value as a message shows it: quoted text, a number, "a list"… */
export function describeValue(raw: unknown): string {
  if (raw === null) return 'an empty value';
  if (raw === undefined) return 'nothing';
  if (Array.isArray(raw)) return 'a list';
  if (typeof raw === 'object') return 'an object';
  if (typeof raw === 'string') return `"${raw.length > 40 ? raw.slice(0, 40) + '…' : raw}"`;
  return String(raw);
}

function coerceNumber(decl: Shape, raw: unknown): Coerced {
  let n: number;
  if (typeof raw === 'number') n = raw;
  else if (typeof raw === 'string' && DECIMAL.test(raw.trim())) n = Number(raw.trim());
  else return { ok: false, reason: `expected a number, got ${describeValue(raw)}` };
  if (!Number.isFinite(n)) return { ok: false, reason: `expected a finite number, got ${describeValue(raw)}` };
  if (decl.min !== undefined && n < decl.min) return { ok: false, reason: `${n} is below the minimum ${decl.min}` };
  if (decl.max !== undefined && n > decl.max) return { ok: false, reason: `${n} is above the maximum ${decl.max}` };
  return { ok: true, value: n };
}

function coerceBoolean(raw: unknown): Coerced {
  if (typeof raw === 'boolean') return { ok: true, value: raw };
  if (raw === 1 || raw === 0) return { ok: true, value: raw === 1 };
  if (typeof raw === 'string') {
    const word = raw.trim().toLowerCase();
    if (TRUE_WORDS.has(word)) return { ok: true, value: true };
    if (FALSE_WORDS.has(word)) return { ok: true, value: false };
  }
  return { ok: false, reason: `expected true/false/yes/no/1/0, got ${describeValue(raw)}` };
}

function coerceDropdown(decl: Shape, raw: unknown): Coerced {
  const options = decl.options ?? [];
  if (typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean') {
    const wanted = String(raw).trim();
    const match = options.find((option) => String(option).trim() === wanted);
    if (match !== undefined) return { ok: true, value: match };
  }
  const list = options.map((o) => JSON.stringify(o)).join(', ');
  return { ok: false, reason: `${describeValue(raw)} is not one of the options (${list})` };
}

function coerceText(decl: Shape, raw: unknown): Coerced {
  let s: string;
  if (typeof raw === 'string') s = raw;
  else if (typeof raw === 'number' || typeof raw === 'boolean') s = String(raw);
  else return { ok: false, reason: `expected text, got ${describeValue(raw)}` };
  if (decl.maxLength !== undefined) {
    const length = codePointLength(s);
    if (length > decl.maxLength) {
      return { ok: false, reason: `is ${length} characters long, over the limit of ${decl.maxLength}` };
    }
  }
  return { ok: true, value: s };
}

/** Characters as people count them (code points), so an emoji is one, not two. */
function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/**
 * `false`, `0`, `""` and missing are false; everything else is true. Text is tested by what it
 * says, so `"false"` and `"0"` are false too: values from the command line, a form or an
 * inferred (text) variable arrive as text.
 */
export function isTruthy(value: Scalar | undefined): boolean {
  if (typeof value === 'string') {
    const word = value.trim().toLowerCase();
    return word !== '' && word !== 'false' && word !== '0';
  }
  return value !== undefined && value !== false && value !== 0;
}
