/**
 * Typed access to a store, one repository per aggregate, written once against the `Database`
 * handle (./database.ts): the workspace database (`Store`) and the team database (`TeamDatabase`)
 * run the same code, and what their SQL spells differently comes from the handle's dialect. Every
 * statement is parameterised; times and ids come from the injected clock and id source, so tests
 * control them and the journal replays exactly.
 *
 * The classes were the workspace's alone (`Workspace…Repository`): those names stay, for callers
 * that build them over a `Store`.
 */
import { createHash, randomUUID } from 'node:crypto';
import { appendReason, nearDuplicateReason, nearestConversation, storeSignature } from '../dataset/nearDuplicates';
import { signatureOf } from '../dataset/minhash';
import type { BatchRepository, GenerationRepository, TemplateRepository } from './interfaces';
import type { AsyncTx, Database } from './database';
import type { Dialect } from './dialect';
import { ConversationReads, parseJson } from './conversationReads';
import { normalisePath, TemplateReads, toTemplate } from './templateReads';
import type { Row } from './types';

export { normalisePath } from './templateReads';

export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };

export type ConversationStatus = 'pending' | 'approved' | 'rejected' | 'needs_revision';
export type ReviewStatus = Exclude<ConversationStatus, 'pending'>;
export type BatchStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';

export interface TemplateRow {
  readonly id: number;
  readonly path: string;
  readonly name: string;
  readonly tier: string;
  readonly active: boolean;
  readonly deletedAt: number | null;
  readonly createdAt: number;
}

export interface VersionRow {
  readonly id: number;
  readonly templateId: number;
  readonly contentHash: string;
  readonly content: string;
  readonly createdAt: number;
}

export interface VersionSummary extends Omit<VersionRow, 'content'> {
  readonly generations: number;
  readonly conversations: number;
  readonly avgQuality: number | null;
}

export function contentHash(content: string): string {
  return createHash('sha256').update(content, 'utf8').digest('hex');
}

/** A store's templates: the shared reads (TemplateReads), and writes in the handle's transactions. */
export class SqlTemplateRepository extends TemplateReads implements TemplateRepository {
  constructor(
    db: Database,
    private readonly clock: Clock = systemClock,
  ) {
    super(db);
  }

  /**
   * The writer's own template at `path`: on the team store the member's (a teammate's at the same
   * path is theirs to mark, and row-level security would leave it untouched); in a workspace the one.
   */
  async ownByPath(path: string): Promise<TemplateRow | undefined> {
    const d = this.db.dialect;
    const row = await this.db.get(`SELECT * FROM ${d.templates} t WHERE path = ?${d.andOwn('t')}`, [normalisePath(path)]);
    return row && toTemplate(row);
  }

  /** The template at `path` (workspace-relative), created or updated with its current name and tier. */
  ensure(path: string, info: { name: string; tier: string }): Promise<TemplateRow> {
    const now = this.clock.now();
    return onceMoreAfterARace(() => this.db.transaction((tx) => ensureTemplate(tx, this.db.dialect, path, info, now)));
  }

  /** Records `content` as a version of the template unless that exact content is recorded already. */
  recordVersion(templateId: number, content: string): Promise<VersionRow> {
    const now = this.clock.now();
    return onceMoreAfterARace(() => this.db.transaction((tx) => recordVersion(tx, templateId, content, now)));
  }

  async setActive(templateId: number, active: boolean): Promise<void> {
    const d = this.db.dialect;
    // 1/0 as a parameter: SQLite stores it, PostgreSQL reads '1'/'0' as a boolean.
    await this.db.run(`UPDATE ${d.templateTable} SET ${d.activeColumn} = ? WHERE id = ?`, [active ? 1 : 0, templateId]);
  }

  /** The file is gone: keep the template and its history, marked deleted. */
  async markDeleted(templateId: number): Promise<void> {
    const d = this.db.dialect;
    await this.db.run(`UPDATE ${d.templateTable} SET deleted_at = ?, ${d.activeColumn} = ? WHERE id = ?`, [this.clock.now(), 0, templateId]);
  }
}

/**
 * Runs a look-up-then-insert once more when its INSERT met a row another writer committed
 * meanwhile (PostgreSQL's unique_violation, 23505): the second run finds that row. Only the team
 * store races so (two terminals of one member starting at once); the workspace's writes are
 * serialised under its lock, and its errors have no such code.
 */
