/**
 * What a batch will cost before it is sent: input tokens counted per distinct prompt (by the API's
 * count_tokens when it is reachable, else estimated here), output between what the template's
 * past conversations took (low) and `max_tokens` for every conversation (high).
 */
import type { Database } from '../store/database';
import type { BatchCell } from './batch';
import { RECORD_TOOL_CHARS, type ClaudeRequest } from './claude';
import { JUDGE_SYSTEM, JUDGE_TOOL } from '../quality/judge';
import { costUsd, type ModelInfo } from './engine';
import { JUDGE_MAX_TOKENS } from './judgeClient';
import { CACHE_READ_MULTIPLIER, CACHE_WRITE_MULTIPLIER, cacheSavingUsd, cachesPrefix, minCacheableTokens, prefixTokens } from './promptCache';

export interface Estimate {
  readonly inputTokens: number;
  readonly maxOutputTokens: number;
  readonly costUsd: { readonly low: number; readonly high: number };
  /** How the input tokens were counted. */
  readonly counted: 'api' | 'local';
  /** Mean output tokens of the template's earlier conversations, when there are any. */
  readonly pastOutputTokens: number | null;
  /** Prompt caching, included in `costUsd` (see promptCache.ts). */
  readonly cache: CacheEstimate;
}

export interface CacheEstimate {
  /** The longest shared prefix (tool and system prompt) of the batch, and the model's minimum. */
  readonly prefixTokens: number;
  readonly minCacheableTokens: number;
  /** Prefix tokens written once per distinct system prompt two or more requests share, and read by the others. */
  readonly writeTokens: number;
  readonly readTokens: number;
  /** Against the same requests uncached. */
  readonly savedUsd: number;
}

/** A local guess when the API cannot count: generous, like the engine's own fallback. */
export function localInputTokens(request: Pick<ClaudeRequest, 'system' | 'prompt'>): number {
  return Math.ceil(((request.system?.length ?? 0) + request.prompt.length) / 3) + 500;
}

export async function estimateBatch(
  cells: readonly BatchCell[],
  options: { model: ModelInfo; maxTokens: number; pastOutputTokens: number | null; countTokens?: (request: ClaudeRequest) => Promise<number> },
): Promise<Estimate> {
  // One count per distinct prompt: a plan of 10,000 over 12 value sets costs 12 calls.
  const tokensOf = new Map<string, number>();
  let counted: Estimate['counted'] = options.countTokens ? 'api' : 'local';
  let inputTokens = 0;
  let conversations = 0;
  // Prompt caching: per distinct system prompt, the first request writes the prefix, the rest read it.
  const prefixes = new Map<string | undefined, { tokens: number; requests: number }>();
  let longestPrefix = 0;
  for (const cell of cells) {
    const tokens = prefixTokens(RECORD_TOOL_CHARS, cell.rendered.system);
    longestPrefix = Math.max(longestPrefix, tokens);
    if (!cachesPrefix(options.model, RECORD_TOOL_CHARS, cell.rendered.system)) continue;
    const p = prefixes.get(cell.rendered.system) ?? { tokens, requests: 0 };
    p.requests += cell.count;
    prefixes.set(cell.rendered.system, p);
  }
  let writeTokens = 0;
  let readTokens = 0;
  for (const p of prefixes.values()) {
    if (p.requests < 2) continue; // sent by one request alone: the engine leaves it unmarked
    writeTokens += p.tokens;
    readTokens += p.tokens * (p.requests - 1);
  }
  for (const cell of cells) {
    const request: ClaudeRequest = { model: options.model.id, prompt: cell.rendered.prompt, maxTokens: options.maxTokens, ...(cell.rendered.system !== undefined ? { system: cell.rendered.system } : {}) };
    const key = JSON.stringify([request.system ?? null, request.prompt]);
    let tokens = tokensOf.get(key);
    if (tokens === undefined) {
      tokens = localInputTokens(request);
      if (counted === 'api') {
        try {
          tokens = await options.countTokens!(request);
        } catch {
          counted = 'local'; // offline or refused: the rest are estimated here too
        }
      }
      tokensOf.set(key, tokens);
    }
    inputTokens += tokens * cell.count;
    conversations += cell.count;
  }
  const maxOutputTokens = conversations * options.maxTokens;
  const lowOutput = options.pastOutputTokens === null ? 0 : Math.min(options.maxTokens, Math.round(options.pastOutputTokens)) * conversations;
  const round = (x: number) => Number(x.toFixed(6));
  // Cached tokens are priced apart: the input counted above includes them at the full price.
  const cachedInput = Math.max(0, inputTokens - writeTokens - readTokens) + writeTokens * CACHE_WRITE_MULTIPLIER + readTokens * CACHE_READ_MULTIPLIER;
  return {
    inputTokens,
    maxOutputTokens,
    costUsd: { low: round(costUsd(options.model, cachedInput, lowOutput)), high: round(costUsd(options.model, cachedInput, maxOutputTokens)) },
    counted,
    pastOutputTokens: options.pastOutputTokens,
    cache: {
      prefixTokens: longestPrefix,
      minCacheableTokens: minCacheableTokens(options.model),
      writeTokens,
      readTokens,
      savedUsd: round(cacheSavingUsd(options.model, { cacheCreationInputTokens: writeTokens, cacheReadInputTokens: readTokens })),
    },
  };
}

