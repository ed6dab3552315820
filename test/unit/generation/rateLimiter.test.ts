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
    // Never early: not before the window has passed; late by at most one slot (0.5 s).
    const wait = limiter.waitFor(T0, one);
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

  it('counts a request from when it was sent, not from when its answer arrived', () => {
    const limiter = new RateLimiter({ windowMs: 1_000, requests: 1 }, T0, { slots: 10 });
    limiter.record(T0, one);
    limiter.settle(T0 + 400, T0, one, one); // the answer took 400 ms
    assert.ok(limiter.waitFor(T0 + 1_050, one) > 0, 'not free the moment the window has passed');
    assert.equal(limiter.waitFor(T0 + 1_100, one), 0, 'free a window (and a slot) after sending: before a window after the answer');
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

  it('until the server reports its count, keeps each send a window and the way to the server (a slot, at least 100 ms)', () => {
    // The server counts a request when it arrives: one that took long to get there is still in
    // its window when a request sent a window after it arrives.
    const limiter = new RateLimiter({ windowMs: 1_000, requests: 1 }, T0, { slots: 10 });
    limiter.record(T0 + 50, one);
    assert.ok(limiter.waitFor(T0 + 1_149, one) > 0);
    assert.equal(limiter.waitFor(T0 + 1_100, one), 50, 'the wait names the moment it leaves');
    assert.equal(limiter.waitFor(T0 + 1_150, one), 0);
  });

  it('once the server reports its count, ours keeps each send exactly a window: the server holds the rest', () => {
    // Slotted, our count kept a send until its whole slot had left the window: each window's
    // first request went up to a slot after the server's reset had freed its place.
    const limiter = new RateLimiter({ windowMs: 1_000, requests: 1 }, T0, { slots: 10 });
    limiter.record(T0 + 50, one);
    limiter.settle(T0 + 250, T0 + 50, one, one);
    limiter.observe(T0 + 250, told(0, T0 + 1_052, 10), 200, T0 + 50);
    assert.ok(limiter.waitFor(T0 + 1_049, one) > 0, 'a window after it was sent, not before');
    assert.equal(limiter.waitFor(T0 + 1_050, one), 2, 'then the server’s reset');
    assert.equal(limiter.waitFor(T0 + 1_052, one), 0);
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
    limiter.settle(T0 + 200, T0, one, one);
    limiter.observe(T0 + 200, { 'anthropic-ratelimit-requests-limit': '20', 'anthropic-ratelimit-requests-remaining': '9' }, 200, T0);
    assert.equal(limiter.currentLimits().requests, 20);
    // We sent 1 of 20, the server says 9 remain: 10 more were used by someone else.
    let sent = 0;
    while (limiter.waitFor(T0 + 201, one) === 0) {
      limiter.record(T0 + 201, one);
      sent++;
    }
    assert.equal(sent, 9);
    assert.ok(limiter.waitFor(T0 + 201, one) >= 59_000, 'no reset named: the room lasts our whole window');
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

/** The server's answer: `remaining` requests left until `resetAt`. */
const told = (remaining: number, resetAt: number, limit = 10): Record<string, string> => ({
  'anthropic-ratelimit-requests-limit': String(limit),
  'anthropic-ratelimit-requests-remaining': String(remaining),
  'anthropic-ratelimit-requests-reset': new Date(resetAt).toISOString(),
});

/** Sends as many as the limiter allows at `now`; returns how many. */
function sendAll(limiter: RateLimiter, now: number): number {
  let sent = 0;
  while (limiter.waitFor(now, one) === 0 && sent < 1_000) {
    limiter.record(now, one);
    sent++;
  }
  return sent;
}

describe("rate limiter: the server's view from its headers (fake clock)", () => {
  it('remaining lower than ours: we hold, and send again at the reset the server named', () => {
    const limiter = new RateLimiter({ windowMs: 60_000, requests: 10 }, T0);
    limiter.record(T0, one);
    limiter.settle(T0 + 300, T0, one, one);
    // We count 1 of 10; the server counts 8 (someone else shares the limit) until T0 + 20 s.
    limiter.observe(T0 + 300, told(2, T0 + 20_000), 200, T0);
    assert.equal(sendAll(limiter, T0 + 300), 2, 'only the room the server reported');
    assert.equal(limiter.waitFor(T0 + 300, one), 20_000 - 300, 'then until the reset it named, not our 60 s window');
    assert.equal(limiter.waitFor(T0 + 20_000, one), 0, 'at the reset, its oldest request has left: one more fits');
  });

  it('after the reset, one request asks while answers are on their way; an answer with room lets the rest go', () => {
    const limiter = new RateLimiter({ windowMs: 10_000, requests: 100 }, T0);
    limiter.record(T0, one);
    limiter.settle(T0 + 100, T0, one, one);
    limiter.observe(T0 + 100, told(0, T0 + 5_000, 30), 200, T0);
    assert.ok(limiter.waitFor(T0 + 4_999, one) > 0);
    const reset = T0 + 5_000;
    limiter.record(reset, one);
    assert.ok(limiter.waitFor(reset, one) > 0, 'the one freed request is taken: wait for its answer');
    limiter.settle(reset + 100, reset, one, one);
    limiter.observe(reset + 100, told(20, T0 + 9_000, 30), 200, reset);
    assert.equal(sendAll(limiter, reset + 100), 20, 'the answer says 20 are free: they go at once, with no configured window to wait out');
  });

  it('requests in flight sent with or after the answered one are owed; those sent well before were counted', () => {
    const limiter = new RateLimiter({ windowMs: 60_000, requests: 100 }, T0);
    limiter.record(T0, one); // slow: still in flight, surely counted by the server
    limiter.record(T0 + 2_000, one); // answered below
    limiter.record(T0 + 2_000, one); // sent with it: maybe not counted yet
    limiter.settle(T0 + 2_200, T0 + 2_000, one, one);
    limiter.observe(T0 + 2_200, told(5, T0 + 30_000, 100), 200, T0 + 2_000);
    assert.equal(sendAll(limiter, T0 + 2_200), 4, '5 remaining, less the one sent with the answered request');
  });

  it('after a reset, frees only what the server still counted: sends it had already let go free nothing again', () => {
    // 1 s window in 100 ms slots: our count keeps a send 1 to 1.1 s, the server 1 s from its
    // arrival; after a reset we count as freed only what left our count 100 ms ago (its way there).
    const limiter = new RateLimiter({ windowMs: 1_000, requests: 100 }, T0, { slots: 10 });
    for (let i = 0; i < 3; i++) limiter.record(T0, one);
    for (let i = 0; i < 3; i++) limiter.settle(T0 + 200, T0, one, one);
    for (let i = 0; i < 2; i++) limiter.record(T0 + 600, one);
    for (let i = 0; i < 2; i++) limiter.settle(T0 + 800, T0 + 600, one, one);
    // At T0 + 1050 the server has let the first three go; it counts 2 of 5 until T0 + 1600.
    limiter.observe(T0 + 1_050, told(3, T0 + 1_600, 5), 200, T0 + 600);
    assert.equal(sendAll(limiter, T0 + 1_050), 3);
    // At the reset the server frees the two sent at T0 + 600; the first three leaving our own
    // count (at T0 + 1100) freed nothing it had not freed already.
    assert.equal(sendAll(limiter, T0 + 1_600), 1, 'the one sure to be free, then wait for an answer');
    assert.equal(sendAll(limiter, T0 + 1_900), 1, 'the second of the two, once it has left our count too');
  });

  it('after a reset, frees sends made just inside the window the answer saw, once they have left it, even when they share a slot with older ones', () => {
    // 1 s window in 100 ms slots. The server counted 6 (its limit) when it answered at T0 + 1040,
    // the oldest arrived at T0 + 50; three were sent at T0 + 50, in the slot that began at T0,
    // less than a window before that answer. They leave the server's window by T0 + 1150 (a
    // window, and at most 100 ms on the way there, after their sending): from then on they free
    // room, though their slot began more than a window before the answer.
    const limiter = new RateLimiter({ windowMs: 1_000, requests: 6 }, T0, { slots: 10 });
    for (let i = 0; i < 3; i++) limiter.record(T0 + 50, one);
    for (let i = 0; i < 3; i++) limiter.record(T0 + 500, one);
    for (let i = 0; i < 3; i++) limiter.settle(T0 + 300, T0 + 50, one, one);
    for (let i = 0; i < 3; i++) limiter.settle(T0 + 1_040, T0 + 500, one, one);
    limiter.observe(T0 + 1_040, told(0, T0 + 1_050, 6), 200, T0 + 500);
    assert.ok(limiter.waitFor(T0 + 1_049, one) > 0, 'full until the reset');
    assert.equal(sendAll(limiter, T0 + 1_100), 1, 'at the reset only the oldest is sure to have left: the two sent with it may have arrived later');
    assert.equal(limiter.waitFor(T0 + 1_100, one), 50, 'woken when they leave, not a slot later');
    assert.equal(sendAll(limiter, T0 + 1_150), 2, 'then the two others');
  });

  it('when the oldest request the server counted took longer to arrive than allowed, the ones sent with it are held as long again', () => {
    // Three sent at T0; the server's oldest arrived at T0 + 160 (a loaded machine), 60 ms past
    // the 100 ms allowed for the way there. The two others may have arrived later still: freed
    // at the reset, they would meet a window that still holds them.
    const limiter = new RateLimiter({ windowMs: 1_000, requests: 3 }, T0, { slots: 10 });
    for (let i = 0; i < 3; i++) limiter.record(T0, one);
    for (let i = 0; i < 3; i++) limiter.settle(T0 + 300, T0, one, one);
    limiter.observe(T0 + 300, told(0, T0 + 1_160, 3), 200, T0);
    assert.equal(sendAll(limiter, T0 + 1_160), 1, 'at the reset, only its oldest');
    assert.ok(limiter.waitFor(T0 + 1_199, one) > 0);
    assert.equal(sendAll(limiter, T0 + 1_200), 2, 'the others after twice the allowance (what the limiter keeps)');
  });

  it('sends that reached the server before the oldest it counted free nothing when they leave', () => {
    // Two sent at T0; the server's oldest arrived at T0 + 80 (one of them, 80 ms on its way) and it
    // counts 3 (that one and the two sent at T0 + 300): the other of T0 reached it earlier and had
    // left its window already. Its leaving our count must not be taken for room.
    const limiter = new RateLimiter({ windowMs: 1_000, requests: 100 }, T0, { slots: 10 });
    for (let i = 0; i < 2; i++) limiter.record(T0, one);
    for (let i = 0; i < 2; i++) limiter.record(T0 + 300, one);
    for (let i = 0; i < 2; i++) limiter.settle(T0 + 200, T0, one, one);
    for (let i = 0; i < 2; i++) limiter.settle(T0 + 1_050, T0 + 300, one, one);
    limiter.observe(T0 + 1_050, told(7, T0 + 1_080, 10), 200, T0 + 300);
    assert.equal(sendAll(limiter, T0 + 1_050), 7, 'the room it reported');
    assert.equal(sendAll(limiter, T0 + 1_100), 1, 'at the reset, its oldest has left; the other send of T0 was not in its count');
  });

  it('ignores an answer that arrives out of order with an older view (more room, same reset)', () => {
    const limiter = new RateLimiter({ windowMs: 60_000, requests: 100 }, T0);
    limiter.observe(T0, told(3, T0 + 10_000, 100), 200, T0);
    limiter.observe(T0 + 10, told(7, T0 + 10_000, 100), 200, T0 - 500);
    assert.equal(sendAll(limiter, T0 + 10), 3);
  });

  it('a request that timed out is still counted (it may have reached the server)', () => {
    const limiter = new RateLimiter({ windowMs: 60_000, requests: 2 }, T0);
    limiter.record(T0, one);
    limiter.settle(T0 + 2_500, T0, one, one); // no answer: the caller counts it
    assert.equal(sendAll(limiter, T0 + 2_500), 1);
  });

  it('a 429 pauses until retry-after even when the headers show room', () => {
    const limiter = new RateLimiter({ windowMs: 60_000, requests: 100 }, T0);
    limiter.observe(T0, { ...told(5, T0 + 1_000, 100), 'retry-after': '3' }, 429, T0);
    assert.equal(limiter.waitFor(T0, one), 3_000);
  });
});


describe('rate limiter: a reset named far ahead (a server clock running ahead of ours)', () => {
  it('waits at most a minute (or our window, if longer), and an answer that follows is not ignored as stale', () => {
    const limiter = new RateLimiter({ windowMs: 60_000, requests: 50 }, T0);
    limiter.record(T0, one);
    limiter.settle(T0 + 500, T0, one, one);
    // The server's clock is 10 minutes ahead: its reset, 30 s away by its clock, reads 10 min 30 s away here.
    limiter.observe(T0 + 500, told(0, T0 + 630_000, 50), 200, T0);
    const wait = limiter.waitFor(T0 + 600, one);
    assert.ok(wait > 0 && wait <= 61_000, `waited ${wait} ms`);
    // Once that wait is over, one request asks; its answer (the same skewed clock, room again) lets the rest go.
    const later = T0 + 600 + wait;
    limiter.record(later, one);
    limiter.settle(later + 200, later, one, one);
    limiter.observe(later + 200, told(40, later + 630_000, 50), 200, later);
    assert.equal(limiter.waitFor(later + 200, one), 0);
  });
});

describe('rate limiter: resets named in the past (a server clock behind ours)', () => {
  it('holds the limit the server named, rather than the configured one, when its resets say nothing', () => {
    const limiter = new RateLimiter({ windowMs: 60_000, requests: 100 }, T0);
    const sends: number[] = [];
    let sent = 0;
    for (let now = T0; now < T0 + 60_000 && sent <= 200; now += 10) {
      while (limiter.waitFor(now, one) === 0 && sent <= 200) {
        limiter.record(now, one);
        sends.push(now);
        sent++;
        // The server allows 10 a minute; its clock is 2 minutes behind ours, so every reset it names has passed.
        const counted = sends.filter((s) => s > now - 60_000);
        limiter.settle(now + 5, now, one, one);
        limiter.observe(now + 5, told(Math.max(0, 10 - counted.length), counted[0]! + 60_000 - 120_000, 10), 200, now);
      }
    }
    assert.equal(sent, 10, 'the real limit, not 100 a minute (90 of them refused)');
  });
});