async function onceMoreAfterARace<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if ((error as { code?: unknown } | undefined)?.code !== '23505') throw error;
    return write();
  }
}

/** The workspace's name for the template repository (it serves either backend). */
export { SqlTemplateRepository as WorkspaceTemplateRepository };

/**
 * The writer's own template at `path`, created or renamed, inside `tx`. On the team store a path
 * is unique per member: the lookup and the update are of the member's own row (`andOwn`).
 */
export async function ensureTemplate(tx: AsyncTx, dialect: Dialect, path: string, info: { name: string; tier: string }, now: number): Promise<TemplateRow> {
  const normal = normalisePath(path);
  const table = dialect.templateTable;
  const existing = await tx.get(`SELECT * FROM ${table} WHERE path = ?${dialect.andOwn()}`, [normal]);
  const reread = async (id: number) => toTemplate((await tx.get(`SELECT * FROM ${dialect.templates} t WHERE id = ?`, [id]))!);
  if (existing) {
    if (existing.name !== info.name || existing.tier !== info.tier || existing.deleted_at !== null) {
      await tx.run(`UPDATE ${table} SET name = ?, tier = ?, deleted_at = NULL WHERE id = ?`, [info.name, info.tier, Number(existing.id)]);
    }
    return reread(Number(existing.id));
  }
  const id = await tx.insert(`INSERT INTO ${table} (path, name, tier, ${dialect.activeColumn}, created_at) VALUES (?, ?, ?, ${dialect.trueLiteral}, ?)`, [normal, info.name, info.tier, now]);
  return reread(id);
}

/** `content` as a version of the template inside `tx`, unless recorded already (then that one). */
export async function recordVersion(tx: AsyncTx, templateId: number, content: string, now: number): Promise<VersionRow> {
  const hash = contentHash(content);
  const existing = await tx.get('SELECT id, created_at FROM template_versions WHERE template_id = ? AND content_hash = ?', [templateId, hash]);
  if (existing) return { id: Number(existing.id), templateId, contentHash: hash, content, createdAt: Number(existing.created_at) };
  // The team's `version` number is set by its trigger; the workspace has no such column.
  const id = await tx.insert('INSERT INTO template_versions (template_id, content_hash, content, created_at) VALUES (?, ?, ?, ?)', [templateId, hash, content, now]);
  return { id, templateId, contentHash: hash, content, createdAt: now };
}

// ---- generations: one attempt's log, and when it succeeded, its conversation ---------------------

export interface Turn {
  readonly role: 'user' | 'assistant';
  readonly content: string;
}

export interface QualityRecord {
  readonly overall: number;
  readonly breakdown: unknown;
  readonly recommendations: readonly string[];
}

export interface GenerationRecord {
  readonly templateId: number;
  readonly versionId: number;
  readonly batchId?: string;
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly model: string;
  readonly attempt: number;
  /** `cancelled`: the request was cut off by a cancel (left for a resume; not a failure). */
  readonly status: 'succeeded' | 'failed' | 'cancelled';
  readonly errorType?: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly costUsd: number;
  readonly durationMs: number;
  /** Prompt-cache tokens written and read, and what caching saved (see promptCache.ts). */
  readonly cacheCreationInputTokens?: number;
  readonly cacheReadInputTokens?: number;
  readonly savedUsd?: number;
  /**
   * The conversation's id, chosen before the first try to store it: storing the same record again
   * (a retried write, a side file imported twice) then adds nothing.
   */
  readonly conversationId?: string;
  /** For a success: the conversation, its system prompt, and its score when already computed. */
  readonly conversation?: {
    readonly systemPrompt?: string;
    readonly turns: readonly Turn[];
    readonly quality?: QualityRecord;
    readonly status?: ConversationStatus;
    readonly statusReason?: string;
  };
  /**
   * Compare the conversation with the earlier ones of its template (docs/datasets.md): at or above
   * `threshold` it is marked a near-duplicate and flagged for revision. Its signature is stored
   * either way.
   */
  readonly nearDuplicates?: { readonly threshold: number };
  /** How it was generated: directly (the default) or in a Message Batch, at batch prices. */
  readonly mode?: 'direct' | 'batch';
  /**
   * The Message Batch result this record stores: taken in once. Recorded in the same transaction,
   * so a result read twice (a crash while collecting) stores nothing the second time.
   */
  readonly batchResult?: { readonly messageBatchId: string; readonly customId: string; readonly result: 'succeeded' | 'errored' | 'canceled' | 'expired' };
  /**
   * The team batch slot this conversation fills (a resume's claimed work, `teamClaims.ts`): marked
   * done in the same transaction, so a slot is filled exactly when its conversation is stored.
   */
  readonly slot?: { readonly batchId: string; readonly slot: number };
}

