/**
 * `db push`: copies a workspace database into the team database, in the pushing member's name.
 *
 * Idempotent and resumable: every row has a key that is the same on every push, and is inserted
 * with ON CONFLICT DO NOTHING, so pushing twice adds nothing and a push cut off half-way (its
 * finished chunks committed) goes on where it stopped when run again.
 * - templates: (created_by, path), the member's own; versions: (template, content hash);
 * - batches and conversations: their UUIDs; turns, scores, signatures: their conversation;
 * - generation logs, judge calls and reviews, whose workspace id is a local integer: `push_key`, a hash of the
 *   local id with the row's content (conversation and batch UUIDs, times, ...). Another workspace's
 *   row 7 has other content and so another key; a copy of this workspace pushed from elsewhere
 *   has the same keys, and adds nothing either.
 * - Message Batches and their result lines: their own keys (the row's id, ours and random; a
 *   result's message batch and custom id). They come along so that a batch sent through Message
 *   Batches can be resumed on the team store: its conversations' slots are known from the results.
 *   A workspace with Message Batches not yet collected is refused (`PushRefusedError`) before
 *   anything is written: pushed then, they could be collected both in the workspace and on the
 *   team store, each storing the same answers as different conversations.
 */
import { createHash } from 'node:crypto';
import type { Store } from '../store';
import type { Row, SqlParam } from '../types';
import { inTransaction, type Queryable } from './connection';

export interface PushCounts {
  templates: number;
  versions: number;
  batches: number;
  conversations: number;
  turns: number;
  scores: number;
  generationLogs: number;
  judgeCalls: number;
  reviews: number;
  messageBatches: number;
  messageBatchResults: number;
}

/** A push that would copy something wrongly: nothing was written. */
export class PushRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PushRefusedError';
  }
}

export interface PushOptions {
  /** Rows per transaction: what a cut-off push may have to send again. */
  readonly chunkSize?: number;
}

