/**
 * What the database knows of a batch's Message Batches: one row per Message Batch (written before
 * its POST, given its id right after), and where each conversation slot stands from the results
 * taken in. The custom id of a request is its row's id, then its slot, so a result names both.
 */
import { randomBytes } from 'node:crypto';
import type { Store } from '../store';

/** One conversation slot of a batch: cell `c`, index `i`; the key names it in custom ids. */
export interface Slot {
  readonly key: string;
  readonly cell: number;
}

/** What a Message Batch is for: generating a batch's conversations, or the judge grading them. */
export type MessageBatchPurpose = 'generation' | 'judge';

export interface MessageBatchRow {
  readonly id: string;
  readonly purpose: MessageBatchPurpose;
  readonly anthropicId: string | null;
  readonly state: 'submitting' | 'submitted' | 'collected' | 'lost';
  readonly customIds: readonly string[];
  readonly attempt: number;
  readonly createdAt: number;
  /** The Message Batch's `created_at`: the API's clock, like the `ended_at` it is compared with. */
  readonly submittedAt: number | null;
  /** False for a Message Batch adopted on a guess (see reconcile) until its results confirm it. */
  readonly confirmed: boolean;
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
  store: Store,
  batchId: string,
  slots: readonly Pick<Slot, 'key'>[],
  maxAttempts: number,
  runStartedAt: number,
  purpose: MessageBatchPurpose = 'generation',
): Promise<Map<string, { state: SlotState; attempts: number }>> {
  const results = new Map<string, { result: string; errorType: string | null; createdAt: number }[]>();
  for (const r of await store.all<{ custom_id: string; result: string; error_type: string | null; created_at: number }>(
    'SELECT r.custom_id, r.result, r.error_type, r.created_at FROM message_batch_results r JOIN message_batches m ON m.id = r.message_batch_id WHERE m.batch_id = ? AND m.purpose = ? ORDER BY m.created_at, r.created_at',
    [batchId, purpose],
  )) {
    const key = slotOf(r.custom_id);
    results.set(key, [...(results.get(key) ?? []), { result: r.result, errorType: r.error_type, createdAt: Number(r.created_at) }]);
  }
  const inflight = new Set<string>();
  for (const row of await messageBatchRows(store, batchId, purpose)) {
    if (row.state !== 'submitting' && row.state !== 'submitted') continue;
    const taken = new Set((await store.all<{ custom_id: string }>('SELECT custom_id FROM message_batch_results WHERE message_batch_id = ?', [row.id])).map((r) => r.custom_id));
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

/** Worst cases of Message Batches not yet collected: of one batch, or of the whole workspace. */
export async function outstanding(store: Store, batchId?: string): Promise<number> {
  const where = "state IN ('submitting', 'submitted')";
  const row = batchId
    ? await store.get(`SELECT coalesce(sum(worst_case_usd), 0) AS usd FROM message_batches WHERE ${where} AND batch_id = ?`, [batchId])
    : await store.get(`SELECT coalesce(sum(worst_case_usd), 0) AS usd FROM message_batches WHERE ${where}`);
  return Number(row!.usd);
}

/** A batch's Message Batches, oldest first: those for `purpose`, or all of them. */
export async function messageBatchRows(store: Store, batchId: string, purpose?: MessageBatchPurpose): Promise<MessageBatchRow[]> {
  const rows = purpose
    ? await store.all('SELECT * FROM message_batches WHERE batch_id = ? AND purpose = ? ORDER BY created_at, id', [batchId, purpose])
    : await store.all('SELECT * FROM message_batches WHERE batch_id = ? ORDER BY created_at, id', [batchId]);
  return rows.map((r) => ({
    id: String(r.id),
    purpose: (r.purpose ?? 'generation') as MessageBatchPurpose,
    anthropicId: r.anthropic_id === null ? null : String(r.anthropic_id),
    state: r.state as MessageBatchRow['state'],
    customIds: JSON.parse(String(r.custom_ids)) as string[],
    attempt: Number(r.attempt),
    createdAt: Number(r.created_at),
    submittedAt: r.submitted_at === null ? null : Number(r.submitted_at),
    confirmed: Number(r.confirmed ?? 1) === 1,
  }));
}

/** Writes the row of a Message Batch about to be submitted: before the POST, durably. */
export async function recordIntent(
  store: Store,
  batchId: string,
  slotKeys: readonly string[],
  attempt: number,
  worstCaseUsd: number,
  now: number,
  purpose: MessageBatchPurpose = 'generation',
): Promise<MessageBatchRow> {
  const id = `mb${randomBytes(5).toString('hex')}`;
  const customIds = slotKeys.map((k) => customIdOf(id, k));
  await store.write((tx) =>
    tx.run("INSERT INTO message_batches (id, batch_id, anthropic_id, state, request_count, custom_ids, attempt, worst_case_usd, created_at, purpose) VALUES (?, ?, NULL, 'submitting', ?, ?, ?, ?, ?, ?)", [
      id,
      batchId,
      customIds.length,
      JSON.stringify(customIds),
      attempt,
      worstCaseUsd,
      now,
      purpose,
    ]),
  );
  return { id, purpose, anthropicId: null, state: 'submitting', customIds, attempt, createdAt: now, submittedAt: null, confirmed: true };
}

/** The Message Batch id, recorded the moment it is known. */
/** Records the row's Message Batch id; `confirmed` false when it was adopted on a guess (reconcile). */
export async function markSubmitted(store: Store, rowId: string, anthropicId: string, now: number, confirmed = true): Promise<void> {
  await store.write((tx) =>
    tx.run("UPDATE message_batches SET anthropic_id = ?, state = 'submitted', submitted_at = coalesce(submitted_at, ?), confirmed = ? WHERE id = ?", [anthropicId, now, confirmed ? 1 : 0, rowId]),
  );
}

/** A batch with Message Batches submitted (or about to be) and not yet collected. */
export interface UncollectedBatch {
  readonly batchId: string;
  readonly templatePath: string;
  readonly requested: number;
  readonly status: string;
  /** Its Message Batches not yet collected, and Anthropic's ids of those known. */
  readonly messageBatches: number;
  readonly anthropicIds: readonly string[];
  readonly submittedAt: number;
}

/** Every batch of the workspace with Message Batches still at Anthropic, newest first (what the editor re-attaches to). */
export async function uncollectedMessageBatches(store: Store): Promise<UncollectedBatch[]> {
  return (
    await store.all<{ batch_id: string; path: string; requested: number; status: string; n: number; ids: string | null; at: number }>(
      `SELECT m.batch_id, t.path, b.requested, b.status, count(*) AS n, group_concat(m.anthropic_id) AS ids, min(m.created_at) AS at
       FROM message_batches m JOIN batches b ON b.id = m.batch_id JOIN templates t ON t.id = b.template_id
       WHERE m.state IN ('submitting', 'submitted') GROUP BY m.batch_id ORDER BY at DESC`,
    )
  ).map((r) => ({
      batchId: String(r.batch_id),
      templatePath: String(r.path),
      requested: Number(r.requested),
      status: String(r.status),
      messageBatches: Number(r.n),
      anthropicIds: r.ids ? String(r.ids).split(',') : [],
      submittedAt: Number(r.at),
    }));
}