/** What `record` stored: the log row, the conversation, and the near-duplicate it found, if any. */
export interface RecordOutcome {
  readonly logId: number;
  readonly conversationId?: string;
  readonly nearDuplicateOf?: { readonly id: string; readonly similarity: number };
  /** True when this Message Batch result had been stored before (nothing was written). */
  readonly alreadyStored?: boolean;
}

/** A store's generations: records written in the handle's transactions, and the shared conversation reads and review (ConversationReads). */
export class SqlGenerationRepository extends ConversationReads implements GenerationRepository {
  constructor(
    db: Database,
    clock: Clock = systemClock,
    private readonly newId: () => string = randomUUID,
  ) {
    super(db, clock);
  }

  /**
   * Stores an attempt in one durable transaction: the log row and, for a success, the
   * conversation, its turns, its score, its MinHash signature and LSH buckets, and (when asked)
   * the near-duplicate finding. Returns the conversation id, if any.
   */
  record(g: GenerationRecord): Promise<RecordOutcome> {
    const write = this.recorder(g);
    return this.db.transaction((tx) => write(tx));
  }

  /**
   * Stores several attempts in one durable transaction (one fsync for all: Message Batch results
   * arrive by the thousand), each exactly as `record` would, in order. All or none.
   */
  recordMany(records: readonly GenerationRecord[]): Promise<RecordOutcome[]> {
    const writes = records.map((g) => this.recorder(g));
    return this.db.transaction(async (tx) => {
      const outcomes: RecordOutcome[] = [];
      for (const write of writes) outcomes.push(await write(tx));
      return outcomes;
    });
  }

