/**
 * A sliding-window rate limiter over requests, input tokens and output tokens.
 *
 * The window is cut into a fixed number of slots (a ring); each slot keeps what was sent in its
 * stretch of time. Advancing the clock clears expired slots, each once per turn of the ring, so
 * every check costs the same however much traffic there was: no list of past requests grows with
 * use. A request counts from when it was sent: a slot's sends count until a window has passed
 * since the last of them (earlier ones in the slot count up to a slot longer), and, while the
 * server has not told us its own count, the way to the server too (`arrivalMs`): the server
 * counts a request when it arrives, and one that took longer to get there than the one sent a
 * window after it would be refused.
 *
 * Beside its own count it keeps the server's view, from each response's
 * `anthropic-ratelimit-*-remaining` and `-reset` headers: what the server still allows, less what
 * we sent that it may not have counted yet, until the time it named. That view catches what our
 * count cannot know (a lower real limit, others sharing the organisation's limit, a request that
 * reached the server a little later than we sent it), and it says when to send again: at the
 * server's reset, not after a whole configured window. A 429's `retry-after` pauses everything
 * for the time the server names.
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

/** The API's rate limits are per minute: no reset it names is further off than that. */
const MINUTE_MS = 60_000;

type Dimension = 'requests' | 'inputTokens' | 'outputTokens';
const DIMENSIONS: readonly Dimension[] = ['requests', 'inputTokens', 'outputTokens'];
const HEADER_NAMES: Readonly<Record<Dimension, string>> = { requests: 'requests', inputTokens: 'input-tokens', outputTokens: 'output-tokens' };

/** One dimension as the server last reported it. */
interface ServerView {
  /** What the server still allowed when it answered. */
  remaining: number;
  /** When its window frees room again (the `-reset` header, ms since the epoch). */
  resetAt: number;
  /**
   * What we sent that the server may not have counted in `remaining`: what was in flight when
   * the answer came and had been sent about when the answered request was or later, and
   * everything sent since. Some of it the server had counted already, so this errs on the safe
   * side until the next answer brings a fresh view.
   */
  owed: number;
  /** The reset it named had passed already when the answer came: the server's clock is behind ours. */
  readonly pastOnArrival: boolean;
  /**
   * The first slot (its number since the epoch) of the sends that may be in what the server
   * counted: each sent less than a window before the answer came, or late enough to have
   * reached the server no earlier than the oldest request it counted (its reset less a window).
   * Only these, and what we send later, can free room in the server's view as they leave.
   */
  readonly fromSlot: number;
  /** What we had sent in `fromSlot` and the slots after it when the answer came, and what we have sent since. */
  readonly ownAtObservation: number;
  sentSince: number;
  /**
   * How many of those sends, at least, the server had not counted: more than it reported using
   * (less what it had not seen yet). They are the earliest (they reached it before its oldest),
   * so the first sends to leave free nothing, up to this many.
   */
  readonly notCounted: number;
  /**
   * How long after its sending each of our sends may have reached the server, for this view:
   * `arrivalMs`, and as long again as the server's oldest request took to reach it after our
   * last send before it (a loaded machine or network): the others may lag as much.
   */
  readonly arrivalMs: number;
}

type PerDimension = Record<Dimension, number>;

export class RateLimiter {
  /** The configured limits: our own count never goes past them. */
  private readonly configured: PerDimension;
  /** Limits the server's `-limit` headers named, when lower than the configured ones. */
  private readonly learned: PerDimension;
  private readonly windowMs: number;
  private readonly slotMs: number;
  private readonly queueAt: number;
  private readonly ring: Float64Array[]; // one array per dimension
  /**
   * When the first and the last send of each slot were made (NaN: none yet). A slot holds sends
   * up to a slot apart; with their times, the server's view frees each when its own sends have
   * left (not when the slot's whole span has), and counts a slot that straddles the window's
   * start when all its sends are inside it: a 4 s window of 120 slots lost up to 33 ms twice
   * at each turn of the window, and sends just inside it were never freed at all.
   */
  private readonly firstSent: Float64Array;
  private readonly lastSent: Float64Array;
  /**
   * Per dimension, the oldest slot (its number since the epoch) our own count still holds, and
   * the running sum of it and the slots after it: slots leave the count in order, so a check
   * costs the same whatever the traffic.
   */
  private readonly countedFrom: number[];
  private readonly countedTotals: number[] = DIMENSIONS.map(() => 0);
  /**
   * The number of the slot at `head`, counted in whole slots since the epoch: an integer, so
   * that finding the slot of a past send is exact (times divided by a fractional slot length
   * can land one slot off, and settling a send in the wrong slot would count it twice).
   */
  private headSlot: number;
  private head = 0;
  private pausedUntil = 0;
  /** Sent and not yet answered (estimates), with when each was sent: a few, one per worker. */
  private readonly inFlight: { sentAt: number; cost: Cost }[] = [];
  /**
   * How long after we send a request the server has surely counted it: the margin our own count
   * keeps past the window, for the same reason (the way to the server takes a moment).
   */
  private readonly arrivalMs: number;
  private readonly views: Partial<Record<Dimension, ServerView>> = {};
  /**
   * False once a reset showed the server's window to be longer than ours: then what left our
   * window may still be in the server's, and only the server's own word frees room.
   */
  private windowsAgree = true;

