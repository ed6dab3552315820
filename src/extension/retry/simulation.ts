/**
 * What the retry simulation panel shows for a request: the core's simulation (the engine's own
 * delays on a simulated clock), shaped for the page. No `vscode` import, so unit tests drive it.
 */
import { seededRandom } from '../../core/generation/random';
import { simulateRun, simulateRuns, summarize, timeToSuccessHistogram } from '../../core/generation/simulate';
import { HISTOGRAM_BINS, SIMULATED_RUNS, type RetryHostMessage, type SimulationRequest } from '../../shared/retryProtocol';

export function simulationResult(request: SimulationRequest): Extract<RetryHostMessage, { type: 'result' }> {
  const { strategy, maxAttempts, baseDelayMs, maxDelayMs, failureRate, seed } = request;
  const policy = { strategy, maxAttempts, baseDelayMs, maxDelayMs };
  const run = simulateRun(policy, failureRate, seededRandom(seed));
  // Its own stream, so the timeline does not shift the distribution's draws (and the reverse).
  const outcomes = simulateRuns(policy, failureRate, SIMULATED_RUNS, seededRandom(seed + 1));
  return { type: 'result', request, run, distribution: { ...summarize(outcomes), histogram: timeToSuccessHistogram(outcomes, HISTOGRAM_BINS) } };
}
