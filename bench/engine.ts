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

async function naive(concurrency: number): Promise<Figures> {
  const api = await FakeMessagesApi.start({ apiKey: KEY, requestsPerWindow: LIMIT, windowMs: WINDOW_MS });
  const client = new Anthropic({ apiKey: KEY, baseURL: api.url }); // the SDK's own retries: 2
  let next = 0;
  let lost = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < N) {
        next++;
        try {
          await client.messages.create({ model: 'claude-sonnet-5-5', max_tokens: 2000, messages: [{ role: 'user', content: 'Write a conversation.' }] });
        } catch {
          lost++;
        }
      }
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  await api.stop();
  return { name: `SDK alone, ${concurrency} workers`, seconds, rateLimited: api.stats.rateLimited, lost, rateUsed: api.stats.accepted / seconds / (LIMIT / (WINDOW_MS / 1000)) };
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
  return { name: label, seconds, rateLimited: api.stats.rateLimited, lost: summary.requested - summary.succeeded, rateUsed: api.stats.accepted / seconds / (LIMIT / (WINDOW_MS / 1000)) };
}

export async function benchEngine(): Promise<string[][]> {
  const runs = [await naive(8), await ours(LIMIT, 'promptloom, limit known'), await ours(LIMIT * 3, 'promptloom, real limit 3× lower than set')];
  return runs.map((f) => [f.name, `${f.seconds.toFixed(1)} s`, String(f.rateLimited), String(f.lost), `${Math.round(f.rateUsed * 100)}%`]);
}