  constructor(
    configured: Limits,
    now: number,
    options: LimiterOptions = {},
  ) {
    this.windowMs = configured.windowMs;
    const slots = options.slots ?? 120;
    this.slotMs = configured.windowMs / slots;
    this.queueAt = options.queueAt ?? 1;
    this.configured = { requests: configured.requests, inputTokens: configured.inputTokens ?? Infinity, outputTokens: configured.outputTokens ?? Infinity };
    this.learned = { ...this.configured };
    // The ring keeps a slot until its last send has been gone a window and the way to the server
    // (a slot, at least 100 ms): our count (before the server reports its own) and the server's
    // view (maybeAtServer) may hold it that long.
    this.arrivalMs = Math.max(this.slotMs, 100);
    // Room for twice the way to the server: a view may find it took that long (see observe).
    this.ring = DIMENSIONS.map(() => new Float64Array(slots + 2 + Math.ceil((2 * this.arrivalMs) / this.slotMs)));
    this.firstSent = new Float64Array(this.ring[0]!.length).fill(NaN);
    this.lastSent = new Float64Array(this.ring[0]!.length).fill(NaN);
    this.headSlot = this.slotOf(now);
    this.countedFrom = DIMENSIONS.map(() => this.headSlot);
  }

  /** Milliseconds to wait before `cost` may be sent (0: now). */
  waitFor(now: number, cost: Cost): number {
    this.advance(now);
    if (now < this.pausedUntil) return this.pausedUntil - now;
    let wait = 0;
    for (const [d, dimension] of DIMENSIONS.entries()) {
      const need = cost[dimension];
      if (need === 0) continue;
      const limit = this.ownLimit(dimension);
      const allowed = limit * this.queueAt;
      const counted = this.counted(now, d);
      if (counted + need > allowed) {
        // A cost bigger than the whole allowance can only go when the window is empty.
        const target = Math.max(0, Math.min(allowed, limit) - need);
        wait = Math.max(wait, this.timeUntilBelow(now, d, counted, target));
      }
      wait = Math.max(wait, this.serverWait(now, dimension, need));
    }
    return wait;
  }

  /** Records a send now (with estimated tokens; `settle` corrects them). */
  record(now: number, cost: Cost): void {
    this.advance(now);
    this.inFlight.push({ sentAt: now, cost });
    if (Number.isNaN(this.firstSent[this.head]!)) this.firstSent[this.head] = now;
    this.lastSent[this.head] = now;
    for (const [d, dimension] of DIMENSIONS.entries()) {
      this.add(d, cost[dimension]);
      const view = this.views[dimension];
      if (view) {
        view.owed += cost[dimension];
        view.sentSince += cost[dimension];
      }
    }
  }

  /**
   * When the answer to a send arrives (or the request ends without one): replaces the estimate
   * by the real cost, where it was counted, at the time it was sent. A request that timed out or
   * lost its connection may have reached the server: the caller counts it (requests: 1).
   */
  settle(now: number, sentAt: number, estimate: Cost, actual: Cost): void {
    this.advance(now);
    const slots = this.ring[0]!.length;
    const back = this.headSlot - this.slotOf(sentAt);
    const inWindow = back >= 0 && back < slots;
    const slot = (this.head - back + slots * 2) % slots;
    const flying = this.inFlight.findIndex((f) => f.sentAt === sentAt);
    if (flying >= 0) this.inFlight.splice(flying, 1);
    for (const [d, dimension] of DIMENSIONS.entries()) {
      if (!inWindow) continue;
      const ring = this.ring[d]!;
      const removed = Math.min(ring[slot]!, estimate[dimension]);
      const delta = actual[dimension] - removed;
      ring[slot] = ring[slot]! + delta;
      if (this.headSlot - back >= this.countedFrom[d]!) this.countedTotals[d]! += delta;
    }
  }

