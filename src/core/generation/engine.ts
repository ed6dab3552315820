/**
 * Runs a batch of generations: a priority queue feeding a fixed number of workers, each waiting
 * for the rate limiter before it sends, retrying what the classifier says is worth retrying after
 * the strategy's delay (or the server's retry-after, if longer), never starting a request that
 * could take spending past the budget, and reporting every attempt to `onAttempt` (which stores
 * it: a generation that is not recorded did not happen).
 */
import { setMaxListeners } from 'node:events';
import type Anthropic from '@anthropic-ai/sdk';
import { ClaudeFailure, RECORD_TOOL_CHARS, countInputTokens, generateConversation, type ClaudeAnswer, type ClaudeRequest, type Turn } from './claude';
import { PriorityQueue, type Priority } from './priorityQueue';
import type { RateLimiter } from './rateLimiter';
import { fatalMessage, type FailureCount } from './failures';
import { classify, retryDelay, type ErrorType, type RetryPolicy } from './retry';
import { CACHE_READ_MULTIPLIER, CACHE_WRITE_MULTIPLIER, cacheSavingUsd, cachesPrefix } from './promptCache';

export { CACHE_READ_MULTIPLIER, CACHE_WRITE_MULTIPLIER } from './promptCache';

export interface ModelInfo {
  readonly id: string;
  readonly alias?: string;
  /** US dollars per million tokens. */
  readonly inputPrice: number;
  readonly outputPrice: number;
  readonly windowMs: number;
  readonly requestsPerWindow: number;
  readonly inputTokensPerWindow?: number;
  readonly outputTokensPerWindow?: number;
  /** The shortest prefix (tools and system) the API caches for this model, in tokens. */
  readonly minCacheableTokens?: number;
}

/**
 * Defaults of the model table (settings override them): the current Claude models. The SDK in
 * use (1.14) marks the 4.5 Sonnet and Opus deprecated. Prices are per million tokens, set to the
 * tiers' list prices; check them against your account and set them in settings. The minimum
 * cacheable prefix follows Anthropic's prompt-caching table (Haiku needs the longer one).
 */
export const DEFAULT_MODELS: readonly ModelInfo[] = [
  { id: 'claude-sonnet-5-5', alias: 'sonnet', inputPrice: 3, outputPrice: 15, windowMs: 60_000, requestsPerWindow: 50, minCacheableTokens: 1024 },
  { id: 'claude-opus-5-5', alias: 'opus', inputPrice: 5, outputPrice: 25, windowMs: 60_000, requestsPerWindow: 50, minCacheableTokens: 1024 },
  { id: 'claude-haiku-5-5', alias: 'haiku', inputPrice: 1, outputPrice: 5, windowMs: 60_000, requestsPerWindow: 50, minCacheableTokens: 2048 },
];

/** A model by alias or id; an unknown `claude-…` id gets the first model's limits and prices. */
export function resolveModel(name: string, models: readonly ModelInfo[] = DEFAULT_MODELS): ModelInfo | undefined {
  const known = models.find((m) => m.id === name || m.alias === name);
  if (known || !name.startsWith('claude-')) return known;
  const { alias: _alias, ...base } = models[0] ?? DEFAULT_MODELS[0]!;
  return { ...base, id: name };
}

export function costUsd(model: ModelInfo, inputTokens: number, outputTokens: number): number {
  return (inputTokens * model.inputPrice + outputTokens * model.outputPrice) / 1_000_000;
}

/** What an answer cost, its prompt-cache tokens included. */
export function answerCost(model: ModelInfo, answer: Pick<ClaudeAnswer, 'inputTokens' | 'outputTokens' | 'cacheCreationInputTokens' | 'cacheReadInputTokens'>): number {
  const cached = (answer.cacheCreationInputTokens ?? 0) * CACHE_WRITE_MULTIPLIER + (answer.cacheReadInputTokens ?? 0) * CACHE_READ_MULTIPLIER;
  return costUsd(model, answer.inputTokens + cached, answer.outputTokens);
}

