/**
 * Near-duplicates in the workspace database: signatures and LSH buckets stored with each
 * conversation (migration 4), the closest earlier conversation of the same template, backfill for
 * conversations stored before signatures existed, and each template's diversity.
 *
 * The lookup and the signature's rows go through a transaction (`AsyncTx`, which sees its own
 * writes), so `GenerationRepository.record` finds and stores inside the transaction that stores
 * the conversation, on either backend; the figures over a whole template read the store (an
 * `AsyncReader`).
 */
import type { AsyncTx, Database } from '../store/database';
import type { Dialect } from '../store/dialect';
import type { Store } from '../store/store';
import type { Row, SqlParam } from '../store/types';
import { BANDS, DEFAULT_NEAR_DUPLICATE_THRESHOLD, bandBuckets, signatureBytes, signatureFromBytes, signatureOf, similarity, type Signature } from './minhash';

/** What reads the database: a transaction (which sees its own writes), or the store. */
export interface AsyncReader {
  all<T extends Row = Row>(sql: string, params?: readonly SqlParam[]): Promise<T[]>;
}

export interface Nearest {
  readonly id: string;
  /** Estimated Jaccard similarity of 3-word shingles, 0..1. */
  readonly similarity: number;
}

/** "near-duplicate of 1a2b3c4d (similarity 0.93)": the finding, with the other conversation's short id. */
export function nearDuplicateReason(otherId: string, sim: number): string {
  return `near-duplicate of ${otherId.slice(0, 8)} (similarity ${sim.toFixed(2)})`;
}

/** A reason already given (a low score, say) keeps its place; the near-duplicate is appended. */
export function appendReason(existing: string | null | undefined, reason: string): string {
  return existing ? `${existing}; ${reason}` : reason;
}

// One query finds the candidates (conversations sharing a bucket of any band, through the
// (template_id, band, bucket) index) and brings their signatures and creation order (the
// workspace's rowid, the team's id: the dialect's insertion order).
const candidates = (dialect: Dialect) => `SELECT s.conversation_id AS id, s.signature AS signature, c.created_at AS created_at, ${dialect.insertionOrder('c')} AS rid
  FROM conversation_signatures s JOIN conversations c ON c.id = s.conversation_id
 WHERE s.conversation_id IN (${Array.from({ length: BANDS }, () => 'SELECT conversation_id FROM signature_buckets WHERE template_id = ? AND band = ? AND bucket = ?').join(' UNION ')})`;

/**
 * The most similar conversation of `templateId` (all its versions) among those sharing an LSH
 * bucket with `sig`; ties go to the earliest. `before` keeps only conversations stored before a
 * given one (created_at, then rowid), for backfill; `exclude` leaves one id out.
 */
export async function nearestConversation(
  db: AsyncReader,
  dialect: Dialect,
  templateId: number,
  sig: Signature,
  options: { before?: { createdAt: number; rowid: number }; exclude?: string } = {},
): Promise<Nearest | undefined> {
  const params: SqlParam[] = [];
  bandBuckets(sig).forEach((bucket, band) => params.push(templateId, band, bucket));
  let best: { id: string; similarity: number; createdAt: number; rowid: number } | undefined;
  for (const r of await db.all(candidates(dialect), params)) {
    const id = String(r.id);
    const createdAt = Number(r.created_at);
    const rowid = Number(r.rid);
    if (id === options.exclude) continue;
    const b = options.before;
    if (b && (createdAt > b.createdAt || (createdAt === b.createdAt && rowid >= b.rowid))) continue;
    const other = r.signature instanceof Uint8Array ? signatureFromBytes(r.signature) : undefined;
    if (!other) continue;
    const s = similarity(sig, other);
    if (!best || s > best.similarity || (s === best.similarity && (createdAt < best.createdAt || (createdAt === best.createdAt && rowid < best.rowid)))) {
      best = { id, similarity: s, createdAt, rowid };
    }
  }
  return best && { id: best.id, similarity: best.similarity };
}

