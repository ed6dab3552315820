/**
 * The database schema, as numbered migrations. Each runs once, in a write transaction, when a
 * database with a lower `schema_version` is opened; released migrations never change (add a new
 * one instead), so an old database always opens in a newer release.
 *
 * Times are milliseconds since the epoch, passed in as parameters: statements must give the
 * same result when the journal is replayed, so none calls the clock or random().
 */
export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: readonly string[];
  /**
   * The table it rebuilds (copies into a new one with the columns it lists). Such a migration
   * would drop what a later-numbered migration added to that table, so it never runs on a
   * database that already has a later one (see Store.migrate).
   */
  readonly rebuilds?: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'templates, versions, batches, generation logs',
    sql: [
      `CREATE TABLE templates (
         id INTEGER PRIMARY KEY,
         path TEXT NOT NULL UNIQUE,            -- workspace-relative, with / separators
         name TEXT NOT NULL,
         tier TEXT NOT NULL,
         active INTEGER NOT NULL DEFAULT 1,
         deleted_at INTEGER,                   -- the file is gone; its history stays
         created_at INTEGER NOT NULL
       )`,
      `CREATE TABLE template_versions (
         id INTEGER PRIMARY KEY,
         template_id INTEGER NOT NULL REFERENCES templates(id),
         content_hash TEXT NOT NULL,
         content TEXT NOT NULL,
         created_at INTEGER NOT NULL,
         UNIQUE (template_id, content_hash)
       )`,
      `CREATE TABLE batches (
         id TEXT PRIMARY KEY,
         template_id INTEGER NOT NULL REFERENCES templates(id),
         version_id INTEGER NOT NULL REFERENCES template_versions(id),
         requested INTEGER NOT NULL,
         parameters TEXT NOT NULL,             -- JSON object
         model TEXT NOT NULL,
         settings TEXT NOT NULL,               -- JSON: concurrency, retries, budget…
         status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
         created_at INTEGER NOT NULL,
         updated_at INTEGER NOT NULL
       )`,
      `CREATE TABLE generation_logs (
         id INTEGER PRIMARY KEY,
         template_id INTEGER NOT NULL REFERENCES templates(id),
         version_id INTEGER NOT NULL REFERENCES template_versions(id),
         batch_id TEXT REFERENCES batches(id),
         conversation_id TEXT,
         parameters TEXT NOT NULL,
         model TEXT NOT NULL,
         attempt INTEGER NOT NULL,
         status TEXT NOT NULL CHECK (status IN ('succeeded', 'failed')),
         error_type TEXT,
         input_tokens INTEGER NOT NULL DEFAULT 0,
         output_tokens INTEGER NOT NULL DEFAULT 0,
         cost_usd REAL NOT NULL DEFAULT 0,
         duration_ms INTEGER NOT NULL DEFAULT 0,
         created_at INTEGER NOT NULL
       )`,
      'CREATE INDEX generation_logs_by_template ON generation_logs (template_id, created_at)',
      'CREATE INDEX generation_logs_by_batch ON generation_logs (batch_id)',
      'CREATE INDEX template_versions_by_template ON template_versions (template_id, created_at)',
    ],
  },
  {
    version: 2,
    description: 'conversations, turns, quality scores, reviews',
    sql: [
      `CREATE TABLE conversations (
         id TEXT PRIMARY KEY,
         template_id INTEGER NOT NULL REFERENCES templates(id),
         version_id INTEGER NOT NULL REFERENCES template_versions(id),
         batch_id TEXT REFERENCES batches(id),
         parameters TEXT NOT NULL,
         system_prompt TEXT,
         status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'needs_revision')),
         status_reason TEXT,
         created_at INTEGER NOT NULL
       )`,
      `CREATE TABLE turns (
         conversation_id TEXT NOT NULL REFERENCES conversations(id),
         position INTEGER NOT NULL,
         role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
         content TEXT NOT NULL,
         PRIMARY KEY (conversation_id, position)
       )`,
      `CREATE TABLE quality_scores (
         conversation_id TEXT PRIMARY KEY REFERENCES conversations(id),
         overall REAL NOT NULL,
         breakdown TEXT NOT NULL,              -- JSON, as the scorer returns it
         recommendations TEXT NOT NULL,        -- JSON array of strings
         created_at INTEGER NOT NULL
       )`,
      `CREATE TABLE reviews (
         id INTEGER PRIMARY KEY,
         conversation_id TEXT NOT NULL REFERENCES conversations(id),
         status TEXT NOT NULL CHECK (status IN ('approved', 'rejected', 'needs_revision')),
         note TEXT,
         created_at INTEGER NOT NULL
       )`,
      'CREATE INDEX conversations_by_template ON conversations (template_id, created_at)',
      'CREATE INDEX conversations_by_batch ON conversations (batch_id)',
      'CREATE INDEX reviews_by_conversation ON reviews (conversation_id, created_at)',
    ],
  },
  {
    version: 3,
    description: 'each conversation carries its score and when it was last reviewed, for analytics',
    sql: [
      // Copies kept in step by triggers (whoever writes the score or the review, even a release
      // that knows nothing of these columns), so per-template figures are one scan of
      // conversations rather than joins over 100,000 rows.
      'ALTER TABLE conversations ADD COLUMN quality REAL',
      'ALTER TABLE conversations ADD COLUMN reviewed_at INTEGER',
      'UPDATE conversations SET quality = (SELECT q.overall FROM quality_scores q WHERE q.conversation_id = conversations.id)',
      'UPDATE conversations SET reviewed_at = (SELECT max(r.created_at) FROM reviews r WHERE r.conversation_id = conversations.id)',
      `CREATE TRIGGER conversations_quality AFTER INSERT ON quality_scores BEGIN
         UPDATE conversations SET quality = NEW.overall WHERE id = NEW.conversation_id;
       END`,
      `CREATE TRIGGER conversations_quality_update AFTER UPDATE OF overall ON quality_scores BEGIN
         UPDATE conversations SET quality = NEW.overall WHERE id = NEW.conversation_id;
       END`,
      `CREATE TRIGGER conversations_reviewed AFTER INSERT ON reviews BEGIN
         UPDATE conversations SET reviewed_at = max(coalesce(reviewed_at, NEW.created_at), NEW.created_at) WHERE id = NEW.conversation_id;
       END`,
      // The newest scored conversations of a template, read from the index alone (trend, PL011).
      'CREATE INDEX conversations_scored ON conversations (template_id, created_at, quality)',
    ],
  },
  {
    version: 4,
    description: 'datasets: value plans of batches, near-duplicate signatures and findings',
    sql: [
      // The plan a batch runs: JSON [{ "values": {...}, "count": n }]; NULL for a batch of one value set.
      'ALTER TABLE batches ADD COLUMN plan TEXT',
      // The closest earlier conversation of the same template, when at least the threshold alike.
      'ALTER TABLE conversations ADD COLUMN near_duplicate_of TEXT',
      'ALTER TABLE conversations ADD COLUMN similarity REAL',
      // A MinHash signature per conversation (little-endian uint32s), and its LSH band buckets, so
      // a new conversation is compared with the few earlier ones sharing a bucket, not with all.
      `CREATE TABLE conversation_signatures (
         conversation_id TEXT PRIMARY KEY REFERENCES conversations(id),
         template_id INTEGER NOT NULL REFERENCES templates(id),
         signature BLOB NOT NULL
       )`,
      `CREATE TABLE signature_buckets (
         template_id INTEGER NOT NULL,
         band INTEGER NOT NULL,
         bucket INTEGER NOT NULL,
         conversation_id TEXT NOT NULL REFERENCES conversations(id)
       )`,
      'CREATE INDEX signature_buckets_lookup ON signature_buckets (template_id, band, bucket)',
    ],
  },
  {
    version: 5,
    description: 'judge calls: what Claude grading conversations cost, apart from generations',
    sql: [
      // One row per judge attempt. Kept out of generation_logs on purpose: stats, export cards and
      // version histories count generations there, and a grade is not a generation. Budgets add
      // both (spentToday).
      `CREATE TABLE judge_calls (
         id INTEGER PRIMARY KEY,
         conversation_id TEXT REFERENCES conversations(id),
         batch_id TEXT REFERENCES batches(id),
         model TEXT NOT NULL,
         attempt INTEGER NOT NULL,
         status TEXT NOT NULL CHECK (status IN ('succeeded', 'failed')),
         error_type TEXT,
         input_tokens INTEGER NOT NULL DEFAULT 0,
         output_tokens INTEGER NOT NULL DEFAULT 0,
         cache_creation_input_tokens INTEGER NOT NULL DEFAULT 0,
         cache_read_input_tokens INTEGER NOT NULL DEFAULT 0,
         cost_usd REAL NOT NULL DEFAULT 0,
         duration_ms INTEGER NOT NULL DEFAULT 0,
         created_at INTEGER NOT NULL
       )`,
      'CREATE INDEX judge_calls_by_conversation ON judge_calls (conversation_id)',
      'CREATE INDEX judge_calls_by_time ON judge_calls (created_at)',
    ],
  },
  {
    version: 6,
    description: 'prompt caching: cache tokens of each generation and what caching saved',
    sql: [
      // Cached prefix tokens are billed apart from input_tokens (writes 1.25×, reads 0.1×); the
      // saving is kept as computed at the prices of the day, so later price edits do not rewrite it.
      'ALTER TABLE generation_logs ADD COLUMN cache_creation_input_tokens INTEGER NOT NULL DEFAULT 0',
      'ALTER TABLE generation_logs ADD COLUMN cache_read_input_tokens INTEGER NOT NULL DEFAULT 0',
      'ALTER TABLE generation_logs ADD COLUMN saved_usd REAL NOT NULL DEFAULT 0',
    ],
  },
  {
    version: 7,
    description: 'Message Batches: what was submitted (before and after the POST), and each result taken in once',
    sql: [
      // One row per Message Batch, written BEFORE the POST ('submitting', no anthropic_id) and
      // given its id right after: a crash between the two is found on resume and matched against
      // the account's recent Message Batches instead of submitting the same work twice.
      `CREATE TABLE message_batches (
         id TEXT PRIMARY KEY,                  -- ours; the start of every custom_id it holds
         batch_id TEXT NOT NULL REFERENCES batches(id),
         anthropic_id TEXT UNIQUE,             -- msgbatch_…, NULL until the POST answered
         state TEXT NOT NULL CHECK (state IN ('submitting', 'submitted', 'collected', 'lost')),
         request_count INTEGER NOT NULL,
         custom_ids TEXT NOT NULL,             -- JSON array, in request order
         attempt INTEGER NOT NULL,             -- 1 for the first round, 2 for its follow-up…
         worst_case_usd REAL NOT NULL,         -- at most what it can cost: held against the budgets until collected
         created_at INTEGER NOT NULL,
         submitted_at INTEGER,
         ended_at INTEGER
       )`,
      'CREATE INDEX message_batches_by_batch ON message_batches (batch_id, created_at)',
      // Each result line taken in, once: written in the transaction that stores its generation,
      // so a result read twice (a crash while collecting, a second collector) adds nothing.
      `CREATE TABLE message_batch_results (
         message_batch_id TEXT NOT NULL REFERENCES message_batches(id),
         custom_id TEXT NOT NULL,
         result TEXT NOT NULL CHECK (result IN ('succeeded', 'errored', 'canceled', 'expired')),
         error_type TEXT,
         conversation_id TEXT,
         created_at INTEGER NOT NULL,
         PRIMARY KEY (message_batch_id, custom_id)
       )`,
      // How each generation was made: the direct Messages path or a Message Batch (half price).
      "ALTER TABLE generation_logs ADD COLUMN mode TEXT NOT NULL DEFAULT 'direct'",
    ],
  },
  {
    // After 6 (prompt caching) and 7 (Message Batches): it rebuilds generation_logs and keeps the
    // columns they added. The runner applies every migration a database lacks, in version order.
    version: 8,
    description: 'generation logs: a request cut off by a cancel is recorded as cancelled, not failed',
    rebuilds: 'generation_logs',
    sql: [
      // SQLite cannot change a CHECK constraint in place: the table is rebuilt with its rows and
      // indexes. The columns are those of migrations 1, 6 (prompt caching) and 7 (mode); a migration that
      // adds a column to generation_logs must come after this one or be listed here.
      `CREATE TABLE generation_logs_v8 (
         id INTEGER PRIMARY KEY,
         template_id INTEGER NOT NULL REFERENCES templates(id),
         version_id INTEGER NOT NULL REFERENCES template_versions(id),
         batch_id TEXT REFERENCES batches(id),
         conversation_id TEXT,
         parameters TEXT NOT NULL,
         model TEXT NOT NULL,
         attempt INTEGER NOT NULL,
         status TEXT NOT NULL CHECK (status IN ('succeeded', 'failed', 'cancelled')),
         error_type TEXT,
         input_tokens INTEGER NOT NULL DEFAULT 0,
         output_tokens INTEGER NOT NULL DEFAULT 0,
         cost_usd REAL NOT NULL DEFAULT 0,
         duration_ms INTEGER NOT NULL DEFAULT 0,
         created_at INTEGER NOT NULL,
         cache_creation_input_tokens INTEGER NOT NULL DEFAULT 0,
         cache_read_input_tokens INTEGER NOT NULL DEFAULT 0,
         saved_usd REAL NOT NULL DEFAULT 0,
         mode TEXT NOT NULL DEFAULT 'direct'
       )`,
      `INSERT INTO generation_logs_v8 (id, template_id, version_id, batch_id, conversation_id, parameters, model, attempt, status, error_type, input_tokens, output_tokens, cost_usd, duration_ms, created_at,
                                       cache_creation_input_tokens, cache_read_input_tokens, saved_usd, mode)
         SELECT id, template_id, version_id, batch_id, conversation_id, parameters, model, attempt,
                CASE WHEN status = 'failed' AND error_type = 'cancelled' THEN 'cancelled' ELSE status END,
                error_type, input_tokens, output_tokens, cost_usd, duration_ms, created_at,
                cache_creation_input_tokens, cache_read_input_tokens, saved_usd, mode
           FROM generation_logs`,
      'DROP TABLE generation_logs',
      'ALTER TABLE generation_logs_v8 RENAME TO generation_logs',
      'CREATE INDEX generation_logs_by_template ON generation_logs (template_id, created_at)',
      'CREATE INDEX generation_logs_by_batch ON generation_logs (batch_id)',
    ],
  },
  {
    version: 9,
    description: 'Message Batches of the judge: what each Message Batch is for (generation, or grading)',
    sql: [
      // The judge grades through Message Batches when the generation used them: its rows sit beside
      // generation's (same intent-before-POST crash safety, same budgets held until collected) and
      // are told apart here. Their result lines go to message_batch_results too (conversation_id is
      // the conversation graded), so a grade read twice is taken in once.
      "ALTER TABLE message_batches ADD COLUMN purpose TEXT NOT NULL DEFAULT 'generation' CHECK (purpose IN ('generation', 'judge'))",
    ],
  },
  {
    version: 10,
    description: 'Message Batches adopted on a guess: not confirmed ours until their results say so',
    sql: [
      // After a POST that got no answer, a running Message Batch of the row's size may be adopted
      // before its results can prove it is ours (the only candidate): 0 here until then. A cancel
      // never reaches such a one: it may be another client's of the same account.
      'ALTER TABLE message_batches ADD COLUMN confirmed INTEGER NOT NULL DEFAULT 1',
    ],
  },
];

/** The newest migration (not the last listed: one written in parallel may land out of order). */
export const SCHEMA_VERSION = Math.max(...MIGRATIONS.map((m) => m.version));
