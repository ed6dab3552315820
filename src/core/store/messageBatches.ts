/**
 * The Message Batches records over the `Database` handle, the same statements on both backends:
 * one row per Message Batch in `message_batches` (written before its POST, given its id right
 * after) and each result line taken in, once, in `message_batch_results` (written by the
 * generation recorder, or the judge's, in the transaction that stores what the line brought).
 *
 * On the team store both tables are the submitter's alone (team migration 10, row-level security
 * like the generation logs'): every read here is of the member's own rows, so `outstanding` is
 * what the member holds against their daily budget, and `claimed` the ids the member's rows claim.
 * The workspace's statements are the text they were when they were `Store.write` bodies.
 */
import type { Database } from './database';

/** What a Message Batch is for: generating a batch's conversations, or the judge grading them. */
export type MessageBatchPurpose = 'generation' | 'judge';

export type MessageBatchState = 'submitting' | 'submitted' | 'collected' | 'lost';

export interface MessageBatchRow {
  readonly id: string;
  readonly purpose: MessageBatchPurpose;
  readonly anthropicId: string | null;
  readonly state: MessageBatchState;
  readonly customIds: readonly string[];
  readonly attempt: number;
  readonly createdAt: number;
  /** The Message Batch's `created_at`: the API's clock, like the `ended_at` it is compared with. */
  readonly submittedAt: number | null;
  /** False for a Message Batch adopted on a guess (see reconcile) until its results confirm it. */
  readonly confirmed: boolean;
}

/** A result line taken in: its custom id, how it ended, and when it was stored (the store's clock). */
export interface MessageBatchResultRow {
  readonly customId: string;
  readonly result: string;
  readonly errorType: string | null;
  readonly createdAt: number;
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

/** Not yet collected: what still holds its worst case against the budgets. */
const LIVE = "state IN ('submitting', 'submitted')";

export class MessageBatchRepository {
  constructor(private readonly db: Database) {}

  /** A batch's Message Batches, oldest first: those for `purpose`, or all of them. */
  async rows(batchId: string, purpose?: MessageBatchPurpose): Promise<MessageBatchRow[]> {
    const rows = purpose
      ? await this.db.all('SELECT * FROM message_batches WHERE batch_id = ? AND purpose = ? ORDER BY created_at, id', [batchId, purpose])
      : await this.db.all('SELECT * FROM message_batches WHERE batch_id = ? ORDER BY created_at, id', [batchId]);
    return rows.map((r) => ({
      id: String(r.id),
      purpose: (r.purpose ?? 'generation') as MessageBatchPurpose,
      anthropicId: r.anthropic_id === null ? null : String(r.anthropic_id),
      state: r.state as MessageBatchState,
      customIds: JSON.parse(String(r.custom_ids)) as string[],
      attempt: Number(r.attempt),
      createdAt: Number(r.created_at),
      submittedAt: r.submitted_at === null ? null : Number(r.submitted_at),
      confirmed: Number(r.confirmed ?? 1) === 1,
    }));
  }

  /** The result lines taken in for a batch's Message Batches of `purpose`, in the order they were stored. */
  async results(batchId: string, purpose: MessageBatchPurpose): Promise<MessageBatchResultRow[]> {
    const rows = await this.db.all<{ custom_id: string; result: string; error_type: string | null; created_at: number }>(
      'SELECT r.custom_id, r.result, r.error_type, r.created_at FROM message_batch_results r JOIN message_batches m ON m.id = r.message_batch_id WHERE m.batch_id = ? AND m.purpose = ? ORDER BY m.created_at, r.created_at',
      [batchId, purpose],
    );
    return rows.map((r) => ({ customId: String(r.custom_id), result: String(r.result), errorType: r.error_type === null ? null : String(r.error_type), createdAt: Number(r.created_at) }));
  }

  /** The custom ids of one Message Batch whose results are stored. */
  async taken(rowId: string): Promise<Set<string>> {
    return new Set((await this.db.all<{ custom_id: string }>('SELECT custom_id FROM message_batch_results WHERE message_batch_id = ?', [rowId])).map((r) => String(r.custom_id)));
  }

