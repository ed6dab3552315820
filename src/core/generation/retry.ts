/**
 * When to try a failed request again, and how long to wait first. Errors are classified by HTTP
 * status and the API's error type, never by searching message text.
 */

export type RetryStrategyName = 'exponential' | 'linear' | 'fixed';

export interface RetryPolicy {
  readonly strategy: RetryStrategyName;
  /** Delay of the first retry. */
  readonly baseDelayMs: number;
  /** No wait is longer than this. */
  readonly maxDelayMs: number;
  /** Attempts in all, the first one included. */
  readonly maxAttempts: number;
}

export const DEFAULT_RETRY: RetryPolicy = { strategy: 'exponential', baseDelayMs: 1000, maxDelayMs: 5 * 60_000, maxAttempts: 3 };

/**
 * Delay before attempt `attempt + 1`, after `attempt` failed (attempt counts from 1). Exponential
 * backoff is jittered (half fixed, half random) so parallel retries do not arrive together;
 * `random` is injected so tests are repeatable.
 */
export function retryDelay(policy: RetryPolicy, attempt: number, random: () => number): number {
  const n = Math.max(1, attempt);
  let delay: number;
  switch (policy.strategy) {
    case 'exponential': {
      const full = policy.baseDelayMs * 2 ** (n - 1);
      delay = Math.min(policy.maxDelayMs, full) * (0.5 + 0.5 * random());
      break;
    }
    case 'linear':
      delay = policy.baseDelayMs * n;
      break;
    case 'fixed':
      delay = policy.baseDelayMs;
      break;
  }
  return Math.min(policy.maxDelayMs, Math.round(delay));
}

/** What went wrong with one attempt, in the terms the engine and the logs use. */
export type ErrorType =
  | 'rate_limit'
  | 'spend_limit'
  | 'overloaded'
  | 'server_error'
  | 'connection'
  | 'connection_refused'
  | 'unreachable'
  | 'bad_address'
  | 'timeout'
  | 'unparseable'
  | 'invalid_request'
  | 'authentication'
  | 'permission'
  | 'not_found'
  | 'too_large'
  | 'cancelled'
  | 'budget'
  | 'unknown';

export interface Classified {
  readonly type: ErrorType;
  readonly retryable: boolean;
  /**
   * Retrying this will not help any other item either (a rejected key, a wrong model, nothing
   * listening at the address): the batch stops at once, whatever `onError` says.
   */
  readonly fatal?: boolean;
  /** What the server asked us to wait (retry-after), if anything. */
  readonly retryAfterMs?: number;
  readonly status?: number;
}

/** The facts a failure carries, whatever threw it. */
export interface FailureFacts {
  readonly status?: number;
  /** The API's `error.type` (rate_limit_error, overloaded_error, billing_error, …). */
  readonly apiErrorType?: string;
  readonly retryAfterSeconds?: number;
  readonly kind?: 'connection' | 'refused' | 'unreachable' | 'bad_address' | 'timeout' | 'unparseable' | 'cancelled';
}

export function classify(f: FailureFacts): Classified {
  const retryAfterMs = f.retryAfterSeconds !== undefined ? f.retryAfterSeconds * 1000 : undefined;
  const withRetryAfter = (c: Classified): Classified => (retryAfterMs !== undefined ? { ...c, retryAfterMs } : c);
  if (f.kind === 'cancelled') return { type: 'cancelled', retryable: false };
  if (f.kind === 'timeout') return { type: 'timeout', retryable: true };
  if (f.kind === 'connection') return { type: 'connection', retryable: true };
  if (f.kind === 'refused') return { type: 'connection_refused', retryable: false, fatal: true };
  if (f.kind === 'unreachable') return { type: 'unreachable', retryable: false, fatal: true };
  if (f.kind === 'bad_address') return { type: 'bad_address', retryable: false, fatal: true };
  if (f.kind === 'unparseable') return { type: 'unparseable', retryable: true, ...(f.status ? { status: f.status } : {}) };
  const status = f.status;
  if (status === undefined) return { type: 'unknown', retryable: false };
  if (status === 429) {
    // A spent budget (billing) is not a rate limit: waiting will not help.
    if (f.apiErrorType !== undefined && f.apiErrorType !== 'rate_limit_error') return { type: 'spend_limit', retryable: false, fatal: true, status };
    return withRetryAfter({ type: 'rate_limit', retryable: true, status });
  }
  if (status === 529 || f.apiErrorType === 'overloaded_error') return withRetryAfter({ type: 'overloaded', retryable: true, status });
  if (status >= 500 && status <= 504) return withRetryAfter({ type: 'server_error', retryable: true, status });
  const final: Readonly<Record<number, ErrorType>> = { 400: 'invalid_request', 401: 'authentication', 403: 'permission', 404: 'not_found', 413: 'too_large' };
  const type = final[status] ?? 'unknown';
  // The key, its permissions and the model are the same for every item: one answer speaks for all.
  const fatal = type === 'authentication' || type === 'permission' || type === 'not_found';
  return { type, retryable: false, ...(fatal ? { fatal } : {}), status };
}