/**
 * The request an engine sends for each item. Generation's by default; the judge passes its own
 * (a rubric call), and gets everything else of the engine: rate limits, retries, budget, cancel.
 */
export interface EngineCall {
  send(client: Anthropic, request: ClaudeRequest, signal?: AbortSignal): Promise<ClaudeAnswer>;
  /** Input tokens of a request, for the budget's pre-flight estimate. */
  countTokens(client: Anthropic, request: ClaudeRequest): Promise<number>;
  /** Whether requests with this system prompt mark their shared prefix for the prompt cache. */
  cachesPrefix?(model: ModelInfo, system: string | undefined): boolean;
  /**
   * Characters each request sends besides the item's system prompt and prompt (tool
   * definitions, a system prompt of the call's own): the input-token limits count them too.
   */
  readonly fixedInputChars?: number;
}

/**
 * The input tokens the limiter counts for a request until its answer says what it cost: the
 * tokens-per-minute limits count the system prompt and the tool definitions as well as the
 * messages (counted from the prompt alone, a long system prompt sent requests past the limit).
 * About 4 characters a token: the answer's count replaces the estimate.
 */
export function limiterInputTokens(request: Pick<ClaudeRequest, 'system' | 'prompt'>, call: EngineCall): number {
  return Math.ceil(((request.system?.length ?? 0) + request.prompt.length + (call.fixedInputChars ?? 0)) / 4);
}

export const GENERATION_CALL: EngineCall = {
  send: generateConversation,
  countTokens: countInputTokens,
  cachesPrefix: (model, system) => cachesPrefix(model, RECORD_TOOL_CHARS, system),
  fixedInputChars: RECORD_TOOL_CHARS,
};

export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
    }),
};

export interface EngineOptions {
  readonly client: Anthropic;
  readonly model: ModelInfo;
  readonly limiter: RateLimiter;
  readonly retry: RetryPolicy;
  readonly concurrency: number;
  readonly maxTokens: number;
  readonly temperature?: number;
  readonly onError: 'continue' | 'stop';
  /** Spending this batch may not cross, in US dollars. */
  readonly budgetUsd?: number;
  /** The API address in use (for messages naming it); undefined for Anthropic's. */
  readonly address?: string;
  readonly clock?: Clock;
  readonly random?: () => number;
  readonly queueCapacity?: number;
  /** What is sent per item: generation's call unless given (the judge's rubric call). */
  readonly call?: EngineCall;
  /**
   * Asked once per item, before its first request: false leaves the item to someone else (a team
   * batch's slot another run has claimed). A left item is neither requested nor remaining.
   */
  readonly admit?: (item: GenerationItem) => Promise<boolean>;
}

export interface GenerationItem {
  /** The caller's id for this item (what `onAttempt` reports against). */
  readonly key: string;
  readonly system?: string;
  readonly prompt: string;
  readonly priority?: Priority;
}

export interface Attempt {
  readonly key: string;
  readonly attempt: number;
  readonly status: 'succeeded' | 'failed';
  readonly errorType?: ErrorType;
  /** True when this failure ends the item (no retry follows). */
  readonly final: boolean;
  readonly turns?: Turn[];
  /** The call's own result, for a call other than generation's (the judge's grade). */
  readonly output?: unknown;
  readonly cacheCreationInputTokens?: number;
  readonly cacheReadInputTokens?: number;
  /** What the prompt cache saved on this answer against the same request uncached (negative for a write). */
  readonly savedUsd?: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly costUsd: number;
  readonly durationMs: number;
}