/**
 * Stores a conversation's signature and its band buckets (inside the caller's transaction), for a
 * conversation that has none: buckets are only ever written with their signature, whose primary
 * key refuses a second one (buckets have no index by conversation, so none is searched for).
 */
export async function storeSignature(tx: AsyncTx, conversationId: string, templateId: number, sig: Signature): Promise<void> {
  await tx.run('INSERT INTO conversation_signatures (conversation_id, template_id, signature) VALUES (?, ?, ?)', [conversationId, templateId, signatureBytes(sig)]);
  const buckets = bandBuckets(sig);
  // One statement for all bands: a single journaled statement instead of BANDS.
  await tx.run(
    `INSERT INTO signature_buckets (template_id, band, bucket, conversation_id) VALUES ${buckets.map(() => '(?, ?, ?, ?)').join(', ')}`,
    buckets.flatMap((bucket, band) => [templateId, band, bucket, conversationId]),
  );
}

export interface BackfillOptions {
  /** Conversations per write transaction. */
  readonly batchSize?: number;
  /** Links a conversation to its most similar earlier one from this similarity (default 0.8). */
  readonly threshold?: number;
}

/**
 * Computes the signatures missing from conversations stored before migration 4 (of one template,
 * or all), oldest first, `batchSize` per transaction; signatures are computed outside the
 * transaction, stored inside it. Each is compared with the earlier conversations of its template
 * that have a signature, and at or above the threshold gets `near_duplicate_of` and `similarity`
 * (the finding), but its status is left alone: it may have been reviewed already. Returns how
 * many signatures it stored.
 */
export async function backfillSignatures(store: Store, templateId?: number, options: BackfillOptions = {}): Promise<number> {
  const batchSize = Math.max(1, options.batchSize ?? 500);
  const threshold = options.threshold ?? DEFAULT_NEAR_DUPLICATE_THRESHOLD;
  const only = templateId === undefined ? '' : 'AND c.template_id = ?';
  let stored = 0;
  for (;;) {
    const rows = await store.all(
      `SELECT c.id, c.template_id, c.created_at, c.rowid AS rid FROM conversations c LEFT JOIN conversation_signatures s ON s.conversation_id = c.id
        WHERE s.conversation_id IS NULL ${only} ORDER BY c.created_at, c.rowid LIMIT ?`,
      templateId === undefined ? [batchSize] : [templateId, batchSize],
    );
    if (rows.length === 0) return stored;
    const ids = rows.map((r) => String(r.id));
    const texts = new Map<string, { content: string }[]>(ids.map((id) => [id, []]));
    for (const t of await store.all(`SELECT conversation_id, content FROM turns WHERE conversation_id IN (${ids.map(() => '?').join(',')}) ORDER BY conversation_id, position`, ids)) {
      texts.get(String(t.conversation_id))!.push({ content: String(t.content) });
    }
    const pending = rows.map((r) => ({ id: String(r.id), templateId: Number(r.template_id), createdAt: Number(r.created_at), rowid: Number(r.rid), sig: signatureOf(texts.get(String(r.id))!) }));
    const added = await store.transaction(async (tx) => {
      let n = 0;
      for (const p of pending) {
        // Another process may have got there first.
        if (await tx.get('SELECT 1 AS x FROM conversation_signatures WHERE conversation_id = ?', [p.id])) continue;
        const nearest = await nearestConversation(tx, store.dialect, p.templateId, p.sig, { before: { createdAt: p.createdAt, rowid: p.rowid }, exclude: p.id });
        if (nearest && nearest.similarity >= threshold) {
          await tx.run('UPDATE conversations SET near_duplicate_of = ?, similarity = ? WHERE id = ? AND near_duplicate_of IS NULL', [nearest.id, nearest.similarity, p.id]);
        }
        await storeSignature(tx, p.id, p.templateId, p.sig);
        n++;
      }
      return n;
    });
    stored += added;
    // Nothing added: every row was done meanwhile by another process, and the next read moves on.
  }
}

