import { strict as assert } from 'node:assert';
import { RECORD_TOOL_CHARS, createClient } from '../../../src/core/generation/claude';
import { GENERATION_CALL, GenerationEngine, limiterInputTokens, resolveModel, type Attempt, type EngineCall, type EngineOptions, type GenerationItem } from '../../../src/core/generation/engine';
import { failureSummary } from '../../../src/core/generation/failures';
import { RateLimiter } from '../../../src/core/generation/rateLimiter';
import { seededRandom } from '../../../src/core/generation/random';
import { FakeMessagesApi, type FakeApiOptions } from '../../fixtures/fakeMessagesApi';

const KEY = 'sk-test-fake-key';
const items = (n: number): GenerationItem[] => Array.from({ length: n }, (_, i) => ({ key: `item-${i}`, system: 'You write conversations.', prompt: `Conversation ${i} about market volatility.` }));

async function withApi<T>(options: FakeApiOptions, body: (api: FakeMessagesApi) => Promise<T>): Promise<T> {
  const api = await FakeMessagesApi.start(options);
  try {
    return await body(api);
  } finally {
    await api.stop();
  }
}

function engine(api: FakeMessagesApi, overrides: Partial<EngineOptions> & { windowMs?: number; requests?: number; apiKey?: string; timeoutMs?: number } = {}): GenerationEngine {
  const model = resolveModel('sonnet')!;
  return new GenerationEngine({
    client: createClient({ apiKey: overrides.apiKey ?? KEY, baseURL: api.url, timeoutMs: overrides.timeoutMs ?? 5_000 }),
    model,
    limiter: new RateLimiter({ windowMs: overrides.windowMs ?? 60_000, requests: overrides.requests ?? 1_000 }, Date.now()),
    retry: { strategy: 'exponential', baseDelayMs: 20, maxDelayMs: 200, maxAttempts: 4 },
    concurrency: 3,
    maxTokens: 2_000,
    onError: 'continue',
    random: seededRandom(1),
    ...overrides,
  });
}

