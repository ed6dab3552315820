/**
 * The judge through Message Batches, when the generation went through them: one rubric request
 * per conversation (the body of the direct judge's call, rubric system and tool marked for the
 * prompt cache), `custom_id` naming the conversation, at half price.
 *
 * The same crash safety as generation's Message Batches (messageBatchSubmission.ts,
 * messageBatchRecords.ts): each judge Message Batch is recorded ('submitting', purpose 'judge')
 * before its POST and given its id right after; on resume, a 'submitting' row is matched against
 * the account's list before anything is sent again, submitted ones are collected, and each result
 * line is taken in once, in the transaction that records its cost (judge_calls, at batch prices)
 * and the conversation's combined score. A conversation is judged once: one graded already (by a
 * result line, or a direct judge call) or in a judge Message Batch not yet collected is never sent.
 *
 * Written once against the `Database` handle: the workspace's `Store` or the team's pool. On the
 * team store the conversations graded are the member's own (a Message Batches batch is run by its
 * author alone), the judge_calls rows are theirs (created_by from the server), and the combined
 * score replaces the scorer's on their conversation (team migration 11's policy).
 */
import type Anthropic from '@anthropic-ai/sdk';
import { flagReason, scoreConversation, toQualityResult, type QualityReport, type Tier } from '../quality';
import { JUDGE_SYSTEM, JUDGE_TOOL, JUDGE_TOOL_NAME, judgePart, judgePrompt, readGrade, withJudge } from '../quality/judge';
import type { Database } from '../store/database';
import { MessageBatchRepository } from '../store/messageBatches';
import { SqlJudgeCallRepository, judgedAlready, type JudgeBatchResult } from '../store/judgeCalls';
import type { Turn } from './claude';
import { answerCost, costUsd, type Clock, type ModelInfo } from './engine';
import { localInputTokens } from './estimate';
import type { BatchJudgement } from './judgeBatch';
import { JUDGE_MAX_TOKENS, judgeRequestBody } from './judgeClient';
import { customIdOf, messageBatchRows, recordIntent, slotOf, slotStates, type MessageBatchRow } from './messageBatchRecords';
import { BATCH_PRICE_FACTOR, CREDIT_MESSAGE, classifyResult } from './messageBatchResults';
import { reconcile, split, submit, waitAndCollect } from './messageBatchSubmission';

/** Result lines taken in per transaction. */
const RESULTS_PER_TRANSACTION = 100;

export interface JudgeMessageBatchInput {
  /** Where the batch is recorded: the workspace's `Store` or the `TeamDatabase`. */
  readonly db: Database;
  readonly client: Anthropic;
  readonly batchId: string;
  /** The judge's model. */
  readonly model: ModelInfo;
  readonly tier: Tier;
  readonly qualityThreshold: number | undefined;
  readonly maxAttempts: number;
  readonly clock: Clock;
  /** When this run began (store clock): attempts count within a run, as generation's do. */
  readonly runStartedAt: number;
  readonly limits: { readonly requests: number; readonly bytes: number };
  /** What may still be spent, held Message Batches deducted (undefined: no budget). */
  readonly room: () => Promise<{ readonly usd: number; readonly budget: number } | undefined>;
  /** Each result's cost as it is taken in (the caller deducts it from the batch budget). */
  readonly spent?: (usd: number) => void;
  /** Submit and return: `resume` collects. */
  readonly detach?: boolean;
  readonly signal?: AbortSignal;
  /** The scorer's reports of conversations this run stored (others are scored again from their turns). */
  readonly reports?: ReadonlyMap<string, QualityReport>;
  /** While waiting: grades taken in of those to take, and requests still processing. */
  readonly onProgress?: (progress: { graded: number; total: number; processing: number }) => void;
  /**
   * Why this run may no longer match or submit anything (the team's lease was lost: another
   * process may hold the batch now and grade the same conversations), or undefined.
   */
  readonly leaseLost?: () => string | undefined;
}

