/**
 * Claimable work for resuming a team batch (team migration 8, `batch_slots`). The conversations a
 * resume finds missing become one slot each, created once per batch; every resume of the batch
 * (any member, any machine) claims a few at a time with `FOR UPDATE SKIP LOCKED`, so two resumes
 * split what is left instead of both generating it. A claim holds a lease on the server's clock,
 * renewed while its process runs; a killed process's claims are claimable again once their lease
 * runs out. A slot is filled in the transaction that records its conversation (`GenerationRecord.slot`).
 * Before each claim the batch's status is read in the same transaction: `promptloom cancel` stops
 * every resume from starting anything new.
 */
import type { Database } from '../store/database';
import type { ResumePlan } from './batch';

/** How long a claim holds without renewal, and how often a running resume renews its claims. */
export const CLAIM_LEASE_MS = 10_000;
export const CLAIM_RENEW_MS = 2_000;

export interface ClaimedSlot {
  readonly slot: number;
  /** The plan cell's values; undefined: the batch's own. */
  readonly values?: Record<string, unknown>;
}

/**
 * The batch's slots, created from `plan` unless the batch has them already (a resume before this
 * one created them, or is creating them now: the advisory lock makes it wait and then see them).
 * Returns how many slots the batch has.
 */
export async function ensureSlots(db: Database, plan: ResumePlan): Promise<number> {
  const values: (Record<string, unknown> | undefined)[] = plan.cells ? plan.cells.flatMap((c) => Array.from({ length: c.remaining }, () => c.values)) : Array.from({ length: plan.remaining }, () => undefined);
  return db.transaction(async (tx) => {
    await tx.run("SELECT pg_advisory_xact_lock(hashtext('promptloom batch slots ' || ?::text))", [plan.batch.id]);
    const have = Number((await tx.get('SELECT count(*) AS n FROM batch_slots WHERE batch_id = ?', [plan.batch.id]))!.n);
    if (have > 0) return have;
    for (const [slot, v] of values.entries()) {
      await tx.run('INSERT INTO batch_slots (batch_id, slot, slot_values) VALUES (?, ?, ?)', [plan.batch.id, slot, v === undefined ? null : JSON.stringify(v)]);
    }
    return values.length;
  });
}

/**
 * Claims up to `limit` open slots (never filled, and unclaimed or their lease run out) for
 * `owner`, skipping the ones another transaction is claiming, and those in `skip` (tried already
 * by this run). 'cancelled' when the batch is cancelled: nothing is claimed then.
 */
export async function claimSlots(db: Database, batchId: string, owner: string, limit: number, skip: readonly number[]): Promise<ClaimedSlot[] | 'cancelled'> {
  return db.transaction(async (tx) => {
    const batch = await tx.get('SELECT status FROM batches WHERE id = ?', [batchId]);
    if (!batch || batch.status === 'cancelled') return 'cancelled' as const;
    const rows = await tx.all(
      `SELECT slot, slot_values FROM batch_slots
        WHERE batch_id = ? AND conversation_id IS NULL AND (claimed_until IS NULL OR claimed_until < clock_timestamp())
          AND NOT (slot = ANY (?::integer[]))
        ORDER BY slot LIMIT ? FOR UPDATE SKIP LOCKED`,
      [batchId, intArray(skip), limit],
    );
    if (rows.length === 0) return [];
    const slots = rows.map((r) => Number(r.slot));
    await tx.run(`UPDATE batch_slots SET claimed_by = ?, claimed_until = clock_timestamp() + ?::double precision * interval '1 millisecond' WHERE batch_id = ? AND slot = ANY (?::integer[])`, [owner, CLAIM_LEASE_MS, batchId, intArray(slots)]);
    return rows.map((r) => ({ slot: Number(r.slot), ...(r.slot_values !== null && r.slot_values !== undefined ? { values: JSON.parse(String(r.slot_values)) as Record<string, unknown> } : {}) }));
  });
}

/** Renews the leases of `owner`'s unfilled claims. */
export async function renewClaims(db: Database, batchId: string, owner: string): Promise<void> {
  await db.run(`UPDATE batch_slots SET claimed_until = clock_timestamp() + ?::double precision * interval '1 millisecond' WHERE batch_id = ? AND claimed_by = ? AND conversation_id IS NULL`, [CLAIM_LEASE_MS, batchId, owner]);
}

/** Gives back `owner`'s unfilled claims (a failed or cut-off slot): the next resume may take them at once. */
export async function releaseClaims(db: Database, batchId: string, owner: string): Promise<void> {
  await db.run('UPDATE batch_slots SET claimed_by = NULL, claimed_until = NULL WHERE batch_id = ? AND claimed_by = ? AND conversation_id IS NULL', [batchId, owner]);
}

/** The batch's slots: filled, open (claimable), and held by a live claim of another resume. */
export async function slotCounts(db: Database, batchId: string, owner?: string): Promise<{ filled: number; open: number; heldByOthers: number }> {
  const r = (await db.get(
    `SELECT count(*) FILTER (WHERE conversation_id IS NOT NULL) AS filled,
            count(*) FILTER (WHERE conversation_id IS NULL AND (claimed_until IS NULL OR claimed_until < clock_timestamp())) AS open,
            count(*) FILTER (WHERE conversation_id IS NULL AND claimed_until >= clock_timestamp() AND claimed_by IS DISTINCT FROM ?) AS held
       FROM batch_slots WHERE batch_id = ?`,
    [owner ?? null, batchId],
  ))!;
  return { filled: Number(r.filled), open: Number(r.open), heldByOthers: Number(r.held) };
}

/** An integer array as PostgreSQL's literal (the handle binds scalars only). */
function intArray(values: readonly number[]): string {
  return `{${values.map((v) => String(Math.trunc(v))).join(',')}}`;
}