/** The estimate's line about prompt caching, for the dry run and the editor's confirmation. */
export function cacheLine(estimate: Pick<Estimate, 'cache'>): string {
  const c = estimate.cache;
  if (c.writeTokens > 0) return `prompt caching: a ${c.prefixTokens}-token prefix written once, read by the other requests (saves about $${c.savedUsd.toFixed(4)})`;
  if (c.prefixTokens >= c.minCacheableTokens) return 'prompt caching: off, no two requests share a system prompt (it varies with the values); keep the values in the prompt, out of system:';
  return `prompt caching: off, the shared prefix (${c.prefixTokens} tokens) is under the model's minimum of ${c.minCacheableTokens}; stable instructions in system: make it longer`;
}

/** Mean output tokens of a template's earlier successful generations; null when there are none. */
export async function pastOutputTokens(db: Database, templatePath: string): Promise<number | null> {
  const row = await db.get(`SELECT avg(g.output_tokens) AS tokens FROM generation_logs g JOIN ${db.dialect.templates} t ON t.id = g.template_id WHERE t.path = ? AND g.status = 'succeeded'`, [templatePath]);
  return row?.tokens === null || row?.tokens === undefined ? null : Number(row.tokens);
}

/** How long a batch should take, and what holds it back. */
export interface DurationEstimate {
  readonly seconds: number;
  /** `rate`: the requests allowed per window; `concurrency`: requests in flight × how long each took before. */
  readonly limitedBy: 'rate' | 'concurrency';
}

/**
 * The time a batch takes at the known rate: requests ÷ the allowed rate (the configured limit, or
 * the lower one the limiter learned from the API), and never less than the requests in flight
 * allow when the template's past requests say how long one takes (requests × duration ÷ concurrency).
 */
export function estimateDuration(o: { requests: number; requestsPerWindow: number; windowMs: number; concurrency: number; pastDurationMs: number | null }): DurationEstimate {
  const byRate = o.requestsPerWindow > 0 && o.windowMs > 0 ? o.requests / (o.requestsPerWindow / (o.windowMs / 1000)) : 0;
  const byConcurrency = o.pastDurationMs === null ? 0 : (o.requests * (o.pastDurationMs / 1000)) / Math.max(1, o.concurrency);
  return byConcurrency > byRate ? { seconds: byConcurrency, limitedBy: 'concurrency' } : { seconds: byRate, limitedBy: 'rate' };
}

/** Mean duration of a template's earlier successful requests, in ms; null when there are none. */
export async function pastDurationMs(db: Database, templatePath: string): Promise<number | null> {
  const row = await db.get(`SELECT avg(g.duration_ms) AS ms FROM generation_logs g JOIN ${db.dialect.templates} t ON t.id = g.template_id WHERE t.path = ? AND g.status = 'succeeded'`, [templatePath]);
  return row?.ms === null || row?.ms === undefined ? null : Number(row.ms);
}

/** A duration as people say it: "40 s", "3 min 20 s", "2 h 5 min". */
export function formatDuration(seconds: number): string {
  const s = Math.max(1, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  const minutes = Math.round(s / 60);
  return `${Math.floor(minutes / 60)} h${minutes % 60 ? ` ${minutes % 60} min` : ''}`;
}

/** What grading a batch's conversations would cost (`promptloom.quality.judge` on): its own figure. */
export interface JudgeEstimate {
  readonly model: string;
  /** One call per conversation. */
  readonly calls: number;
  /** The rubric (system prompt and tool), the same in every call: the cached prefix. */
  readonly rubricTokens: number;
  /** The conversations as the judge reads them, over all calls: at most `max_tokens` each. */
  readonly maxInputTokens: number;
  readonly maxOutputTokens: number;
  readonly costUsd: { readonly low: number; readonly high: number };
}

/** Framing around a conversation in the judge's prompt ("Grade this conversation…", turn labels). */
const JUDGE_FRAMING_TOKENS = 60;

/**
 * The judge's cost before the batch runs. A conversation is not written yet, so its length is
 * bounded by the generation's: the low end reads conversations as long as the template's earlier
 * ones (none when there are none), the rubric from the prompt cache after the first call, and
 * counts no output; the high end reads `max_tokens` of conversation each, the rubric at the full
 * input price every call (the cache may miss: a rubric under the model's cacheable minimum is
 * never cached), and `JUDGE_MAX_TOKENS` of output each.
 */
export function estimateJudge(conversations: number, options: { model: ModelInfo; maxTokens: number; pastOutputTokens: number | null }): JudgeEstimate {
  const rubricTokens = localInputTokens({ system: JUDGE_SYSTEM, prompt: JSON.stringify(JUDGE_TOOL) }) - 500;
  const lowConversation = options.pastOutputTokens === null ? 0 : Math.min(options.maxTokens, Math.round(options.pastOutputTokens));
  const cachedRubric = conversations === 0 ? 0 : rubricTokens * CACHE_WRITE_MULTIPLIER + (conversations - 1) * rubricTokens * CACHE_READ_MULTIPLIER;
  const round = (x: number) => Number(x.toFixed(6));
  return {
    model: options.model.id,
    calls: conversations,
    rubricTokens,
    maxInputTokens: conversations * (options.maxTokens + JUDGE_FRAMING_TOKENS),
    maxOutputTokens: conversations * JUDGE_MAX_TOKENS,
    costUsd: {
      low: round(costUsd(options.model, cachedRubric + conversations * (lowConversation + JUDGE_FRAMING_TOKENS), 0)),
      high: round(costUsd(options.model, conversations * (rubricTokens + options.maxTokens + JUDGE_FRAMING_TOKENS), conversations * JUDGE_MAX_TOKENS)),
    },
  };
}
