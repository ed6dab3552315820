/**
 * Retry strategies on a simulated clock: the engine's own `retryDelay`, with failures drawn at a
 * given rate, so a person can see what a strategy does (one run's timeline, or the distribution
 * over many) without waiting or spending anything. Requests themselves take no time here.
 */
import { retryDelay, type RetryPolicy } from './retry';

export interface SimulatedAttempt {
  readonly attempt: number;
  readonly outcome: 'failed' | 'succeeded';
  /** The wait before the next attempt; absent after the last. */
  readonly delayMs?: number;
}

/** One conversation's attempts: failures at `failureRate` until one succeeds or attempts run out. */
export function simulateRun(policy: RetryPolicy, failureRate: number, random: () => number): SimulatedAttempt[] {
  const attempts: SimulatedAttempt[] = [];
  for (let attempt = 1; attempt <= policy.maxAttempts; attempt++) {
    const failed = random() < failureRate;
    if (!failed) {
      attempts.push({ attempt, outcome: 'succeeded' });
      break;
    }
    const last = attempt === policy.maxAttempts;
    attempts.push(last ? { attempt, outcome: 'failed' } : { attempt, outcome: 'failed', delayMs: retryDelay(policy, attempt, random) });
  }
  return attempts;
}

export interface SimulationSummary {
  readonly runs: number;
  /** Share of runs that ended in a success. */
  readonly successRate: number;
  readonly attempts: { readonly mean: number; readonly max: number };
  /** Simulated time from the first attempt to the success, over the runs that succeeded; null when none did. */
  readonly timeToSuccessMs: { readonly p50: number | null; readonly p95: number | null; readonly max: number | null };
}

/** One run's result, as the distribution needs it. */
export interface RunOutcome {
  readonly attempts: number;
  /** Simulated time from the first attempt to the success (the waits); null when every attempt failed. */
  readonly timeToSuccessMs: number | null;
}

/** `runs` runs in a row from one random stream (the same draws `simulateMany` makes). */
export function simulateRuns(policy: RetryPolicy, failureRate: number, runs: number, random: () => number): RunOutcome[] {
  const outcomes: RunOutcome[] = [];
  for (let i = 0; i < runs; i++) {
    const run = simulateRun(policy, failureRate, random);
    outcomes.push({ attempts: run.length, timeToSuccessMs: run.at(-1)?.outcome === 'succeeded' ? run.reduce((t, a) => t + (a.delayMs ?? 0), 0) : null });
  }
  return outcomes;
}

export function summarize(outcomes: readonly RunOutcome[]): SimulationSummary {
  const runs = outcomes.length;
  const times = outcomes.flatMap((o) => (o.timeToSuccessMs === null ? [] : [o.timeToSuccessMs])).sort((a, b) => a - b);
  // Nearest rank: the smallest time at or above the share asked for.
  const rank = (q: number) => (times.length === 0 ? null : times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)]!);
  return {
    runs,
    successRate: runs === 0 ? 0 : times.length / runs,
    attempts: { mean: runs === 0 ? 0 : outcomes.reduce((n, o) => n + o.attempts, 0) / runs, max: outcomes.reduce((m, o) => Math.max(m, o.attempts), 0) },
    timeToSuccessMs: { p50: rank(0.5), p95: rank(0.95), max: times.length === 0 ? null : times[times.length - 1]! },
  };
}

export function simulateMany(policy: RetryPolicy, failureRate: number, runs: number, random: () => number): SimulationSummary {
  return summarize(simulateRuns(policy, failureRate, runs, random));
}

export interface HistogramBin {
  /** Times from `fromMs` (included) to `toMs` (excluded; included for the last bin). */
  readonly fromMs: number;
  readonly toMs: number;
  readonly count: number;
}

/**
 * The times to success in `bins` equal bins from 0 to the longest (one bin of width 1 ms when all
 * are 0). Runs that never succeeded are not in it: the success rate tells them.
 */
export function timeToSuccessHistogram(outcomes: readonly RunOutcome[], bins: number): HistogramBin[] {
  const times = outcomes.flatMap((o) => (o.timeToSuccessMs === null ? [] : [o.timeToSuccessMs]));
  if (times.length === 0) return [];
  const max = Math.max(...times);
  const n = max === 0 ? 1 : Math.max(1, Math.floor(bins));
  const width = max === 0 ? 1 : max / n;
  const counts = new Array<number>(n).fill(0);
  for (const t of times) counts[Math.min(n - 1, Math.floor(t / width))]!++;
  return counts.map((count, i) => ({ fromMs: i * width, toMs: (i + 1) * width, count }));
}
