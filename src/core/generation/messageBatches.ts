/**
 * The Message Batches path: a batch's conversations sent as Message Batches (half price, no
 * per-minute limits), each request's `custom_id` naming its conversation slot. Shared by the CLI
 * and the editor, beside `runRecordedBatch` (the direct path), storing answers the same way
 * (`recording.ts`).
 *
 * Crash safety rests on the `message_batches` table: a row is written ('submitting', with its
 * custom ids) BEFORE the create POST and given the Message Batch id right after. A row found
 * 'submitting' on resume is matched against the account's recent Message Batches before anything
 * is sent again, so work already submitted is never submitted twice. Each result line is stored
 * once (`message_batch_results`, in the transaction that stores its generation), so reading the
 * results again adds nothing. With the judge on, the grades go through Message Batches too, once
 * the generation's results are in (judgeMessageBatches.ts).
 *
 * The same run records in the workspace database (`runMessageBatches`) or in the team database
 * (`runTeamMessageBatches`): every read and write goes through the `Database` handle, and what the
 * two stores do differently (the batch's lease, answers kept aside, catching up with other
 * processes, the judge) is a `MessageBatchTarget`.
 */
import type Anthropic from '@anthropic-ai/sdk';
import type { QualityReport } from '../quality';
import { WorkspaceBatchRepository, WorkspaceGenerationRepository, WorkspaceTemplateRepository, type GenerationRecord } from '../store';
import type { Database, WorkspaceDatabase } from '../store/database';
import { MessageBatchRepository } from '../store/messageBatches';
import type { TeamDatabase, TeamLease } from '../store/postgres/teamDatabase';
import type { BatchCell, BatchInput, BatchOutcome } from './batch';
import { spentOnBatch, spentToday, TeamStoreUnsupportedError } from './batch';
import { RECORD_TOOL_CHARS, countInputTokens, createClient, extractTurns, messageParams, toFailure, type ClaudeRequest, type Turn } from './claude';
import { CACHE_WRITE_MULTIPLIER, cacheSavingUsd, cachesPrefix } from './promptCache';
import { answerCost, costUsd, realClock, type BatchSummary, type Clock } from './engine';
import { localInputTokens } from './estimate';
import { fatalMessage, type FailureCount } from './failures';
import type { BatchJudgement } from './judgeBatch';
import { judgeThroughMessageBatches } from './judgeMessageBatches';
import { answerRecord, keepRecords, storeRecord, TEAM_RETRY, type Kept, type RecordContext } from './recording';
import { BatchBusyError, holdBatch } from './batchLease';
import { customIdOf, liveMessageBatches, messageBatchRows, outstanding, recordIntent, slotOf, slotStates, type MessageBatchRow, type Slot } from './messageBatchRecords';
import { BATCH_PRICE_FACTOR, CREDIT_MESSAGE, classifyResult } from './messageBatchResults';
import { reconcile, split, submit, waitAndCollect } from './messageBatchSubmission';
import { classify, type ErrorType } from './retry';
import { SETTINGS, judgeModelOf } from './settings';
import { importKeptAside } from './unstored';

export { BATCH_PRICE_FACTOR } from './messageBatchResults';

/** The API's limits per Message Batch: whichever comes first. */

export const MESSAGE_BATCH_LIMITS = { requests: 100_000, bytes: 256 * 1024 * 1024 } as const;

/** Results stored per transaction while collecting. */
const RESULTS_PER_TRANSACTION = 100;

export interface MessageBatchInput extends Omit<BatchInput, 'limiter' | 'started' | 'onAttempt'> {
  /** Submit and return: `resume` collects later. */
  readonly detach?: boolean;
  readonly clock?: Clock;
  /** Tests inject a client; otherwise one is made from the key and address. */
  readonly client?: Anthropic;
  /** Smaller limits for tests of the split. */
  readonly limits?: { readonly requests: number; readonly bytes: number };
  /** Aborted (Ctrl+C): stop waiting and return; the Message Batches go on, and `resume` collects. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: MessageBatchProgress) => void;
  /** Told the batch's id once its row exists (a new run's is made here). */
  readonly started?: (batchId: string) => void;
  /**
   * A batch cancelled earlier: finish it (true, the default: `resume` sends its canceled requests
   * again), or only collect what its Message Batches hold and send nothing (false: the editor's
   * Collect, which must not undo a cancel).
   */
  readonly finishCancelled?: boolean;
}

/** Where the Message Batches of a run stand (from `request_counts`, which fill in only as each batch ends). */
export interface MessageBatchProgress {
  readonly total: number;
  readonly stored: number;
  readonly failed: number;
  /** Requests in Message Batches that have not ended. */
  readonly processing: number;
  readonly messageBatches: number;
  readonly costUsd: number;
  /** While the judge's Message Batch runs: conversations graded of those to grade, and still processing. */
  readonly judge?: { readonly graded: number; readonly total: number; readonly processing: number };
}

