import { strict as assert } from 'node:assert';
import { seededRandom } from '../../../src/core/generation/random';
import { retryDelay, type RetryPolicy } from '../../../src/core/generation/retry';
import { simulateMany, simulateRun, simulateRuns, summarize, timeToSuccessHistogram } from '../../../src/core/generation/simulate';

const policy = (strategy: RetryPolicy['strategy'], maxAttempts = 4): RetryPolicy => ({ strategy, maxAttempts, baseDelayMs: 1000, maxDelayMs: 5000 });

describe('retry simulation', () => {
  it('with every attempt failing: the strategy’s own delays between attempts, none after the last', () => {
    assert.deepEqual(simulateRun(policy('linear'), 1, seededRandom(1)), [
      { attempt: 1, outcome: 'failed', delayMs: 1000 },
      { attempt: 2, outcome: 'failed', delayMs: 2000 },
      { attempt: 3, outcome: 'failed', delayMs: 3000 },
      { attempt: 4, outcome: 'failed' },
    ]);
    assert.deepEqual(
      simulateRun(policy('fixed', 3), 1, seededRandom(1)).map((a) => a.delayMs),
      [1000, 1000, undefined],
    );
    // Exponential is the engine's jittered doubling: the same random stream gives the same delays.
    const random = seededRandom(7);
    const run = simulateRun(policy('exponential'), 1, random);
    const replay = seededRandom(7);
    const expected = [1, 2, 3].map((attempt) => {
      replay(); // the failure draw
      return retryDelay(policy('exponential'), attempt, replay);
    });
    assert.deepEqual(run.slice(0, 3).map((a) => a.delayMs), expected);
    for (const [i, d] of expected.entries()) assert.ok(d >= Math.min(5000, 1000 * 2 ** i) / 2 && d <= Math.min(5000, 1000 * 2 ** i));
  });

  it('with no failures: one attempt, succeeded', () => {
    assert.deepEqual(simulateRun(policy('exponential'), 0, seededRandom(3)), [{ attempt: 1, outcome: 'succeeded' }]);
  });

  it('many runs: the success rate is 1 − rate^attempts, time to success from the delays, repeatable by seed', () => {
    const s = simulateMany(policy('fixed', 3), 0.5, 20_000, seededRandom(11));
    assert.ok(Math.abs(s.successRate - (1 - 0.5 ** 3)) < 0.01, String(s.successRate));
    assert.equal(s.attempts.max, 3);
    assert.ok(Math.abs(s.attempts.mean - 1.75) < 0.02, String(s.attempts.mean)); // 1 + 0.5 + 0.25
    // Fixed delays of 1 s: a success comes after 0, 1 or 2 s of waiting.
    assert.deepEqual([s.timeToSuccessMs.p50, s.timeToSuccessMs.max], [0, 2000]);
    assert.deepEqual(simulateMany(policy('fixed', 3), 0.5, 1000, seededRandom(11)), simulateMany(policy('fixed', 3), 0.5, 1000, seededRandom(11)));
    const none = simulateMany(policy('fixed', 2), 1, 10, seededRandom(1));
    assert.deepEqual(none.timeToSuccessMs, { p50: null, p95: null, max: null });
    assert.equal(none.successRate, 0);
  });

  it('the runs behind the summary, and their times to success in equal bins', () => {
    const outcomes = simulateRuns(policy('linear', 4), 0.6, 2000, seededRandom(5));
    // The same draws as simulateMany: one stream, one summary.
    assert.deepEqual(summarize(outcomes), simulateMany(policy('linear', 4), 0.6, 2000, seededRandom(5)));
    const bins = timeToSuccessHistogram(outcomes, 6);
    assert.equal(bins.length, 6);
    assert.equal(bins.reduce((n, b) => n + b.count, 0), outcomes.filter((o) => o.timeToSuccessMs !== null).length);
    // Linear waits of 1, 2, 3 s: successes after 0, 1, 3 or 6 s; the longest closes the last bin.
    assert.equal(bins.at(-1)!.toMs, 6000);
    assert.equal(bins[0]!.count, outcomes.filter((o) => o.timeToSuccessMs === 0).length);
    assert.equal(bins.at(-1)!.count, outcomes.filter((o) => o.timeToSuccessMs === 6000).length);
    assert.deepEqual(timeToSuccessHistogram([{ attempts: 1, timeToSuccessMs: 0 }], 10), [{ fromMs: 0, toMs: 1, count: 1 }]);
    assert.deepEqual(timeToSuccessHistogram([{ attempts: 2, timeToSuccessMs: null }], 10), []);
  });
});
