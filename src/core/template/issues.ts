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
    return `\`${name}\` is not a valid variable name: use letters, digits and _, not starting with a digit`;
  }
  return undefined;
}

/** Damerau-free Levenshtein distance; inputs here are short keys, so O(n·m) is fine. */
export function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** The candidate closest to `word`, if it is close enough to be a plausible misspelling. */
export function nearest(word: string, candidates: Iterable<string>): string | undefined {
  if (word.length > 64) return undefined; // no key is that long; skip the O(n·m) work
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(lower, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const limit = Math.max(2, Math.floor(word.length / 3));
  return best !== undefined && bestDistance <= limit ? best : undefined;
}