/** "Message Batches: 120 of 200 stored, 2 failed, 78 processing in 1 Message Batch, $0.4211" (the CLI's line, the editor's notification). */
export function progressLine(p: MessageBatchProgress): string {
  const judge = p.judge ? `; judge: ${p.judge.graded} of ${p.judge.total} graded, ${p.judge.processing} processing` : '';
  return `Message Batches: ${p.stored} of ${p.total} stored, ${p.failed} failed, ${p.processing} processing in ${p.messageBatches} Message Batch${p.messageBatches === 1 ? '' : 'es'}, $${p.costUsd.toFixed(4)}${judge}`;
}

export interface MessageBatchOutcome extends BatchOutcome {
  readonly mode: 'batch';
  /** The Message Batches this run submitted or collected (Anthropic's ids). */
  readonly messageBatches: readonly string[];
}

/**
 * What a Message Batches run needs of the store it records in, beyond the `Database` handle. The
 * workspace's (`workspaceTarget`) imports answers kept aside and keeps a paid answer aside when the
 * database will not take it, catches up with other processes' writes, and lets the judge record;
 * the team's (`teamTarget`) stores through the handle alone, tried longer (TEAM_RETRY): a result
 * it cannot take stays at Anthropic, and `resume` reads it again.
 */
interface MessageBatchTarget {
  readonly db: Database;
  /** Before budgets and slots are read: the workspace imports answers kept aside (they are paid for). */
  prepare(): Promise<void>;
  /** Catches up with other processes' writes (the workspace's journal); the team store has nothing to catch up. */
  refresh(): Promise<unknown>;
  /** Stores a group of results in one transaction; each on its own when the group will not go. Throws when a paid one cannot be kept. */
  keep(records: readonly GenerationRecord[]): Promise<Kept[]>;
  /** Why the run may no longer submit (the team's lease was lost), or undefined. */
  leaseLost?(): string | undefined;
}

function workspaceTarget(store: WorkspaceDatabase): MessageBatchTarget {
  const generations = new WorkspaceGenerationRepository(store);
  return {
    db: store,
    prepare: async () => void (await importKeptAside(store)),
    refresh: () => store.refresh(),
    keep: (records) => keepRecords(store, records, generations),
  };
}

function teamTarget(db: TeamDatabase, lease: () => TeamLease | undefined): MessageBatchTarget {
  const generations = new WorkspaceGenerationRepository(db);
  return {
    db,
    prepare: async () => undefined,
    refresh: async () => undefined,
    keep: async (records) => {
      if (records.length === 0) return [];
      try {
        return (await generations.recordMany(records)).map((outcome) => ({ ...outcome, aside: false }));
      } catch {
        // Each on its own: one record the server refuses must not keep the paid answers beside it out.
        const kept: Kept[] = [];
        for (const record of records) {
          try {
            kept.push({ ...(await storeRecord(record, generations, TEAM_RETRY)), aside: false });
          } catch (error) {
            kept.push({ aside: false, refused: error });
          }
        }
        return kept;
      }
    },
    leaseLost: () => (lease()?.lost ? 'the connection holding the batch on the team database was lost; run promptloom resume to go on' : undefined),
  };
}

export async function runMessageBatches(input: MessageBatchInput): Promise<MessageBatchOutcome> {
  // One run of a batch at a time: a resume beside a run still waiting for its Message Batches
  // would take a row 'submitting' for one whose POST never came back, and submit it again.
  let release = input.resume ? holdBatch(input.store.dir, input.resume.batchId) : undefined;
  try {
    // What other processes stored before the lease was taken (slot states are read from the store).
    if (input.resume) await input.store.refresh();
    return await runHeldMessageBatches(input, workspaceTarget(input.store), async (batchId) => void (release = holdBatch(input.store.dir, batchId)));
  } finally {
    release?.();
  }
}

/** A Message Batches run recorded in the team database: the workspace's input, with the team's handle instead of a `Store`. */
export type TeamMessageBatchInput = Omit<MessageBatchInput, 'store'> & { readonly db: TeamDatabase };

/** The team migration that made `message_batches` and `message_batch_results` (postgres/migrations.ts). */
const TEAM_MESSAGE_BATCHES_VERSION = 10;

/** How long a team run waits for a batch's lease that a killed process's session still holds, before saying the batch is busy. */
const TEAM_LEASE_WAIT_MS = 1_500;

/**
 * `runMessageBatches` on the team store: the same run, every row written through the team's
 * handle (authored by the member the URL names; `message_batches` and its results are theirs
 * alone). One run of a batch at a time across machines: the batch's lease is a session advisory
 * lock held on a connection of its own for the whole run (`TeamDatabase.hold`), let go when the
 * run ends or its process dies (the server ends the session). With the judge on, its grades go
 * through Message Batches too, recorded as the member's (judge_calls, their conversations' scores).
 */
