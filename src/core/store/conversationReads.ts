/**
 * The conversation side of the generation repository, written once against the `Database`
 * handle: reads, and a review (team work: on the team store every member reviews the
 * conversations they can see). The workspace's repository extends this class.
 */
import type { Database } from './database';
import type { Clock, ConversationDetails, ConversationFilter, ConversationStatus, ConversationSummary, ReviewStatus, Turn } from './repositories';

export class ConversationReads {
  constructor(
    protected readonly db: Database,
    protected readonly clock: Clock,
  ) {}

  async conversation(id: string): Promise<{ id: string; status: ConversationStatus; turns: Turn[]; overall: number | null } | undefined> {
    const c = await this.db.get('SELECT c.id, c.status, q.overall FROM conversations c LEFT JOIN quality_scores q ON q.conversation_id = c.id WHERE c.id = ?', [id]);
    if (!c) return undefined;
    return { id: String(c.id), status: c.status as ConversationStatus, turns: await this.turnsOf(id), overall: c.overall === null ? null : Number(c.overall) };
  }

  /** A conversation with what the editor shows beside it: score, template, reason for its status. */
  async details(id: string): Promise<ConversationDetails | undefined> {
    const c = await this.db.get(
      `SELECT c.id, c.status, c.status_reason, c.parameters, c.created_at, c.near_duplicate_of, c.similarity, t.path, t.name, t.tier, q.overall, q.breakdown, q.recommendations
         FROM conversations c JOIN ${this.db.dialect.templates} t ON t.id = c.template_id LEFT JOIN quality_scores q ON q.conversation_id = c.id
        WHERE c.id = ?`,
      [id],
    );
    if (!c) return undefined;
    return {
      ...conversationHead(c),
      tier: String(c.tier),
      nearDuplicateOf: c.near_duplicate_of === null || c.near_duplicate_of === undefined ? null : String(c.near_duplicate_of),
      similarity: c.similarity === null || c.similarity === undefined ? null : Number(c.similarity),
      turns: await this.turnsOf(id),
      quality:
        c.overall === null
          ? null
          : { overall: Number(c.overall), breakdown: parseJson(c.breakdown, {}), recommendations: parseJson(c.recommendations, []) as string[] },
    };
  }

  /** Conversations for review lists, filtered and sorted in SQL (newest or lowest-scoring first). */
  async list(filter: ConversationFilter = {}): Promise<ConversationSummary[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (filter.templatePath !== undefined) {
      where.push('t.path = ?');
      params.push(filter.templatePath);
    }
    if (filter.status !== undefined) {
      where.push('c.status = ?');
      params.push(filter.status);
    }
    if (filter.minQuality !== undefined) {
      where.push('q.overall >= ?');
      params.push(filter.minQuality);
    }
    if (filter.maxQuality !== undefined) {
      where.push('q.overall <= ?');
      params.push(filter.maxQuality);
    }
    const order = filter.sort === 'score' ? 'q.overall IS NULL, q.overall ASC, c.created_at DESC' : 'c.created_at DESC, c.id';
    params.push(filter.limit ?? 500);
    const rows = await this.db.all(
      `SELECT c.id, c.status, c.status_reason, c.parameters, c.created_at, t.path, t.name, q.overall, q.recommendations
         FROM conversations c JOIN ${this.db.dialect.templates} t ON t.id = c.template_id LEFT JOIN quality_scores q ON q.conversation_id = c.id
        ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY ${order} LIMIT ?`,
      params,
    );
    return rows.map((r) => ({
      ...conversationHead(r),
      overall: r.overall === null ? null : Number(r.overall),
      recommendations: r.recommendations === null ? [] : (parseJson(r.recommendations, []) as string[]),
    }));
  }

  private async turnsOf(conversationId: string): Promise<Turn[]> {
    return (await this.db.all('SELECT role, content FROM turns WHERE conversation_id = ? ORDER BY position', [conversationId])).map((t) => ({ role: t.role as Turn['role'], content: String(t.content) }));
  }

  /** Conversation ids that start with `prefix` (at most `limit`), so people can type short ids. */
  async idsStartingWith(prefix: string, limit = 2): Promise<string[]> {
    return (await this.db.all('SELECT id FROM conversations WHERE substr(id, 1, ?) = ? ORDER BY id LIMIT ?', [prefix.length, prefix, limit])).map((r) => String(r.id));
  }

  /**
   * Records a review and sets the conversation's status, in one transaction; false when the id is
   * unknown (or, on the team store, its template hidden from the reader). The review is inserted
   * from the conversation's own row, so the check and the write are one statement under the
   * transaction: no separate read that another process's write could overtake. The casts type the
   * selected parameters for PostgreSQL, which does not take them from the target columns.
   */
  async review(conversationId: string, status: ReviewStatus, note?: string): Promise<boolean> {
    const now = this.clock.now();
    const [inserted] = await this.db.runAll([
      {
        sql: 'INSERT INTO reviews (conversation_id, status, note, created_at) SELECT id, CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS BIGINT) FROM conversations WHERE id = ?',
        params: [status, note ?? null, now, conversationId],
      },
      { sql: 'UPDATE conversations SET status = ?, status_reason = ? WHERE id = ?', params: [status, note ?? null, conversationId] },
    ]);
    return inserted!.changes > 0;
  }
}

/** What every view of a conversation row shows: the columns `details` and `list` both select. */
function conversationHead(r: Record<string, unknown>) {
  return {
    id: String(r.id),
    status: r.status as ConversationStatus,
    statusReason: r.status_reason === null ? null : String(r.status_reason),
    parameters: parseJson(r.parameters, {}) as Record<string, unknown>,
    createdAt: Number(r.created_at),
    templatePath: String(r.path),
    templateName: String(r.name),
  };
}

/** A stored JSON column, or `fallback` when it does not parse (a row written by a newer or broken release). */
export function parseJson(value: unknown, fallback: unknown): unknown {
  if (typeof value !== 'string') return fallback;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return fallback;
  }
}
