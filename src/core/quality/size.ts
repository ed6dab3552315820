import { plural, round1 } from './text';
import type { Finding, Range, ScoredTurn, Tier } from './types';

export const TURN_TARGET: Range = { min: 8, max: 16 };

/** 10 for 8–16 turns, 7 for 6–20, 5 for 4–24, 3 otherwise (the spec's bands). */
export function turnCountScore(count: number): number {
  if (count >= 8 && count <= 16) return 10;
  if (count >= 6 && count <= 20) return 7;
  if (count >= 4 && count <= 24) return 5;
  return 3;
}

export function turnCountAdvice(count: number): string | undefined {
  if (turnCountScore(count) === 10) return undefined;
  const { min, max } = TURN_TARGET;
  return count < min
    ? `${plural(count, 'turn')}; aim for ${min}–${max} (ask the template for at least ${min} alternating turns)`
    : `${plural(count, 'turn')}; aim for ${min}–${max} (ask the template for at most ${max} turns, or split the conversation)`;
}

/** Words per turn that each tier's conversations should run, by role. */
export const LENGTH_TARGETS: Readonly<Record<Tier, { readonly user: Range; readonly assistant: Range }>> = {
  // Everyday exchanges: short questions, answers of a paragraph.
  template: { user: { min: 8, max: 60 }, assistant: { min: 40, max: 120 } },
  // Situational role-play: users set context, answers work through it.
  scenario: { user: { min: 12, max: 100 }, assistant: { min: 60, max: 200 } },
  // Unusual requests and refusals: terse users are part of the point, answers stay focused.
  edge_case: { user: { min: 4, max: 100 }, assistant: { min: 30, max: 160 } },
};

export interface LengthResult {
  readonly score: number;
  readonly actual: { readonly user: number; readonly assistant: number };
  readonly target: { readonly user: Range; readonly assistant: Range };
  readonly findings: Finding[];
  /** Worst misses first, already worded as advice. */
  readonly advice: string[];
}

/**
 * Each non-empty turn earns 1 inside its role's range and the ratio of the range's near end to
 * its length outside it (half the minimum earns 0.5), so a turn just outside costs little and one
 * far outside costs a lot. The score is 10 × the mean.
 */
export function lengthScore(turns: readonly ScoredTurn[], counts: readonly number[], tier: Tier): LengthResult {
  const target = LENGTH_TARGETS[tier];
  const sums = { user: 0, assistant: 0 };
  const ns = { user: 0, assistant: 0 };
  let credit = 0;
  let scored = 0;
  const misses: { turn: number; credit: number; message: string }[] = [];
  turns.forEach((t, i) => {
    const n = counts[i]!;
    if (n === 0) return; // empty turns are a structure problem, not a length one
    sums[t.role] += n;
    ns[t.role]++;
    const { min, max } = target[t.role];
    const c = n < min ? n / min : n > max ? max / n : 1;
    credit += c;
    scored++;
    if (c < 1) {
      const who = t.role === 'assistant' ? 'assistant answers' : 'user turns';
      misses.push({ turn: t.index, credit: c, message: `turn ${t.index + 1} (${t.role}) is ${plural(n, 'word')}; ${who} in the ${tier} tier run ${min}–${max}` });
    }
  });
  misses.sort((a, b) => a.credit - b.credit || a.turn - b.turn);
  return {
    score: scored === 0 ? 0 : round1((10 * credit) / scored),
    actual: { user: ns.user ? round1(sums.user / ns.user) : 0, assistant: ns.assistant ? round1(sums.assistant / ns.assistant) : 0 },
    target,
    findings: misses.map((m) => ({ turn: m.turn, part: 'length' as const, message: m.message })).sort((a, b) => a.turn - b.turn),
    advice: misses.map((m) => m.message),
  };
}