export interface BatchSummary {
  readonly requested: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly attempts: number;
  readonly retries: number;
  readonly rateLimited: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly costUsd: number;
  /** Prompt-cache tokens written and read, and what caching saved against the same requests uncached. */
  readonly cacheWriteTokens: number;
  readonly cacheReadTokens: number;
  readonly savedUsd: number;
  readonly durationMs: number;
  /** Items that ended without a conversation, by cause (requests cut off by a cancel are not failures). */
  readonly failures: readonly FailureCount[];
  /** Items a stop left undone (never sent, or cut off in flight): what a resume generates. */
  readonly remaining: number;
  /** Paid answers that `onAttempt` could not keep (it threw): the caller says so. */
  readonly unstored: number;
  /** Why the batch ended early, if it did ('detached': its Message Batches were left running, for `resume`). */
  readonly stopped?: 'budget' | 'error' | 'fatal' | 'cancelled' | 'detached';
  readonly stopReason?: string;
  /** The failure that stopped the batch at once (a rejected key, nothing at the address…). */
  readonly fatal?: { readonly type: ErrorType; readonly status?: number };
}

interface Pending {
  readonly item: GenerationItem;
  attempt: number;
  estimate?: number;
}

export class GenerationEngine {
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly abort = new AbortController();
  private stopped: BatchSummary['stopped'];
  private stopReason: string | undefined;

  constructor(private readonly options: EngineOptions) {
    // Every request and wait listens to this one signal; there are many by design.
    setMaxListeners(0, this.abort.signal);
    this.clock = options.clock ?? realClock;
    this.random = options.random ?? Math.random;
  }

  /** Aborted when the batch is cancelled or stopped by a fatal failure (work that follows it listens). */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** Starts no new request (those in flight are answered and kept); the summary says why. */
  halt(reason: string): void {
    this.stop('error', reason);
  }

  /** Stops the batch: nothing new starts, requests in flight are aborted. */
  cancel(): void {
    this.stop('cancelled', 'cancelled');
    this.abort.abort();
  }