describe('generation engine (real SDK, fake Messages API over HTTP)', function () {
  this.timeout(30_000);

  it('runs a batch and reports every attempt with its conversation, tokens and cost', async () => {
    await withApi({}, async (api) => {
      const attempts: Attempt[] = [];
      const summary = await engine(api).run(items(12), (a) => attempts.push(a));
      assert.equal(summary.succeeded, 12);
      assert.equal(summary.failed, 0);
      assert.equal(attempts.length, 12);
      assert.ok(attempts.every((a) => a.status === 'succeeded' && a.turns?.length === 10 && a.turns[0]!.role === 'user'));
      assert.equal(summary.outputTokens, 12 * 900);
      const expected = (summary.inputTokens * 3 + summary.outputTokens * 15) / 1e6;
      assert.ok(Math.abs(summary.costUsd - expected) < 1e-9);
      assert.ok([...api.stats.keysSeen].every((k) => k === KEY));
    });
  });

  it('survives every transient fault: 500, reset, 529, truncated JSON, a slow answer past the timeout', async () => {
    await withApi({}, async (api) => {
      api.script(
        { kind: 'status', status: 500, type: 'api_error' },
        { kind: 'reset' },
        { kind: 'status', status: 529, type: 'overloaded_error' },
        { kind: 'truncated' },
        { kind: 'slow', ms: 3_000 },
        { kind: 'text-json' },
      );
      const attempts: Attempt[] = [];
      const summary = await engine(api, { timeoutMs: 1_000, concurrency: 1 }).run(items(3), (a) => attempts.push(a));
      assert.equal(summary.succeeded, 3, JSON.stringify(attempts.map((a) => [a.key, a.status, a.errorType])));
      assert.equal(summary.failed, 0);
      const errors = attempts.filter((a) => a.status === 'failed').map((a) => a.errorType);
      assert.deepEqual(errors, ['server_error', 'connection', 'overloaded', 'unparseable', 'timeout']);
      assert.equal(summary.retries, 5);
    });
  });

  it('does not retry what cannot succeed: a bad key, a spent budget, a prose answer past the attempts', async () => {
    await withApi({}, async (api) => {
      const attempts: Attempt[] = [];
      const summary = await engine(api, { apiKey: 'sk-wrong', concurrency: 1 }).run(items(5), (a) => attempts.push(a));
      // A rejected key is rejected for every item: the batch stops at the first answer.
      assert.equal(summary.stopped, 'fatal');
      assert.match(summary.stopReason!, /the API key was rejected \(401 authentication_error\): set ANTHROPIC_API_KEY or run Promptloom: Set API Key/);
      assert.deepEqual(summary.fatal, { type: 'authentication', status: 401 });
      assert.equal(summary.failed, 1);
      assert.equal(summary.remaining, 4);
      assert.equal(summary.retries, 0);
      assert.equal(api.stats.requests, 1, 'nothing more is sent');
      assert.deepEqual(attempts.map((a) => [a.errorType, a.final]), [['authentication', true]]);
    });
    await withApi({}, async (api) => {
      api.script({ kind: 'status', status: 429, type: 'billing_error' });
      const attempts: Attempt[] = [];
      await engine(api, { concurrency: 1 }).run(items(1), (a) => attempts.push(a));
      assert.deepEqual(attempts.map((a) => a.errorType), ['spend_limit']);
    });
    await withApi({}, async (api) => {
      api.script(...Array.from({ length: 4 }, () => ({ kind: 'text-prose' as const })));
      const summary = await engine(api, { concurrency: 1 }).run(items(1), () => undefined);
      assert.deepEqual([summary.attempts, summary.failed], [4, 1], 'unparseable answers retry up to max attempts');
    });
  });

  it('on-error stop ends the batch at the first final failure', async () => {
    await withApi({}, async (api) => {
      api.script({ kind: 'status', status: 400, type: 'invalid_request_error' });
      const summary = await engine(api, { onError: 'stop', concurrency: 1 }).run(items(5), () => undefined);
      assert.equal(summary.stopped, 'error');
      assert.equal(summary.failed, 1);
      assert.equal(summary.succeeded, 0);
    });
  });

  it('with the limit known: no 429s, and close to the allowed rate', async () => {
    await withApi({ requestsPerWindow: 10, windowMs: 1_000 }, async (api) => {
      const summary = await engine(api, { windowMs: 1_000, requests: 10 }).run(items(27), () => undefined);
      assert.equal(summary.succeeded, 27);
      assert.equal(api.stats.rateLimited, 0);
      // 10 per window: 27 requests need the third window to open, at 2 s.
      assert.ok(summary.durationMs >= 1_900, `took ${summary.durationMs} ms`);
    });
  });

  it('a batch throttled by a learned limit waits until the reset the server named, not a whole configured window', async () => {
    // The server allows 30 per 2 s (30 per 10 s, scaled down); we were told 100 per 6 s.
    await withApi({ requestsPerWindow: 30, windowMs: 2_000 }, async (api) => {
      const summary = await engine(api, { windowMs: 6_000, requests: 100 }).run(items(40), () => undefined);
      assert.equal(summary.succeeded, 40);
      assert.equal(api.stats.rateLimited, 0, 'the headers said when the room was gone: no request was sent into a 429');
      const arrivals = api.stats.arrivals;
      const firstAfterPause = arrivals[30]!;
      // The reset the server named in its last answer before that request: when its window freed room.
      const named = api.stats.limitReports.filter((r) => r.at <= firstAfterPause && r.remaining === 0).at(-1);
      assert.ok(named, 'the server said its window was full');
      assert.ok(firstAfterPause >= named.resetAt, `sent ${named.resetAt - firstAfterPause} ms before the reset the server named`);
      // A whole configured window after the first send would be 6 s; the reset came about 2 s after it.
      assert.ok(firstAfterPause - named.resetAt < 1_500, `idle ${firstAfterPause - named.resetAt} ms past the reset`);
      assert.ok(firstAfterPause - arrivals[0]! < 4_000, 'well before a configured window after the first request');
    });
  });

  it('the retry delay spaces attempts from when the failed one was sent: a timeout does not wait it out again', async () => {
    await withApi({}, async (api) => {
      api.script({ kind: 'slow', ms: 3_000 });
      const retry = { strategy: 'fixed' as const, baseDelayMs: 1_500, maxDelayMs: 1_500, maxAttempts: 2 };
      const summary = await engine(api, { timeoutMs: 1_000, concurrency: 1, retry }).run(items(1), () => undefined);
      assert.equal(summary.succeeded, 1);
      const [first, second] = api.stats.arrivals;
      const spacing = second! - first!;
      // Measured at the server: each arrival lags its send a little, by a few ms more or less.
      assert.ok(spacing >= 1_400, `the strategy's spacing holds: ${spacing} ms`);
      // Waiting the delay after the 1 s timeout would put the retry 2.5 s after the first.
      assert.ok(spacing < 2_300, `not the delay again after the timeout: ${spacing} ms`);
    });
  });

  it('counts a request that timed out: the server had counted it', async () => {
    // 4 allowed per 1 s, and no rate-limit headers to correct our count: the first answer is
    // slower than the timeout, and the server counted it. Not counting it would send a fifth
    // request into the first window, and get a 429.
    await withApi({ requestsPerWindow: 4, windowMs: 1_000, limitHeaders: false }, async (api) => {
      api.script({ kind: 'slow', ms: 1_500 });
      const summary = await engine(api, { windowMs: 1_000, requests: 4, timeoutMs: 300, concurrency: 2 }).run(items(8), () => undefined);
      assert.equal(summary.succeeded, 8);
      assert.equal(api.stats.rateLimited, 0);
    });
  });

  it('with a lower real limit than configured: adapts after a handful of 429s, loses nothing', async () => {
    await withApi({ requestsPerWindow: 8, windowMs: 1_000 }, async (api) => {
      const summary = await engine(api, { windowMs: 1_000, requests: 100, concurrency: 4 }).run(items(30), () => undefined);
      assert.equal(summary.succeeded, 30);
      assert.equal(summary.failed, 0);
      assert.ok(api.stats.rateLimited <= 4, `429s: ${api.stats.rateLimited}`);
    });
  });

  it('a 429 pauses everything for retry-after', async () => {
    await withApi({}, async (api) => {
      api.script({ kind: 'status', status: 429, type: 'rate_limit_error', retryAfter: 1 });
      const started = Date.now();
      const summary = await engine(api, { concurrency: 1 }).run(items(2), () => undefined);
      assert.equal(summary.succeeded, 2);
      assert.ok(Date.now() - started >= 1_000, 'waited as told');
      assert.equal(summary.rateLimited, 1);
    });
  });

  it('never starts a request that could cross the budget, and says so', async () => {
    await withApi({}, async (api) => {
      // A request may cost up to (input + 2,000 out tokens) ≈ $0.0303 and really costs ≈ $0.0147:
      // after three, $0.044 spent + $0.0303 could cross $0.07, so the fourth never starts.
      const summary = await engine(api, { budgetUsd: 0.07, concurrency: 1 }).run(items(10), () => undefined);
      assert.equal(summary.stopped, 'budget');
      assert.equal(summary.succeeded, 3);
      assert.equal(api.stats.accepted, 3, 'no request beyond the budget reached the server');
      assert.ok(summary.costUsd <= 0.07);
      assert.match(summary.stopReason!, /would cross the budget of \$0\.07/);
      assert.ok(api.stats.countTokens > 0, 'estimated with countTokens');
    });
  });

  it('cancel stops a batch: nothing new starts', async () => {
    await withApi({ latencyMs: 100 }, async (api) => {
      const e = engine(api, { concurrency: 2 });
      const attempts: Attempt[] = [];
      const running = e.run(items(40), (a) => attempts.push(a));
      setTimeout(() => e.cancel(), 250);
      const summary = await running;
      assert.equal(summary.stopped, 'cancelled');
      assert.ok(summary.succeeded < 40);
      assert.ok(api.stats.requests <= summary.attempts);
      // Requests cut off by the cancel are left for a resume: not failures.
      assert.equal(summary.failed, 0);
      assert.equal(summary.remaining, 40 - summary.succeeded);
    });
  });

  it('stops at once, whatever on-error says, when no other item could succeed: 403, 404 model, nothing listening, an unusable port', async () => {
    await withApi({}, async (api) => {
      for (const [status, type, message] of [
        [403, 'permission_error', /the API key may not do this \(403 permission_error\)/],
        [404, 'not_found_error', /has no model claude-sonnet-5-5 \(404 not_found_error\): choose another model/],
      ] as const) {
        api.script({ kind: 'status', status, type });
        const before = api.stats.requests;
        const summary = await engine(api, { concurrency: 1, onError: 'continue' }).run(items(6), () => undefined);
        assert.equal(summary.stopped, 'fatal', `${status}`);
        assert.match(summary.stopReason!, message);
        assert.equal(api.stats.requests - before, 1, `${status}: one request, not six`);
        assert.deepEqual(summary.failures, [{ type: type === 'permission_error' ? 'permission' : 'not_found', status, count: 1 }]);
      }
    });
    // A port nothing listens on: the server of a moment ago, stopped.
    const closed = await FakeMessagesApi.start();
    const url = closed.url;
    await closed.stop();
    for (const [address, type, message] of [
      [url, 'connection_refused', new RegExp(`nothing answers at ${url.replace(/[.:/]/g, '\\$&')} \\(connection refused\\)`)],
      ['http://127.0.0.1:6000', 'bad_address', /the API address http:\/\/127\.0\.0\.1:6000 cannot be used/],
    ] as const) {
      const attempts: Attempt[] = [];
      const e = new GenerationEngine({
        client: createClient({ apiKey: KEY, baseURL: address, timeoutMs: 5_000 }),
        model: resolveModel('sonnet')!,
        limiter: new RateLimiter({ windowMs: 60_000, requests: 1_000 }, Date.now()),
        retry: { strategy: 'fixed', baseDelayMs: 10, maxDelayMs: 10, maxAttempts: 5 },
        concurrency: 1,
        maxTokens: 100,
        onError: 'continue',
        address,
      });
      const summary = await e.run(items(4), (a) => attempts.push(a));
      assert.equal(summary.stopped, 'fatal', address);
      assert.match(summary.stopReason!, message);
      assert.equal(summary.attempts, 1, `${address}: tried once, not 4 items × 5 attempts`);
      assert.deepEqual(attempts.map((a) => a.errorType), [type]);
    }
  });

  it('counts final failures by cause for the summary', async () => {
    await withApi({}, async (api) => {
      api.script({ kind: 'status', status: 400, type: 'invalid_request_error' }, { kind: 'status', status: 529, type: 'overloaded_error' }, { kind: 'status', status: 529, type: 'overloaded_error' });
      const summary = await engine(api, { concurrency: 1, retry: { strategy: 'fixed', baseDelayMs: 5, maxDelayMs: 5, maxAttempts: 1 } }).run(items(4), () => undefined);
      assert.equal(summary.stopped, undefined);
      assert.equal(summary.succeeded, 1);
      assert.deepEqual(
        [...summary.failures].sort((a, b) => a.type.localeCompare(b.type)),
        [
          { type: 'invalid_request', status: 400, count: 1 },
          { type: 'overloaded', status: 529, count: 2 },
        ],
      );
      assert.equal(failureSummary(summary.failures), '3 failed: 2 overloaded (529), 1 invalid request (400)');
    });
  });

  it('a paid answer the caller fails to keep is never taken for a failed request: not retried, not paid twice, and the batch stops', async () => {
    await withApi({}, async (api) => {
      let calls = 0;
      const summary = await engine(api, { concurrency: 1 }).run(items(3), (a) => {
        calls++;
        if (a.status === 'succeeded' && calls === 1) throw new Error('the workspace database is busy');
      });
      assert.equal(api.stats.accepted, 1, 'the answer was not requested again');
      assert.equal(summary.succeeded, 1);
      assert.equal(summary.failed, 0, 'a storage problem is not an API failure');
      assert.equal(summary.unstored, 1);
      assert.ok(summary.costUsd > 0, 'what was paid is counted');
      assert.equal(summary.stopped, 'error');
      assert.match(summary.stopReason!, /a paid answer could not be stored \(the workspace database is busy\)/);
    });
  });

  it('admit: an item left to someone else is neither sent, requested nor remaining; one that cannot be asked about stops the batch', async () => {
    await withApi({}, async (api) => {
      const asked: string[] = [];
      const attempts: Attempt[] = [];
      const mine = (item: GenerationItem) => Number(item.key.split('-')[1]) % 3 !== 0;
      const summary = await engine(api, { admit: async (item) => (asked.push(item.key), mine(item)) }).run(items(9), (a) => attempts.push(a));
      assert.equal(api.stats.accepted, 6);
      assert.deepEqual([...asked].sort(), items(9).map((i) => i.key).sort(), 'asked once per item');
      assert.deepEqual(attempts.map((a) => a.key).sort(), items(9).filter(mine).map((i) => i.key).sort());
      assert.deepEqual([summary.requested, summary.succeeded, summary.remaining, summary.stopped], [6, 6, 0, undefined]);

      const before = api.stats.accepted;
      const refusing = async (item: GenerationItem) => {
        if (item.key === 'item-2') throw new Error('the claim was refused');
        return true;
      };
      const stopped = await engine(api, { concurrency: 1, admit: refusing }).run(items(5), () => undefined);
      assert.equal(api.stats.accepted - before, 2);
      assert.equal(stopped.stopped, 'error');
      assert.match(stopped.stopReason ?? '', /item-2 could not be claimed: the claim was refused/);
      assert.deepEqual([stopped.requested, stopped.succeeded, stopped.remaining], [5, 2, 3]);
    });
  });

  it('the API key appears in no attempt, summary or error', async () => {
    await withApi({}, async (api) => {
      api.script({ kind: 'status', status: 500, type: 'api_error' });
      const attempts: Attempt[] = [];
      const summary = await engine(api).run(items(3), (a) => attempts.push(a));
      assert.doesNotMatch(JSON.stringify({ attempts, summary }), new RegExp(KEY));
    });
  });
});

