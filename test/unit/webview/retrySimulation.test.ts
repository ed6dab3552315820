import { strict as assert } from 'node:assert';
import { seededRandom } from '../../../src/core/generation/random';
import { simulateMany, simulateRun } from '../../../src/core/generation/simulate';
import { simulationResult } from '../../../src/extension/retry/simulation';
import { SIMULATED_RUNS, retryWebviewMessage, type SimulationRequest } from '../../../src/shared/retryProtocol';
import { validate } from '../../../src/shared/schema';

const request = (failureRate: number, seed = 1): SimulationRequest => ({ type: 'simulate', strategy: 'exponential', maxAttempts: 4, baseDelayMs: 500, maxDelayMs: 8000, failureRate, seed });

describe('the retry simulation panel’s figures', () => {
  it('are the core’s simulation: one run from the seed, the distribution from the next stream', () => {
    const r = request(0.4, 9);
    const policy = { strategy: r.strategy, maxAttempts: r.maxAttempts, baseDelayMs: r.baseDelayMs, maxDelayMs: r.maxDelayMs };
    const result = simulationResult(r);
    assert.deepEqual(result.run, simulateRun(policy, 0.4, seededRandom(9)));
    const { histogram, ...summary } = result.distribution;
    assert.deepEqual(summary, simulateMany(policy, 0.4, SIMULATED_RUNS, seededRandom(10)));
    assert.equal(histogram.reduce((n, b) => n + b.count, 0), Math.round(summary.successRate * SIMULATED_RUNS));
    assert.deepEqual(result.request, r);
  });

  it('a higher failure rate lowers the success rate and lengthens the waits', () => {
    const low = simulationResult(request(0.1)).distribution;
    const high = simulationResult(request(0.7)).distribution;
    assert.ok(high.successRate < low.successRate, `${high.successRate} < ${low.successRate}`);
    assert.ok(high.attempts.mean > low.attempts.mean);
    assert.ok((high.timeToSuccessMs.p95 ?? 0) > (low.timeToSuccessMs.p95 ?? 0));
  });

  it('the page’s request is checked against the settings’ ranges', () => {
    assert.equal(validate(retryWebviewMessage, request(0.3)).ok, true);
    assert.equal(validate(retryWebviewMessage, { ...request(0.3), failureRate: 1.5 }).ok, false);
    assert.equal(validate(retryWebviewMessage, { ...request(0.3), maxAttempts: 0 }).ok, false);
    assert.equal(validate(retryWebviewMessage, { ...request(0.3), maxAttempts: 2.5 }).ok, false);
    assert.equal(validate(retryWebviewMessage, { ...request(0.3), strategy: 'random' }).ok, false);
    assert.equal(validate(retryWebviewMessage, { ...request(0.3), baseDelayMs: 3_600_001 }).ok, false);
    // Saving takes the four settings and nothing else.
    const save = { type: 'save', strategy: 'fixed', maxAttempts: 5, baseDelayMs: 250, maxDelayMs: 1000 };
    assert.equal(validate(retryWebviewMessage, save).ok, true);
    assert.equal(validate(retryWebviewMessage, { ...save, maxAttempts: 101 }).ok, false);
    assert.equal(validate(retryWebviewMessage, { ...save, apiBaseUrl: 'https://evil.example' }).ok, false);
  });
});