  /**
   * The transaction body of one record; what needs no transaction (ids, the signature) is done
   * now. The body only looks up and writes, so running it again (PostgreSQL retries a
   * serialization failure) gives the same rows.
   */
  private recorder(record: GenerationRecord): (tx: AsyncTx) => Promise<RecordOutcome> {
    const now = this.clock.now();
    const dialect = this.db.dialect;
    // What the backend cannot store (PostgreSQL: NUL) taken out of the answer before anything is
    // made of it (turns, the score's findings, the log's JSON), so the paid answer is kept.
    const g = dialect.storable(record);
    const conversationId = g.conversation ? (g.conversationId ?? this.newId()) : undefined;
    // Computed before taking the lock: the transaction only looks up and writes.
    const signature = g.conversation ? signatureOf(g.conversation.turns) : undefined;
    return async (tx): Promise<RecordOutcome> => {
      if (g.batchResult) {
        // A Message Batch result is taken in once. The key (message batch, custom id) decides, not
        // the look-up: two collectors of one Message Batch at once (two processes on the team
        // store) both find nothing, and the second's INSERT waits for the first's transaction;
        // once that commits, it inserts nothing (ON CONFLICT DO NOTHING), and this record stores
        // nothing else either.
        const taken = () => tx.get('SELECT conversation_id FROM message_batch_results WHERE message_batch_id = ? AND custom_id = ?', [g.batchResult!.messageBatchId, g.batchResult!.customId]);
        const already = (row: Row) => ({ logId: 0, ...(row.conversation_id !== null ? { conversationId: String(row.conversation_id) } : {}), alreadyStored: true });
        const before = await taken();
        if (before) return already(before);
        const inserted = await tx.run('INSERT INTO message_batch_results (message_batch_id, custom_id, result, error_type, conversation_id, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING', [
          g.batchResult.messageBatchId,
          g.batchResult.customId,
          g.batchResult.result,
          g.errorType ?? null,
          conversationId ?? null,
          now,
        ]);
        if (inserted.changes === 0) {
          const after = await taken();
          // The row that won is one this reader cannot see (row-level security): stored all the same.
          return after ? already(after) : { logId: 0, alreadyStored: true };
        }
      }
      if (conversationId && g.conversationId) {
        const stored = await tx.get('SELECT id FROM generation_logs WHERE conversation_id = ? LIMIT 1', [conversationId]);
        if (stored) return { logId: Number(stored.id), conversationId };
      }
      let nearDuplicateOf: RecordOutcome['nearDuplicateOf'];
      if (g.conversation && conversationId) {
        const c = g.conversation;
        let status = c.status ?? 'pending';
        let reason = c.statusReason ?? null;
        if (g.nearDuplicates && signature) {
          // Looked up before this conversation's own rows exist: every candidate is an earlier one.
          const nearest = await nearestConversation(tx, dialect, g.templateId, signature);
          if (nearest && nearest.similarity >= g.nearDuplicates.threshold) {
            nearDuplicateOf = nearest;
            if (status !== 'rejected') status = 'needs_revision';
            reason = appendReason(reason, nearDuplicateReason(nearest.id, nearest.similarity));
          }
        }
        await tx.run(
          'INSERT INTO conversations (id, template_id, version_id, batch_id, parameters, system_prompt, status, status_reason, created_at, near_duplicate_of, similarity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
          [conversationId, g.templateId, g.versionId, g.batchId ?? null, JSON.stringify(g.parameters), c.systemPrompt ?? null, status, reason, now, nearDuplicateOf?.id ?? null, nearDuplicateOf?.similarity ?? null],
        );
        await storeSignature(tx, conversationId, g.templateId, signature!);
        if (g.slot) await tx.run('UPDATE batch_slots SET conversation_id = ?, claimed_by = NULL, claimed_until = NULL WHERE batch_id = ? AND slot = ?', [conversationId, g.slot.batchId, g.slot.slot]);
        for (const [position, turn] of c.turns.entries()) {
          await tx.run('INSERT INTO turns (conversation_id, position, role, content) VALUES (?, ?, ?, ?)', [conversationId, position, turn.role, turn.content]);
        }
        if (c.quality) {
          await tx.run('INSERT INTO quality_scores (conversation_id, overall, breakdown, recommendations, created_at) VALUES (?, ?, ?, ?, ?)', [
            conversationId,
            c.quality.overall,
            JSON.stringify(c.quality.breakdown),
            JSON.stringify(c.quality.recommendations),
            now,
          ]);
        }
      }
      const logId = await tx.insert(
        `INSERT INTO generation_logs (template_id, version_id, batch_id, conversation_id, parameters, model, attempt, status, error_type,
                                      input_tokens, output_tokens, cost_usd, duration_ms, created_at,
                                      cache_creation_input_tokens, cache_read_input_tokens, saved_usd, mode)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          ...[g.templateId, g.versionId, g.batchId ?? null, conversationId ?? null, JSON.stringify(g.parameters), g.model, g.attempt, g.status, g.errorType ?? null],
          ...[g.inputTokens, g.outputTokens, g.costUsd, g.durationMs, now, g.cacheCreationInputTokens ?? 0, g.cacheReadInputTokens ?? 0, g.savedUsd ?? 0, g.mode ?? 'direct'],
        ],
      );
      return conversationId ? { logId, conversationId, ...(nearDuplicateOf ? { nearDuplicateOf } : {}) } : { logId };
    };
  }

  /** What this store's writer spent since `since`: on the team store, the member's own logs (the daily budget is theirs). */
  async spentSince(since: number): Promise<number> {
    return Number((await this.db.get(`SELECT coalesce(sum(cost_usd), 0) AS spent FROM generation_logs WHERE created_at >= ?${this.db.dialect.andOwn()}`, [since]))!.spent);
  }
}

/** The workspace's name for the generation repository (it serves either backend). */
export { SqlGenerationRepository as WorkspaceGenerationRepository };

export interface ConversationDetails {
  readonly id: string;
  readonly status: ConversationStatus;
  readonly statusReason: string | null;
  readonly parameters: Record<string, unknown>;
  readonly createdAt: number;
  readonly templatePath: string;
  readonly templateName: string;
  readonly tier: string;
  /** The earlier conversation of the template this one nearly repeats, and how alike (0..1). */
  readonly nearDuplicateOf: string | null;
  readonly similarity: number | null;
  readonly turns: Turn[];
  readonly quality: QualityRecord | null;
}

export interface ConversationFilter {
  readonly templatePath?: string;
  readonly status?: ConversationStatus;
  readonly minQuality?: number;
  readonly maxQuality?: number;
  readonly sort?: 'time' | 'score';
  readonly limit?: number;
}

export interface ConversationSummary {
  readonly id: string;
  readonly status: ConversationStatus;
  readonly statusReason: string | null;
  readonly parameters: Record<string, unknown>;
  readonly createdAt: number;
  readonly templatePath: string;
  readonly templateName: string;
  readonly overall: number | null;
  readonly recommendations: string[];
}

// ---- batches --------------------------------------------------------------------------------------

export interface BatchRow {
  readonly id: string;
  readonly templateId: number;
  readonly versionId: number;
  readonly requested: number;
  readonly parameters: Record<string, unknown>;
  readonly model: string;
  readonly settings: Record<string, unknown>;
  readonly status: BatchStatus;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** Conversations stored for this batch: what a resume does not generate again. */
  readonly completed: number;
  readonly failedAttempts: number;
  /** The value plan the batch runs (each cell's full values and count); undefined for one value set. */
  readonly plan?: readonly { readonly values: Record<string, unknown>; readonly count: number }[];
}

/** A store's batches: the same statements on either backend (batches are shared team work). */
export class SqlBatchRepository implements BatchRepository {
  constructor(
    private readonly store: Database,
    private readonly clock: Clock = systemClock,
    private readonly newId: () => string = randomUUID,
  ) {}

  async create(b: { templateId: number; versionId: number; requested: number; parameters: Record<string, unknown>; model: string; settings: Record<string, unknown>; plan?: BatchRow['plan'] }): Promise<BatchRow> {
    const id = this.newId();
    const now = this.clock.now();
    await this.store.run('INSERT INTO batches (id, template_id, version_id, requested, parameters, model, settings, status, created_at, updated_at, plan) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', [
        id,
        b.templateId,
        b.versionId,
        b.requested,
        JSON.stringify(b.parameters),
        b.model,
        JSON.stringify(b.settings),
        'pending',
        now,
        now,
        b.plan ? JSON.stringify(b.plan) : null,
    ]);
    return (await this.get(id))!;
  }

  async setStatus(id: string, status: BatchStatus): Promise<void> {
    const now = this.clock.now();
    await this.store.run('UPDATE batches SET status = ?, updated_at = ? WHERE id = ?', [status, now, id]);
  }

  async get(id: string): Promise<BatchRow | undefined> {
    const r = await this.store.get(`${BATCH_SELECT} WHERE b.id = ?`, [id]);
    return r && toBatch(r);
  }

  /** Batches that stopped before their count was reached (pending, running, failed or cancelled), newest first. */
  async unfinished(): Promise<BatchRow[]> {
    // A Message Batches batch with every conversation stored may still have grades of the judge
    // to take in or to submit (its status says so until they are in).
    return (await this.store.all(`${BATCH_SELECT} WHERE b.status IN ('pending', 'running', 'failed', 'cancelled') ORDER BY b.created_at DESC`))
      .map(toBatch)
      .filter((b) => b.completed < b.requested || b.settings.mode === 'batch');
  }

  async conversationValues(id: string): Promise<Record<string, unknown>[]> {
    return (await this.store.all('SELECT parameters FROM conversations WHERE batch_id = ?', [id])).map((r) => JSON.parse(String(r.parameters)) as Record<string, unknown>);
  }
}

/** The workspace's name for the batch repository (it serves either backend). */
export { SqlBatchRepository as WorkspaceBatchRepository };

const BATCH_SELECT = `SELECT b.*,
  (SELECT count(*) FROM conversations c WHERE c.batch_id = b.id) AS completed,
  (SELECT count(*) FROM generation_logs g WHERE g.batch_id = b.id AND g.status = 'failed') AS failed_attempts
  FROM batches b`;

function toBatch(r: Row): BatchRow {
  return {
    id: String(r.id),
    templateId: Number(r.template_id),
    versionId: Number(r.version_id),
    requested: Number(r.requested),
    parameters: JSON.parse(String(r.parameters)) as Record<string, unknown>,
    model: String(r.model),
    settings: JSON.parse(String(r.settings)) as Record<string, unknown>,
    status: r.status as BatchStatus,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    completed: Number(r.completed),
    failedAttempts: Number(r.failed_attempts),
    ...(typeof r.plan === 'string' ? { plan: parseJson(r.plan, []) as NonNullable<BatchRow['plan']> } : {}),
  };
}
