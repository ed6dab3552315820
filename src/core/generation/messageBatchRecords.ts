/**
 * What the database knows of a batch's Message Batches: one row per Message Batch (written before
 * its POST, given its id right after), and where each conversation slot stands from the results
 * taken in. The custom id of a request is its row's id, then its slot, so a result names both.
 * The rows are read and written through `MessageBatchRepository` (../store/messageBatches.ts), over
 * the `Database` handle: the same code serves the workspace database and the team store.
 */
import { randomBytes } from 'node:crypto';
import type { Database } from '../store/database';
import { MessageBatchRepository, type MessageBatchPurpose, type MessageBatchRow, type UncollectedBatch } from '../store/messageBatches';

export type { MessageBatchPurpose, MessageBatchRow, UncollectedBatch } from '../store/messageBatches';

/** One conversation slot of a batch: cell `c`, index `i`; the key names it in custom ids. */
export interface Slot {
  readonly key: string;
  readonly cell: number;
}

/** A slot's custom id: the row's id, then the slot (`mb1a2b3c4d5e-c0-17`), at most 64 of [a-zA-Z0-9_-]. */
export const customIdOf = (rowId: string, slot: string) => `${rowId}-${slot}`;
export const slotOf = (customId: string) => customId.slice(customId.indexOf('-') + 1);

type SlotState = 'done' | 'inflight' | 'pending' | 'failed';

/**
 * Where each slot stands, from what the store holds: a succeeded result (done), a Message Batch
 * not yet taken in (in flight), a last result of this run that ends it (failed) or not (pending:
 * a canceled one too, sent again by the next run; the run that sees the cancel stops instead).
 */
export async function slotStates(
  db: Database,
  batchId: string,
  slots: readonly Pick<Slot, 'key'>[],
  maxAttempts: number,
  runStartedAt: number,
  purpose: MessageBatchPurpose = 'generation',
): Promise<Map<string, { state: SlotState; attempts: number }>> {
  const records = new MessageBatchRepository(db);
  const results = new Map<string, { result: string; errorType: string | null; createdAt: number }[]>();
  for (const r of await records.results(batchId, purpose)) {
    const key = slotOf(r.customId);
    results.set(key, [...(results.get(key) ?? []), { result: r.result, errorType: r.errorType, createdAt: r.createdAt }]);
  }
  const inflight = new Set<string>();
  for (const row of await records.rows(batchId, purpose)) {
    if (row.state !== 'submitting' && row.state !== 'submitted') continue;
    const taken = await records.taken(row.id);
    for (const id of row.customIds) if (!taken.has(id)) inflight.add(slotOf(id));
  }
  const states = new Map<string, { state: SlotState; attempts: number }>();
  for (const s of slots) {
    const all = results.get(s.key) ?? [];
    // Attempts count within a run, as the direct path's do: a resume tries a failed slot afresh.
    const rs = all.filter((r) => r.createdAt >= runStartedAt);
    const attempts = rs.filter((r) => r.result !== 'canceled' && r.errorType !== 'spend_limit').length;
    const last = rs[rs.length - 1];
    let state: SlotState;
    if (all.some((r) => r.result === 'succeeded' && r.errorType === null)) state = 'done';
    else if (inflight.has(s.key)) state = 'inflight';
    else if (!last) state = 'pending';
    else if (last.result === 'canceled') state = 'pending';
    else if (last.errorType === 'spend_limit') state = 'pending';
    else if (last.errorType === 'unparseable' || !isRetryable(last) || attempts >= maxAttempts) state = 'failed';
    else state = 'pending';
    states.set(s.key, { state, attempts });
  }
  return states;
}

function isRetryable(r: { result: string; errorType: string | null }): boolean {
  return r.result === 'expired' || ['overloaded', 'server_error', 'rate_limit', 'timeout', 'connection'].includes(r.errorType ?? '');
}

/**
 * Worst cases of Message Batches not yet collected: of one batch, or of the whole workspace (on
 * the team store, every one of the member's).
 */
export async function outstanding(db: Database, batchId?: string): Promise<number> {
  return new MessageBatchRepository(db).outstanding(batchId);
}

/** A batch's Message Batches, oldest first: those for `purpose`, or all of them. */
export async function messageBatchRows(db: Database, batchId: string, purpose?: MessageBatchPurpose): Promise<MessageBatchRow[]> {
  return new MessageBatchRepository(db).rows(batchId, purpose);
}

/** The batch's Message Batches still at Anthropic: submitted, or written before a POST whose answer was never recorded. */
export async function liveMessageBatches(db: Database, batchId: string): Promise<MessageBatchRow[]> {
  return (await messageBatchRows(db, batchId)).filter((r) => r.state === 'submitted' || r.state === 'submitting');
}

/**
 * Whether a batch sent through Message Batches has anything left for a resume: conversations
 * missing, its judge's grades (it is not 'completed' until they are in), or Message Batches still
 * at Anthropic to collect.
 */
export async function messageBatchResumeLeft(db: Database, batch: { readonly id: string; readonly completed: number; readonly requested: number; readonly status: string }): Promise<boolean> {
  return batch.completed < batch.requested || batch.status !== 'completed' || (await liveMessageBatches(db, batch.id)).length > 0;
}

/** Writes the row of a Message Batch about to be submitted: before the POST, durably. */
export async function recordIntent(
  db: Database,
  batchId: string,
  slotKeys: readonly string[],
  attempt: number,
  worstCaseUsd: number,
  now: number,
  purpose: MessageBatchPurpose = 'generation',
): Promise<MessageBatchRow> {
  const id = `mb${randomBytes(5).toString('hex')}`;
  const customIds = slotKeys.map((k) => customIdOf(id, k));
  await new MessageBatchRepository(db).recordIntent({ id, batchId, customIds, attempt, worstCaseUsd, createdAt: now, purpose });
  return { id, purpose, anthropicId: null, state: 'submitting', customIds, attempt, createdAt: now, submittedAt: null, confirmed: true };
}

/** Records the row's Message Batch id, the moment it is known; `confirmed` false when it was adopted on a guess (reconcile). */
export async function markSubmitted(db: Database, rowId: string, anthropicId: string, now: number, confirmed = true): Promise<void> {
  await new MessageBatchRepository(db).markSubmitted(rowId, anthropicId, now, confirmed);
}

/** Every batch of the store with Message Batches still at Anthropic, newest first (what the editor re-attaches to). */
export async function uncollectedMessageBatches(db: Database): Promise<UncollectedBatch[]> {
  return new MessageBatchRepository(db).uncollected();
}
