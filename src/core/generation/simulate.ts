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

export function simulateMany(policy: RetryPolicy, failureRate: number, runs: number, random: () => number): SimulationSummary {
  let succeeded = 0;
  let attemptsTotal = 0;
  let attemptsMax = 0;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const run = simulateRun(policy, failureRate, random);
    attemptsTotal += run.length;
    attemptsMax = Math.max(attemptsMax, run.length);
    if (run.at(-1)?.outcome === 'succeeded') {
      succeeded++;
      times.push(run.reduce((t, a) => t + (a.delayMs ?? 0), 0));
    }
  }
  times.sort((a, b) => a - b);
  // Nearest rank: the smallest time at or above the share asked for.
  const rank = (q: number) => (times.length === 0 ? null : times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)]!);
  return {
    runs,
    successRate: runs === 0 ? 0 : succeeded / runs,
    attempts: { mean: runs === 0 ? 0 : attemptsTotal / runs, max: attemptsMax },
    timeToSuccessMs: { p50: rank(0.5), p95: rank(0.95), max: times.length === 0 ? null : times[times.length - 1]! },
  };
}
