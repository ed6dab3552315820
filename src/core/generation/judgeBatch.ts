/**
 * The judge after a batch (`promptloom.quality.judge` on): every conversation the batch stored is
 * graded, each judge attempt recorded as judge cost, and each graded conversation's score
 * replaced by the combined one (src/core/quality/judge.ts), flagging it when that falls below the
 * template's threshold. A conversation the judge could not grade keeps the scorer's score, with
 * a note saying so: it is paid for and stored, and is never lost to a failed grade.
 */
import { flagReason, toQualityResult, type QualityReport } from '../quality';
import { withJudge } from '../quality/judge';
import { SqlJudgeCallRepository } from '../store/judgeCalls';
import type { Database } from '../store/database';
import { createClient, type Turn } from './claude';
import type { ModelInfo } from './engine';
import { judgeConversations } from './judgeClient';
import type { GenerationSettings } from './settings';
import { limiterFor } from './rateLimiter';

export interface BatchJudgement {
  readonly model: string;
  readonly judged: readonly { readonly conversationId: string; readonly overall: number; readonly judgeScore: number; readonly flagged: boolean }[];
  /** Conversations left with the scorer's score alone. */
  readonly notJudged: number;
  readonly costUsd: number;
}

export interface JudgeBatchInput {
  /** Where the calls and grades are recorded: the workspace database or the team's (the member's calls, their own conversations). */
  readonly db: Database;
  readonly batchId?: string;
  readonly conversations: readonly { readonly conversationId: string; readonly turns: readonly Turn[]; readonly report: QualityReport }[];
  readonly qualityThreshold: number | undefined;
  readonly settings: GenerationSettings;
  readonly model: ModelInfo;
  readonly apiKey: string;
  readonly baseURL?: string;
  readonly budgetUsd?: number;
  readonly signal?: AbortSignal;
}

export async function judgeAfterBatch(input: JudgeBatchInput): Promise<BatchJudgement> {
  const { settings, model } = input;
  const repo = new SqlJudgeCallRepository(input.db);
  const byKey = new Map(input.conversations.map((c) => [c.conversationId, c]));
  let costUsd = 0;
  const { outcomes } = await judgeConversations(
    input.conversations.map((c) => ({ key: c.conversationId, turns: c.turns })),
    {
      client: createClient({ apiKey: input.apiKey, ...(input.baseURL ? { baseURL: input.baseURL } : {}), timeoutMs: settings.timeoutMs }),
      model,
      limiter: limiterFor(settings, model),
      retry: { strategy: settings.retryStrategy, baseDelayMs: settings.baseDelayMs, maxDelayMs: settings.maxDelayMs, maxAttempts: settings.maxAttempts },
      concurrency: settings.concurrency,
      ...(input.budgetUsd !== undefined ? { budgetUsd: input.budgetUsd } : {}),
      ...(input.baseURL ? { address: input.baseURL } : {}),
      ...(input.signal ? { signal: input.signal } : {}),
      onAttempt: async (a) => {
        costUsd += a.costUsd;
        await repo.recordCall({
          conversationId: a.key,
          ...(input.batchId ? { batchId: input.batchId } : {}),
          model: model.id,
          attempt: a.attempt,
          status: a.status,
          ...(a.errorType ? { errorType: a.errorType } : {}),
          inputTokens: a.inputTokens,
          outputTokens: a.outputTokens,
          cacheCreationInputTokens: a.cacheCreationInputTokens ?? 0,
          cacheReadInputTokens: a.cacheReadInputTokens ?? 0,
          costUsd: a.costUsd,
          durationMs: a.durationMs,
        });
      },
    },
  );
  const judged: BatchJudgement['judged'][number][] = [];
  let notJudged = 0;
  for (const outcome of outcomes) {
    const c = byKey.get(outcome.key)!;
    try {
      if (!outcome.ok) {
        notJudged++;
        await repo.noteUnjudged(c.conversationId, `not judged (${outcome.errorType}): the score is the scorer's alone`);
        continue;
      }
      const combined = toQualityResult(withJudge(c.report, outcome.part));
      const flag = flagReason(combined, input.qualityThreshold);
      await repo.saveJudged(c.conversationId, combined, flag);
      judged.push({ conversationId: c.conversationId, overall: combined.overall, judgeScore: outcome.part.score, flagged: flag !== undefined });
    } catch {
      // The conversation is stored with the scorer's score; a grade that cannot be written is lost, not the conversation.
      notJudged++;
    }
  }
  return { model: model.id, judged, notJudged, costUsd };
}
