import { strict as assert } from 'node:assert';
import { PriorityQueue, QueueFullError } from '../../../src/core/generation/priorityQueue';
import { seededRandom } from '../../../src/core/generation/random';
import { DEFAULT_RETRY, classify, retryDelay } from '../../../src/core/generation/retry';

describe('retry strategies (seeded randomness)', () => {
  it('exponential doubles with jitter between half and all of the step, capped', () => {
    const random = seededRandom(42);
    const delays = [1, 2, 3, 4, 5].map((attempt) => retryDelay(DEFAULT_RETRY, attempt, random));
    delays.forEach((d, i) => {
      const full = 1000 * 2 ** i;
      assert.ok(d >= full / 2 && d <= full, `attempt ${i + 1}: ${d}`);
    });
    assert.deepEqual(delays, [1, 2, 3, 4, 5].map((attempt) => retryDelay(DEFAULT_RETRY, attempt, seededRandom(42))).length === 5 ? delays : [], 'repeatable');
    assert.equal(retryDelay({ ...DEFAULT_RETRY, maxDelayMs: 3000 }, 10, () => 1), 3000);
  });

  it('linear and fixed', () => {
    const linear = { ...DEFAULT_RETRY, strategy: 'linear' as const, baseDelayMs: 500 };
    assert.deepEqual([1, 2, 3].map((n) => retryDelay(linear, n, () => 0)), [500, 1000, 1500]);
    const fixed = { ...DEFAULT_RETRY, strategy: 'fixed' as const, baseDelayMs: 250 };
    assert.deepEqual([1, 2, 3].map((n) => retryDelay(fixed, n, () => 0.9)), [250, 250, 250]);
  });

  it('the same seed gives the same jitter', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    assert.deepEqual([1, 2, 3].map((n) => retryDelay(DEFAULT_RETRY, n, a)), [1, 2, 3].map((n) => retryDelay(DEFAULT_RETRY, n, b)));
  });
});

describe('error classification (by status and API error type)', () => {
  const cases: [Parameters<typeof classify>[0], string, boolean][] = [
    [{ status: 429, apiErrorType: 'rate_limit_error', retryAfterSeconds: 3 }, 'rate_limit', true],
    [{ status: 429, apiErrorType: 'billing_error' }, 'spend_limit', false],
    [{ status: 500 }, 'server_error', true],
    [{ status: 503 }, 'server_error', true],
    [{ status: 504 }, 'server_error', true],
    [{ status: 529, apiErrorType: 'overloaded_error' }, 'overloaded', true],
    [{ kind: 'connection' }, 'connection', true],
    [{ kind: 'timeout' }, 'timeout', true],
    [{ kind: 'unparseable', status: 200 }, 'unparseable', true],
    [{ status: 400, apiErrorType: 'invalid_request_error' }, 'invalid_request', false],
    [{ status: 401 }, 'authentication', false],
    [{ status: 403 }, 'permission', false],
    [{ status: 404 }, 'not_found', false],
    [{ status: 413 }, 'too_large', false],
    [{ kind: 'cancelled' }, 'cancelled', false],
  ];
  for (const [facts, type, retryable] of cases) {
    it(`${JSON.stringify(facts)} → ${type}, ${retryable ? 'retry' : 'stop'}`, () => {
      const c = classify(facts);
      assert.equal(c.type, type);
      assert.equal(c.retryable, retryable);
    });
  }
  it('carries the server’s retry-after', () => {
    assert.equal(classify({ status: 429, apiErrorType: 'rate_limit_error', retryAfterSeconds: 3 }).retryAfterMs, 3000);
  });
});

describe('priority queue', () => {
  it('high before normal before low, FIFO within a level', () => {
    const q = new PriorityQueue<string>();
    q.push('n1');
    q.push('l1', 'low');
    q.push('h1', 'high');
    q.push('n2', 'normal');
    q.push('h2', 'high');
    const order: string[] = [];
    for (let x = q.shift(); x !== undefined; x = q.shift()) order.push(x);
    assert.deepEqual(order, ['h1', 'h2', 'n1', 'n2', 'l1']);
  });

  it('a retry goes before the items not yet begun at its level, after the levels above it', () => {
    const q = new PriorityQueue<string>();
    q.push('n1');
    q.push('n2');
    q.push('h1', 'high');
    q.shift(); // h1
    q.shift(); // n1
    q.pushFront('n1 again');
    q.push('h2', 'high');
    const order: string[] = [];
    for (let x = q.shift(); x !== undefined; x = q.shift()) order.push(x);
    assert.deepEqual(order, ['h2', 'n1 again', 'n2']);
  });

  it('is bounded, with a clear error', () => {
    const q = new PriorityQueue<number>(2);
    q.push(1);
    q.push(2);
    assert.throws(() => q.push(3), (e: unknown) => e instanceof QueueFullError && /queue is full \(2 requests waiting\)/.test(e.message));
  });

  it('removes a cancelled batch’s items and keeps the rest in order', () => {
    const q = new PriorityQueue<{ batch: string; n: number }>();
    for (let n = 0; n < 6; n++) q.push({ batch: n % 2 ? 'a' : 'b', n });
    q.shift();
    assert.deepEqual(q.removeWhere((x) => x.batch === 'a').map((x) => x.n), [1, 3, 5]);
    assert.equal(q.size, 2);
    assert.deepEqual([q.shift()!.n, q.shift()!.n], [2, 4]);
  });

  it('stays O(1) amortised over many items', () => {
    const q = new PriorityQueue<number>(1_000_000);
    for (let i = 0; i < 200_000; i++) q.push(i);
    let sum = 0;
    for (let x = q.shift(); x !== undefined; x = q.shift()) sum += x;
    assert.equal(sum, (199_999 * 200_000) / 2);
  });
});
