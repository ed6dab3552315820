/**
 * Runs a batch of generations: a priority queue feeding a fixed number of workers, each waiting
 * for the rate limiter before it sends, retrying what the classifier says is worth retrying after
 * the strategy's delay (or the server's retry-after, if longer), never starting a request that
 * could take spending past the budget, and reporting every attempt to `onAttempt` (which stores
 * it: a generation that is not recorded did not happen).
 */
import { setMaxListeners } from 'node:events';
import type Anthropic from '@anthropic-ai/sdk';
import { ClaudeFailure, countInputTokens, generateConversation, type ClaudeRequest, type Turn } from './claude';
import { PriorityQueue, type Priority } from './priorityQueue';
import type { RateLimiter } from './rateLimiter';
import { classify, retryDelay, type ErrorType, type RetryPolicy } from './retry';

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
}

/**
 * Defaults of the model table (settings override them): the current Claude models. The SDK in
 * use (1.14) marks the 4.5 Sonnet and Opus deprecated. Prices are per million tokens, set to the
 * tiers' list prices; check them against your account and set them in settings.
 */
export const DEFAULT_MODELS: readonly ModelInfo[] = [
  { id: 'claude-sonnet-5-5', alias: 'sonnet', inputPrice: 3, outputPrice: 15, windowMs: 60_000, requestsPerWindow: 50 },
  { id: 'claude-opus-5-5', alias: 'opus', inputPrice: 5, outputPrice: 25, windowMs: 60_000, requestsPerWindow: 50 },
  { id: 'claude-haiku-5-5', alias: 'haiku', inputPrice: 1, outputPrice: 5, windowMs: 60_000, requestsPerWindow: 50 },
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
  readonly clock?: Clock;
  readonly random?: () => number;
  readonly queueCapacity?: number;
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
  readonly durationMs: number;
  /** Why the batch ended early, if it did. */
  readonly stopped?: 'budget' | 'error' | 'cancelled';
  readonly stopReason?: string;
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

  /** Stops the batch: nothing new starts, requests in flight are aborted. */
  cancel(): void {
    this.stop('cancelled', 'cancelled');
    this.abort.abort();
  }

  async run(items: readonly GenerationItem[], onAttempt: (attempt: Attempt) => unknown): Promise<BatchSummary> {
    const o = this.options;
    const started = this.clock.now();
    const queue = new PriorityQueue<Pending>(o.queueCapacity ?? 10_000);
    for (const item of items) queue.push({ item, attempt: 0 }, item.priority ?? 'normal');
    let waitingRetries = 0;
    // Workers with nothing to do wait here for a retry to come back (or the batch to stop).
    const idle: (() => void)[] = [];
    const nudge = () => {
      for (const wake of idle.splice(0)) wake();
    };
    this.onStop = nudge;
    const totals = { succeeded: 0, failed: 0, attempts: 0, retries: 0, rateLimited: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };
    let reserved = 0; // estimated cost of requests in flight

    const worker = async (): Promise<void> => {
      for (;;) {
        if (this.stopped) return;
        const pending = queue.shift();
        if (!pending) {
          if (waitingRetries === 0) return;
          await new Promise<void>((r) => idle.push(r));
          continue;
        }
        pending.attempt++;
        const request: ClaudeRequest = {
          model: o.model.id,
          prompt: pending.item.prompt,
          maxTokens: o.maxTokens,
          ...(pending.item.system !== undefined ? { system: pending.item.system } : {}),
          ...(o.temperature !== undefined ? { temperature: o.temperature } : {}),
        };

        // Budget: never start what could take spending past it (worst case: max_tokens out).
        if (o.budgetUsd !== undefined) {
          pending.estimate ??= costUsd(o.model, await this.inputTokens(request), o.maxTokens);
          if (totals.costUsd + reserved + pending.estimate > o.budgetUsd) {
            this.stop('budget', `the next request could cost up to $${pending.estimate.toFixed(4)}, which would cross the budget of $${o.budgetUsd.toFixed(2)} ($${totals.costUsd.toFixed(4)} spent)`);
            return;
          }
        }

        // Rate limit: wait for room, counting the worst case until the answer says what it cost.
        const cost = { requests: 1, inputTokens: Math.ceil(pending.item.prompt.length / 4), outputTokens: o.maxTokens };
        for (let wait = o.limiter.waitFor(this.clock.now(), cost); wait > 0 && !this.stopped; wait = o.limiter.waitFor(this.clock.now(), cost)) {
          await this.clock.sleep(wait, this.abort.signal);
        }
        if (this.stopped) return;
        const sentAt = this.clock.now();
        o.limiter.record(sentAt, cost);
        reserved += pending.estimate ?? 0;
        totals.attempts++;
        if (pending.attempt > 1) totals.retries++;

        try {
          const answer = await generateConversation(o.client, request, this.abort.signal);
          const now = this.clock.now();
          o.limiter.observe(now, answer.headers, 200);
          o.limiter.settle(now, sentAt, cost, { requests: 1, inputTokens: answer.inputTokens, outputTokens: answer.outputTokens });
          const spent = costUsd(o.model, answer.inputTokens, answer.outputTokens);
          Object.assign(totals, { inputTokens: totals.inputTokens + answer.inputTokens, outputTokens: totals.outputTokens + answer.outputTokens, costUsd: totals.costUsd + spent });
          totals.succeeded++;
          await onAttempt({ key: pending.item.key, attempt: pending.attempt, status: 'succeeded', final: true, turns: answer.turns, inputTokens: answer.inputTokens, outputTokens: answer.outputTokens, costUsd: spent, durationMs: now - sentAt });
        } catch (error) {
          const failure = error instanceof ClaudeFailure ? error : new ClaudeFailure({}, {}, String(error));
          const now = this.clock.now();
          // A request that reached the server counts against the limit whatever the answer.
          const reached = failure.facts.status !== undefined;
          o.limiter.settle(now, sentAt, cost, { requests: reached ? 1 : 0, inputTokens: 0, outputTokens: 0 });
          o.limiter.observe(now, failure.headers, failure.facts.status);
          const c = classify(failure.facts);
          if (c.type === 'rate_limit') totals.rateLimited++;
          const retry = c.retryable && pending.attempt < o.retry.maxAttempts && !this.stopped;
          await onAttempt({ key: pending.item.key, attempt: pending.attempt, status: 'failed', errorType: c.type, final: !retry, inputTokens: 0, outputTokens: 0, costUsd: 0, durationMs: now - sentAt });
          if (retry) {
            const delay = Math.max(c.retryAfterMs ?? 0, retryDelay(o.retry, pending.attempt, this.random));
            waitingRetries++;
            void this.clock.sleep(delay, this.abort.signal).then(() => {
              waitingRetries--;
              if (!this.stopped) queue.push(pending, pending.item.priority ?? 'normal');
              nudge();
            });
          } else if (c.type !== 'cancelled') {
            totals.failed++;
            if (o.onError === 'stop') this.stop('error', `${pending.item.key} failed: ${failure.message}`);
          }
        } finally {
          reserved -= pending.estimate ?? 0;
        }
      }
    };

    await Promise.all(Array.from({ length: Math.max(1, o.concurrency) }, worker));
    nudge();
    return {
      requested: items.length,
      ...totals,
      durationMs: this.clock.now() - started,
      ...(this.stopped ? { stopped: this.stopped } : {}),
      ...(this.stopReason ? { stopReason: this.stopReason } : {}),
    };
  }

  private onStop: () => void = () => undefined;

  private stop(why: NonNullable<BatchSummary['stopped']>, reason: string): void {
    if (this.stopped) return;
    this.stopped = why;
    this.stopReason = reason;
    this.onStop();
  }

  private async inputTokens(request: ClaudeRequest): Promise<number> {
    try {
      return await countInputTokens(this.options.client, request);
    } catch {
      // Counting is an estimate's helper: if it fails, a generous character-based guess will do.
      return Math.ceil(((request.system?.length ?? 0) + request.prompt.length) / 3) + 500;
    }
  }
}