  /**
   * Worst cases of Message Batches not yet collected: of one batch, or of the whole store (on the
   * team store, of the member: the daily budget is theirs, as `spentSince` is).
   */
  async outstanding(batchId?: string): Promise<number> {
    const own = this.db.dialect.andOwn();
    const row = batchId
      ? await this.db.get(`SELECT coalesce(sum(worst_case_usd), 0) AS usd FROM message_batches WHERE ${LIVE} AND batch_id = ?${own}`, [batchId])
      : await this.db.get(`SELECT coalesce(sum(worst_case_usd), 0) AS usd FROM message_batches WHERE ${LIVE}${own}`);
    return Number(row!.usd);
  }

  /** Writes the row of a Message Batch about to be submitted: before the POST, durably. */
  async recordIntent(row: { id: string; batchId: string; customIds: readonly string[]; attempt: number; worstCaseUsd: number; createdAt: number; purpose: MessageBatchPurpose }): Promise<void> {
    await this.db.run("INSERT INTO message_batches (id, batch_id, anthropic_id, state, request_count, custom_ids, attempt, worst_case_usd, created_at, purpose) VALUES (?, ?, NULL, 'submitting', ?, ?, ?, ?, ?, ?)", [
      row.id,
      row.batchId,
      row.customIds.length,
      JSON.stringify(row.customIds),
      row.attempt,
      row.worstCaseUsd,
      row.createdAt,
      row.purpose,
    ]);
  }

  /**
   * Records the row's Message Batch id; `confirmed` false when it was adopted on a guess. Throws
   * the store's unique violation (`isUniqueViolation`) when another row claims that id already:
   * on the team store, a teammate's row the member cannot see (same Anthropic account).
   */
  async markSubmitted(rowId: string, anthropicId: string, submittedAt: number, confirmed = true): Promise<void> {
    await this.db.run("UPDATE message_batches SET anthropic_id = ?, state = 'submitted', submitted_at = coalesce(submitted_at, ?), confirmed = ? WHERE id = ?", [anthropicId, submittedAt, confirmed ? 1 : 0, rowId]);
  }

  /** The POST was answered with an error: nothing was created, and its slots go back to be submitted. */
  async markLost(rowId: string): Promise<void> {
    await this.db.run("UPDATE message_batches SET state = 'lost' WHERE id = ? AND anthropic_id IS NULL", [rowId]);
  }

  /** A Message Batch adopted on a guess held none of the row's custom ids: the row is searched for again. */
  async unadopt(rowId: string): Promise<void> {
    await this.db.run("UPDATE message_batches SET state = 'submitting', anthropic_id = NULL, submitted_at = NULL WHERE id = ?", [rowId]);
  }

  /** Its results are all stored ('lost': it held none of the row's custom ids, the judge's rows say so). */
  async markCollected(rowId: string, endedAt: number, state: 'collected' | 'lost' = 'collected'): Promise<void> {
    await this.db.run('UPDATE message_batches SET state = ?, ended_at = ? WHERE id = ?', [state, endedAt, rowId]);
  }

  /** The Anthropic ids this store's rows claim already (on the team store, the member's own rows). */
  async claimed(): Promise<Set<string>> {
    return new Set((await this.db.all<{ anthropic_id: string }>('SELECT anthropic_id FROM message_batches WHERE anthropic_id IS NOT NULL')).map((r) => String(r.anthropic_id)));
  }

  /** Every batch with Message Batches still at Anthropic, newest first (what the editor re-attaches to). */
  async uncollected(): Promise<UncollectedBatch[]> {
    const d = this.db.dialect;
    const rows = await this.db.all<{ batch_id: string; path: string; requested: number; status: string; n: number; ids: string | null; at: number }>(
      `SELECT m.batch_id, t.path, b.requested, b.status, count(*) AS n, ${d.joined('m.anthropic_id', ',', 'm.created_at, m.id')} AS ids, min(m.created_at) AS at
       FROM message_batches m JOIN batches b ON b.id = m.batch_id JOIN ${d.templates} t ON t.id = b.template_id
       WHERE m.${LIVE} GROUP BY m.batch_id, t.path, b.requested, b.status ORDER BY at DESC`,
    );
    return rows.map((r) => ({
      batchId: String(r.batch_id),
      templatePath: String(r.path),
      requested: Number(r.requested),
      status: String(r.status),
      messageBatches: Number(r.n),
      anthropicIds: r.ids ? String(r.ids).split(',') : [],
      submittedAt: Number(r.at),
    }));
  }
}

/** A write refused because a unique key holds the value already (PostgreSQL's 23505, SQLite's UNIQUE constraint). */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | undefined;
  return e?.code === '23505' || (typeof e?.message === 'string' && /UNIQUE constraint failed/.test(e.message));
}
