/**
 * The judge's writes: each judge call's cost (table `judge_calls`, migration 5, apart from the
 * generation log so that generation counts and stats totals never include grades), and, once a
 * conversation is graded, its combined score and status in the same transaction.
 */
import { appendReason } from '../dataset/nearDuplicates';
import type { QualityResult } from '../quality';
import type { JudgeCallRepository } from './interfaces';
import { systemClock, type Clock } from './repositories';
import type { Store } from './store';

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

export class WorkspaceJudgeCallRepository implements JudgeCallRepository {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Records one judge attempt (its cost is judge cost, never a generation). */
  recordCall(c: JudgeCallRecord): Promise<void> {
    const now = this.clock.now();
    return this.store.write((tx) => {
      tx.run(
        `INSERT INTO judge_calls (conversation_id, batch_id, model, attempt, status, error_type, input_tokens, output_tokens,
                                  cache_creation_input_tokens, cache_read_input_tokens, cost_usd, duration_ms, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [c.conversationId ?? null, c.batchId ?? null, c.model, c.attempt, c.status, c.errorType ?? null, c.inputTokens, c.outputTokens, c.cacheCreationInputTokens ?? 0, c.cacheReadInputTokens ?? 0, c.costUsd, c.durationMs, now],
      );
    });
  }

  /**
   * A graded conversation's combined score; `flag` (why it needs revision) sends a pending
   * conversation back for revision. A reviewed conversation keeps its review.
   */
  saveJudged(conversationId: string, quality: QualityResult, flag: string | undefined): Promise<void> {
    const now = this.clock.now();
    return this.store.write((tx) => {
      const params = [quality.overall, JSON.stringify(quality.breakdown), JSON.stringify(quality.recommendations)];
      const updated = tx.run('UPDATE quality_scores SET overall = ?, breakdown = ?, recommendations = ? WHERE conversation_id = ?', [...params, conversationId]);
      if (updated.changes === 0) tx.run('INSERT INTO quality_scores (overall, breakdown, recommendations, conversation_id, created_at) VALUES (?, ?, ?, ?, ?)', [...params, conversationId, now]);
      if (!flag) return;
      const c = tx.get('SELECT status, status_reason FROM conversations WHERE id = ?', [conversationId]);
      if (!c || (c.status !== 'pending' && c.status !== 'needs_revision')) return;
      // Replaces the scorer's "scored x, below y" (the score changed); keeps other reasons (near-duplicate).
      const others = String(c.status_reason ?? '')
        .split('; ')
        .filter((r) => r !== '' && !r.startsWith('scored '));
      tx.run("UPDATE conversations SET status = 'needs_revision', status_reason = ? WHERE id = ?", [[flag, ...others].join('; '), conversationId]);
    });
  }

  /** A note on a conversation the judge could not grade: it keeps the scorer's score. */
  noteUnjudged(conversationId: string, note: string): Promise<void> {
    return this.store.write((tx) => {
      const c = tx.get('SELECT status_reason FROM conversations WHERE id = ?', [conversationId]);
      if (c) tx.run('UPDATE conversations SET status_reason = ? WHERE id = ?', [appendReason(c.status_reason as string | null, note), conversationId]);
    });
  }

  /** Dollars the judge spent since `since` (ms), for the daily budget. */
  spentSince(since: number): Promise<number> {
    return judgeSpentSince(this.store, since);
  }
}

/** Dollars the judge spent since `since` (ms), for the daily budget. */
export async function judgeSpentSince(store: Store, since: number): Promise<number> {
  return Number((await store.get('SELECT coalesce(sum(cost_usd), 0) AS spent FROM judge_calls WHERE created_at >= ?', [since]))!.spent);
}