export interface JudgeMessageBatchOutcome {
  readonly judgement: BatchJudgement;
  /** The judge Message Batches this run submitted or collected (Anthropic's ids). */
  readonly messageBatches: readonly string[];
  /** Judge Message Batches left running (detached, interrupted): `resume` collects them. */
  readonly outstanding: boolean;
  /**
   * Conversations still to grade that a later run will send (a cancel, no credit, an interrupted
   * wait), as opposed to those graded or given up on with a note.
   */
  readonly left: number;
  /** The account's credit ran out: the grades not taken are left to `resume`. */
  readonly credit: boolean;
  /** Its Message Batch was cancelled (`promptloom cancel`): the grades canceled are left to `resume`. */
  readonly cancelled: boolean;
  /** Why the judge stopped short (budget, credit, a cancel), if it did. */
  readonly stopReason?: string;
}

/** The request of one conversation's grade (the direct judge's body, so the same cache marks). */
export function judgeBatchParams(model: ModelInfo, turns: readonly Turn[]): Anthropic.Messages.MessageCreateParamsNonStreaming {
  return judgeRequestBody({ model: model.id, prompt: judgePrompt(turns), maxTokens: JUDGE_MAX_TOKENS, temperature: 0 });
}

/** At most what one grade can cost at batch prices: every input token written to the cache, max_tokens out. */
export function judgeWorstCaseUsd(model: ModelInfo, turns: readonly Turn[]): number {
  const input = localInputTokens({ system: JUDGE_SYSTEM + JSON.stringify(JUDGE_TOOL), prompt: judgePrompt(turns) });
  return costUsd(model, Math.ceil(input * 1.25), JUDGE_MAX_TOKENS) * BATCH_PRICE_FACTOR;
}

