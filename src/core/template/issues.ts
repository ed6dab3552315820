import type { DiagnosticCode, Severity, Span } from './types';

/** A diagnostic before its offsets are turned into line/character ranges. */
export interface Issue {
  readonly code: DiagnosticCode;
  readonly severity: Severity;
  readonly message: string;
  readonly span: Span;
  readonly data?: Readonly<Record<string, string>>;
}

/** The severity of each code is part of the format's contract (prompt-format.md). */
export const SEVERITY: Readonly<Record<DiagnosticCode, Severity>> = {
  PL001: 'error',
  PL002: 'error',
  PL003: 'warning',
  PL004: 'error',
  PL005: 'error',
  PL006: 'error',
  PL007: 'warning',
  PL008: 'error',
  PL009: 'warning',
  PL010: 'error',
  PL011: 'warning',
  PL012: 'warning',
  PL013: 'error',
};

export function issue(
  code: DiagnosticCode,
  span: Span,
  message: string,
  data?: Readonly<Record<string, string>>,
): Issue {
  return data ? { code, severity: SEVERITY[code], message, span, data } : { code, severity: SEVERITY[code], message, span };
}

export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Names that would reach Object.prototype or mean something else in template languages. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype', 'this']);

/** Why `name` cannot be a variable name, or undefined when it can. */
export function invalidNameReason(name: string): string | undefined {
  if (RESERVED_NAMES.has(name)) return `\`${name}\` is reserved and cannot name a variable`;
  if (!IDENTIFIER.test(name)) {
    return `\`${name}\` is not a valid variable name: use ASCII letters, digits and _, not starting with a digit`;
  }
  return undefined;
}

/**
 * Edit distance counting an adjacent swap as one edit (optimal string alignment), so `teir`
 * is one step from `tier`. Inputs are short keys, so O(n·m) is fine.
 */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row = new Array<number>(b.length + 1);
    row[0] = i;
    rows.push(row);
  }
  for (let j = 0; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}

/** `maxTokens`, `max-tokens` and `MAX_TOKENS` all read as `maxtokens`. */
function normalise(word: string): string {
  return word.toLowerCase().replace(/[-_\s]/g, '');
}

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/**
 * The candidate closest to `word`, if it is a plausible misspelling or shortening of it:
 * a few edits away (about one per three letters), or sharing a long enough part
 * (`escaping` → `escape`, `threshold` → `quality_threshold`).
 */
export function nearest(word: string, candidates: Iterable<string>): string | undefined {
  if (word.length > 64) return undefined; // no key is that long; skip the O(n·m) work
  const w = normalise(word);
  let best: string | undefined;
  let bestScore = Infinity;
  for (const candidate of candidates) {
    const c = normalise(candidate);
    const distance = editDistance(w, c);
    // About one edit per three letters, and never the whole word (`b` is not a typo of `a`).
    const limit = Math.min(Math.max(1, Math.floor(Math.max(w.length, c.length) / 3)), w.length - 1);
    let score = distance <= limit ? distance : Infinity;
    const shorter = Math.min(w.length, c.length);
    if (shorter >= 4 && (c.includes(w) || w.includes(c))) score = Math.min(score, 1.5);
    else if (shorter >= 4 && commonPrefix(w, c) >= Math.max(4, Math.ceil(shorter * 0.7))) score = Math.min(score, 1.75);
    if (score < bestScore) {
      best = candidate;
      bestScore = score;
    }
  }
  return best;
}