/** Reads the workspace database; writes the team database through `client`. Returns what was added. */
export async function pushWorkspace(store: Store, client: Queryable, options: PushOptions = {}): Promise<PushCounts> {
  const chunkSize = options.chunkSize ?? 500;
  const added: PushCounts = { templates: 0, versions: 0, batches: 0, conversations: 0, turns: 0, scores: 0, generationLogs: 0, judgeCalls: 0, reviews: 0, messageBatches: 0, messageBatchResults: 0 };
  const live = await store.get("SELECT batch_id, count(*) AS n FROM message_batches WHERE state IN ('submitting', 'submitted') GROUP BY batch_id ORDER BY min(created_at) LIMIT 1");
  if (live) {
    throw new PushRefusedError(
      `batch ${String(live.batch_id)} has ${Number(live.n) === 1 ? 'a Message Batch' : `${Number(live.n)} Message Batches`} not yet collected: collect ${Number(live.n) === 1 ? 'it' : 'them'} first with promptloom resume --batch ${String(live.batch_id)}, then push (pushed now, ${Number(live.n) === 1 ? 'it' : 'they'} could be collected both here and on the team store, and stored twice)`,
    );
  }

  // Templates and versions first, in one transaction: everything else refers to them by id.
  const { templateIds, versionIds } = await inTransaction(client, async () => {
    const templateIds = new Map<number, number>();
    for (const t of await store.all('SELECT * FROM templates ORDER BY id')) {
      const inserted = await client.query<{ id: string }>(
        'INSERT INTO prompt_templates (path, name, tier, is_active, deleted_at, created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (created_by, path) DO NOTHING RETURNING id',
        [t.path, t.name, t.tier, Number(t.active) === 1, t.deleted_at, t.created_at],
      );
      if (inserted.rows[0]) added.templates++;
      const id = inserted.rows[0]?.id ?? (await client.query<{ id: string }>('SELECT id FROM prompt_templates WHERE created_by = current_user AND path = $1', [t.path])).rows[0]!.id;
      templateIds.set(Number(t.id), Number(id));
    }
    const versionIds = new Map<number, number>();
    // In the order they were made, so the team's version numbers follow the history.
    for (const v of await store.all('SELECT * FROM template_versions ORDER BY created_at, id')) {
      const templateId = templateIds.get(Number(v.template_id))!;
      const inserted = await client.query<{ id: string }>(
        'INSERT INTO template_versions (template_id, content_hash, content, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (template_id, content_hash) DO NOTHING RETURNING id',
        [templateId, v.content_hash, v.content, v.created_at],
      );
      if (inserted.rows[0]) added.versions++;
      const id = inserted.rows[0]?.id ?? (await client.query<{ id: string }>('SELECT id FROM template_versions WHERE template_id = $1 AND content_hash = $2', [templateId, v.content_hash])).rows[0]!.id;
      versionIds.set(Number(v.id), Number(id));
    }
    return { templateIds, versionIds };
  });
  const template = (local: SqlParam | undefined) => templateIds.get(Number(local))!;
  const version = (local: SqlParam | undefined) => versionIds.get(Number(local))!;

  for (const rows of chunks(await store.all('SELECT * FROM batches ORDER BY created_at, id'), chunkSize)) {
    added.batches += await insertRows(
      client,
      'batches (id, template_id, version_id, requested, parameters, model, settings, status, plan, created_at, updated_at)',
      rows.map((b) => [b.id, template(b.template_id), version(b.version_id), b.requested, b.parameters, b.model, b.settings, b.status, b.plan ?? null, b.created_at, b.updated_at]),
      // A batch pushed before has moved on since (completed, cancelled): the newer status wins.
      'ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, updated_at = EXCLUDED.updated_at WHERE EXCLUDED.updated_at > batches.updated_at',
    );
  }

  // After the batches they name. Each member's own on the team store (row-level security).
  for (const rows of chunks(await store.all('SELECT * FROM message_batches ORDER BY created_at, id'), chunkSize)) {
    added.messageBatches += await insertRows(
      client,
      'message_batches (id, batch_id, anthropic_id, state, request_count, custom_ids, attempt, worst_case_usd, created_at, submitted_at, ended_at, purpose, confirmed)',
      rows.map((m) => [m.id, m.batch_id, m.anthropic_id, m.state, m.request_count, m.custom_ids, m.attempt, m.worst_case_usd, m.created_at, m.submitted_at, m.ended_at, m.purpose ?? 'generation', m.confirmed ?? 1]),
      'ON CONFLICT DO NOTHING',
    );
  }
  for (const rows of chunks(await store.all('SELECT * FROM message_batch_results ORDER BY message_batch_id, custom_id'), chunkSize)) {
    added.messageBatchResults += await insertRows(
      client,
      'message_batch_results (message_batch_id, custom_id, result, error_type, conversation_id, created_at)',
      rows.map((r) => [r.message_batch_id, r.custom_id, r.result, r.error_type, r.conversation_id, r.created_at]),
      'ON CONFLICT DO NOTHING',
    );
  }

  // A conversation and its parts in the same transaction: one already there is there whole.
  for (const rows of chunks(await store.all('SELECT * FROM conversations ORDER BY created_at, id'), chunkSize)) {
    await inTransaction(client, async () => {
      const result = await client.query<{ id: string; inserted: boolean }>(
        // A conversation reviewed here after it was pushed takes its status along, but only when
        // this review is newer than any the team database has (a teammate's later verdict stands).
        `${insertSql('conversations (id, template_id, version_id, batch_id, parameters, system_prompt, status, status_reason, near_duplicate_of, similarity, created_at, reviewed_at)', rows.length, 12)}
         ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, status_reason = EXCLUDED.status_reason
          WHERE EXCLUDED.reviewed_at IS NOT NULL AND EXCLUDED.reviewed_at > coalesce(conversations.reviewed_at, -1)
         RETURNING id, (xmax = 0) AS inserted`,
        rows.flatMap((c) => [c.id, template(c.template_id), version(c.version_id), c.batch_id, c.parameters, c.system_prompt, c.status, c.status_reason, c.near_duplicate_of ?? null, c.similarity ?? null, c.created_at, c.reviewed_at ?? null]),
      );
      const fresh = result.rows.filter((r) => r.inserted).map((r) => r.id);
      added.conversations += fresh.length;
      for (const ids of chunks(fresh, 100)) {
        const marks = ids.map(() => '?').join(', ');
        const turns = await store.all(`SELECT * FROM turns WHERE conversation_id IN (${marks}) ORDER BY conversation_id, position`, ids);
        for (const part of chunks(turns, chunkSize)) {
          added.turns += await insertRows(client, 'turns (conversation_id, position, role, content)', part.map((t) => [t.conversation_id, t.position, t.role, t.content]), 'ON CONFLICT DO NOTHING');
        }
        const scores = await store.all(`SELECT * FROM quality_scores WHERE conversation_id IN (${marks})`, ids);
        added.scores += await insertRows(client, 'quality_scores (conversation_id, overall, breakdown, recommendations, created_at)', scores.map((q) => [q.conversation_id, q.overall, q.breakdown, q.recommendations, q.created_at]), 'ON CONFLICT DO NOTHING');
        const signatures = await store.all(`SELECT * FROM conversation_signatures WHERE conversation_id IN (${marks})`, ids);
        await insertRows(client, 'conversation_signatures (conversation_id, template_id, signature)', signatures.map((s) => [s.conversation_id, template(s.template_id), bytes(s.signature)]), 'ON CONFLICT DO NOTHING');
        const buckets = await store.all(`SELECT * FROM signature_buckets WHERE conversation_id IN (${marks})`, ids);
        for (const part of chunks(buckets, chunkSize)) {
          await insertRows(client, 'signature_buckets (template_id, band, bucket, conversation_id)', part.map((b) => [template(b.template_id), b.band, b.bucket, b.conversation_id]), '');
        }
      }
    });
  }

  for (const rows of chunks(await store.all('SELECT * FROM generation_logs ORDER BY id'), chunkSize)) {
    added.generationLogs += await insertRows(
      client,
      'generation_logs (template_id, version_id, batch_id, conversation_id, parameters, model, attempt, status, error_type, input_tokens, output_tokens, cost_usd, duration_ms, created_at, cache_creation_input_tokens, cache_read_input_tokens, saved_usd, mode, push_key)',
      rows.map((g) => [
        template(g.template_id),
        version(g.version_id),
        g.batch_id,
        g.conversation_id,
        g.parameters,
        g.model,
        g.attempt,
        g.status,
        g.error_type,
        g.input_tokens,
        g.output_tokens,
        g.cost_usd,
        g.duration_ms,
        g.created_at,
        g.cache_creation_input_tokens ?? 0,
        g.cache_read_input_tokens ?? 0,
        g.saved_usd ?? 0,
        g.mode ?? 'direct',
        pushKey('generation_logs', g),
      ]),
      'ON CONFLICT (push_key) DO NOTHING',
    );
  }

  // What grading cost: the author's alone, like generation logs (budgets add both).
  for (const rows of chunks(await store.all('SELECT * FROM judge_calls ORDER BY id'), chunkSize)) {
    added.judgeCalls += await insertRows(
      client,
      'judge_calls (conversation_id, batch_id, model, attempt, status, error_type, input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens, cost_usd, duration_ms, created_at, push_key)',
      rows.map((j) => [
        j.conversation_id,
        j.batch_id,
        j.model,
        j.attempt,
        j.status,
        j.error_type,
        j.input_tokens,
        j.output_tokens,
        j.cache_creation_input_tokens,
        j.cache_read_input_tokens,
        j.cost_usd,
        j.duration_ms,
        j.created_at,
        pushKey('judge_calls', j),
      ]),
      'ON CONFLICT (push_key) DO NOTHING',
    );
  }

  for (const rows of chunks(await store.all('SELECT * FROM reviews ORDER BY id'), chunkSize)) {
    added.reviews += await insertRows(
      client,
      'reviews (conversation_id, status, note, created_at, push_key)',
      rows.map((r) => [r.conversation_id, r.status, r.note, r.created_at, pushKey('reviews', r)]),
      'ON CONFLICT (push_key) DO NOTHING',
    );
  }
  return added;
}