  /**
   * Runs the items. `onAttempt` stores each attempt and may be asynchronous (the engine waits for
   * it); it runs outside the handling of API failures, so a failure to store an answer is never
   * mistaken for a failed request (which would pay for the answer again).
   */
  async run(items: readonly GenerationItem[], onAttempt: (attempt: Attempt) => unknown): Promise<BatchSummary> {
    const o = this.options;
    const started = this.clock.now();
    const queue = new PriorityQueue<Pending>(o.queueCapacity ?? 10_000);
    for (const item of items) queue.push({ item, attempt: 0 }, item.priority ?? 'normal');
    let waitingRetries = 0;
    let left = 0; // items `admit` left to someone else
    // Workers with nothing to do wait here for a retry to come back (or the batch to stop).
    const idle: (() => void)[] = [];
    const nudge = () => {
      for (const wake of idle.splice(0)) wake();
    };
    this.onStop = nudge;
    const totals = { succeeded: 0, failed: 0, attempts: 0, retries: 0, rateLimited: 0, inputTokens: 0, outputTokens: 0, costUsd: 0, cacheWriteTokens: 0, cacheReadTokens: 0, savedUsd: 0, unstored: 0 };
    // Prompt caching: the first request of each cached prefix goes alone, so that the cache holds
    // the prefix before the others are sent and they read it (sent together, each would write it).
    const warmPrefixes = new Set<string | undefined>();
    // A prefix only one item sends is never read: marking it would only pay for the write (1.25×).
    const sharers = new Map<string | undefined, number>();
    for (const item of items) sharers.set(item.system, (sharers.get(item.system) ?? 0) + 1);
    const warming = new Map<string | undefined, Promise<void>>();
    const failures = new Map<string, { type: ErrorType; status?: number; count: number }>();
    let fatal: BatchSummary['fatal'];
    let reserved = 0; // estimated cost of requests in flight
    let holding = 0; // requests holding a part of `reserved` (counted: sums of floats do not return to 0)
    const hold = (usd: number) => {
      holding++;
      reserved += usd;
    };
    const letGo = (usd: number) => {
      holding--;
      reserved = holding === 0 ? 0 : reserved - usd;
    };

    const worker = async (): Promise<void> => {
      for (;;) {
        if (this.stopped) return;
        const pending = queue.shift();
        if (!pending) {
          if (waitingRetries === 0) return;
          await new Promise<void>((r) => idle.push(r));
          continue;
        }
        if (pending.attempt === 0 && o.admit) {
          let admitted: boolean;
          try {
            admitted = await o.admit(pending.item);
          } catch (error) {
            // Not sent, so remaining: the batch stops rather than guess whose the item is.
            this.stop('error', `${pending.item.key} could not be claimed: ${error instanceof Error ? error.message : String(error)}`);
            return;
          }
          // Stopped meanwhile: the item is remaining, whoever's it is.
          if (this.stopped) return;
          if (!admitted) {
            left++;
            continue;
          }
        }
        pending.attempt++;
        const system = pending.item.system;
        const cachePrefix = (sharers.get(system) ?? 0) > 1 && ((o.call ?? GENERATION_CALL).cachesPrefix?.(o.model, system) ?? false);
        const request: ClaudeRequest = {
          model: o.model.id,
          prompt: pending.item.prompt,
          maxTokens: o.maxTokens,
          ...(system !== undefined ? { system } : {}),
          ...(o.temperature !== undefined ? { temperature: o.temperature } : {}),
          ...(cachePrefix ? { cachePrefix } : {}),
        };
        // Another worker is writing this prefix to the cache: wait for its answer, then read it.
        while (cachePrefix && warming.has(system) && !this.stopped) await warming.get(system);
        if (this.stopped) return;
        let warmed: (() => void) | undefined;
        if (cachePrefix && !warmPrefixes.has(system)) {
          warming.set(system, new Promise<void>((resolve) => (warmed = resolve)));
        }
        const doneWarming = (ok: boolean) => {
          if (!warmed) return;
          if (ok) warmPrefixes.add(system);
          warming.delete(system);
          warmed();
        };

        // Budget: never start what could take spending past it (worst case: max_tokens out, and
        // with a marked prefix, every input token a cache write: any request may write it, the
        // first or one after the cache expired).
        if (o.budgetUsd !== undefined) {
          pending.estimate ??= costUsd(o.model, (await this.inputTokens(request)) * (cachePrefix ? CACHE_WRITE_MULTIPLIER : 1), o.maxTokens);
          // While other requests hold their worst case (waiting for room or in flight), wait for
          // their answers: what they really cost may leave room for this one.
          while (holding > 0 && totals.costUsd + reserved + pending.estimate > o.budgetUsd && !this.stopped) await new Promise<void>((r) => idle.push(r));
          if (this.stopped) {
            doneWarming(false);
            return;
          }
          if (totals.costUsd + reserved + pending.estimate > o.budgetUsd) {
            this.stop('budget', `the next request could cost up to $${pending.estimate.toFixed(4)}, which would cross the budget of $${o.budgetUsd.toFixed(2)} ($${totals.costUsd.toFixed(4)} spent)`);
            doneWarming(false);
            return;
          }
        }
        // Held from the check on, not from the send: workers that passed it and wait for the
        // limiter's room together must not each find the budget as if the others had not.
        hold(pending.estimate ?? 0);

        // Rate limit: wait for room, counting the worst case until the answer says what it cost.
        const cost = { requests: 1, inputTokens: limiterInputTokens(request, o.call ?? GENERATION_CALL), outputTokens: o.maxTokens };
        for (let wait = o.limiter.waitFor(this.clock.now(), cost); wait > 0 && !this.stopped; wait = o.limiter.waitFor(this.clock.now(), cost)) {
          await this.waitForRoom(wait);
        }
        if (this.stopped) {
          letGo(pending.estimate ?? 0);
          doneWarming(false);
          return;
        }
        const sentAt = this.clock.now();
        o.limiter.record(sentAt, cost);
        totals.attempts++;
        if (pending.attempt > 1) totals.retries++;

        let answer: ClaudeAnswer;
        try {
          answer = await (o.call ?? GENERATION_CALL).send(o.client, request, this.abort.signal);
        } catch (error) {
          doneWarming(false);
          letGo(pending.estimate ?? 0);
          nudge();
          const failure = error instanceof ClaudeFailure ? error : new ClaudeFailure({}, {}, String(error));
          const now = this.clock.now();
          // A request that may have reached the server counts against the limit whatever the
          // answer: a timeout or a reset connection too (the server counted it on arrival).
          o.limiter.settle(now, sentAt, cost, { requests: neverReached(failure) ? 0 : 1, inputTokens: 0, outputTokens: 0 });
          o.limiter.observe(now, failure.headers, failure.facts.status, sentAt);
          this.limiterNews();
          const c = classify(failure.facts);
          if (c.type === 'rate_limit') totals.rateLimited++;
          const retry = c.retryable && pending.attempt < o.retry.maxAttempts && !this.stopped;
          if (c.fatal) {
            fatal ??= { type: c.type, ...(c.status !== undefined ? { status: c.status } : {}) };
            this.stop('fatal', fatalMessage(c.type, c.status, failure.facts.apiErrorType, { model: o.model.id, ...(o.address ? { address: o.address } : {}) }));
            this.abort.abort();
          }
          if (!retry && c.type !== 'cancelled') {
            totals.failed++;
            const key = `${c.type}:${c.status ?? ''}`;
            const entry = failures.get(key) ?? { type: c.type, ...(c.status !== undefined ? { status: c.status } : {}), count: 0 };
            entry.count++;
            failures.set(key, entry);
            if (o.onError === 'stop') this.stop('error', `${pending.item.key} failed: ${failure.message}`);
          }
          await this.report(onAttempt, { key: pending.item.key, attempt: pending.attempt, status: 'failed', errorType: c.type, final: !retry, inputTokens: 0, outputTokens: 0, costUsd: 0, durationMs: now - sentAt });
          if (retry) {
            // The strategy's delay spaces the attempts of an item: it runs from when the failed
            // one was sent, so a request that already took long to fail (a timeout) does not
            // wait it out again while the window has room. What the server asks (retry-after)
            // runs from now.
            const spacing = retryDelay(o.retry, pending.attempt, this.random) - (now - sentAt);
            const delay = Math.max(c.retryAfterMs ?? 0, spacing, 0);
            waitingRetries++;
            void this.clock.sleep(delay, this.abort.signal).then(() => {
              waitingRetries--;
              // Before the items not yet begun at its priority: a fault early in the batch is
              // mended while the window still has room, rather than adding a round at the end.
              if (!this.stopped) queue.pushFront(pending, pending.item.priority ?? 'normal');
              nudge();
            });
          }
          continue;
        }
        doneWarming(true);
        letGo(pending.estimate ?? 0);
        const now = this.clock.now();
        o.limiter.settle(now, sentAt, cost, { requests: 1, inputTokens: answer.inputTokens, outputTokens: answer.outputTokens });
        o.limiter.observe(now, answer.headers, 200, sentAt);
        this.limiterNews();
        const spent = answerCost(o.model, answer);
        const savedUsd = cacheSavingUsd(o.model, answer);
        Object.assign(totals, {
          inputTokens: totals.inputTokens + answer.inputTokens,
          outputTokens: totals.outputTokens + answer.outputTokens,
          costUsd: totals.costUsd + spent,
          cacheWriteTokens: totals.cacheWriteTokens + (answer.cacheCreationInputTokens ?? 0),
          cacheReadTokens: totals.cacheReadTokens + (answer.cacheReadInputTokens ?? 0),
          savedUsd: totals.savedUsd + savedUsd,
        });
        totals.succeeded++;
        nudge(); // a worker waiting for the budget finds what this answer really cost
        // Paid for: whatever happens while keeping it, it is never retried (never paid twice).
        const cache = {
          ...(answer.cacheCreationInputTokens !== undefined ? { cacheCreationInputTokens: answer.cacheCreationInputTokens } : {}),
          ...(answer.cacheReadInputTokens !== undefined ? { cacheReadInputTokens: answer.cacheReadInputTokens } : {}),
          ...(answer.output !== undefined ? { output: answer.output } : {}),
          ...(savedUsd !== 0 ? { savedUsd } : {}),
        };
        const kept = await this.report(onAttempt, { key: pending.item.key, attempt: pending.attempt, status: 'succeeded', final: true, turns: answer.turns, ...cache, inputTokens: answer.inputTokens, outputTokens: answer.outputTokens, costUsd: spent, durationMs: now - sentAt });
        if (!kept) {
          totals.unstored++;
          this.stop('error', `a paid answer could not be stored (${this.lastReportError ?? 'unknown reason'}); the batch stopped so that no more is spent`);
        }
      }
    };

    await Promise.all(Array.from({ length: Math.max(1, o.concurrency) }, worker));
    nudge();
    return {
      requested: items.length - left,
      ...totals,
      failures: [...failures.values()],
      remaining: items.length - left - totals.succeeded - totals.failed,
      ...(fatal ? { fatal } : {}),
      durationMs: this.clock.now() - started,
      ...(this.stopped ? { stopped: this.stopped } : {}),
      ...(this.stopReason ? { stopReason: this.stopReason } : {}),
    };
  }

