/**
 * Conversation rows as the dataset functions see them: what each stored conversation is (template,
 * version, values, status, score, near-duplicate link, model), read in a few scans of the tables.
 */
import type { Database } from '../store/database';
import type { ConversationStatus } from '../store/repositories';
import type { Row, SqlParam } from '../store/types';

export interface ConversationRow {
  readonly id: string;
  readonly templateId: number;
  /** Workspace-relative path of the template, with `/`. */
  readonly template: string;
  readonly templateName: string;
  readonly versionId: number;
  /** The version's ordinal within its template: 1 for the first recorded, then 2, 3… (by time recorded). */
  readonly version: number;
  readonly batchId: string | null;
  readonly values: Record<string, unknown>;
  readonly status: ConversationStatus;
  readonly quality: number | null;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  readonly nearDuplicateOf: string | null;
  readonly similarity: number | null;
}

export interface RowFilter {
  /** A status, or undefined for every status. */
  readonly status?: ConversationStatus;
  /** Workspace-relative template path. */
  readonly template?: string;
  readonly minQuality?: number;
}

/**
 * Conversations matching the filter, oldest first (ties by id, byte by byte on both backends, so
 * the workspace and the team database list them in one order). On the team database, what the
 * member may read: conversations of active templates and of their own (row-level security).
 */
export async function conversationRows(db: Database, filter: RowFilter = {}): Promise<ConversationRow[]> {
  const where: string[] = [];
  const params: SqlParam[] = [];
  if (filter.status !== undefined) {
    where.push('c.status = ?');
    params.push(filter.status);
  }
  if (filter.template !== undefined) {
    where.push('t.path = ?');
    params.push(normalise(filter.template));
  }
  if (filter.minQuality !== undefined) {
    where.push('c.quality >= ?');
    params.push(filter.minQuality);
  }
  const rows = await db.all(
    `WITH v AS (SELECT id, row_number() OVER (PARTITION BY template_id ORDER BY created_at, id) AS ordinal FROM template_versions)
     SELECT c.id, c.template_id, t.path, t.name, c.version_id, v.ordinal, c.batch_id, c.parameters, c.status, c.quality, c.created_at,
            c.near_duplicate_of, c.similarity
       FROM conversations c JOIN ${db.dialect.templates} t ON t.id = c.template_id JOIN v ON v.id = c.version_id
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY c.created_at, ${db.dialect.bytewise('c.id')}`,
    params,
  );
  return rows.map(toRow);
}

function toRow(r: Row): ConversationRow {
  return {
    id: String(r.id),
    templateId: Number(r.template_id),
    template: String(r.path),
    templateName: String(r.name),
    versionId: Number(r.version_id),
    version: Number(r.ordinal),
    batchId: r.batch_id === null ? null : String(r.batch_id),
    values: parseValues(r.parameters),
    status: r.status as ConversationStatus,
    quality: r.quality === null ? null : Number(r.quality),
    createdAt: Number(r.created_at),
    nearDuplicateOf: r.near_duplicate_of === null ? null : String(r.near_duplicate_of),
    similarity: r.similarity === null ? null : Number(r.similarity),
  };
}

/**
 * Every near-duplicate link in the database (conversation → the earlier one it resembles): on the
 * team database, the links of conversations the member may read (a link may still name one they
 * may not; groups are computed from the ids alone).
 */
export async function nearDuplicateLinks(db: Database): Promise<{ id: string; nearDuplicateOf: string }[]> {
  return (await db.all('SELECT id, near_duplicate_of FROM conversations WHERE near_duplicate_of IS NOT NULL')).map((r) => ({ id: String(r.id), nearDuplicateOf: String(r.near_duplicate_of) }));
}

/**
 * The model that wrote each conversation: its successful generation's, else its batch's. On the
 * team database a member reads only their own generation logs, so another member's conversation
 * takes its batch's model (the same unless a batch's model changed on resume).
 */
export async function modelsOf(db: Database): Promise<Map<string, string>> {
  const models = new Map<string, string>();
  for (const r of await db.all("SELECT c.id, b.model FROM conversations c JOIN batches b ON b.id = c.batch_id")) models.set(String(r.id), String(r.model));
  for (const r of await db.all("SELECT conversation_id, model FROM generation_logs WHERE conversation_id IS NOT NULL AND status = 'succeeded' ORDER BY id DESC")) {
    models.set(String(r.conversation_id), String(r.model));
  }
  return models;
}

/** How many conversations' turns one statement reads (well under SQLite's 999 parameters of old builds). */
const TURNS_CHUNK = 500;

/**
 * The turns of many conversations, in order, read a chunk of conversations per statement: one
 * round trip per chunk rather than per conversation, which counts when the team database is
 * across a network. A conversation without turns maps to [].
 */
export async function turnsOfAll(db: Database, conversationIds: readonly string[]): Promise<Map<string, { role: 'user' | 'assistant'; content: string }[]>> {
  const turns = new Map(conversationIds.map((id) => [id, [] as { role: 'user' | 'assistant'; content: string }[]]));
  for (let i = 0; i < conversationIds.length; i += TURNS_CHUNK) {
    const ids = conversationIds.slice(i, i + TURNS_CHUNK);
    const rows = await db.all(`SELECT conversation_id, role, content FROM turns WHERE conversation_id IN (${ids.map(() => '?').join(', ')}) ORDER BY conversation_id, position`, ids);
    for (const t of rows) turns.get(String(t.conversation_id))?.push({ role: t.role as 'user' | 'assistant', content: String(t.content) });
  }
  return turns;
}

export async function turnsOf(db: Database, conversationId: string): Promise<{ role: 'user' | 'assistant'; content: string }[]> {
  return (await db.all('SELECT role, content FROM turns WHERE conversation_id = ? ORDER BY position', [conversationId])).map((t) => ({ role: t.role as 'user' | 'assistant', content: String(t.content) }));
}

export function normalise(path: string): string {
  return path.replace(/\\/g, '/').replace(/^\.\//, '');
}

function parseValues(value: unknown): Record<string, unknown> {
  if (typeof value !== 'string') return {};
  try {
    const parsed = JSON.parse(value) as unknown;
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
