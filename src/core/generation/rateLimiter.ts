/**
 * A sliding-window rate limiter over requests, input tokens and output tokens.
 *
 * The window is cut into a fixed number of slots (a ring); each slot keeps what was sent in its
 * stretch of time, and running totals keep the sums. Advancing the clock clears expired slots,
 * each once per turn of the ring, so every check costs the same however much traffic there was:
 * no list of past requests grows with use. A slot's sends count until the whole slot has left the
 * window, so the limiter errs on the safe side by at most one slot (window / slots).
 *
 * It also learns from the server: `anthropic-ratelimit-*` headers that show less room than we
 * think (another client sharing the organisation's limit, or a lower real limit) lower our view,
 * and a 429's `retry-after` pauses everything for the time the server names.
 */

import type { ModelInfo } from './engine';
import type { GenerationSettings } from './settings';
export interface Limits {
  readonly windowMs: number;
  readonly requests: number;
  /** Per window; undefined means not limited. */
  readonly inputTokens?: number;
  readonly outputTokens?: number;
}

export interface Cost {
  readonly requests: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
}

export type LimiterStatus = 'healthy' | 'busy' | 'throttled';

export interface LimiterOptions {
  /**
   * Share of a limit the limiter fills before holding requests back. Default 1: each request
   * counts until its answer arrives (see settle), which already keeps the margin a lower share
   * would buy; measured, 0.9 left 10% of the rate unused without avoiding any more 429s.
   */
  readonly queueAt?: number;
  /** Slots per window: more is more precise and costs a little more per clock advance. */
  readonly slots?: number;
}

type Dimension = 'requests' | 'inputTokens' | 'outputTokens';
const DIMENSIONS: readonly Dimension[] = ['requests', 'inputTokens', 'outputTokens'];

export class RateLimiter {
  private limits: { requests: number; inputTokens: number; outputTokens: number };
  private readonly windowMs: number;
  private readonly slotMs: number;
  private readonly queueAt: number;
  private readonly ring: Float64Array[]; // one array per dimension
  private readonly totals = { requests: 0, inputTokens: 0, outputTokens: 0 };
  /** Start time of the slot at `head`. */
  private headStart: number;
  private head = 0;
  private pausedUntil = 0;
  /** Use by others of a shared limit, as the last response's headers showed it. */
  private readonly external = { requests: 0, inputTokens: 0, outputTokens: 0 };
  private externalUntil = 0;

  constructor(
    configured: Limits,
    now: number,
    options: LimiterOptions = {},
  ) {
    this.windowMs = configured.windowMs;
    const slots = options.slots ?? 120;
    this.slotMs = configured.windowMs / slots;
    this.queueAt = options.queueAt ?? 1;
    this.limits = { requests: configured.requests, inputTokens: configured.inputTokens ?? Infinity, outputTokens: configured.outputTokens ?? Infinity };
    // One slot more than the window holds: a slot is cleared only once all of it has left the
    // window, so the limiter can be early to free room by nothing and late by at most one slot.
    this.ring = DIMENSIONS.map(() => new Float64Array(slots + 1));
    this.headStart = Math.floor(now / this.slotMs) * this.slotMs;
  }

  /** Milliseconds to wait before `cost` may be sent (0: now). */
  waitFor(now: number, cost: Cost): number {
    this.advance(now);
    if (now < this.pausedUntil) return this.pausedUntil - now;
    let wait = 0;
    for (const [d, dimension] of DIMENSIONS.entries()) {
      const allowed = this.limits[dimension] * this.queueAt;
      const need = cost[dimension];
      const others = this.othersUse(now, dimension);
      if (this.totals[dimension] + others + need <= allowed || need === 0) continue;
      // A cost bigger than the whole allowance can only go when the window is empty.
      const target = Math.max(0, Math.min(allowed, this.limits[dimension]) - need - others);
      wait = Math.max(wait, this.timeUntilBelow(now, d, dimension, target));
    }
    return wait;
  }

  /** Records a send now (with estimated tokens; `settle` corrects them). */
  record(now: number, cost: Cost): void {
    this.advance(now);
    for (const [d, dimension] of DIMENSIONS.entries()) this.add(d, dimension, cost[dimension]);
  }

  /**
   * When the answer to a send arrives: replaces the estimate by the real cost and moves it to
   * now. The server counted the request when it arrived, somewhere between the send and now, so
   * it stays in the server's window until at least now + window: counting it from now keeps us
   * from sending into a window the server still sees as full.
   */
  settle(now: number, sentAt: number, estimate: Cost, actual: Cost): void {
    this.advance(now);
    const slots = this.ring[0]!.length;
    const back = Math.floor(this.headStart / this.slotMs) - Math.floor(sentAt / this.slotMs);
    const inWindow = back >= 0 && back < slots;
    const slot = (this.head - back + slots * 2) % slots;
    for (const [d, dimension] of DIMENSIONS.entries()) {
      if (inWindow) {
        const ring = this.ring[d]!;
        const removed = Math.min(ring[slot]!, estimate[dimension]);
        ring[slot] = ring[slot]! - removed;
        this.totals[dimension] -= removed;
      }
      this.add(d, dimension, actual[dimension]);
    }
  }