describe('generation engine: the budget and prompt-cache writes', () => {
  it('counts a marked prefix at the cache-write price, so the budget holds when the first request writes it', async () => {
    const model = resolveModel('sonnet')!;
    // A request counted at 5,000 input tokens, of which the API bills 4,000 as a cache write
    // (1.25×), and an answer that takes all of max_tokens: the worst case the budget must cover.
    const call: EngineCall = {
      countTokens: async () => 5_000,
      cachesPrefix: () => true,
      send: async (_client, request) => ({ turns: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }], inputTokens: 1_000, cacheCreationInputTokens: 4_000, outputTokens: request.maxTokens, headers: {} }),
    };
    const plain = (5_000 * model.inputPrice + 100 * model.outputPrice) / 1e6; // $0.0165
    const e = new GenerationEngine({
      client: createClient({ apiKey: KEY, baseURL: 'http://127.0.0.1:9', timeoutMs: 1_000 }),
      model,
      limiter: new RateLimiter({ windowMs: 60_000, requests: 1_000 }, Date.now()),
      retry: { strategy: 'exponential', baseDelayMs: 20, maxDelayMs: 200, maxAttempts: 4 },
      concurrency: 1,
      maxTokens: 100,
      onError: 'continue',
      random: seededRandom(1),
      call,
      budgetUsd: plain + 0.0005,
    });
    const summary = await e.run(items(3), () => undefined);
    assert.equal(summary.stopped, 'budget');
    assert.ok(summary.costUsd <= plain + 0.0005, `spent $${summary.costUsd} of a $${plain + 0.0005} budget`);
  });
});

