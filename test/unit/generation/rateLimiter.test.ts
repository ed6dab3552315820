import { strict as assert } from 'node:assert';
import { RateLimiter, type Cost } from '../../../src/core/generation/rateLimiter';

const one: Cost = { requests: 1, inputTokens: 0, outputTokens: 0 };
const T0 = 1_000_000;

describe('rate limiter (fake clock)', () => {
  it('admits up to the set share of the request limit (here 90%), then says how long to wait', () => {
    const limiter = new RateLimiter({ windowMs: 60_000, requests: 50 }, T0, { queueAt: 0.9 });
    let sent = 0;
    while (limiter.waitFor(T0, one) === 0) {
      limiter.record(T0, one);
      sent++;
    }
    assert.equal(sent, 45, '90% of 50');
    const wait = limiter.waitFor(T0, one);
    // Never early: not before the window has passed; late by at most one slot (0.5 s).
    assert.ok(wait >= 60_000 && wait <= 60_500, `all sends expire together: ${wait}`);
    assert.equal(limiter.status(T0), 'throttled');
  });

  it('by default admits up to the limit itself: answers arriving later keep the margin', () => {
    const limiter = new RateLimiter({ windowMs: 60_000, requests: 50 }, T0);
    let sent = 0;
    while (limiter.waitFor(T0, one) === 0) {
      limiter.record(T0, one);
      sent++;
    }
    assert.equal(sent, 50);
  });

  it('counts a request from when its answer arrived, the latest moment the server can have seen it', () => {
    const limiter = new RateLimiter({ windowMs: 1_000, requests: 1 }, T0, { slots: 10 });
    limiter.record(T0, one);
    limiter.settle(T0 + 400, T0, one, one); // the answer took 400 ms
    assert.ok(limiter.waitFor(T0 + 1_050, one) > 0, 'not free one window after sending');
    assert.equal(limiter.waitFor(T0 + 1_500, one), 0, 'free one window (and a slot) after the answer');
  });

  it('frees room as sends leave the window, slot by slot', () => {
    const limiter = new RateLimiter({ windowMs: 60_000, requests: 10 }, T0, { queueAt: 1 });
    for (let i = 0; i < 10; i++) limiter.record(T0 + i * 6_000, one); // one every 6 s
    const now = T0 + 59_000;
    assert.equal(limiter.waitFor(now, one) > 0, true);
    // The first send leaves at T0 + 60 s (+ at most one slot of 0.5 s: the safe side).
    const wait = limiter.waitFor(now, one);
    assert.ok(wait >= 1_000 && wait <= 1_500, `wait ${wait}`);
    assert.ok(limiter.waitFor(now + wait - 1, one) > 0, 'not a moment early');
    assert.equal(limiter.waitFor(now + wait, one), 0);
  });

  it('at the window edge: nothing counts once the window has fully passed', () => {
    const limiter = new RateLimiter({ windowMs: 1_000, requests: 2 }, T0, { queueAt: 1, slots: 10 });
    limiter.record(T0, one);
    limiter.record(T0 + 999, one);
    assert.ok(limiter.waitFor(T0 + 999, one) > 0);
    assert.equal(limiter.waitFor(T0 + 1_100, one), 0, 'the first send left');
    assert.ok(limiter.waitFor(T0 + 1_100, { requests: 2, inputTokens: 0, outputTokens: 0 }) > 0, 'the second has not');
    assert.equal(limiter.waitFor(T0 + 10_000_000, { requests: 2, inputTokens: 0, outputTokens: 0 }), 0, 'a long jump clears all');
  });

  it('limits input and output tokens, and settles estimates to real counts', () => {
    const limiter = new RateLimiter({ windowMs: 60_000, requests: 1000, inputTokens: 10_000, outputTokens: 4_000 }, T0, { queueAt: 1 });
    const estimate: Cost = { requests: 1, inputTokens: 1_000, outputTokens: 2_000 };
    limiter.record(T0, estimate);
    assert.equal(limiter.waitFor(T0, estimate), 0);
    limiter.record(T0, estimate);
    assert.ok(limiter.waitFor(T0 + 10, estimate) > 0, 'output tokens are full');
    // The answers were shorter than feared: the room comes back.
    limiter.settle(T0 + 20, T0, estimate, { requests: 1, inputTokens: 900, outputTokens: 500 });
    limiter.settle(T0 + 20, T0, estimate, { requests: 1, inputTokens: 900, outputTokens: 500 });
    assert.equal(limiter.waitFor(T0 + 20, estimate), 0);
  });

  it('learns a lower real limit and shared use from the headers', () => {
    const limiter = new RateLimiter({ windowMs: 60_000, requests: 50 }, T0, { queueAt: 1 });
    limiter.record(T0, one);
    limiter.observe(T0, { 'anthropic-ratelimit-requests-limit': '20', 'anthropic-ratelimit-requests-remaining': '9' });
    assert.equal(limiter.currentLimits().requests, 20);
    // We sent 1 of 20, the server says 9 remain: 10 more were used by someone else.
    let sent = 0;
    while (limiter.waitFor(T0 + 1, one) === 0) {
      limiter.record(T0 + 1, one);
      sent++;
    }
    assert.equal(sent, 9);
  });

  it('a 429 pauses for retry-after, then resumes', () => {
    const limiter = new RateLimiter({ windowMs: 60_000, requests: 50 }, T0, { queueAt: 0.9 });
    limiter.observe(T0, { 'retry-after': '7' }, 429);
    assert.equal(limiter.waitFor(T0, one), 7_000);
    assert.equal(limiter.status(T0 + 100), 'throttled');
    assert.equal(limiter.waitFor(T0 + 7_000, one), 0);
    assert.equal(limiter.status(T0 + 7_000), 'healthy');
  });

  it('status moves healthy → busy (70%) → throttled (90%)', () => {
    const limiter = new RateLimiter({ windowMs: 60_000, requests: 10 }, T0, { queueAt: 1 });
    const seen: string[] = [];
    for (let i = 0; i < 10; i++) {
      seen.push(limiter.status(T0));
      limiter.record(T0, one);
    }
    assert.deepEqual(seen, ['healthy', 'healthy', 'healthy', 'healthy', 'healthy', 'healthy', 'healthy', 'busy', 'busy', 'throttled']);
  });

  it('a request bigger than the whole allowance waits for an empty window instead of forever', () => {
    const limiter = new RateLimiter({ windowMs: 1_000, requests: 100, inputTokens: 100 }, T0, { queueAt: 1, slots: 10 });
    limiter.record(T0, { requests: 1, inputTokens: 50, outputTokens: 0 });
    const wait = limiter.waitFor(T0, { requests: 1, inputTokens: 500, outputTokens: 0 });
    assert.ok(wait > 0 && wait <= 1_100, String(wait));
  });
});