  /**
   * Learns from a response's headers (call it after `settle`): the server's remaining room and
   * its reset time, a lower real limit, and a `retry-after` pause. `sentAt` is when the answered
   * request was sent: requests sent well before it had reached the server when it answered, so
   * its `remaining` counts them; those sent after, or about the same time, it may not.
   */
  observe(now: number, headers: Readonly<Record<string, string | undefined>>, status?: number, sentAt = now): void {
    this.advance(now);
    const unseen = this.inFlight.filter((f) => f.sentAt > sentAt - this.arrivalMs);
    for (const dimension of DIMENSIONS) {
      const name = HEADER_NAMES[dimension];
      const limit = numberHeader(headers[`anthropic-ratelimit-${name}-limit`]);
      if (limit !== undefined) this.learned[dimension] = Math.min(this.configured[dimension], limit);
      const remaining = numberHeader(headers[`anthropic-ratelimit-${name}-remaining`]);
      if (remaining === undefined) continue;
      // Without a reset time, the room it reports lasts as long as our own window. A reset
      // further off than a minute (the API's limits are per minute) or our window, whichever is
      // longer, is a server clock running ahead of ours (or a bad header): held to that, so that
      // it can neither stall every worker for the skew nor outrank the answers that follow.
      const named = timeHeader(headers[`anthropic-ratelimit-${name}-reset`]);
      const resetAt = Math.min(named ?? now + this.windowMs, now + Math.max(this.windowMs, MINUTE_MS) + this.slotMs);
      const current = this.views[dimension];
      // Answers can arrive out of the order the server counted them in: a view older than the
      // one we hold (an earlier reset, or the same reset with more room) would undo what it knew.
      const stale = current !== undefined && now < current.resetAt && (resetAt < current.resetAt || (resetAt === current.resetAt && remaining > current.remaining));
      const owed = unseen.reduce((sum, f) => sum + f.cost[dimension], 0);
      if (!stale) {
        // What the server counted arrived from its oldest on (its reset less a window), or within
        // a window of when it answered: our sends that can have arrived then are the ones whose
        // leaving frees room. A send may reach it up to `arrivalMs` after we sent it, so those
        // sent that much before the oldest arrived may be among them (it may be the oldest).
        const oldestArrived = named !== undefined && resetAt === named ? named - this.windowMs : Infinity;
        // The oldest arrived that long after our last send before it, at least: the requests
        // sent with it may take as long, and the usual allowance more (on a loaded machine the
        // first requests took 160-400 ms to arrive: allowing 100 ms let a window's second and
        // third requests go before the ones they replaced had left). Up to twice `arrivalMs`,
        // what the ring keeps.
        const sentBefore = Number.isFinite(oldestArrived) ? this.lastSendBy(oldestArrived) : undefined;
        const lagged = sentBefore !== undefined ? Math.min(this.arrivalMs, Math.max(0, oldestArrived - sentBefore)) : 0;
        const arrivalMs = this.arrivalMs + lagged;
        const fromSlot = this.firstSlotSentAfter(Math.min(now - this.windowMs, oldestArrived - arrivalMs));
        const ownAtObservation = this.sentFrom(DIMENSIONS.indexOf(dimension), fromSlot, -Infinity);
        // Some of them may have reached the server before its oldest, and left its count: as
        // many, at least, as they exceed what it counted (less what it cannot have seen yet).
        const used = (limit ?? this.learned[dimension]) - remaining;
        const notCounted = Number.isFinite(used) ? Math.max(0, ownAtObservation - owed - used) : 0;
        this.views[dimension] = { remaining, resetAt, owed, pastOnArrival: resetAt <= now, fromSlot, ownAtObservation, sentSince: 0, notCounted, arrivalMs };
      }
      // Something in the server's window stays there until its reset: a reset further away than
      // our whole window means the server's window is the longer one.
      if (resetAt - now > this.windowMs + this.slotMs) this.windowsAgree = false;
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

  /** The fullest dimension's share of its limit, 0..1+, by our count or the server's, whichever is fuller. */
  usage(now: number): number {
    this.advance(now);
    return Math.max(
      ...DIMENSIONS.map((dimension) => {
        const limit = this.learned[dimension];
        const view = this.views[dimension];
        const serverUsed = view && now < view.resetAt ? limit - (view.remaining - view.owed) : 0;
        return Math.max(this.counted(now, DIMENSIONS.indexOf(dimension)), serverUsed) / limit;
      }),
    );
  }

  /** When a pause from the server ends (0 when not paused). */
  pausedUntilMs(): number {
    return this.pausedUntil;
  }

  /** The limits in force: the configured ones, or lower ones the server named. */
  currentLimits(): Readonly<PerDimension> {
    return this.learned;
  }

  /**
   * The limit our own count holds to: the configured one. A lower limit the server named counts
   * too, but only while the server does not report its remaining room: with that room and its
   * reset known, the server's view holds us to its limit over its own window, whereas our count
   * would hold the lower limit over the configured window (a whole window idle for nothing).
   */
  private ownLimit(dimension: Dimension): number {
    const view = this.views[dimension];
    // A view whose reset had passed when it arrived (a server clock behind ours) says nothing of
    // when room comes back: our count then holds the limit the server named.
    return view && !view.pastOnArrival ? this.configured[dimension] : this.learned[dimension];
  }

  /**
   * How long the server's view says to wait before `need` more may go. Before its reset, the
   * room is what it reported less what it may not have counted. From its reset on, the server
   * has let go of what it counted longest ago: at least one request (its oldest), and everything
   * of ours it counted that has since left its window too (sent long enough ago, when our window
   * is as long as the server's). If even that is taken, we wait for the next of those sends to
   * leave (an answer on its way wakes us sooner); if none will and no answer is on its way to
   * tell us more, one request goes to ask: the view has nothing newer to offer.
   */
  private serverWait(now: number, dimension: Dimension, need: number): number {
    const view = this.views[dimension];
    if (!view) return 0;
    const room = view.remaining - view.owed;
    if (now < view.resetAt) return room >= need ? 0 : view.resetAt - now;
    const leftOurWindow = this.windowsAgree ? Math.max(0, view.ownAtObservation + view.sentSince - this.maybeAtServer(now, dimension, view) - view.notCounted) : 0;
    const freed = Math.max(dimension === 'requests' ? 1 : 0, leftOurWindow);
    if (room + freed >= need) return 0;
    if (!this.inFlight.some((f) => f.cost[dimension] > 0)) return 0;
    // Woken when the next send leaves rather than a slot later: at each turn of the window that
    // slot was spent by every send that waited on the server's view.
    const leaves = this.windowsAgree ? this.nextLeaving(now, view) : Infinity;
    return Math.min(this.slotMs, leaves - now);
  }

  /** When the next slot from `fromSlot` on leaves the server's window (see maybeAtServer); Infinity if none will. */
  private nextLeaving(now: number, view: ServerView): number {
    const slots = this.ring[0]!.length;
    let next = Infinity;
    for (let k = 0; k < slots && this.headSlot - k >= view.fromSlot; k++) {
      const leaves = this.lastSent[(this.head - k + slots) % slots]! + this.windowMs + view.arrivalMs;
      if (leaves > now && leaves < next) next = leaves;
    }
    return next;
  }

  private add(d: number, amount: number): void {
    const ring = this.ring[d]!;
    ring[this.head] = ring[this.head]! + amount;
    this.countedTotals[d]! += amount;
  }

  /** What our own count holds: sends in slots whose last send is less than a window (and `ownMarginMs`) old. */
  private counted(now: number, d: number): number {
    this.advance(now);
    const slots = this.ring[0]!.length;
    const keep = this.windowMs + this.ownMarginMs(d);
    while (this.countedFrom[d]! <= this.headSlot) {
      const i = (this.head - (this.headSlot - this.countedFrom[d]!) + slots) % slots;
      const last = this.lastSent[i]!;
      // An empty head slot may still receive sends: the count stops there.
      if (Number.isNaN(last) ? this.countedFrom[d] === this.headSlot : last + keep > now) break;
      this.countedTotals[d]! -= this.ring[d]![i]!;
      this.countedFrom[d]!++;
    }
    return this.countedTotals[d]!;
  }

  /**
   * How long past the window our own count keeps a send. Once the server reports its count for
   * a dimension, its view holds what may still be there (a reset for its oldest, the way to it
   * for the rest), and ours need not: it would hold each window's first request past the reset.
   * Until then ours is the only guard, and keeps the way to the server too.
   */
  private ownMarginMs(d: number): number {
    return this.views[DIMENSIONS[d]!] ? 0 : this.arrivalMs;
  }

  /**
   * What, of the sends from slot `fromSlot` on, may still be in the server's window: a send
   * stays there a window from its arrival, and it arrives a moment after we sent it (up to
   * the view's `arrivalMs`), so a slot leaves when its last send has been gone that long.
   */
  private maybeAtServer(now: number, dimension: Dimension, view: ServerView): number {
    return this.sentFrom(DIMENSIONS.indexOf(dimension), view.fromSlot, now - this.windowMs - view.arrivalMs);
  }

  /**
   * Our last send at or before `time`, or a little earlier (the first of a slot whose sends
   * straddle it): undefined if the ring holds none.
   */
  private lastSendBy(time: number): number | undefined {
    const slots = this.ring[0]!.length;
    for (let k = 0; k < slots; k++) {
      const i = (this.head - k + slots) % slots;
      const first = this.firstSent[i]!;
      if (Number.isNaN(first) || first > time) continue;
      const last = this.lastSent[i]!;
      return last <= time ? last : first;
    }
    return undefined;
  }

  /** What we sent in slot `fromSlot` and after, in slots whose last send was after `after`. */
  private sentFrom(d: number, fromSlot: number, after: number): number {
    const ring = this.ring[d]!;
    const slots = ring.length;
    let sum = 0;
    for (let k = 0; k < slots && this.headSlot - k >= fromSlot; k++) {
      const i = (this.head - k + slots) % slots;
      if (this.lastSent[i]! > after) sum += ring[i]!;
    }
    return sum;
  }

  /**
   * The first slot whose sends were all made after `time` (and every slot after it): slots
   * without sends do not stop the search, since nothing in them can be misplaced.
   */
  private firstSlotSentAfter(time: number): number {
    const slots = this.ring[0]!.length;
    let first = this.headSlot + 1;
    for (let k = 0; k < slots; k++) {
      const i = (this.head - k + slots) % slots;
      const sentFirst = this.firstSent[i]!;
      if (!Number.isNaN(sentFirst) && sentFirst <= time) break;
      first = this.headSlot - k;
    }
    return first;
  }

  private slotOf(time: number): number {
    return Math.floor(time / this.slotMs);
  }

  /** Moves the ring to `now`, clearing the slots that left the window. */
  private advance(now: number): void {
    const slots = this.ring[0]!.length;
    const steps = this.slotOf(now) - this.headSlot;
    if (steps <= 0) return;
    if (steps >= slots) {
      for (const r of this.ring) r.fill(0);
      this.firstSent.fill(NaN);
      this.lastSent.fill(NaN);
      this.countedTotals.fill(0);
      this.head = 0;
      this.headSlot += steps;
      this.countedFrom.fill(this.headSlot);
      return;
    }
    for (let i = 0; i < steps; i++) {
      this.head = (this.head + 1) % slots;
      // The slot reused for the new head is the oldest the ring kept. The ring is long enough
      // for every send to have left our count by then; still, what it held leaves the count now.
      const reused = this.headSlot + i + 1 - slots;
      for (const [d, r] of this.ring.entries()) {
        if (reused < this.countedFrom[d]!) continue;
        this.countedTotals[d]! -= r[this.head]!;
        this.countedFrom[d] = reused + 1;
      }
      for (const r of this.ring) r[this.head] = 0;
      this.firstSent[this.head] = NaN;
      this.lastSent[this.head] = NaN;
    }
    this.headSlot += steps;
  }

  /** How long until what counts in one dimension drops to `target`, as old slots leave the window. */
  private timeUntilBelow(now: number, d: number, counted: number, target: number): number {
    const ring = this.ring[d]!;
    const slots = ring.length;
    const keep = this.windowMs + this.ownMarginMs(d);
    let total = counted;
    // From the oldest slot that still counts forward: each stops counting a window (and the
    // margin) after its last send.
    for (let n = this.countedFrom[d]!; n <= this.headSlot; n++) {
      const i = (this.head - (this.headSlot - n) + slots) % slots;
      const last = this.lastSent[i]!;
      if (Number.isNaN(last) || last + keep <= now) continue;
      total -= ring[i]!;
      if (total <= target + 1e-9) return last + keep - now;
    }
    return keep;
  }

}

function numberHeader(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

/** An RFC 3339 time (the `-reset` headers), in ms since the epoch. */
function timeHeader(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const t = Date.parse(value);
  return Number.isFinite(t) ? t : undefined;
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
