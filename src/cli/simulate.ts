/**
 * `promptloom simulate-retries`: what a retry strategy does, on a simulated clock with the
 * engine's own delay code: one run's attempts and waits, or the distribution over many runs.
 * Defaults come from the workspace's settings, as for `generate`.
 */
import { seededRandom } from '../core/generation/random';
import type { RetryStrategyName } from '../core/generation/retry';
import { simulateMany, simulateRun } from '../core/generation/simulate';
import { EXIT, UserError } from './errors';
import type { Output } from './output';
import { openWorkspace, workspaceFolder } from './workspace';

export interface SimulateFlags {
  readonly workspace?: string;
  readonly strategy?: RetryStrategyName;
  readonly maxAttempts?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly failureRate: number;
  readonly runs?: number;
  readonly seed: number;
  readonly format: 'text' | 'json';
}

export function runSimulateRetries(flags: SimulateFlags, out: Output): number {
  if (!(flags.failureRate >= 0 && flags.failureRate <= 1)) throw new UserError(`--failure-rate ${flags.failureRate}: expected a number from 0 to 1`);
  const settings = openWorkspace(workspaceFolder(flags.workspace), out).settings;
  const policy = {
    strategy: flags.strategy ?? settings.retryStrategy,
    maxAttempts: flags.maxAttempts ?? settings.maxAttempts,
    baseDelayMs: flags.baseDelayMs ?? settings.baseDelayMs,
    maxDelayMs: flags.maxDelayMs ?? settings.maxDelayMs,
  };
  const random = seededRandom(flags.seed);
  const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  if (flags.runs === undefined) {
    const attempts = simulateRun(policy, flags.failureRate, random);
    if (flags.format === 'json') out.stdout(JSON.stringify({ attempts }) + '\n');
    else {
      out.stdout(`${policy.strategy}, up to ${policy.maxAttempts} attempts, base ${policy.baseDelayMs} ms, at most ${policy.maxDelayMs} ms; failure rate ${flags.failureRate}\n`);
      for (const a of attempts) out.stdout(`attempt ${a.attempt}  ${a.outcome.padEnd(9)}${a.delayMs !== undefined ? `  then wait ${seconds(a.delayMs)}` : ''}\n`);
    }
    return EXIT.ok;
  }
  const summary = simulateMany(policy, flags.failureRate, flags.runs, random);
  if (flags.format === 'json') out.stdout(JSON.stringify(summary) + '\n');
  else {
    const t = summary.timeToSuccessMs;
    out.stdout(
      `${policy.strategy}, up to ${policy.maxAttempts} attempts, base ${policy.baseDelayMs} ms, at most ${policy.maxDelayMs} ms; failure rate ${flags.failureRate}; ${summary.runs} runs\n` +
        `succeeded ${(summary.successRate * 100).toFixed(1)}%; attempts ${summary.attempts.mean.toFixed(2)} on average, ${summary.attempts.max} at most\n` +
        (t.p50 === null ? 'no run succeeded\n' : `time to success: median ${seconds(t.p50)}, p95 ${seconds(t.p95!)}, max ${seconds(t.max!)}\n`),
    );
  }
  return EXIT.ok;
}
