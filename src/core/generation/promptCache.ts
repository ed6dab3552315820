/**
 * Prompt caching of the prefix every request of a batch shares: the `record_conversation` tool
 * and the system prompt (the API caches tools, then system, up to the marked block). A prefix
 * shorter than the model's minimum is never cached by the API, so it is sent unmarked; a longer
 * one is marked, written to the cache by the first request (1.25× the input price) and read by
 * the others (0.1×). docs/generation.md says how to write templates so that it pays.
 */
import type { ModelInfo } from './engine';

/** Anthropic's list multipliers of the input price: cache writes and cache reads. */
export const CACHE_WRITE_MULTIPLIER = 1.25;
export const CACHE_READ_MULTIPLIER = 0.1;

/** The minimum cacheable prefix of a model that does not name its own (the API's usual floor). */
export const DEFAULT_MIN_CACHEABLE_TOKENS = 1024;

/** Characters per token of English prose, for a prefix's length before any request is sent. */
const CHARS_PER_TOKEN = 4;

export function minCacheableTokens(model: Pick<ModelInfo, 'minCacheableTokens'>): number {
  return model.minCacheableTokens ?? DEFAULT_MIN_CACHEABLE_TOKENS;
}

/**
 * Tokens of the shared prefix, estimated from its characters: the tool definition's JSON and the
 * system prompt. An estimate is enough: marking a prefix the API finds a little short costs
 * nothing (it is simply not cached), and counting it through the API would cost a request.
 */
export function prefixTokens(toolJsonChars: number, system: string | undefined): number {
  return Math.ceil((toolJsonChars + (system?.length ?? 0)) / CHARS_PER_TOKEN);
}

/** Whether requests with this system prompt mark their prefix for caching. */
export function cachesPrefix(model: Pick<ModelInfo, 'minCacheableTokens'>, toolJsonChars: number, system: string | undefined): boolean {
  return prefixTokens(toolJsonChars, system) >= minCacheableTokens(model);
}

export interface CacheTokens {
  readonly cacheCreationInputTokens?: number;
  readonly cacheReadInputTokens?: number;
}

/**
 * What caching saved on an answer, in US dollars: the same tokens sent uncached cost the input
 * price; written they cost 1.25× (a loss), read 0.1× (a gain). `priceFactor` carries a discount
 * applied on top of both (the Message Batches API's half price).
 */
export function cacheSavingUsd(model: Pick<ModelInfo, 'inputPrice'>, tokens: CacheTokens, priceFactor = 1): number {
  const written = tokens.cacheCreationInputTokens ?? 0;
  const read = tokens.cacheReadInputTokens ?? 0;
  return ((written * (1 - CACHE_WRITE_MULTIPLIER) + read * (1 - CACHE_READ_MULTIPLIER)) * model.inputPrice * priceFactor) / 1_000_000;
}
