/**
 * The judge's writes: each judge call's cost (table `judge_calls`, migration 5, apart from the
 * generation log so that generation counts and stats totals never include grades), and, once a
 * conversation is graded, its combined score and status in the same transaction.
 */
import type { AsyncTx, Database } from './database';
import { appendReason } from '../dataset/nearDuplicates';
import type { QualityResult } from '../quality';
import type { JudgeCallRepository } from './interfaces';
import { systemClock, type Clock } from './repositories';

export interface JudgeCallRecord {
  readonly conversationId?: string;
  readonly batchId?: string;
  readonly model: string;
  readonly attempt: number;
  readonly status: 'succeeded' | 'failed';
  readonly errorType?: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheCreationInputTokens?: number;
  readonly cacheReadInputTokens?: number;
  readonly costUsd: number;
  readonly durationMs: number;
}

/**
 * One result line of a judge Message Batch, taken in whole: its row in message_batch_results (so
 * that reading it again adds nothing), the attempt's cost (none for a canceled request), and the
 * conversation's combined score (a grade) or a note (not graded, for good).
 */
export interface JudgeBatchResult {
  readonly messageBatchId: string;
  readonly customId: string;
  readonly result: 'succeeded' | 'errored' | 'canceled' | 'expired';
  readonly errorType?: string;
  readonly conversationId: string;
  readonly call?: JudgeCallRecord;
  readonly judged?: { readonly quality: QualityResult; readonly flag: string | undefined };
  readonly note?: string;
}

/**
 * One implementation for both backends, over the `Database` handle: each write one transaction
 * (`Database.transaction`; on the workspace, journaled and durable as `Store.write` was). On the
 * team store the calls are the member's (created_by is the server's), and a conversation's score
 * is replaced only by its author (team migration 11's policy).
 */
export class SqlJudgeCallRepository implements JudgeCallRepository {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Records one judge attempt (its cost is judge cost, never a generation). */
  recordCall(c: JudgeCallRecord): Promise<void> {
    const now = this.clock.now();
    return this.db.transaction((tx) => insertCall(tx, c, now));
  }

  /**
   * A graded conversation's combined score; `flag` (why it needs revision) sends a pending
   * conversation back for revision. A reviewed conversation keeps its review.
   */
  saveJudged(conversationId: string, quality: QualityResult, flag: string | undefined): Promise<void> {
    const now = this.clock.now();
    return this.db.transaction((tx) => writeJudged(tx, conversationId, quality, flag, now));
  }

  /** A note on a conversation the judge could not grade: it keeps the scorer's score. */
  noteUnjudged(conversationId: string, note: string): Promise<void> {
    return this.db.transaction((tx) => writeNote(tx, conversationId, note));
  }

  /**
   * Takes in result lines of judge Message Batches, all in one durable transaction, each once:
   * answers, per line, whether it was taken in before (then nothing is written for it).
   */
  takeBatchResults(results: readonly JudgeBatchResult[]): Promise<boolean[]> {
    const now = this.clock.now();
    return this.db.transaction(async (tx) => {
      const taken: boolean[] = [];
      for (const r of results) {
        if (await tx.get('SELECT 1 AS x FROM message_batch_results WHERE message_batch_id = ? AND custom_id = ?', [r.messageBatchId, r.customId])) {
          taken.push(true);
          continue;
        }
        await tx.run('INSERT INTO message_batch_results (message_batch_id, custom_id, result, error_type, conversation_id, created_at) VALUES (?, ?, ?, ?, ?, ?)', [
          r.messageBatchId,
          r.customId,
          r.result,
          r.errorType ?? null,
          r.conversationId,
          now,
        ]);
        if (r.call) await insertCall(tx, r.call, now);
        if (r.judged) await writeJudged(tx, r.conversationId, r.judged.quality, r.judged.flag, now);
        if (r.note) await writeNote(tx, r.conversationId, r.note);
        taken.push(false);
      }
      return taken;
    });
  }

  /** Dollars the judge spent since `since` (ms), for the daily budget (on the team store, the member's own). */
  spentSince(since: number): Promise<number> {
    return judgeSpentSince(this.db, since);
  }
}

/** The workspace's name for it, kept for callers. */
export { SqlJudgeCallRepository as WorkspaceJudgeCallRepository };

async function insertCall(tx: AsyncTx, c: JudgeCallRecord, now: number): Promise<void> {
  await tx.run(
    `INSERT INTO judge_calls (conversation_id, batch_id, model, attempt, status, error_type, input_tokens, output_tokens,
                              cache_creation_input_tokens, cache_read_input_tokens, cost_usd, duration_ms, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [c.conversationId ?? null, c.batchId ?? null, c.model, c.attempt, c.status, c.errorType ?? null, c.inputTokens, c.outputTokens, c.cacheCreationInputTokens ?? 0, c.cacheReadInputTokens ?? 0, c.costUsd, c.durationMs, now],
  );
}

async function writeJudged(tx: AsyncTx, conversationId: string, quality: QualityResult, flag: string | undefined, now: number): Promise<void> {
  const params = [quality.overall, JSON.stringify(quality.breakdown), JSON.stringify(quality.recommendations)];
  const updated = await tx.run('UPDATE quality_scores SET overall = ?, breakdown = ?, recommendations = ? WHERE conversation_id = ?', [...params, conversationId]);
  if (updated.changes === 0) await tx.run('INSERT INTO quality_scores (overall, breakdown, recommendations, conversation_id, created_at) VALUES (?, ?, ?, ?, ?)', [...params, conversationId, now]);
  if (!flag) return;
  const c = await tx.get('SELECT status, status_reason FROM conversations WHERE id = ?', [conversationId]);
  if (!c || (c.status !== 'pending' && c.status !== 'needs_revision')) return;
  // Replaces the scorer's "scored x, below y" (the score changed); keeps other reasons (near-duplicate).
  const others = String(c.status_reason ?? '')
    .split('; ')
    .filter((r) => r !== '' && !r.startsWith('scored '));
  await tx.run("UPDATE conversations SET status = 'needs_revision', status_reason = ? WHERE id = ?", [[flag, ...others].join('; '), conversationId]);
}

async function writeNote(tx: AsyncTx, conversationId: string, note: string): Promise<void> {
  const c = await tx.get('SELECT status_reason FROM conversations WHERE id = ?', [conversationId]);
  if (c) await tx.run('UPDATE conversations SET status_reason = ? WHERE id = ?', [appendReason(c.status_reason as string | null, note), conversationId]);
}

/** Conversations (of those given) the judge has graded already: a succeeded judge call names them. */
export async function judgedAlready(store: Database, conversationIds: readonly string[]): Promise<Set<string>> {
  const judged = new Set<string>();
  for (let i = 0; i < conversationIds.length; i += 500) {
    const ids = conversationIds.slice(i, i + 500);
    const rows = await store.all(`SELECT DISTINCT conversation_id FROM judge_calls WHERE status = 'succeeded' AND conversation_id IN (${ids.map(() => '?').join(', ')})`, ids);
    for (const r of rows) judged.add(String(r.conversation_id));
  }
  return judged;
}

/** Dollars the judge spent since `since` (ms), for the daily budget. */
export async function judgeSpentSince(db: Database, since: number): Promise<number> {
  // On the team store, the member's own calls: the daily budget is theirs.
  return Number((await db.get(`SELECT coalesce(sum(cost_usd), 0) AS spent FROM judge_calls WHERE created_at >= ?${db.dialect.andOwn()}`, [since]))!.spent);
}