/** Grades the batch's conversations not graded yet through Message Batches; collects those submitted before. */
export async function judgeThroughMessageBatches(input: JudgeMessageBatchInput): Promise<JudgeMessageBatchOutcome> {
  const { db, client, batchId, model, clock } = input;
  const repo = new SqlJudgeCallRepository(db);
  const records = new MessageBatchRepository(db);
  // The member's own conversations of the batch (on the workspace, all of them): only its author runs it.
  const ids = (await db.all(`SELECT id FROM conversations WHERE batch_id = ?${db.dialect.andOwn()} ORDER BY created_at, id`, [batchId])).map((r) => String(r.id));
  const graded = await judgedAlready(db, ids);
  // The turns of the batch's conversations not graded yet, read once (their requests and scores
  // need them; a graded one is never sent or taken in again, so a resume reads nothing of it).
  const turnsCache = new Map<string, Turn[]>();
  const ungraded = `SELECT t.conversation_id, t.role, t.content FROM turns t JOIN conversations c ON c.id = t.conversation_id
     WHERE c.batch_id = ?${db.dialect.andOwn('c')} AND NOT EXISTS (SELECT 1 FROM judge_calls j WHERE j.conversation_id = c.id AND j.status = 'succeeded')
     ORDER BY t.conversation_id, t.position`;
  for (const t of await db.all(ungraded, [batchId])) {
    const id = String(t.conversation_id);
    const turns = turnsCache.get(id) ?? [];
    turns.push({ role: t.role as Turn['role'], content: String(t.content) });
    turnsCache.set(id, turns);
  }
  const turnsOf = (id: string): Turn[] => turnsCache.get(id) ?? [];
  const reportOf = (id: string): QualityReport => input.reports?.get(id) ?? scoreConversation({ turns: turnsOf(id) }, input.tier);
  const slots = ids.map((key) => ({ key }));
  const touched = new Set<string>();
  const judged: BatchJudgement['judged'][number][] = [];
  let notJudged = 0;
  let costTotal = 0;
  let outstanding = false;
  let stopReason: string | undefined;
  let sawCancel = false;
  let sawCredit = false;
  /** Not submitted for the budget, and noted so: given up on in this run. */
  const skipped = new Set<string>();
  const judgeScores = new Map<string, number>();

  const requestsFor = (row: MessageBatchRow): Anthropic.Messages.BatchCreateParams.Request[] =>
    row.customIds.map((customId) => ({ custom_id: customId, params: judgeBatchParams(model, turnsOf(slotOf(customId))) }));

  /** A result line as what it writes (cost, grade or note). */
  const prepare = (row: MessageBatchRow, line: Anthropic.Messages.MessageBatchIndividualResponse, durationMs: number): JudgeBatchResult => {
    const conversationId = slotOf(line.custom_id);
    const base = { messageBatchId: row.id, customId: line.custom_id, conversationId, result: line.result.type };
    const call = { conversationId, batchId, model: model.id, attempt: row.attempt, durationMs };
    const kind = classifyResult(line.result);
    if (line.result.type === 'succeeded') {
      const message = line.result.message;
      const usage = { inputTokens: message.usage.input_tokens, outputTokens: message.usage.output_tokens, cacheCreationInputTokens: message.usage.cache_creation_input_tokens ?? 0, cacheReadInputTokens: message.usage.cache_read_input_tokens ?? 0 };
      // Cache writes (1.25×) and reads (0.1×) priced as on the direct path, then halved.
      const cost = answerCost(model, usage) * BATCH_PRICE_FACTOR;
      const tokens = { inputTokens: usage.inputTokens, outputTokens: usage.outputTokens, cacheCreationInputTokens: usage.cacheCreationInputTokens, cacheReadInputTokens: usage.cacheReadInputTokens, costUsd: cost };
      const block = message.content.find((b) => b.type === 'tool_use' && b.name === JUDGE_TOOL_NAME);
      const turns = turnsOf(conversationId);
      const grade = block && block.type === 'tool_use' ? readGrade(block.input, turns.length) : undefined;
      if (!grade) {
        return { ...base, errorType: 'unparseable', call: { ...call, ...tokens, status: 'failed', errorType: 'unparseable' }, note: "not judged (unparseable): the score is the scorer's alone" };
      }
      const part = judgePart(grade, model.id, cost);
      judgeScores.set(conversationId, part.score);
      const quality = toQualityResult(withJudge(reportOf(conversationId), part));
      return { ...base, call: { ...call, ...tokens, status: 'succeeded' }, judged: { quality, flag: flagReason(quality, input.qualityThreshold) } };
    }
    if (kind.kind === 'canceled') return base;
    const errorType = kind.kind === 'credit' ? 'spend_limit' : kind.kind === 'retry' || kind.kind === 'final' ? kind.errorType : 'unknown';
    const failedCall = { ...call, status: 'failed' as const, errorType, inputTokens: 0, outputTokens: 0, costUsd: 0 };
    const forGood = kind.kind === 'final' || (kind.kind === 'retry' && row.attempt >= input.maxAttempts);
    return { ...base, errorType, call: failedCall, ...(forGood ? { note: `not judged (${errorType}): the score is the scorer's alone` } : {}) };
  };

  const take = async (group: JudgeBatchResult[]): Promise<void> => {
    if (group.length === 0) return;
    const before = await repo.takeBatchResults(group);
    group.forEach((r, i) => {
      if (before[i]) return;
      const usd = r.call?.costUsd ?? 0;
      costTotal += usd;
      input.spent?.(usd);
      if (r.judged) judged.push({ conversationId: r.conversationId, overall: r.judged.quality.overall, judgeScore: judgeScores.get(r.conversationId)!, flagged: r.judged.flag !== undefined });
      if (r.note) notJudged++;
      if (r.result === 'canceled') sawCancel = true;
      if (r.errorType === 'spend_limit') {
        sawCredit = true;
        stopReason = CREDIT_MESSAGE;
      }
    });
  };

  const collect = async (row: MessageBatchRow, endedAt: number): Promise<void> => {
    const mine = new Set(row.customIds);
    let ours = 0;
    let foreign = 0;
    const durationMs = Math.max(0, endedAt - (row.submittedAt ?? row.createdAt));
    let group: JudgeBatchResult[] = [];
    for await (const line of await client.messages.batches.results(row.anthropicId!)) {
      if (!mine.has(line.custom_id)) {
        foreign++;
        continue;
      }
      ours++;
      group.push(prepare(row, line, durationMs));
      if (group.length >= RESULTS_PER_TRANSACTION) {
        await take(group);
        group = [];
      }
    }
    await take(group);
    const lost = ours === 0 && foreign > 0;
    await records.markCollected(row.id, endedAt, lost ? 'lost' : 'collected');
  };

  /** The lease gone: nothing more is matched or sent (what is submitted may still be taken in, once). */
  const leaseGone = (): boolean => {
    const lost = input.leaseLost?.();
    if (lost) stopReason ??= lost;
    return lost !== undefined;
  };
  for (;;) {
    if (leaseGone()) break;
    // 1. Rows written before a POST whose answer never came back: matched before anything is sent.
    for (const row of (await messageBatchRows(db, batchId, 'judge')).filter((r) => r.state === 'submitting')) {
      const adopted = await reconcile(db, client, row, clock, () => requestsFor(row));
      if (adopted) touched.add(adopted);
    }
    // 2. Wait for what is submitted, taking in each as it ends.
    const waiting = (await messageBatchRows(db, batchId, 'judge')).filter((r) => r.state === 'submitted');
    for (const r of waiting) touched.add(r.anthropicId!);
    if (waiting.length > 0 && !input.detach) {
      const total = judged.length + waiting.reduce((n, r) => n + r.customIds.length, 0);
      await waitAndCollect(client, waiting, clock, input.signal, collect, (processing) => input.onProgress?.({ graded: judged.length, total, processing }));
      if (input.signal?.aborted) {
        outstanding = true;
        break;
      }
      continue;
    }
    if (stopReason) break;
    if (sawCancel) {
      stopReason = 'the judge’s Message Batch was cancelled';
      break;
    }
    // 3. What is left to grade: never sent, or retryable within the attempt limit.
    const states = await slotStates(db, batchId, slots, input.maxAttempts, input.runStartedAt, 'judge');
    let pending = ids.filter((id) => !graded.has(id) && states.get(id)!.state === 'pending');
    if (pending.length === 0) {
      if (waiting.length > 0) outstanding = true;
      break;
    }
    // 4. Budgets: submitted only when the worst case fits.
    const left = await input.room();
    if (left !== undefined) {
      let reserved = 0;
      const fits: string[] = [];
      for (const id of pending) {
        const worst = judgeWorstCaseUsd(model, turnsOf(id));
        if (reserved + worst > left.usd) break;
        reserved += worst;
        fits.push(id);
      }
      if (fits.length < pending.length) {
        const over = pending.slice(fits.length);
        stopReason = `a grade could cost up to $${judgeWorstCaseUsd(model, turnsOf(over[0]!)).toFixed(4)} at batch prices, which would cross the budget of $${left.budget.toFixed(2)}: ${over.length} not judged`;
        for (const id of over) {
          skipped.add(id);
          await repo.noteUnjudged(id, "not judged (budget): the score is the scorer's alone");
        }
        notJudged += over.length;
      }
      pending = fits;
      if (pending.length === 0) break;
    }
    // 5. Submit, split at the API's limits: each row recorded before its POST, its id right after.
    const attempt = (id: string) => states.get(id)!.attempts + 1;
    const sizeOf = (id: string) => JSON.stringify({ custom_id: customIdOf('mb0123456789', id), params: judgeBatchParams(model, turnsOf(id)) }).length;
    for (const chunk of split(pending, sizeOf, input.limits)) {
      if (leaseGone()) break;
      const worst = chunk.reduce((sum, id) => sum + judgeWorstCaseUsd(model, turnsOf(id)), 0);
      const row = await recordIntent(db, batchId, chunk, Math.max(...chunk.map(attempt)), worst, clock.now(), 'judge');
      touched.add(await submit(db, client, row, requestsFor(row), clock));
    }
    if (input.detach) {
      outstanding = true;
      break;
    }
  }
  const end = await slotStates(db, batchId, slots, input.maxAttempts, input.runStartedAt, 'judge');
  const left = ids.filter((id) => !graded.has(id) && !skipped.has(id) && (end.get(id)!.state === 'pending' || end.get(id)!.state === 'inflight')).length;
  return {
    judgement: { model: model.id, judged, notJudged, costUsd: costTotal },
    left,
    credit: sawCredit,
    messageBatches: [...touched],
    outstanding,
    cancelled: sawCancel,
    ...(stopReason ? { stopReason } : {}),
  };
}