/** How many conversations of a template (or of every template) still have no signature. */
export async function missingSignatures(db: AsyncReader, templateId?: number): Promise<number> {
  const rows = await db.all(
    `SELECT count(*) AS n FROM conversations c LEFT JOIN conversation_signatures s ON s.conversation_id = c.id WHERE s.conversation_id IS NULL ${templateId === undefined ? '' : 'AND c.template_id = ?'}`,
    templateId === undefined ? [] : [templateId],
  );
  return Number(rows[0]?.n ?? 0);
}

/**
 * Each template's diversity: 1 − the mean, over its conversations that have a signature, of each
 * one's nearest-neighbour similarity, where a conversation's nearest neighbour is sought among
 * the other conversations of the template it shares an LSH bucket with (every pair from about
 * 0.7 up, few below 0.4), and is 0 when it shares none. Null for a template with fewer than two
 * signed conversations. Rounded to 4 decimals.
 *
 * One grouped scan of the bucket index finds the buckets holding two or more conversations; only
 * their members' signatures are read.
 */
export async function diversityByTemplate(db: Database, templateId?: number): Promise<Map<number, number | null>> {
  const only = templateId === undefined ? '' : 'WHERE template_id = ?';
  const params = templateId === undefined ? [] : [templateId];
  const counts = new Map((await db.all(`SELECT template_id, count(*) AS n FROM conversation_signatures ${only} GROUP BY template_id`, params)).map((r) => [Number(r.template_id), Number(r.n)]));
  const groups = new Map<number, string[][]>();
  for (const r of await db.all(`SELECT template_id, ${db.dialect.joined('conversation_id', ' ')} AS members FROM signature_buckets ${only} GROUP BY template_id, band, bucket HAVING count(*) > 1`, params)) {
    const t = Number(r.template_id);
    let list = groups.get(t);
    if (!list) groups.set(t, (list = []));
    list.push(String(r.members).split(' '));
  }
  const result = new Map<number, number | null>();
  for (const [t, n] of counts) {
    if (n < 2) {
      result.set(t, null);
      continue;
    }
    const best = await nearestInGroups(db, groups.get(t) ?? []);
    let sum = 0;
    for (const s of best.values()) sum += s;
    result.set(t, Math.round((1 - sum / n) * 10_000) / 10_000);
  }
  return result;
}

/** Per conversation in the groups, its highest similarity to another member of a group it is in. */
async function nearestInGroups(db: AsyncReader, groups: readonly string[][]): Promise<Map<string, number>> {
  const best = new Map<string, number>();
  if (groups.length === 0) return best;
  const index = new Map<string, number>();
  for (const g of groups) for (const id of g) if (!index.has(id)) index.set(id, index.size);
  const ids = [...index.keys()];
  const sigs: (Signature | undefined)[] = new Array<Signature | undefined>(ids.length);
  for (let at = 0; at < ids.length; at += 500) {
    const chunk = ids.slice(at, at + 500);
    for (const r of await db.all(`SELECT conversation_id, signature FROM conversation_signatures WHERE conversation_id IN (${chunk.map(() => '?').join(',')})`, chunk)) {
      sigs[index.get(String(r.conversation_id))!] = r.signature instanceof Uint8Array ? signatureFromBytes(r.signature) : undefined;
    }
  }
  const done = new Set<number>();
  const n = ids.length;
  for (const g of groups) {
    const members = g.map((id) => index.get(id)!);
    for (let x = 0; x < members.length; x++) {
      for (let y = x + 1; y < members.length; y++) {
        const i = Math.min(members[x]!, members[y]!);
        const j = Math.max(members[x]!, members[y]!);
        if (i === j) continue;
        const key = i * n + j;
        if (done.has(key)) continue;
        done.add(key);
        const a = sigs[i];
        const b = sigs[j];
        if (!a || !b) continue;
        const s = similarity(a, b);
        if (s > (best.get(ids[i]!) ?? 0)) best.set(ids[i]!, s);
        if (s > (best.get(ids[j]!) ?? 0)) best.set(ids[j]!, s);
      }
    }
  }
  return best;
}
