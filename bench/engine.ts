/**
 * The engine against a naive baseline, in one run, both talking to the fake Messages API over
 * HTTP: the SDK alone (its default retries, a fixed pool of workers, no limiter), and our engine.
 * Scaled-down time: a 1 s window of 20 requests stands in for 60 s / 50.
 */
import Anthropic from '@anthropic-ai/sdk';
import { createClient } from '../src/core/generation/claude';
import { GenerationEngine, resolveModel } from '../src/core/generation/engine';
import { RateLimiter } from '../src/core/generation/rateLimiter';
import { seededRandom } from '../src/core/generation/random';
import { FakeMessagesApi } from '../test/fixtures/fakeMessagesApi';

const KEY = 'sk-bench';
const N = 200;
const LIMIT = 20;
const WINDOW_MS = 1_000;

interface Figures {
  name: string;
  seconds: number;
  rateLimited: number;
  lost: number;
  rateUsed: number;
}

/** The SDK alone (its own retries, no limiter): `items` requests from `workers` workers; what failed for good is lost. */
async function sdkAlone(client: Anthropic, items: number, workers: number): Promise<{ seconds: number; lost: number }> {
  let next = 0;
  let lost = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < items) {
        next++;
        try {
          await client.messages.create({ model: 'claude-sonnet-5-5', max_tokens: 2000, messages: [{ role: 'user', content: 'Write a conversation.' }] });
        } catch {
          lost++;
        }
      }
    }),
  );
  return { seconds: (Date.now() - started) / 1000, lost };
}

async function naive(concurrency: number): Promise<Figures> {
  const api = await FakeMessagesApi.start({ apiKey: KEY, requestsPerWindow: LIMIT, windowMs: WINDOW_MS });
  const client = new Anthropic({ apiKey: KEY, baseURL: api.url }); // the SDK's own retries: 2
  const { seconds, lost } = await sdkAlone(client, N, concurrency);
  await api.stop();
  return { name: `SDK alone, ${concurrency} workers`, seconds, rateLimited: api.stats.rateLimited, lost, rateUsed: shareOfAllowedRate(api.stats.acceptedAt, LIMIT, WINDOW_MS) };
}

async function ours(configuredLimit: number, label: string): Promise<Figures> {
  const api = await FakeMessagesApi.start({ apiKey: KEY, requestsPerWindow: LIMIT, windowMs: WINDOW_MS });
  const engine = new GenerationEngine({
    client: createClient({ apiKey: KEY, baseURL: api.url, timeoutMs: 10_000 }),
    model: resolveModel('sonnet')!,
    limiter: new RateLimiter({ windowMs: WINDOW_MS, requests: configuredLimit }, Date.now()),
    retry: { strategy: 'exponential', baseDelayMs: 200, maxDelayMs: 5_000, maxAttempts: 5 },
    concurrency: 8,
    maxTokens: 2000,
    onError: 'continue',
    random: seededRandom(3),
  });
  const items = Array.from({ length: N }, (_, i) => ({ key: String(i), prompt: 'Write a conversation.' }));
  const summary = await engine.run(items, () => undefined);
  await api.stop();
  const seconds = summary.durationMs / 1000;
  return { name: label, seconds, rateLimited: api.stats.rateLimited, lost: summary.requested - summary.succeeded, rateUsed: shareOfAllowedRate(api.stats.acceptedAt, LIMIT, WINDOW_MS) };
}

/**
 * Requests the server accepted ÷ the most its sliding window accepts between the first accepted
 * and the last: the limit at once, then the limit again each time a window has passed.
 */
export function shareOfAllowedRate(acceptedAt: readonly number[], limit: number, windowMs: number): number {
  if (acceptedAt.length === 0) return 0;
  const span = acceptedAt[acceptedAt.length - 1]! - acceptedAt[0]!;
  return acceptedAt.length / (limit * (Math.floor(span / windowMs) + 1));
}

export async function benchEngine(): Promise<string[][]> {
  const runs = [await naive(8), await ours(LIMIT, 'promptloom, limit known'), await ours(LIMIT * 3, 'promptloom, real limit 3× lower than set')];
  return runs.map((f) => [f.name, `${f.seconds.toFixed(1)} s`, String(f.rateLimited), String(f.lost), `${Math.round(f.rateUsed * 100)}%`]);
}

/**
 * The scenario: the limit known, and faults around. 36 conversations, 12 requests per
 * 4 s, 3 workers, answers in 200 ms; of the requests the server accepts, 5% answer 500, 5% 529,
 * 3% reset the connection, 2% send a truncated body and 2% answer after the 2.5 s timeout.
 */
const FAULTY = { items: 36, limit: 12, windowMs: 4_000, workers: 3, latencyMs: 200, timeoutMs: 2_500, slowMs: 4_000 };
const FAULT_RATES = { serverError: 0.05, overloaded: 0.05, reset: 0.03, truncated: 0.02, slow: 0.02 };

export const FAULTY_SCENARIO = `${FAULTY.items} conversations, ${FAULTY.limit} requests per ${FAULTY.windowMs / 1000} s, ${FAULTY.workers} workers, answers in ${FAULTY.latencyMs} ms; 5% 500s, 5% 529s, 3% connection resets, 2% truncated bodies, 2% answers slower than the ${FAULTY.timeoutMs / 1000} s timeout`;