/**
 * The columns a push key is made of: those the row was born with, which never change. Not the
 * whole row: a later workspace migration adding a column (6: cache tokens) or relabelling a value
 * (8: failed → cancelled) would give every row pushed before it a new key, and the next push
 * would copy them all again.
 */
const KEY_COLUMNS = {
  generation_logs: ['id', 'template_id', 'version_id', 'batch_id', 'conversation_id', 'parameters', 'model', 'attempt', 'error_type', 'input_tokens', 'output_tokens', 'cost_usd', 'duration_ms', 'created_at'],
  judge_calls: ['id', 'conversation_id', 'batch_id', 'model', 'attempt', 'status', 'error_type', 'input_tokens', 'output_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens', 'cost_usd', 'duration_ms', 'created_at'],
  reviews: ['id', 'conversation_id', 'status', 'note', 'created_at'],
} as const;

/** The key of a workspace row that has only a local integer id: the same on every push. */
export function pushKey(table: keyof typeof KEY_COLUMNS, row: Row): string {
  const content = [...KEY_COLUMNS[table]].sort().map((k) => [k, row[k] instanceof Uint8Array ? Buffer.from(row[k]).toString('base64') : (row[k] ?? null)]);
  return createHash('sha256').update(JSON.stringify([table, content])).digest('hex');
}

/** One multi-row INSERT (one round trip); returns how many rows were added. */
/** Inserts rows; the count is of rows added (not of rows an ON CONFLICT … DO UPDATE brought up to date). */
async function insertRows(client: Queryable, target: string, rows: readonly (readonly unknown[])[], conflict: string): Promise<number> {
  if (rows.length === 0) return 0;
  const result = await client.query<{ inserted: boolean }>(`${insertSql(target, rows.length, rows[0]!.length)} ${conflict} RETURNING (xmax = 0) AS inserted`, rows.flat());
  return result.rows.filter((r) => r.inserted).length;
}

function insertSql(target: string, rows: number, columns: number): string {
  const values = Array.from({ length: rows }, (_, r) => `(${Array.from({ length: columns }, (_, c) => `$${r * columns + c + 1}`).join(', ')})`);
  return `INSERT INTO ${target} VALUES ${values.join(', ')}`;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function bytes(value: SqlParam | undefined): Buffer | null {
  return value instanceof Uint8Array ? Buffer.from(value) : null;
}
