/**
 * Claimable work for resuming a team batch (team migration 8, `batch_slots`). The conversations a
 * resume finds missing become one slot each, created once per batch; every resume of the batch
 * (any member, any machine) claims a few at a time with `FOR UPDATE SKIP LOCKED`, so two resumes
 * split what is left instead of both generating it. A claim holds a lease on the server's clock,
 * renewed while its process runs; a killed process's claims are claimable again once their lease
 * runs out. A slot is filled in the transaction that records its conversation (`GenerationRecord.slot`).
 * Before each claim the batch's status is read in the same transaction: `promptloom cancel` stops
 * every resume from starting anything new.
 *
 * A team `generate` claims too (`FirstRunClaims`): its batch's slots are created with the batch,
 * and each conversation's slot is claimed just before its first request, so a resume started
 * meanwhile (another machine helping) takes the slots it has not reached yet.
 */
import { randomUUID } from 'node:crypto';
import type { Database } from '../store/database';
import { planKey } from '../plan';
import type { ResumePlan } from './batch';
import { isServerUnreachable } from './teamSpool';

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

/**
 * Claims slot `slot` for `owner` when it is open (never filled, unclaimed or its lease run out):
 * 'taken' when another run holds or filled it, 'cancelled' when the batch is (nothing claimed).
 * One statement: a run claiming the row at the same moment waits for this one's commit and then
 * finds it claimed.
 */
export async function claimSlot(db: Database, batchId: string, owner: string, slot: number): Promise<'claimed' | 'taken' | 'cancelled'> {
  const r = (await db.get(
    `WITH batch AS (SELECT status FROM batches WHERE id = ?),
          claimed AS (
            UPDATE batch_slots SET claimed_by = ?, claimed_until = clock_timestamp() + ?::double precision * interval '1 millisecond'
             WHERE batch_id = ? AND slot = ? AND conversation_id IS NULL AND (claimed_until IS NULL OR claimed_until < clock_timestamp())
               AND EXISTS (SELECT 1 FROM batch WHERE status <> 'cancelled')
            RETURNING slot)
     SELECT (SELECT status FROM batch) AS status, (SELECT count(*) FROM claimed) AS claimed`,
    [batchId, owner, CLAIM_LEASE_MS, batchId, slot],
  ))!;
  // A batch the member may no longer see (its template made private) is as good as cancelled to them.
  if (r.status === null || r.status === undefined || r.status === 'cancelled') return 'cancelled';
  return Number(r.claimed) > 0 ? 'claimed' : 'taken';
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

/**
 * A team `generate`'s claims. `open` (once the batch row exists) creates the batch's slots, or finds
 * them when a resume came first, and gives each of the run's conversations one slot of its values;
 * `admit` claims that slot just before the conversation's first request, so the run generates only
 * what no other run (a resume on another machine) holds or has filled. Leases are renewed while the
 * run lives; `close` gives back what it did not fill.
 */
export class FirstRunClaims {
  readonly owner = randomUUID();
  private batchId: string | undefined;
  private readonly slots = new Map<string, number>();
  private renewal: NodeJS.Timeout | undefined;

  constructor(private readonly db: Database) {}

  /** `items`: each conversation's key and its plan cell's values (undefined without a plan). */
  async open(plan: ResumePlan, items: readonly { readonly key: string; readonly values?: Readonly<Record<string, unknown>> }[]): Promise<void> {
    const batchId = plan.batch.id;
    this.batchId = batchId;
    await ensureSlots(this.db, plan);
    // Slots of the same values are interchangeable: each item takes the next one of its values.
    const byValues = new Map<string, number[]>();
    for (const r of await this.db.all('SELECT slot, slot_values FROM batch_slots WHERE batch_id = ? ORDER BY slot', [batchId])) {
      const key = r.slot_values === null || r.slot_values === undefined ? '' : planKey(JSON.parse(String(r.slot_values)) as Record<string, unknown>);
      byValues.set(key, [...(byValues.get(key) ?? []), Number(r.slot)]);
    }
    for (const item of items) {
      const slot = byValues.get(item.values ? planKey(item.values as Record<string, unknown>) : '')?.shift();
      if (slot !== undefined) this.slots.set(item.key, slot);
    }
    this.renewal = setInterval(() => void renewClaims(this.db, batchId, this.owner).catch(() => undefined), CLAIM_RENEW_MS);
    this.renewal.unref();
  }

  /** The slot a conversation fills when stored. */
  slotOf(key: string): number | undefined {
    return this.slots.get(key);
  }

  /**
   * Claims the conversation's slot ('taken': another run holds or filled it). While the server
   * cannot be reached the conversation goes ahead on its slot: its answer waits in the spool and
   * fills the slot when written (no run can claim while the server is away; see
   * docs/team-store.md on outages longer than a lease).
   */
  async admit(key: string): Promise<'claimed' | 'taken' | 'cancelled'> {
    const slot = this.slots.get(key);
    if (slot === undefined || this.batchId === undefined) return 'taken';
    try {
      return await claimSlot(this.db, this.batchId, this.owner, slot);
    } catch (error) {
      if (isServerUnreachable(error)) return 'claimed';
      throw error;
    }
  }

  /** Stops renewing and gives back the claims this run did not fill. */
  async close(): Promise<void> {
    clearInterval(this.renewal);
    if (this.batchId !== undefined) await releaseClaims(this.db, this.batchId, this.owner).catch(() => undefined);
  }
}

/** An integer array as PostgreSQL's literal (the handle binds scalars only). */
function intArray(values: readonly number[]): string {
  return `{${values.map((v) => String(Math.trunc(v))).join(',')}}`;
}