export const FAULTY_DEFINITIONS = [
  'share of allowed rate: requests the server accepted ÷ the most its limit accepts between the first accepted and the last: limit × (⌊span ÷ window⌋ + 1)',
  '× ideal schedule: time to finish ÷ the ideal: the requests the server accepted, each sent as soon as both a worker and the window allow, each answered in the run\'s median answer time',
];

/**
 * The ideal schedule's length: `requests` sent by `workers` workers, each as soon as the worker
 * is free and the sliding window has room (a request leaves the window `windowMs` after it was
 * sent), each answered in `answerMs`. Faults aside, no scheduler can finish sooner.
 */
export function idealScheduleMs(requests: number, limit: number, windowMs: number, workers: number, answerMs: number): number {
  const free = Array.from({ length: workers }, () => 0);
  const sent: number[] = [];
  let end = 0;
  for (let i = 0; i < requests; i++) {
    const w = free.indexOf(Math.min(...free));
    const at = Math.max(free[w]!, i >= limit ? sent[i - limit]! + windowMs : 0);
    sent.push(at);
    free[w] = at + answerMs;
    end = Math.max(end, free[w]!);
  }
  return end;
}

interface FaultyFigures {
  name: string;
  seconds: number;
  rateLimited: number;
  lost: number;
  accepted: number;
  shareOfRate: number;
  timesIdeal: number;
}

/** `answersMs`: how long each successful answer took, as the client saw it (the machine's load shows there). */
function faultyFigures(name: string, api: FakeMessagesApi, seconds: number, lost: number, answersMs: number[]): FaultyFigures {
  const { limit, windowMs } = FAULTY;
  const accepted = api.stats.acceptedAt.length;
  const sorted = [...answersMs].sort((a, b) => a - b);
  const answerMs = sorted[Math.floor(sorted.length / 2)] ?? FAULTY.latencyMs;
  const ideal = idealScheduleMs(accepted, limit, windowMs, FAULTY.workers, answerMs) / 1000;
  return { name, seconds, rateLimited: api.stats.rateLimited, lost, accepted, shareOfRate: shareOfAllowedRate(api.stats.acceptedAt, limit, windowMs), timesIdeal: seconds / ideal };
}

async function faultyApi(seed: number): Promise<FakeMessagesApi> {
  return FakeMessagesApi.start({ apiKey: KEY, requestsPerWindow: FAULTY.limit, windowMs: FAULTY.windowMs, latencyMs: FAULTY.latencyMs, slowMs: FAULTY.slowMs, faultRates: FAULT_RATES, seed });
}

/** The SDK alone: its own retries (2) and timeout, a fixed pool of workers, no limiter. */
async function faultySdkAlone(seed: number): Promise<FaultyFigures> {
  const api = await faultyApi(seed);
  const answersMs: number[] = [];
  // Times each HTTP exchange the SDK makes, to know the answer time the machine allowed.
  const timed: typeof fetch = async (input, init) => {
    const started = Date.now();
    const response = await fetch(input, init);
    if (response.status === 200) answersMs.push(Date.now() - started);
    return response;
  };
  const client = new Anthropic({ apiKey: KEY, baseURL: api.url, timeout: FAULTY.timeoutMs, fetch: timed });
  const { seconds, lost } = await sdkAlone(client, FAULTY.items, FAULTY.workers);
  await api.stop();
  return faultyFigures(`SDK alone, ${FAULTY.workers} workers`, api, seconds, lost, answersMs);
}

async function faultyOurs(seed: number): Promise<FaultyFigures> {
  const api = await faultyApi(seed);
  const engine = new GenerationEngine({
    client: createClient({ apiKey: KEY, baseURL: api.url, timeoutMs: FAULTY.timeoutMs }),
    model: resolveModel('sonnet')!,
    limiter: new RateLimiter({ windowMs: FAULTY.windowMs, requests: FAULTY.limit }, Date.now()),
    retry: { strategy: 'exponential', baseDelayMs: 500, maxDelayMs: 8_000, maxAttempts: 5 },
    concurrency: FAULTY.workers,
    maxTokens: 2000,
    onError: 'continue',
    random: seededRandom(seed),
  });
  const items = Array.from({ length: FAULTY.items }, (_, i) => ({ key: String(i), prompt: 'Write a conversation.' }));
  const answersMs: number[] = [];
  const summary = await engine.run(items, (a) => {
    if (a.status === 'succeeded') answersMs.push(a.durationMs);
  });
  await api.stop();
  return faultyFigures('promptloom, limit known', api, summary.durationMs / 1000, summary.requested - summary.succeeded, answersMs);
}

export async function benchFaultyEngine(seed = 14): Promise<string[][]> {
  const runs = [await faultySdkAlone(seed), await faultyOurs(seed)];
  return runs.map((f) => [f.name, `${f.seconds.toFixed(1)} s`, String(f.rateLimited), String(f.lost), String(f.accepted), `${Math.round(f.shareOfRate * 100)}%`, `${f.timesIdeal.toFixed(2)}×`]);
}