describe('generation engine: which prefixes are marked for the cache', function () {
  this.timeout(20_000);
  const stable = 'Stable instructions for every conversation. '.repeat(120);

  it('marks a long prefix only when more than one item sends it', async () => {
    await withApi({}, async (api) => {
      const own = (i: number): GenerationItem => ({ key: `own-${i}`, system: `${stable} Tone ${i}.`, prompt: `Conversation ${i}.` });
      const shared = (i: number): GenerationItem => ({ key: `shared-${i}`, system: stable, prompt: `Conversation ${i}.` });
      const summary = await engine(api).run([own(1), own(2), shared(1), shared(2), shared(3)], () => undefined);
      assert.equal(summary.succeeded, 5);
      assert.equal(api.stats.cacheMarked, 3, 'the two prompts sent once went unmarked');
      assert.ok(summary.savedUsd > 0);
    });
  });
});

describe('generation engine: the budget while workers wait for the limiter', () => {
  it('holds a request’s worst case from the budget check on, so workers waiting for room together cannot cross it', async () => {
    const model = resolveModel('sonnet')!;
    // Every answer takes all of max_tokens: what each costs is exactly the worst case checked.
    const call: EngineCall = {
      countTokens: async () => 1_000,
      // Answers take longer than the limiter's spacing: the next request goes while one is in flight.
      send: async (_client, request) => {
        await new Promise((r) => setTimeout(r, 300));
        return { turns: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }], inputTokens: 1_000, outputTokens: request.maxTokens, headers: {} };
      },
    };
    const worst = (1_000 * model.inputPrice + 1_000 * model.outputPrice) / 1e6; // $0.018
    // One request per 200 ms, the window full when the batch starts: every worker passes the
    // budget check, then waits for room.
    const limiter = new RateLimiter({ windowMs: 200, requests: 1 }, Date.now(), { slots: 10 });
    limiter.record(Date.now(), { requests: 1, inputTokens: 0, outputTokens: 0 });
    const e = new GenerationEngine({
      client: createClient({ apiKey: KEY, baseURL: 'http://127.0.0.1:9', timeoutMs: 1_000 }),
      model,
      limiter,
      retry: { strategy: 'exponential', baseDelayMs: 20, maxDelayMs: 200, maxAttempts: 4 },
      concurrency: 3,
      maxTokens: 1_000,
      onError: 'continue',
      random: seededRandom(1),
      call,
      budgetUsd: worst * 1.5,
    });
    const summary = await e.run(items(5), () => undefined);
    assert.equal(summary.stopped, 'budget');
    assert.equal(summary.succeeded, 1, 'only one worst case fits');
    assert.ok(summary.costUsd <= worst * 1.5, `spent $${summary.costUsd} of a $${worst * 1.5} budget`);
  });
});

