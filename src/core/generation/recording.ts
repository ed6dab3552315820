/**
 * How a paid answer becomes stored rows, the same for both generation paths (direct calls under
 * the limiter, and Message Batches): scored as it arrives, flagged below the template's threshold,
 * compared with earlier conversations for near-duplicates, and stored in one transaction; when the
 * database will not take it, kept in a side file that the next open imports.
 */
import { randomUUID } from 'node:crypto';
import { flagReason, scoreConversation, toQualityResult, type QualityReport, type Tier } from '../quality';
import { WorkspaceGenerationRepository, type GenerationRecord, type GenerationRepository, type RecordOutcome } from '../store';
import type { WorkspaceDatabase } from '../store/database';
import type { Turn } from './claude';
import { keepAside } from './unstored';

/** How often a record is tried, and the longest wait between tries (waits grow 50, 200, 800 ms…). */
export interface StoreRetry {
  readonly attempts: number;
  readonly maxWaitMs: number;
}

/** The workspace database: busy or briefly full for about a second at most before the answer is kept aside. */
const WORKSPACE_RETRY: StoreRetry = { attempts: 4, maxWaitMs: 800 };

/**
 * The team database, for a record the server refuses (not for an unreachable server: that answer
 * waits in the run's spool, teamSpool.ts): about 9 s in all before the batch stops.
 */
export const TEAM_RETRY: StoreRetry = { attempts: 8, maxWaitMs: 2000 };

/** What every record of one batch shares. */
export interface RecordContext {
  readonly templateId: number;
  readonly versionId: number;
  readonly batchId: string;
  readonly model: string;
  readonly tier: Tier;
  readonly qualityThreshold: number | undefined;
  readonly nearDuplicateThreshold: number;
}

/** One attempt's outcome, whichever path made it. */
export interface AnswerFacts {
  readonly attempt: number;
  readonly status: 'succeeded' | 'failed';
  readonly errorType?: string;
  readonly turns?: readonly Turn[];
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly costUsd: number;
  readonly durationMs: number;
  /** Prompt-cache tokens and what caching saved (see promptCache.ts). */
  readonly cacheCreationInputTokens?: number;
  readonly cacheReadInputTokens?: number;
  readonly savedUsd?: number;
}

function scoreSafely(turns: readonly Turn[], tier: Tier): QualityReport | undefined {
  try {
    return scoreConversation({ turns: [...turns] }, tier);
  } catch {
    return undefined;
  }
}

/**
 * The record of an attempt, its conversation scored and, below the threshold, marked for
 * revision. A paid-for conversation is stored even if scoring it failed (it can be scored later).
 */
export function answerRecord(
  context: RecordContext,
  cell: { readonly parameters: Readonly<Record<string, unknown>>; readonly system?: string },
  a: AnswerFacts,
  extra: Pick<GenerationRecord, 'mode' | 'batchResult'> = {},
): { record: GenerationRecord; quality?: QualityReport; flagged: boolean } {
  const quality = a.turns ? scoreSafely(a.turns, context.tier) : undefined;
  const reason = quality && flagReason(quality, context.qualityThreshold);
  const record: GenerationRecord = {
    templateId: context.templateId,
    versionId: context.versionId,
    batchId: context.batchId,
    parameters: cell.parameters,
    model: context.model,
    attempt: a.attempt,
    // A request cut off by a cancel is recorded as such: stats and the dashboard count it apart
    // from failures, and a resume generates it.
    status: a.status === 'failed' && a.errorType === 'cancelled' ? 'cancelled' : a.status,
    ...(a.errorType ? { errorType: a.errorType } : {}),
    inputTokens: a.inputTokens,
    outputTokens: a.outputTokens,
    costUsd: a.costUsd,
    durationMs: a.durationMs,
    ...(a.cacheCreationInputTokens ? { cacheCreationInputTokens: a.cacheCreationInputTokens } : {}),
    ...(a.cacheReadInputTokens ? { cacheReadInputTokens: a.cacheReadInputTokens } : {}),
    ...(a.savedUsd ? { savedUsd: a.savedUsd } : {}),
    ...extra,
    ...(a.turns
      ? {
          conversationId: randomUUID(),
          conversation: {
            turns: a.turns,
            ...(quality ? { quality: toQualityResult(quality) } : {}),
            ...(reason ? { status: 'needs_revision' as const, statusReason: reason } : {}),
            ...(cell.system !== undefined ? { systemPrompt: cell.system } : {}),
          },
          // Compared with the template's earlier conversations as it is stored (same transaction).
          nearDuplicates: { threshold: context.nearDuplicateThreshold },
        }
      : {}),
  };
  return { record, ...(quality ? { quality } : {}), flagged: Boolean(reason) };
}

export interface Kept {
  readonly conversationId?: string;
  readonly nearDuplicateOf?: { readonly id: string };
  /** Written to a side file, not the database (imported at the next open). */
  readonly aside: boolean;
  /** A Message Batch result that had been stored already: nothing new was written. */
  readonly alreadyStored?: boolean;
  /**
   * Not stored (the team store refused this one record): why. The result stays at Anthropic, and
   * its Message Batch uncollected, so `resume` reads it again; the others beside it are stored.
   */
  readonly refused?: unknown;
}

/**
 * Stores a record, trying again while the database is busy or the disk briefly full; if it
 * still will not take it, a paid answer is kept in a side file that the next open imports.
 * Only when even that fails does it throw (the caller then stops and says so).
 */
export async function keepRecord(store: WorkspaceDatabase, record: GenerationRecord, generations: GenerationRepository = new WorkspaceGenerationRepository(store)): Promise<Kept> {
  let last: unknown;
  try {
    return { ...(await storeRecord(record, generations)), aside: false };
  } catch (error) {
    last = error;
  }
  if (!record.conversation) return { aside: false }; // a failed attempt's log: nothing paid is lost
  try {
    keepAside(store.dir, record);
  } catch (error) {
    throw new Error(`${(last as Error).message}; keeping it aside failed too: ${(error as Error).message}`);
  }
  return { conversationId: record.conversationId!, aside: true };
}

/**
 * Stores a record, trying again while the store is busy or the disk briefly full (waits 50, 200,
 * 800 ms); throws the last failure. A failed attempt's log that cannot be stored is let go (nothing
 * paid is lost); `keepRecord` keeps a paid answer aside, where the store has a workspace folder.
 */
export async function storeRecord(record: GenerationRecord, generations: GenerationRepository, retry: StoreRetry = WORKSPACE_RETRY): Promise<RecordOutcome | Record<string, never>> {
  let last: unknown;
  for (let attempt = 0; attempt < retry.attempts; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(retry.maxWaitMs, 50 * 4 ** (attempt - 1))));
    try {
      return await generations.record(record);
    } catch (error) {
      last = error;
    }
  }
  if (!record.conversation) return {};
  throw last;
}

/**
 * Stores records together, in one transaction (Message Batch results, a group at a time). If the
 * database will not take the group, each is kept on its own, as `keepRecord` does (retried, or kept
 * aside when paid for).
 */
export async function keepRecords(store: WorkspaceDatabase, records: readonly GenerationRecord[], generations: GenerationRepository = new WorkspaceGenerationRepository(store)): Promise<Kept[]> {
  if (records.length === 0) return [];
  try {
    return (await generations.recordMany(records)).map((outcome) => ({ ...outcome, aside: false }));
  } catch {
    const kept: Kept[] = [];
    for (const record of records) kept.push(await keepRecord(store, record, generations));
    return kept;
  }
}