  private onStop: () => void = () => undefined;

  /** Workers waiting for the limiter's room, woken early when an answer changes its view. */
  private readonly roomWaiters = new Set<AbortController>();

  /**
   * Waits up to `ms` for the limiter to have room. An answer can show more room than the
   * limiter counted when the wait began (the server had already counted a request we still
   * held as unseen), so each answer wakes the waiters to ask again rather than sleep it out.
   */
  private async waitForRoom(ms: number): Promise<void> {
    const wake = new AbortController();
    const stop = () => wake.abort();
    this.abort.signal.addEventListener('abort', stop, { once: true });
    this.roomWaiters.add(wake);
    try {
      await this.clock.sleep(ms, wake.signal);
    } finally {
      this.abort.signal.removeEventListener('abort', stop);
      this.roomWaiters.delete(wake);
    }
  }

  private limiterNews(): void {
    for (const waiter of this.roomWaiters) waiter.abort();
    this.roomWaiters.clear();
  }

  /** Hands an attempt to the caller; false when the caller could not keep it (it threw). */
  private async report(onAttempt: (attempt: Attempt) => unknown, attempt: Attempt): Promise<boolean> {
    try {
      await onAttempt(attempt);
      return true;
    } catch (error) {
      this.lastReportError = error instanceof Error ? error.message : String(error);
      return false;
    }
  }

  /** Why the caller last failed to keep an attempt. */
  private lastReportError: string | undefined;

  private stop(why: NonNullable<BatchSummary['stopped']>, reason: string): void {
    if (this.stopped) return;
    this.stopped = why;
    this.stopReason = reason;
    this.onStop();
  }

  private async inputTokens(request: ClaudeRequest): Promise<number> {
    try {
      return await (this.options.call ?? GENERATION_CALL).countTokens(this.options.client, request);
    } catch {
      // Counting is an estimate's helper: if it fails, a generous character-based guess will do.
      return Math.ceil(((request.system?.length ?? 0) + request.prompt.length) / 3) + 500;
    }
  }
}

/** Failures that show the request never left us or found no server: nothing was counted. */
function neverReached(failure: ClaudeFailure): boolean {
  const kind = failure.facts.kind;
  return kind === 'refused' || kind === 'unreachable' || kind === 'bad_address';
}