export async function runTeamMessageBatches(input: TeamMessageBatchInput): Promise<MessageBatchOutcome> {
  const { db } = input;
  // A team database not yet brought up to date by its owner has no Message Batches tables: said
  // before anything is sent or written (a batch row, a lease).
  const version = Number((await db.get('SELECT max(version) AS version FROM schema_version'))?.version ?? 0);
  if (version < TEAM_MESSAGE_BATCHES_VERSION) {
    throw new TeamStoreUnsupportedError(`the team database has schema version ${version}; Message Batches need ${TEAM_MESSAGE_BATCHES_VERSION}: its owner runs promptloom db init`);
  }
  let lease = input.resume ? await holdTeamBatch(db, input.resume.batchId) : undefined;
  try {
    return await runHeldMessageBatches(input, teamTarget(db, () => lease), async (batchId) => void (lease = await holdTeamBatch(db, batchId)));
  } finally {
    await lease?.release();
  }
}

/** Who created a team batch (and so submitted its Message Batches), and whether it is the member connected. */
export async function teamBatchAuthor(db: Database, batchId: string): Promise<{ name: string; mine: boolean } | undefined> {
  const row = await db.get('SELECT created_by, CASE WHEN created_by = current_user THEN 1 ELSE 0 END AS mine FROM batches WHERE id = ?', [batchId]);
  return row ? { name: String(row.created_by), mine: Number(row.mine) === 1 } : undefined;
}