describe('generation engine: what the limiter counts of a request', () => {
  it('counts the system prompt (and the tool) against the input-token limit, not the prompt alone', async () => {
    // 1,000 input tokens a minute. Each request sends a 2,400-character system prompt (about
    // 600 tokens), a short prompt and the tool: two do not fit in one minute, so the second
    // waits for the first to leave the window. Counted from the prompt alone (a few tokens),
    // both went at once and the server would have refused the second.
    let t = 1_000_000;
    const clock = { now: () => t, sleep: async (ms: number) => void (t += ms) };
    const sentAt: number[] = [];
    const call: EngineCall = {
      countTokens: async () => 700,
      send: async () => {
        sentAt.push(t);
        return { turns: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }], inputTokens: 700, outputTokens: 10, headers: {} };
      },
    };
    const system = 'Write as a patient tutor. '.repeat(96);
    const e = new GenerationEngine({
      client: createClient({ apiKey: KEY, baseURL: 'http://127.0.0.1:9', timeoutMs: 1_000 }),
      model: resolveModel('sonnet')!,
      limiter: new RateLimiter({ windowMs: 60_000, requests: 1_000, inputTokens: 1_000 }, t),
      retry: { strategy: 'exponential', baseDelayMs: 20, maxDelayMs: 200, maxAttempts: 4 },
      concurrency: 2,
      maxTokens: 100,
      onError: 'continue',
      random: seededRandom(1),
      clock,
      call,
    });
    const summary = await e.run([{ key: 'a', system, prompt: 'Conversation 1.' }, { key: 'b', system, prompt: 'Conversation 2.' }], () => undefined);
    assert.equal(summary.succeeded, 2);
    assert.ok(sentAt[1]! - sentAt[0]! >= 60_000, `the second went ${sentAt[1]! - sentAt[0]!} ms after the first`);
    assert.ok(limiterInputTokens({ prompt: '' }, GENERATION_CALL) >= RECORD_TOOL_CHARS / 4, 'the tool definition counts too');
  });
});
