/**
 * A Message Batch result line, classified: what it stores and whether its request is sent again.
 */
import type Anthropic from '@anthropic-ai/sdk';
import { classify, type ErrorType } from './retry';

/** Message Batches cost half the model's prices (input and output alike, cache writes and reads too). */
export const BATCH_PRICE_FACTOR = 0.5;

/** How one result line counts. */
export type ResultClass =
  | { readonly kind: 'succeeded' }
  /** Resubmitted in a follow-up Message Batch while attempts last. */
  | { readonly kind: 'retry'; readonly errorType: string }
  | { readonly kind: 'final'; readonly errorType: ErrorType }
  /** Sent again on resume, not counted as an attempt: a cancel, or an account without credit. */
  | { readonly kind: 'canceled' }
  | { readonly kind: 'credit' };

const STATUS_OF_ERROR_TYPE: Readonly<Record<string, number>> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  overloaded_error: 529,
};

/**
 * A result line's class. An errored result's type sits at `result.error.error.type` (the error
 * response wraps the error); a too-low credit balance is an `invalid_request_error` that says so.
 */
export function classifyResult(result: Anthropic.Messages.MessageBatchResult): ResultClass {
  if (result.type === 'succeeded') return { kind: 'succeeded' };
  if (result.type === 'canceled') return { kind: 'canceled' };
  if (result.type === 'expired') return { kind: 'retry', errorType: 'expired' };
  const error = (result.error as { error?: { type?: unknown; message?: unknown } } | undefined)?.error;
  const apiErrorType = typeof error?.type === 'string' ? error.type : undefined;
  const message = typeof error?.message === 'string' ? error.message : '';
  if (apiErrorType === 'billing_error' || (apiErrorType === 'invalid_request_error' && /credit balance/i.test(message))) return { kind: 'credit' };
  const status = apiErrorType ? STATUS_OF_ERROR_TYPE[apiErrorType] : undefined;
  const c = classify({ ...(status !== undefined ? { status } : {}), ...(apiErrorType ? { apiErrorType } : {}) });
  return c.retryable ? { kind: 'retry', errorType: c.type } : { kind: 'final', errorType: c.type };
}

export const CREDIT_MESSAGE = "the account's credit balance is too low for the Message Batch: add credit in the Anthropic Console (Plans & Billing), then run promptloom resume";