/** Takes a team batch's lease, or throws BatchBusyError (one line) while another process holds it. */
async function holdTeamBatch(db: TeamDatabase, batchId: string): Promise<TeamLease> {
  const until = Date.now() + TEAM_LEASE_WAIT_MS;
  for (;;) {
    const lease = await db.hold(`promptloom batch run ${batchId}`);
    if (lease) return lease;
    if (Date.now() >= until) {
      throw new BatchBusyError(`batch ${batchId} is being run by another process (its Message Batches submitted or collected there): wait for it to finish, or stop it with promptloom cancel --batch ${batchId}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function runHeldMessageBatches(input: Omit<MessageBatchInput, 'store'>, target: MessageBatchTarget, created: (batchId: string) => Promise<void>): Promise<MessageBatchOutcome> {
  const { settings, model, template } = input;
  const store = target.db;
  const clock = input.clock ?? realClock;
  const limits = input.limits ?? MESSAGE_BATCH_LIMITS;
  const started = clock.now();
  // Results are stamped by the store's clock (the system's): this run's are those from now on.
  const runStartedAt = Date.now();
  const batches = new WorkspaceBatchRepository(store);
  const records = new MessageBatchRepository(store);
  const client = input.client ?? createClient({ apiKey: input.apiKey, ...(input.baseURL ? { baseURL: input.baseURL } : {}), timeoutMs: settings.timeoutMs });
  // Answers kept aside earlier are paid for: they count against today's budget, and are stored
  // before the slots still missing are worked out.
  await target.prepare();

  const cells = input.cells ?? [{ rendered: input.rendered, count: input.count }];
  const slots: Slot[] = cells.flatMap((cell, c) => Array.from({ length: cell.count }, (_, i) => ({ key: `c${c}-${i}`, cell: c })));
  const slotByKey = new Map(slots.map((s) => [s.key, s]));
  const ids = input.resume ?? (await createBatchRow(store, input));
  if (!input.resume) await created(ids.batchId);
  const { batchId, templateId } = ids;
  // Resuming a batch someone cancelled is asking to finish it: its canceled requests are sent
  // again at once. A cancel that comes while this run waits stops it instead.
  const cancelledBefore = (await batches.get(batchId))?.status === 'cancelled';
  const finishingCancelled = cancelledBefore && input.finishCancelled !== false;
  // The batch budget is the batch's, across its runs: what earlier runs spent counts.
  const spentBefore = await spentOnBatch(store, batchId);
  await batches.setStatus(batchId, 'running');
  input.started?.(batchId);
  const context: RecordContext = {
    templateId,
    versionId: ids.versionId,
    batchId,
    model: model.id,
    tier: template.settings.tier,
    qualityThreshold: template.settings.qualityThreshold,
    nearDuplicateThreshold: settings.nearDuplicateThreshold,
  };
  const maxTokens = template.settings.maxTokens ?? settings.maxTokens;
  const request = (cell: BatchCell): ClaudeRequest => ({
    model: model.id,
    prompt: cell.rendered.prompt,
    maxTokens,
    ...(cell.rendered.system !== undefined ? { system: cell.rendered.system } : {}),
    ...(template.settings.temperature !== undefined ? { temperature: template.settings.temperature } : {}),
    // The shared prefix is marked as on the direct path: requests of a Message Batch read the
    // cache too (best effort: the API may process them side by side).
    ...(cachesPrefix(model, RECORD_TOOL_CHARS, cell.rendered.system) ? { cachePrefix: true } : {}),
  });

  const state = await slotStates(store, batchId, slots, settings.maxAttempts, runStartedAt);
  const open = (s: Slot) => state.get(s.key)!.state !== 'done' && state.get(s.key)!.state !== 'failed';
  const requested = slots.filter(open).length;
  const totals = { succeeded: 0, failed: 0, attempts: 0, retries: 0, inputTokens: 0, outputTokens: 0, costUsd: 0, cacheWriteTokens: 0, cacheReadTokens: 0, savedUsd: 0, unstored: 0, keptAside: 0 };
  const failures = new Map<string, FailureCount>();
  const conversations: string[] = [];
  const succeededPerCell = cells.map(() => 0);
  const scores = new Map<string, number>();
  const flagged = new Set<string>();
  const toJudge: { conversationId: string; turns: Turn[]; report: QualityReport }[] = [];
  const touched = new Set<string>();
  let stopped: BatchSummary['stopped'];
  let stopReason: string | undefined;
  let sawCancel = false;
  let fatal: BatchSummary['fatal'];
  const progress = (processing: number) =>
    input.onProgress?.({ total: requested, stored: totals.succeeded, failed: totals.failed, processing, messageBatches: touched.size, costUsd: totals.costUsd });

  /** A result line as the record that stores it (once: a line stored before adds nothing). */
  const prepare = (row: MessageBatchRow, line: Anthropic.Messages.MessageBatchIndividualResponse, durationMs: number) => {
    const slot = slotByKey.get(slotOf(line.custom_id));
    if (!slot) return undefined;
    const cell = cells[slot.cell]!.rendered;
    const kind = classifyResult(line.result);
    let facts: Parameters<typeof answerRecord>[2];
    if (line.result.type === 'succeeded') {
      const message = line.result.message;
      const turns = extractTurns(message);
      const usage = { inputTokens: message.usage.input_tokens, outputTokens: message.usage.output_tokens, cacheCreationInputTokens: message.usage.cache_creation_input_tokens ?? 0, cacheReadInputTokens: message.usage.cache_read_input_tokens ?? 0 };
      const cost = answerCost(model, usage) * BATCH_PRICE_FACTOR;
      // The batch discount applies to cache writes and reads too, so to what caching saved.
      const cache = { ...usage, savedUsd: cacheSavingUsd(model, usage, BATCH_PRICE_FACTOR) };
      facts = turns
        ? { attempt: row.attempt, status: 'succeeded', turns, ...cache, costUsd: cost, durationMs }
        : { attempt: row.attempt, status: 'failed', errorType: 'unparseable', ...cache, costUsd: cost, durationMs };
    } else {
      const errorType = kind.kind === 'retry' || kind.kind === 'final' ? kind.errorType : kind.kind === 'credit' ? 'spend_limit' : 'cancelled';
      facts = { attempt: row.attempt, status: 'failed', errorType, inputTokens: 0, outputTokens: 0, costUsd: 0, durationMs };
    }
    const recorded = answerRecord(context, cell, facts, { mode: 'batch', batchResult: { messageBatchId: row.id, customId: line.custom_id, result: line.result.type } });
    return { row, slot, kind, facts, ...recorded };
  };
  type Prepared = NonNullable<ReturnType<typeof prepare>>;

  /** Counts a stored result in this run's summary. */
  const account = ({ row, slot, kind, facts, quality, flagged: low }: Prepared, kept: Kept): void => {
    if (kept.alreadyStored) return;
    if (kind.kind !== 'canceled' && kind.kind !== 'credit') {
      totals.attempts++;
      if (row.attempt > 1) totals.retries++;
    }
    totals.inputTokens += facts.inputTokens;
    totals.outputTokens += facts.outputTokens;
    totals.costUsd += facts.costUsd;
    totals.cacheWriteTokens += facts.cacheCreationInputTokens ?? 0;
    totals.cacheReadTokens += facts.cacheReadInputTokens ?? 0;
    totals.savedUsd += facts.savedUsd ?? 0;
    if (kept.aside) totals.keptAside++;
    if (kept.conversationId) {
      totals.succeeded++;
      conversations.push(kept.conversationId);
      succeededPerCell[slot.cell]!++;
      if (quality) scores.set(kept.conversationId, quality.overall);
      if (low || kept.nearDuplicateOf) flagged.add(kept.conversationId);
      if (quality && !kept.aside && facts.turns) toJudge.push({ conversationId: kept.conversationId, turns: [...facts.turns], report: quality });
      return;
    }
    if (kind.kind === 'canceled') sawCancel = true;
    if (kind.kind === 'credit') {
      stopped = 'fatal';
      stopReason = CREDIT_MESSAGE;
    }
    const failedForGood = kind.kind === 'final' || facts.errorType === 'unparseable' || (kind.kind === 'retry' && row.attempt >= settings.maxAttempts);
    if (failedForGood) {
      totals.failed++;
      const type = (facts.errorType ?? 'unknown') as ErrorType;
      const entry = failures.get(type) ?? { type, count: 0 };
      failures.set(type, { ...entry, count: entry.count + 1 });
    }
  };

  /** Stores a group of results in one transaction, then counts them; false when the store would not take them. */
  const flush = async (group: Prepared[]): Promise<boolean> => {
    let kept: Kept[];
    try {
      kept = await target.keep(group.map((p) => p.record));
    } catch (error) {
      totals.unstored += group.length;
      stopped ??= 'error';
      stopReason ??= `paid answers could not be stored (${(error as Error).message}); run promptloom resume to take the results in again`;
      return false;
    }
    let refused: unknown;
    group.forEach((p, i) => {
      if (kept[i]!.refused === undefined) return account(p, kept[i]!);
      totals.unstored++;
      refused ??= kept[i]!.refused;
    });
    if (refused === undefined) return true;
    stopped ??= 'error';
    stopReason ??= `paid answers could not be stored (${(refused as Error).message}); run promptloom resume to take the results in again`;
    return false;
  };

  /** Streams an ended Message Batch's results into the store, then marks its row collected. */
  const collect = async (row: MessageBatchRow, endedAt: number): Promise<void> => {
    const mine = new Set(row.customIds);
    let ours = 0;
    let foreign = 0;
    const durationMs = Math.max(0, endedAt - (row.submittedAt ?? row.createdAt));
    // Stored a group at a time (one fsync each); a crash mid-way re-reads them, storing nothing twice.
    let group: Prepared[] = [];
    let unstored = false;
    for await (const line of await client.messages.batches.results(row.anthropicId!)) {
      if (!mine.has(line.custom_id)) {
        foreign++;
        continue;
      }
      ours++;
      const prepared = prepare(row, line, durationMs);
      if (prepared) group.push(prepared);
      if (group.length >= RESULTS_PER_TRANSACTION) {
        if (!(await flush(group))) unstored = true;
        group = [];
      }
    }
    if (!(await flush(group))) unstored = true;
    // Results the store would not take: the row stays 'submitted', so that resume reads them
    // again (what was stored is not stored twice) rather than paying for its requests again.
    if (unstored) return;
    // A Message Batch adopted (matched by size and time while it ran) that holds none of our
    // custom ids was someone else's. Ours may exist all the same (a POST that timed out, made
    // after the adoption): the row goes back to 'submitting', so the account's list is searched
    // again (that one, ended, is told apart by its custom ids) before its requests are sent again.
    if (ours === 0 && foreign > 0) {
      await records.unadopt(row.id);
      return;
    }
    await records.markCollected(row.id, endedAt);
  };

  // What this run's judge spent (today's spending includes it already; the batch budget adds it here).
  let judgeSpentUsd = 0;
  // Worst cases, for the budgets: input tokens per distinct prompt (counted by the API when a
  // budget is set, else estimated here), max_tokens out, at batch prices.
  const budgeted = settings.budgetUsd !== undefined || settings.dailyBudgetUsd !== undefined;
  // With a marked prefix, every input token counts as a cache write (1.25×), as on the direct
  // path: the requests of a Message Batch are processed side by side, and each may write it.
  const inputTokensOf = new Map<number, number>();
  const worstCase = async (cell: number): Promise<number> => {
    let tokens = inputTokensOf.get(cell);
    if (tokens === undefined) {
      const r = request(cells[cell]!);
      tokens = budgeted ? await countInputTokens(client, r).catch(() => localInputTokens(r)) : localInputTokens(r);
      if (r.cachePrefix) tokens *= CACHE_WRITE_MULTIPLIER;
      inputTokensOf.set(cell, tokens);
    }
    return costUsd(model, tokens, maxTokens) * BATCH_PRICE_FACTOR;
  };
  /**
   * What may still be spent: the batch budget less this run's spending and this batch's Message
   * Batches not yet collected; the daily budget less today's spending and every Message Batch of
   * the workspace not yet collected (a detached one holds its worst case until then).
   */
  const room = async (): Promise<{ usd: number; budget: number } | undefined> => {
    const limits: { usd: number; budget: number }[] = [];
    if (settings.budgetUsd !== undefined) limits.push({ usd: settings.budgetUsd - spentBefore - totals.costUsd - judgeSpentUsd - (await outstanding(store, batchId)), budget: settings.budgetUsd });
    if (settings.dailyBudgetUsd !== undefined) limits.push({ usd: settings.dailyBudgetUsd - (await spentToday(store, new Date(clock.now()))) - (await outstanding(store)), budget: settings.dailyBudgetUsd });
    return limits.length > 0 ? limits.reduce((a, b) => (b.usd < a.usd ? b : a)) : undefined;
  };

  const requestsFor = (row: MessageBatchRow) =>
    row.customIds.map((customId) => {
      const slot = slotByKey.get(slotOf(customId));
      return slot ? { custom_id: customId, params: messageParams(request(cells[slot.cell]!)) } : undefined;
    });

  /**
   * `promptloom cancel` in another process marks the batch cancelled (this run marked it running
   * when it began), but can cancel at Anthropic only the Message Batches it finds recorded: one
   * whose POST was on its way, or a follow-up this run was about to send, it cannot. Seeing the
   * mark, this run cancels what it has submitted and sends nothing more.
   */
  let cancelRequested = false;
  const watchCancel = async (): Promise<void> => {
    if (cancelRequested) return;
    await target.refresh().catch(() => false); // a busy database: look again next time
    // A database out of reach (the team's server restarting): look again next time.
    if ((await batches.get(batchId).catch(() => undefined))?.status !== 'cancelled') return;
    cancelRequested = true;
    // Those `cancel` found are canceling already, and are not asked again. One that could not be
    // canceled (the API out of reach) ends by itself, and is collected all the same.
    await cancelMessageBatches(store, client, batchId).catch(() => undefined);
  };

  /** The team's lease lost (its connection dropped): another process may hold the batch now, so this one sends nothing more. */
  let leaseLost = false;
  const leaseGone = (): boolean => {
    const lost = target.leaseLost?.();
    if (!lost) return false;
    leaseLost = true;
    stopped = 'error';
    stopReason = lost;
    return true;
  };

  try {
    for (;;) {
      // 1. Rows written before a POST whose answer never came back: matched before anything is sent.
      for (const row of (await messageBatchRows(store, batchId, 'generation')).filter((r) => r.state === 'submitting')) {
        if (leaseGone()) break;
        const requests = requestsFor(row);
        const adopted = await reconcile(store, client, row, clock, requests.every((r) => r !== undefined) ? () => requests as Anthropic.Messages.BatchCreateParams.Request[] : undefined);
        if (adopted) touched.add(adopted);
      }
      if (leaseLost) break;
      // 2. Wait for what is submitted, taking in each Message Batch as it ends.
      const waiting = (await messageBatchRows(store, batchId, 'generation')).filter((r) => r.state === 'submitted');
      for (const r of waiting) touched.add(r.anthropicId!);
      await watchCancel();
      if (waiting.length > 0 && !input.detach) {
        await waitAndCollect(client, waiting, clock, input.signal, collect, progress, watchCancel);
        if (input.signal?.aborted) {
          stopped = stopped === 'error' ? stopped : 'detached';
          break;
        }
        // A store that would not take paid answers: stop, and let resume take them in.
        if (stopped === 'error') break;
        continue;
      }
      // Stopped while collecting (no credit, a store that would not take an answer), or by the budget.
      if (stopped) break;
      // Cancelled: by results that say so, by a cancel while this run waited (the status, which
      // the canceller sets), or before this run, which only collects.
      if (cancelRequested || (await batches.get(batchId))?.status === 'cancelled' || ((sawCancel || cancelledBefore) && !finishingCancelled)) {
        stopped = 'cancelled';
        stopReason = 'the Message Batch was cancelled';
        break;
      }
      // 3. What is left to send: never sent, or retryable within the attempt limit, or canceled before.
      const now = await slotStates(store, batchId, slots, settings.maxAttempts, runStartedAt);
      let pending = slots.filter((s) => now.get(s.key)!.state === 'pending');
      if (pending.length === 0) {
        if (waiting.length > 0) stopped = 'detached';
        break;
      }
      // 4. Budgets: only what could not cross them, worst case (max_tokens out for every request).
      const left = await room();
      if (left !== undefined) {
        let reserved = 0;
        const fits: Slot[] = [];
        for (const s of pending) {
          const worst = await worstCase(s.cell);
          if (reserved + worst > left.usd) break;
          reserved += worst;
          fits.push(s);
        }
        if (fits.length < pending.length) {
          stopped = 'budget';
          stopReason = `a request could cost up to $${(await worstCase(pending[fits.length]!.cell)).toFixed(4)} at batch prices, which would cross the budget of $${left.budget.toFixed(2)} ($${Math.max(0, left.budget - left.usd).toFixed(4)} spent or held by Message Batches not yet collected): ${pending.length - fits.length} not submitted`;
        }
        pending = fits;
        if (pending.length === 0) break;
      }
      // 5. Submit, split at the API's limits: each row recorded before its POST, its id right after.
      const attempt = (s: Slot) => now.get(s.key)!.attempts + 1;
      const sizeOf = (s: Slot) => JSON.stringify({ custom_id: customIdOf('mb0123456789', s.key), params: messageParams(request(cells[s.cell]!)) }).length;
      for (const chunk of split(pending, sizeOf, limits)) {
        let worst = 0;
        for (const s of chunk) worst += await worstCase(s.cell);
        await watchCancel();
        if (cancelRequested) break;
        if (leaseGone()) break;
        const row = await recordIntent(store, batchId, chunk.map((s) => s.key), Math.max(...chunk.map(attempt)), worst, clock.now());
        touched.add(await submit(store, client, row, requestsFor(row) as Anthropic.Messages.BatchCreateParams.Request[], clock));
      }
      // A cancel that came while submitting: what was submitted is canceled, then collected (next turn).
      await watchCancel();
      progress(pending.length);
      if (input.detach) {
        stopped = 'detached';
        break;
      }
      // Over budget: what was submitted is still waited for and collected (next turn) before stopping.
    }
  } catch (error) {
    // The API refused or could not be reached (a rejected key, no such address…): one line
    // saying so, like the direct path. Anything else is a bug and goes up as it is.
    const failure = toFailure(error);
    if (failure.facts.status === undefined && failure.facts.kind === undefined) {
      await batches.setStatus(batchId, 'failed');
      throw error;
    }
    const c = classify(failure.facts);
    stopped = 'fatal';
    fatal = { type: c.type, ...(c.status !== undefined ? { status: c.status } : {}) };
    stopReason = fatalMessage(c.type, c.status, failure.facts.apiErrorType, { model: model.id, ...(input.baseURL ? { address: input.baseURL } : {}) });
  }

  // The judge (promptloom.quality.judge on) grades what the batch stored through Message Batches
  // too, at batch prices: not when the run was left to `resume` (detached, interrupted), which
  // then collects the generation and grades.
  let judge: BatchJudgement | undefined;
  let judgeOutstanding = false;
  const judgeModel = settings.judge === 'on' ? judgeModelOf(settings) : undefined;
  if (judgeModel && !leaseLost && stopped !== 'fatal' && stopped !== 'detached' && stopped !== 'cancelled' && !input.signal?.aborted) {
    try {
      const judged = await judgeThroughMessageBatches({
        db: store,
        client,
        batchId,
        model: judgeModel,
        tier: template.settings.tier,
        qualityThreshold: template.settings.qualityThreshold,
        maxAttempts: settings.maxAttempts,
        clock,
        runStartedAt,
        limits,
        room,
        spent: (usd) => (judgeSpentUsd += usd),
        ...(input.detach ? { detach: true } : {}),
        ...(input.signal ? { signal: input.signal } : {}),
        reports: new Map(toJudge.map((c) => [c.conversationId, c.report])),
        ...(target.leaseLost ? { leaseLost: target.leaseLost } : {}),
        onProgress: (judging) => input.onProgress?.({ total: requested, stored: totals.succeeded, failed: totals.failed, processing: 0, messageBatches: touched.size, costUsd: totals.costUsd, judge: judging }),
      });
      judge = judged.judgement;
      judgeOutstanding = judged.outstanding;
      for (const id of judged.messageBatches) touched.add(id);
      if (judged.outstanding && !stopped) stopped = 'detached';
      // Grades a later run will send (a cancel, no credit) keep the batch unfinished, for `resume`.
      if (judged.left > 0) judgeOutstanding = true;
      if (judged.cancelled) stopped ??= 'cancelled';
      if (judged.credit) stopped ??= 'fatal';
      if (judged.stopReason) stopReason ??= `the judge: ${judged.stopReason}`;
    } catch (error) {
      // The API refused the judge's Message Batch: the conversations keep the scorer's scores and
      // the batch stays unfinished, so `resume` grades them.
      const failure = toFailure(error);
      if (failure.facts.status === undefined && failure.facts.kind === undefined) throw error;
      judgeOutstanding = true;
      stopped ??= 'fatal';
      stopReason ??= `the judge could not submit its Message Batch (${classify(failure.facts).type}): run promptloom resume to grade the conversations`;
    }
    for (const j of judge?.judged ?? []) {
      scores.set(j.conversationId, j.overall);
      if (j.flagged) flagged.add(j.conversationId);
    }
  }

  const final = await slotStates(store, batchId, slots, settings.maxAttempts, runStartedAt);
  const remaining = slots.filter((s) => final.get(s.key)!.state === 'pending' || final.get(s.key)!.state === 'inflight').length;
  const stored = (await batches.get(batchId))!;
  // A batch whose judge still has grades to take in or to send is not complete: `resume` finishes it.
  const complete = stored.completed >= stored.requested && !judgeOutstanding;
  await batches.setStatus(batchId, complete ? 'completed' : stopped === 'detached' ? 'running' : stopped === 'cancelled' ? 'cancelled' : 'failed');

  const values = [...scores.values()];
  const average = values.length ? Math.round((values.reduce((x, y) => x + y, 0) / values.length) * 10) / 10 : null;
  const summary: BatchSummary = {
    requested,
    succeeded: totals.succeeded,
    failed: totals.failed,
    attempts: totals.attempts,
    retries: totals.retries,
    rateLimited: 0,
    inputTokens: totals.inputTokens,
    outputTokens: totals.outputTokens,
    costUsd: totals.costUsd,
    cacheWriteTokens: totals.cacheWriteTokens,
    cacheReadTokens: totals.cacheReadTokens,
    savedUsd: totals.savedUsd,
    durationMs: clock.now() - started,
    failures: [...failures.values()],
    remaining,
    unstored: totals.unstored,
    ...(stopped ? { stopped } : {}),
    ...(stopReason ? { stopReason } : {}),
    ...(fatal ? { fatal } : {}),
  };
  return {
    mode: 'batch',
    summary,
    coverage: cells.map((cell, c) => ({ values: cell.rendered.parameters, requested: slots.filter((s) => s.cell === c && open(s)).length, succeeded: succeededPerCell[c]! })),
    keptAside: totals.keptAside,
    batchId,
    conversations,
    quality: { average, flagged: flagged.size },
    ...(judge ? { judge } : {}),
    messageBatches: [...touched],
  };
}

/** The batch row of a new run (its template version recorded), marked as going through Message Batches. */
async function createBatchRow(db: Database, input: Omit<MessageBatchInput, 'store'>): Promise<{ batchId: string; templateId: number; versionId: number }> {
  const templates = new WorkspaceTemplateRepository(db);
  const row = await templates.ensure(input.templatePath, { name: input.template.settings.name, tier: input.template.settings.tier });
  const version = await templates.recordVersion(row.id, input.templateText);
  const settings = Object.fromEntries(SETTINGS.filter((s) => s.name !== 'models' && input.settings[s.name] !== undefined).map((s) => [s.name, input.settings[s.name]]));
  const batch = await new WorkspaceBatchRepository(db).create({
    templateId: row.id,
    versionId: version.id,
    requested: input.count,
    parameters: input.rendered.parameters,
    model: input.model.id,
    // `mode: batch` is what sends a resume back here.
    settings: { ...settings, mode: 'batch', priority: input.priority ?? input.settings.priority, ...(input.purpose ? { purpose: input.purpose } : {}) },
    ...(input.cells ? { plan: input.cells.map((c) => ({ values: c.rendered.parameters, count: c.count })) } : {}),
  });
  return { batchId: batch.id, templateId: row.id, versionId: version.id };
}

/**
 * Cancels a batch, direct or through Message Batches: its Message Batches at Anthropic (those
 * still processing; requests already answered are paid for and come in on the next collect), and
 * its status, which stops a direct run and tells a later collect not to send anything more.
 * Returns the Message Batches canceled. `client` is made only when there is one to cancel.
 */
export async function cancelBatch(store: Database, batch: { readonly id: string; readonly status: string }, client: () => Anthropic): Promise<string[]> {
  const live = await liveMessageBatches(store, batch.id);
  const canceled = live.length > 0 ? await cancelMessageBatches(store, client(), batch.id) : [];
  // Only if it still runs: a run that finished while the Message Batches were being canceled
  // keeps its 'completed' (the write catches up with other writers first).
  if (batch.status === 'running' || batch.status === 'pending') {
    await store.run("UPDATE batches SET status = 'cancelled', updated_at = ? WHERE id = ? AND status IN ('running', 'pending')", [Date.now(), batch.id]);
  }
  return canceled;
}

/**
 * Cancels the Message Batches of a batch at Anthropic; returns the ids of those canceling. The one
 * path of `promptloom cancel`, the editor's Cancel and a run that sees a cancel made elsewhere
 * (watchCancel), so each asks the API once: one canceling already (an earlier cancel) is not
 * asked again, one ended is left as it is. Their results, answered requests and canceled ones
 * alike, come in on the next collect. Each is tried before the first failure is thrown.
 */
export async function cancelMessageBatches(store: Database, client: Anthropic, batchId: string): Promise<string[]> {
  const canceling: string[] = [];
  let failure: { error: unknown } | undefined;
  for (const row of await messageBatchRows(store, batchId)) {
    // One adopted on a guess may be another client's (same account, same size): never canceled.
    if (row.state !== 'submitted' || !row.anthropicId || !row.confirmed) continue;
    try {
      let b = await client.messages.batches.retrieve(row.anthropicId);
      if (b.processing_status === 'in_progress') b = await client.messages.batches.cancel(row.anthropicId);
      if (b.processing_status !== 'ended') canceling.push(row.anthropicId);
    } catch (error) {
      failure ??= { error };
    }
  }
  if (failure) throw failure.error;
  return canceling;
}