  /**
   * Learns from a response's headers: a lower real limit, or less remaining room than we
   * count (shared limits), and a `retry-after` pause.
   */
  observe(now: number, headers: Readonly<Record<string, string | undefined>>, status?: number): void {
    this.advance(now);
    const pairs: [Dimension, string][] = [
      ['requests', 'requests'],
      ['inputTokens', 'input-tokens'],
      ['outputTokens', 'output-tokens'],
    ];
    for (const [dimension, name] of pairs) {
      const limit = numberHeader(headers[`anthropic-ratelimit-${name}-limit`]);
      if (limit !== undefined && limit < this.limits[dimension]) this.limits[dimension] = limit;
      const remaining = numberHeader(headers[`anthropic-ratelimit-${name}-remaining`]);
      if (remaining === undefined) continue;
      // Use the server sees beyond ours is someone else's (a shared organisation limit). It
      // replaces the previous reading rather than adding to it: our own sends reach the server a
      // little after we count them, and adding that skew up reading after reading would starve us.
      this.external[dimension] = Math.max(0, this.limits[dimension] - remaining - this.totals[dimension]);
      this.externalUntil = now + this.windowMs;
    }
    const retryAfter = numberHeader(headers['retry-after']);
    if (status === 429 || retryAfter !== undefined) {
      const pauseMs = retryAfter !== undefined ? retryAfter * 1000 : this.slotMs;
      this.pausedUntil = Math.max(this.pausedUntil, now + pauseMs);
    }
  }

  /** healthy below 70% of every limit, busy from 70%, throttled from 90% or while paused. */
  status(now: number): LimiterStatus {
    this.advance(now);
    if (now < this.pausedUntil) return 'throttled';
    const used = this.usage(now);
    return used >= 0.9 ? 'throttled' : used >= 0.7 ? 'busy' : 'healthy';
  }

  /** The fullest dimension's share of its limit, 0..1+. */
  usage(now: number): number {
    this.advance(now);
    return Math.max(...DIMENSIONS.map((dimension) => (this.totals[dimension] + this.othersUse(now, dimension)) / this.limits[dimension]));
  }

  private othersUse(now: number, dimension: Dimension): number {
    return now < this.externalUntil ? this.external[dimension] : 0;
  }

  /** When a pause from the server ends (0 when not paused). */
  pausedUntilMs(): number {
    return this.pausedUntil;
  }

  currentLimits(): Readonly<{ requests: number; inputTokens: number; outputTokens: number }> {
    return this.limits;
  }

  private add(d: number, dimension: Dimension, amount: number): void {
    const ring = this.ring[d]!;
    ring[this.head] = ring[this.head]! + amount;
    this.totals[dimension] += amount;
  }

  /** Moves the ring to `now`, clearing the slots that left the window. */
  private advance(now: number): void {
    const slots = this.ring[0]!.length;
    const steps = Math.floor((now - this.headStart) / this.slotMs);
    if (steps <= 0) return;
    if (steps >= slots) {
      for (const r of this.ring) r.fill(0);
      this.totals.requests = this.totals.inputTokens = this.totals.outputTokens = 0;
      this.head = 0;
    } else {
      for (let i = 0; i < steps; i++) {
        this.head = (this.head + 1) % slots;
        for (const [d, dimension] of DIMENSIONS.entries()) {
          this.totals[dimension] -= this.ring[d]![this.head]!;
          this.ring[d]![this.head] = 0;
        }
      }
    }
    this.headStart += steps * this.slotMs;
  }

  /** How long until the total of one dimension drops to `target`, as old slots expire. */
  private timeUntilBelow(now: number, d: number, dimension: Dimension, target: number): number {
    const slots = this.ring[0]!.length;
    let total = this.totals[dimension];
    // Walk from the oldest slot forward: slot k (k steps after head) expires when the head
    // reaches it again, i.e. at headStart + (k + 1) * slotMs.
    for (let k = 1; k < slots; k++) {
      const slot = (this.head + k) % slots;
      total -= this.ring[d]![slot]!;
      if (total <= target + 1e-9) return Math.max(0, this.headStart + k * this.slotMs - now);
    }
    return Math.max(0, this.headStart + slots * this.slotMs - now);
  }
}

function numberHeader(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

/** The limiter for a model: its table's limits, or the settings' when they override them. */
export function limiterFor(settings: GenerationSettings, model: ModelInfo, now = Date.now()): RateLimiter {
  return new RateLimiter(
    {
      windowMs: settings.windowSeconds !== undefined ? settings.windowSeconds * 1000 : model.windowMs,
      requests: settings.requestsPerWindow ?? model.requestsPerWindow,
      ...(model.inputTokensPerWindow ? { inputTokens: model.inputTokensPerWindow } : {}),
      ...(model.outputTokensPerWindow ? { outputTokens: model.outputTokensPerWindow } : {}),
    },
    now,
  );
}
