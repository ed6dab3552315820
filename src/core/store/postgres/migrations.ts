/**
 * The team database's schema (PostgreSQL 14+), as numbered migrations in the schema `promptloom`,
 * versioned apart from the workspace database's (its own `schema_version` table). Released
 * migrations never change: add a new one.
 *
 * Columns mirror the workspace schema (../schema.ts) so one repository can serve both: times are
 * milliseconds since the epoch from the injected clock, ids of conversations and batches are the
 * same UUIDs. What the team adds:
 * - `created_by`: set by the server (DEFAULT current_user); policies refuse any other value, and
 *   a trigger keeps it from being changed on shared rows, so no client can claim another author;
 * - `push_key` on rows whose workspace id is only a local integer (logs, reviews, judge calls):
 *   a hash of the local row, so `db push` adds each row once however often it runs;
 * - row-level security, FORCEd so the owner too is a member like the others, except on the cost
 *   tables (generation_logs, judge_calls): the owner reads all of those only so the
 *   template_analytics view, which runs with its owner's rights, can aggregate them.
 *
 * Every policy is for the group role `promptloom_member` (see README: setting up a team).
 */
export interface PgMigration {
  readonly version: number;
  readonly description: string;
  readonly sql: readonly string[];
}

export const TEAM_SCHEMA = 'promptloom';
export const MEMBER_ROLE = 'promptloom_member';
/** The channel the team database announces changes on (migration 2; ./changes.ts listens). */
export const CHANGES_CHANNEL = 'promptloom_changes';
/** The tables whose inserts and updates are announced. */
export const NOTIFYING_TABLES = ['conversations', 'reviews', 'quality_scores', 'generation_logs'] as const;

export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    description: 'templates, versions, batches, generation logs, conversations, turns, scores, reviews; row-level security',
    sql: [
      // Whoever writes a shared row (a review changes a conversation's status, a resume a
      // batch's), its author stays who created it.
      `CREATE FUNCTION keep_author() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF NEW.created_by IS DISTINCT FROM OLD.created_by THEN
           RAISE EXCEPTION 'created_by is set by the server and never changes' USING ERRCODE = 'insufficient_privilege';
         END IF;
         RETURN NEW;
       END $$`,

      `CREATE TABLE prompt_templates (
         id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         path TEXT NOT NULL,                    -- workspace-relative, with / separators
         name TEXT NOT NULL,
         tier TEXT NOT NULL,
         is_active BOOLEAN NOT NULL DEFAULT true,
         version INTEGER NOT NULL DEFAULT 0,    -- the number of its newest version
         deleted_at BIGINT,
         created_at BIGINT NOT NULL,
         created_by TEXT NOT NULL DEFAULT current_user,
         UNIQUE (created_by, path)              -- each member has their own a.prompt
       )`,
      `CREATE TABLE template_versions (
         id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         template_id BIGINT NOT NULL REFERENCES prompt_templates(id),
         version INTEGER NOT NULL,              -- 1, 2, … per template, set by the trigger below
         content_hash TEXT NOT NULL,
         content TEXT NOT NULL,
         created_at BIGINT NOT NULL,
         created_by TEXT NOT NULL DEFAULT current_user,
         UNIQUE (template_id, content_hash),
         UNIQUE (template_id, version)
       )`,
      // The next version number under the template's row lock, so two writers cannot take the same.
      `CREATE FUNCTION number_version() RETURNS trigger LANGUAGE plpgsql AS $$
       DECLARE latest INTEGER;
       BEGIN
         SELECT version INTO latest FROM prompt_templates WHERE id = NEW.template_id FOR UPDATE;
         -- Content recorded already: the insert is about to conflict (ON CONFLICT DO NOTHING),
         -- and must not have counted a version.
         SELECT version INTO NEW.version FROM template_versions WHERE template_id = NEW.template_id AND content_hash = NEW.content_hash;
         IF FOUND THEN RETURN NEW; END IF;
         NEW.version := coalesce(latest, 0) + 1;
         UPDATE prompt_templates SET version = NEW.version WHERE id = NEW.template_id;
         RETURN NEW;
       END $$`,
      'CREATE TRIGGER template_versions_number BEFORE INSERT ON template_versions FOR EACH ROW EXECUTE FUNCTION number_version()',

      `CREATE TABLE batches (
         id TEXT PRIMARY KEY,
         template_id BIGINT NOT NULL REFERENCES prompt_templates(id),
         version_id BIGINT NOT NULL REFERENCES template_versions(id),
         requested INTEGER NOT NULL,
         parameters JSONB NOT NULL,
         model TEXT NOT NULL,
         settings JSONB NOT NULL,
         status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
         plan JSONB,
         created_at BIGINT NOT NULL,
         updated_at BIGINT NOT NULL,
         created_by TEXT NOT NULL DEFAULT current_user
       )`,
      `CREATE TABLE conversations (
         id TEXT PRIMARY KEY,
         template_id BIGINT NOT NULL REFERENCES prompt_templates(id),
         version_id BIGINT NOT NULL REFERENCES template_versions(id),
         batch_id TEXT REFERENCES batches(id),
         parameters JSONB NOT NULL,
         system_prompt TEXT,
         status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'needs_revision')),
         status_reason TEXT,
         quality DOUBLE PRECISION,              -- copy of quality_scores.overall, kept by a trigger
         reviewed_at BIGINT,                    -- newest review's time, kept by a trigger
         near_duplicate_of TEXT,
         similarity DOUBLE PRECISION,
         created_at BIGINT NOT NULL,
         created_by TEXT NOT NULL DEFAULT current_user
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
         overall DOUBLE PRECISION NOT NULL,
         breakdown JSONB NOT NULL,
         recommendations JSONB NOT NULL,
         created_at BIGINT NOT NULL
       )`,
      `CREATE TABLE conversation_signatures (
         conversation_id TEXT PRIMARY KEY REFERENCES conversations(id),
         template_id BIGINT NOT NULL REFERENCES prompt_templates(id),
         signature BYTEA NOT NULL
       )`,
      `CREATE TABLE signature_buckets (
         template_id BIGINT NOT NULL,
         band INTEGER NOT NULL,
         bucket BIGINT NOT NULL,
         conversation_id TEXT NOT NULL REFERENCES conversations(id)
       )`,
      `CREATE TABLE reviews (
         id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         conversation_id TEXT NOT NULL REFERENCES conversations(id),
         status TEXT NOT NULL CHECK (status IN ('approved', 'rejected', 'needs_revision')),
         note TEXT,
         created_at BIGINT NOT NULL,
         created_by TEXT NOT NULL DEFAULT current_user,
         push_key TEXT UNIQUE
       )`,
      `CREATE TABLE generation_logs (
         id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         template_id BIGINT NOT NULL REFERENCES prompt_templates(id),
         version_id BIGINT NOT NULL REFERENCES template_versions(id),
         batch_id TEXT REFERENCES batches(id),
         conversation_id TEXT,
         parameters JSONB NOT NULL,             -- the request's values: the author's only
         model TEXT NOT NULL,
         attempt INTEGER NOT NULL,
         status TEXT NOT NULL CHECK (status IN ('succeeded', 'failed')),
         error_type TEXT,
         input_tokens BIGINT NOT NULL DEFAULT 0,
         output_tokens BIGINT NOT NULL DEFAULT 0,
         cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
         duration_ms BIGINT NOT NULL DEFAULT 0,
         created_at BIGINT NOT NULL,
         created_by TEXT NOT NULL DEFAULT current_user,
         push_key TEXT UNIQUE
       )`,
      `CREATE TABLE judge_calls (
         id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         conversation_id TEXT REFERENCES conversations(id),
         batch_id TEXT REFERENCES batches(id),
         model TEXT NOT NULL,
         attempt INTEGER NOT NULL,
         status TEXT NOT NULL CHECK (status IN ('succeeded', 'failed')),
         error_type TEXT,
         input_tokens BIGINT NOT NULL DEFAULT 0,
         output_tokens BIGINT NOT NULL DEFAULT 0,
         cache_creation_input_tokens BIGINT NOT NULL DEFAULT 0,
         cache_read_input_tokens BIGINT NOT NULL DEFAULT 0,
         cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
         duration_ms BIGINT NOT NULL DEFAULT 0,
         created_at BIGINT NOT NULL,
         created_by TEXT NOT NULL DEFAULT current_user,
         push_key TEXT UNIQUE
       )`,
      'CREATE INDEX generation_logs_by_template ON generation_logs (template_id, created_at)',
      'CREATE INDEX generation_logs_by_batch ON generation_logs (batch_id)',
      'CREATE INDEX generation_logs_by_author ON generation_logs (created_by, created_at)',
      'CREATE INDEX template_versions_by_template ON template_versions (template_id, created_at)',
      'CREATE INDEX conversations_by_template ON conversations (template_id, created_at)',
      'CREATE INDEX conversations_by_batch ON conversations (batch_id)',
      'CREATE INDEX conversations_scored ON conversations (template_id, created_at, quality)',
      'CREATE INDEX reviews_by_conversation ON reviews (conversation_id, created_at)',
      'CREATE INDEX signature_buckets_lookup ON signature_buckets (template_id, band, bucket)',
      'CREATE INDEX judge_calls_by_conversation ON judge_calls (conversation_id)',

      // The score and last review copied onto the conversation, as in the workspace database.
      `CREATE FUNCTION copy_quality() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         UPDATE conversations SET quality = NEW.overall WHERE id = NEW.conversation_id;
         RETURN NEW;
       END $$`,
      'CREATE TRIGGER conversations_quality AFTER INSERT OR UPDATE OF overall ON quality_scores FOR EACH ROW EXECUTE FUNCTION copy_quality()',
      `CREATE FUNCTION copy_reviewed_at() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         UPDATE conversations SET reviewed_at = greatest(coalesce(reviewed_at, NEW.created_at), NEW.created_at) WHERE id = NEW.conversation_id;
         RETURN NEW;
       END $$`,
      'CREATE TRIGGER conversations_reviewed AFTER INSERT ON reviews FOR EACH ROW EXECUTE FUNCTION copy_reviewed_at()',
      ...['prompt_templates', 'batches', 'conversations'].map((t) => `CREATE TRIGGER ${t}_keep_author BEFORE UPDATE ON ${t} FOR EACH ROW EXECUTE FUNCTION keep_author()`),

      // ---- row-level security ----------------------------------------------------------------
      ...['prompt_templates', 'template_versions', 'batches', 'conversations', 'turns', 'quality_scores', 'conversation_signatures', 'signature_buckets', 'reviews'].flatMap((t) => [
        `ALTER TABLE ${t} ENABLE ROW LEVEL SECURITY`,
        `ALTER TABLE ${t} FORCE ROW LEVEL SECURITY`,
      ]),
      // Not forced: the owner reads every cost row, for the analytics view alone (see above).
      'ALTER TABLE generation_logs ENABLE ROW LEVEL SECURITY',
      'ALTER TABLE judge_calls ENABLE ROW LEVEL SECURITY',

      // Templates: a member reads the active ones and their own, and writes only their own.
      `CREATE POLICY templates_read ON prompt_templates FOR SELECT TO ${MEMBER_ROLE} USING (is_active OR created_by = current_user)`,
      `CREATE POLICY templates_insert ON prompt_templates FOR INSERT TO ${MEMBER_ROLE} WITH CHECK (created_by = current_user)`,
      `CREATE POLICY templates_update ON prompt_templates FOR UPDATE TO ${MEMBER_ROLE} USING (created_by = current_user) WITH CHECK (created_by = current_user)`,
      `CREATE POLICY templates_delete ON prompt_templates FOR DELETE TO ${MEMBER_ROLE} USING (created_by = current_user)`,
      // Versions: visible with their template (its own policy applies inside EXISTS), written by its author.
      `CREATE POLICY versions_read ON template_versions FOR SELECT TO ${MEMBER_ROLE} USING (EXISTS (SELECT 1 FROM prompt_templates t WHERE t.id = template_id))`,
      `CREATE POLICY versions_insert ON template_versions FOR INSERT TO ${MEMBER_ROLE}
         WITH CHECK (created_by = current_user AND EXISTS (SELECT 1 FROM prompt_templates t WHERE t.id = template_id AND t.created_by = current_user))`,

      // Generation logs and judge calls (request payloads, costs): their author's alone.
      ...['generation_logs', 'judge_calls'].flatMap((t) => [
        `CREATE POLICY ${t}_read ON ${t} FOR SELECT TO ${MEMBER_ROLE} USING (created_by = current_user)`,
        `CREATE POLICY ${t}_insert ON ${t} FOR INSERT TO ${MEMBER_ROLE} WITH CHECK (created_by = current_user)`,
      ]),

      // Batches, conversations and reviews are team work: everyone reads them and may move a
      // conversation's status or resume a batch; rows are created in one's own name.
      ...['batches', 'conversations', 'reviews'].flatMap((t) => [
        `CREATE POLICY ${t}_read ON ${t} FOR SELECT TO ${MEMBER_ROLE} USING (true)`,
        `CREATE POLICY ${t}_insert ON ${t} FOR INSERT TO ${MEMBER_ROLE} WITH CHECK (created_by = current_user)`,
      ]),
      ...['batches', 'conversations'].map((t) => `CREATE POLICY ${t}_update ON ${t} FOR UPDATE TO ${MEMBER_ROLE} USING (true) WITH CHECK (true)`),
      // A conversation's parts: read by all, added by the conversation's author.
      ...['turns', 'quality_scores', 'conversation_signatures', 'signature_buckets'].flatMap((t) => [
        `CREATE POLICY ${t}_read ON ${t} FOR SELECT TO ${MEMBER_ROLE} USING (true)`,
        `CREATE POLICY ${t}_insert ON ${t} FOR INSERT TO ${MEMBER_ROLE}
           WITH CHECK (EXISTS (SELECT 1 FROM conversations c WHERE c.id = conversation_id AND c.created_by = current_user))`,
      ]),

      // Team analytics: per template the caller can see, aggregates of everyone's logs and never
      // a log row. A view runs with its owner's rights (who reads all logs) while current_user
      // stays the caller; security_barrier keeps a caller's own functions in WHERE from being
      // pushed below the aggregation, where they would see the rows.
      `CREATE VIEW template_analytics WITH (security_barrier) AS
         SELECT t.id AS template_id, t.path, t.name, t.created_by, t.is_active, t.version,
                count(g.id) AS generations,
                count(g.id) FILTER (WHERE g.status = 'succeeded') AS succeeded,
                count(g.id) FILTER (WHERE g.status = 'failed') AS failed,
                coalesce(sum(g.input_tokens), 0) AS input_tokens,
                coalesce(sum(g.output_tokens), 0) AS output_tokens,
                coalesce(sum(g.cost_usd), 0) AS cost_usd,
                avg(g.duration_ms) AS avg_duration_ms,
                count(DISTINCT g.created_by) AS authors,
                max(g.created_at) AS last_generation_at
           FROM prompt_templates t LEFT JOIN generation_logs g ON g.template_id = t.id
          WHERE t.is_active OR t.created_by = current_user
          GROUP BY t.id`,

      // ---- what members may do at all (the policies above then pick the rows) ----------------
      `GRANT USAGE ON SCHEMA ${TEAM_SCHEMA} TO ${MEMBER_ROLE}`,
      `GRANT SELECT, INSERT, UPDATE, DELETE ON prompt_templates TO ${MEMBER_ROLE}`,
      `GRANT SELECT, INSERT ON template_versions, generation_logs, judge_calls, reviews, turns, quality_scores, conversation_signatures, signature_buckets TO ${MEMBER_ROLE}`,
      `GRANT SELECT, INSERT, UPDATE ON batches, conversations TO ${MEMBER_ROLE}`,
      `GRANT SELECT ON template_analytics, schema_version TO ${MEMBER_ROLE}`,
    ],
  },
  {
    version: 2,
    description: 'change notifications (LISTEN promptloom_changes) on conversations, reviews, scores and generation logs',
    sql: [
      // NOTIFY reaches every session listening on the channel, whatever its role: row-level
      // security does not filter it. So a payload names only what every member may read anyway:
      // the table, the conversation (shared by the team) and its template. A generation log is
      // its author's alone: its payload names only the template, and only when the template is
      // active (another's inactive template is hidden from the team); never the cost, tokens,
      // author or request values. Delivered at commit; identical payloads within one transaction
      // are sent once by the server.
      `CREATE FUNCTION notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
       DECLARE
         template BIGINT;
         conversation TEXT;
       BEGIN
         IF TG_TABLE_NAME = 'generation_logs' THEN
           SELECT t.id INTO template FROM prompt_templates t WHERE t.id = NEW.template_id AND t.is_active;
           PERFORM pg_notify('${CHANGES_CHANNEL}', json_build_object('table', TG_TABLE_NAME, 'template', template)::text);
           RETURN NULL;
         END IF;
         IF TG_TABLE_NAME = 'conversations' THEN
           conversation := NEW.id;
           template := NEW.template_id;
         ELSE
           conversation := NEW.conversation_id;
           SELECT c.template_id INTO template FROM conversations c WHERE c.id = NEW.conversation_id;
         END IF;
         PERFORM pg_notify('${CHANGES_CHANNEL}', json_build_object('table', TG_TABLE_NAME, 'template', template, 'conversation', conversation)::text);
         RETURN NULL;
       END $$`,
      ...NOTIFYING_TABLES.map((t) => `CREATE TRIGGER ${t}_notify AFTER INSERT OR UPDATE ON ${t} FOR EACH ROW EXECUTE FUNCTION notify_change()`),
    ],
  },
  {
    version: 3,
    description: 'team analytics from per-template, per-author totals kept as logs are inserted (constant time at any number of logs)',
    sql: [
      // The view used to aggregate every log on each read: 3.8 s at 1,000,000 logs (bench/teamStore.ts),
      // most of it fetching each template's logs scattered over the whole table. Logs are
      // append-only for members (no UPDATE or DELETE granted), so their sums can be kept as they
      // arrive: one row per template and author, which the view adds up (a few hundred rows).
      // Per author, so two members' writers never wait on one row; the author also gives the
      // view its count of distinct authors. No foreign key: the logs already have theirs, and a
      // key share on the template would only add a lock.
      `CREATE TABLE generation_totals (
         template_id BIGINT NOT NULL,
         created_by TEXT NOT NULL,
         generations BIGINT NOT NULL,
         succeeded BIGINT NOT NULL,
         failed BIGINT NOT NULL,
         input_tokens BIGINT NOT NULL,
         output_tokens BIGINT NOT NULL,
         cost_usd DOUBLE PRECISION NOT NULL,
         duration_ms BIGINT NOT NULL,
         last_generation_at BIGINT NOT NULL,
         PRIMARY KEY (template_id, created_by)
       )`,
      // Updating a total locks its row until commit. Done statement by statement, a transaction
      // writing logs of templates A then B and another writing B then A would deadlock. So each
      // statement only sets its sums aside (no lock: plain inserts, keyed by the transaction),
      // and at commit one statement folds all of the transaction's sums in key order: every
      // writer takes its locks in the same order, for the instant of its commit.
      // Unlogged: a row lives no longer than its transaction, which a crash aborts anyway.
      `CREATE UNLOGGED TABLE generation_totals_pending (
         transaction_id BIGINT NOT NULL DEFAULT txid_current(),
         template_id BIGINT NOT NULL,
         created_by TEXT NOT NULL,
         generations BIGINT NOT NULL,
         succeeded BIGINT NOT NULL,
         failed BIGINT NOT NULL,
         input_tokens BIGINT NOT NULL,
         output_tokens BIGINT NOT NULL,
         cost_usd DOUBLE PRECISION NOT NULL,
         duration_ms BIGINT NOT NULL,
         last_generation_at BIGINT NOT NULL
       )`,
      'CREATE INDEX generation_totals_pending_by_transaction ON generation_totals_pending (transaction_id)',
      // Read only through the view (which runs as the owner), written only by the functions
      // below (SECURITY DEFINER): no grant to members, and row-level security with no policy in
      // case one is ever granted by mistake.
      'ALTER TABLE generation_totals ENABLE ROW LEVEL SECURITY',
      'ALTER TABLE generation_totals_pending ENABLE ROW LEVEL SECURITY',
      // Once per statement, over its new rows (REFERENCING NEW TABLE): a pushed chunk of a
      // thousand logs sets aside one row per template and author, not a thousand.
      `CREATE FUNCTION set_aside_generation_totals() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = ${TEAM_SCHEMA} AS $$
       BEGIN
         INSERT INTO generation_totals_pending (template_id, created_by, generations, succeeded, failed, input_tokens, output_tokens, cost_usd, duration_ms, last_generation_at)
         SELECT template_id, created_by, count(*), count(*) FILTER (WHERE status = 'succeeded'), count(*) FILTER (WHERE status = 'failed'),
                sum(input_tokens), sum(output_tokens), sum(cost_usd), sum(duration_ms), max(created_at)
           FROM added GROUP BY template_id, created_by;
         RETURN NULL;
       END $$`,
      'CREATE TRIGGER generation_logs_totals AFTER INSERT ON generation_logs REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION set_aside_generation_totals()',
      // Deferred to commit, fired once per set-aside row: the first firing takes them all, the
      // others find nothing. A rolled-back savepoint takes its rows and their firings with it.
      `CREATE FUNCTION fold_generation_totals() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = ${TEAM_SCHEMA} AS $$
       BEGIN
         WITH taken AS (DELETE FROM generation_totals_pending WHERE transaction_id = txid_current() RETURNING *)
         INSERT INTO generation_totals AS s (template_id, created_by, generations, succeeded, failed, input_tokens, output_tokens, cost_usd, duration_ms, last_generation_at)
         SELECT template_id, created_by, sum(generations), sum(succeeded), sum(failed), sum(input_tokens), sum(output_tokens), sum(cost_usd), sum(duration_ms), max(last_generation_at)
           FROM taken GROUP BY template_id, created_by ORDER BY template_id, created_by
         ON CONFLICT (template_id, created_by) DO UPDATE SET
           generations = s.generations + EXCLUDED.generations,
           succeeded = s.succeeded + EXCLUDED.succeeded,
           failed = s.failed + EXCLUDED.failed,
           input_tokens = s.input_tokens + EXCLUDED.input_tokens,
           output_tokens = s.output_tokens + EXCLUDED.output_tokens,
           cost_usd = s.cost_usd + EXCLUDED.cost_usd,
           duration_ms = s.duration_ms + EXCLUDED.duration_ms,
           last_generation_at = greatest(s.last_generation_at, EXCLUDED.last_generation_at);
         RETURN NULL;
       END $$`,
      'CREATE CONSTRAINT TRIGGER generation_totals_fold AFTER INSERT ON generation_totals_pending DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fold_generation_totals()',
      // The triggers first (their lock on generation_logs holds inserts back until this migration
      // commits), then the totals of the logs already there: none is counted twice or missed.
      `INSERT INTO generation_totals
       SELECT template_id, created_by, count(*), count(*) FILTER (WHERE status = 'succeeded'), count(*) FILTER (WHERE status = 'failed'),
              sum(input_tokens), sum(output_tokens), sum(cost_usd), sum(duration_ms), max(created_at)
         FROM generation_logs GROUP BY template_id, created_by`,
      // Same columns, names and types as before: readers do not change.
      'DROP VIEW template_analytics',
      `CREATE VIEW template_analytics WITH (security_barrier) AS
         SELECT t.id AS template_id, t.path, t.name, t.created_by, t.is_active, t.version,
                coalesce(sum(s.generations), 0)::bigint AS generations,
                coalesce(sum(s.succeeded), 0)::bigint AS succeeded,
                coalesce(sum(s.failed), 0)::bigint AS failed,
                coalesce(sum(s.input_tokens), 0) AS input_tokens,
                coalesce(sum(s.output_tokens), 0) AS output_tokens,
                coalesce(sum(s.cost_usd), 0) AS cost_usd,
                sum(s.duration_ms)::numeric / nullif(sum(s.generations), 0) AS avg_duration_ms,
                count(s.created_by) AS authors,
                max(s.last_generation_at) AS last_generation_at
           FROM prompt_templates t LEFT JOIN generation_totals s ON s.template_id = t.id
          WHERE t.is_active OR t.created_by = current_user
          GROUP BY t.id`,
      `GRANT SELECT ON template_analytics TO ${MEMBER_ROLE}`,
    ],
  },
  {
    version: 4,
    description: 'generation logs: cancelled requests, prompt-cache figures and the mode, as in the workspace database (its migrations 6, 7 and 8)',
    sql: [
      'ALTER TABLE generation_logs DROP CONSTRAINT generation_logs_status_check',
      "ALTER TABLE generation_logs ADD CONSTRAINT generation_logs_status_check CHECK (status IN ('succeeded', 'failed', 'cancelled'))",
      'ALTER TABLE generation_logs ADD COLUMN cache_creation_input_tokens BIGINT NOT NULL DEFAULT 0',
      'ALTER TABLE generation_logs ADD COLUMN cache_read_input_tokens BIGINT NOT NULL DEFAULT 0',
      'ALTER TABLE generation_logs ADD COLUMN saved_usd DOUBLE PRECISION NOT NULL DEFAULT 0',
      "ALTER TABLE generation_logs ADD COLUMN mode TEXT NOT NULL DEFAULT 'direct'",
    ],
  },
  {
    version: 5,
    description: "shared rows: another member moves a conversation's or batch's status, never its content",
    sql: [
      // The update policies of batches and conversations let every member in (review, resume),
      // and so let them rewrite any column: a conversation's system prompt or score, a batch's
      // settings. Others may change only the columns named as the trigger's arguments.
      `CREATE FUNCTION keep_content() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF OLD.created_by IS DISTINCT FROM current_user
            AND (to_jsonb(NEW) - TG_ARGV) IS DISTINCT FROM (to_jsonb(OLD) - TG_ARGV) THEN
           RAISE EXCEPTION 'only its author changes more than % of a shared row', array_to_string(TG_ARGV, ', ') USING ERRCODE = 'insufficient_privilege';
         END IF;
         RETURN NEW;
       END $$`,
      "CREATE TRIGGER conversations_keep_content BEFORE UPDATE ON conversations FOR EACH ROW EXECUTE FUNCTION keep_content('status', 'status_reason', 'reviewed_at')",
      "CREATE TRIGGER batches_keep_content BEFORE UPDATE ON batches FOR EACH ROW EXECUTE FUNCTION keep_content('status', 'updated_at')",
    ],
  },
  {
    version: 6,
    description: "a private template's work stays private: batches, conversations and their parts are read with their template",
    sql: [
      // Team work is shared, but only for templates the member can see (active ones and their own):
      // a batch's values and a conversation's system prompt would otherwise give away a teammate's
      // inactive template. The template's own policy applies inside EXISTS, as for versions.
      ...['batches', 'conversations'].flatMap((t) => [
        `DROP POLICY ${t}_read ON ${t}`,
        `CREATE POLICY ${t}_read ON ${t} FOR SELECT TO ${MEMBER_ROLE} USING (EXISTS (SELECT 1 FROM prompt_templates t WHERE t.id = template_id))`,
      ]),
      // A conversation's parts and reviews: with their conversation (whose policy applies inside).
      ...['reviews', 'turns', 'quality_scores', 'conversation_signatures', 'signature_buckets'].flatMap((t) => [
        `DROP POLICY ${t}_read ON ${t}`,
        `CREATE POLICY ${t}_read ON ${t} FOR SELECT TO ${MEMBER_ROLE} USING (EXISTS (SELECT 1 FROM conversations c WHERE c.id = conversation_id))`,
      ]),
    ],
  },
  {
    version: 7,
    description: 'team analytics count cancelled requests and what prompt caching saved, as the workspace figures do',
    sql: [
      // Inserts of logs wait until this commits: none is folded by the old functions after the
      // backfill below has read the logs, so none is missed or counted twice.
      'LOCK TABLE generation_logs IN SHARE MODE',
      'ALTER TABLE generation_totals ADD COLUMN cancelled BIGINT NOT NULL DEFAULT 0, ADD COLUMN saved_usd DOUBLE PRECISION NOT NULL DEFAULT 0',
      'ALTER TABLE generation_totals_pending ADD COLUMN cancelled BIGINT NOT NULL DEFAULT 0, ADD COLUMN saved_usd DOUBLE PRECISION NOT NULL DEFAULT 0',
      `CREATE OR REPLACE FUNCTION set_aside_generation_totals() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = ${TEAM_SCHEMA} AS $$
       BEGIN
         INSERT INTO generation_totals_pending (template_id, created_by, generations, succeeded, failed, input_tokens, output_tokens, cost_usd, duration_ms, last_generation_at, cancelled, saved_usd)
         SELECT template_id, created_by, count(*), count(*) FILTER (WHERE status = 'succeeded'), count(*) FILTER (WHERE status = 'failed'),
                sum(input_tokens), sum(output_tokens), sum(cost_usd), sum(duration_ms), max(created_at),
                count(*) FILTER (WHERE status = 'cancelled'), sum(saved_usd)
           FROM added GROUP BY template_id, created_by;
         RETURN NULL;
       END $$`,
      `CREATE OR REPLACE FUNCTION fold_generation_totals() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = ${TEAM_SCHEMA} AS $$
       BEGIN
         WITH taken AS (DELETE FROM generation_totals_pending WHERE transaction_id = txid_current() RETURNING *)
         INSERT INTO generation_totals AS s (template_id, created_by, generations, succeeded, failed, input_tokens, output_tokens, cost_usd, duration_ms, last_generation_at, cancelled, saved_usd)
         SELECT template_id, created_by, sum(generations), sum(succeeded), sum(failed), sum(input_tokens), sum(output_tokens), sum(cost_usd), sum(duration_ms), max(last_generation_at),
                sum(cancelled), sum(saved_usd)
           FROM taken GROUP BY template_id, created_by ORDER BY template_id, created_by
         ON CONFLICT (template_id, created_by) DO UPDATE SET
           generations = s.generations + EXCLUDED.generations,
           succeeded = s.succeeded + EXCLUDED.succeeded,
           failed = s.failed + EXCLUDED.failed,
           input_tokens = s.input_tokens + EXCLUDED.input_tokens,
           output_tokens = s.output_tokens + EXCLUDED.output_tokens,
           cost_usd = s.cost_usd + EXCLUDED.cost_usd,
           duration_ms = s.duration_ms + EXCLUDED.duration_ms,
           last_generation_at = greatest(s.last_generation_at, EXCLUDED.last_generation_at),
           cancelled = s.cancelled + EXCLUDED.cancelled,
           saved_usd = s.saved_usd + EXCLUDED.saved_usd;
         RETURN NULL;
       END $$`,
      `UPDATE generation_totals s SET cancelled = x.cancelled, saved_usd = x.saved_usd
         FROM (SELECT template_id, created_by, count(*) FILTER (WHERE status = 'cancelled') AS cancelled, sum(saved_usd) AS saved_usd
                 FROM generation_logs GROUP BY template_id, created_by) x
        WHERE s.template_id = x.template_id AND s.created_by = x.created_by`,
      // Columns added at the end: earlier readers keep theirs, and the grant stays.
      `CREATE OR REPLACE VIEW template_analytics WITH (security_barrier) AS
         SELECT t.id AS template_id, t.path, t.name, t.created_by, t.is_active, t.version,
                coalesce(sum(s.generations), 0)::bigint AS generations,
                coalesce(sum(s.succeeded), 0)::bigint AS succeeded,
                coalesce(sum(s.failed), 0)::bigint AS failed,
                coalesce(sum(s.input_tokens), 0) AS input_tokens,
                coalesce(sum(s.output_tokens), 0) AS output_tokens,
                coalesce(sum(s.cost_usd), 0) AS cost_usd,
                sum(s.duration_ms)::numeric / nullif(sum(s.generations), 0) AS avg_duration_ms,
                count(s.created_by) AS authors,
                max(s.last_generation_at) AS last_generation_at,
                coalesce(sum(s.cancelled), 0)::bigint AS cancelled,
                coalesce(sum(s.saved_usd), 0) AS saved_usd
           FROM prompt_templates t LEFT JOIN generation_totals s ON s.template_id = t.id
          WHERE t.is_active OR t.created_by = current_user
          GROUP BY t.id`,
    ],
  },
  {
    version: 8,
    description: "a team batch's missing conversations as slots that resumes claim (FOR UPDATE SKIP LOCKED) and fill",
    sql: [
      // One row per conversation a resume found missing, created once per batch (under an
      // advisory lock). A resume claims a few with FOR UPDATE SKIP LOCKED, naming itself and a
      // lease on the server's clock; a claim whose lease ran out (its process killed) is
      // claimable again. A slot is done when its conversation is recorded, in the record's
      // transaction. `slot_values`: the plan cell's values (NULL: the batch's own).
      `CREATE TABLE batch_slots (
         batch_id TEXT NOT NULL REFERENCES batches(id),
         slot INTEGER NOT NULL,
         slot_values JSONB,
         claimed_by TEXT,
         claimed_until TIMESTAMPTZ,
         conversation_id TEXT REFERENCES conversations(id),
         created_by NAME NOT NULL DEFAULT current_user,
         PRIMARY KEY (batch_id, slot)
       )`,
      'CREATE INDEX batch_slots_open ON batch_slots (batch_id, slot) WHERE conversation_id IS NULL',
      'ALTER TABLE batch_slots ENABLE ROW LEVEL SECURITY',
      'ALTER TABLE batch_slots FORCE ROW LEVEL SECURITY',
      // With their batch: a member who may see the batch (its template) may resume it, so may
      // create, claim and fill its slots (the batch's own policy applies inside EXISTS).
      `CREATE POLICY batch_slots_read ON batch_slots FOR SELECT TO ${MEMBER_ROLE} USING (EXISTS (SELECT 1 FROM batches b WHERE b.id = batch_id))`,
      `CREATE POLICY batch_slots_insert ON batch_slots FOR INSERT TO ${MEMBER_ROLE} WITH CHECK (created_by = current_user AND EXISTS (SELECT 1 FROM batches b WHERE b.id = batch_id))`,
      `CREATE POLICY batch_slots_update ON batch_slots FOR UPDATE TO ${MEMBER_ROLE} USING (EXISTS (SELECT 1 FROM batches b WHERE b.id = batch_id)) WITH CHECK (EXISTS (SELECT 1 FROM batches b WHERE b.id = batch_id))`,
      // Only the claim and the filling move: a slot's values are the batch's plan.
      "CREATE TRIGGER batch_slots_keep_content BEFORE UPDATE ON batch_slots FOR EACH ROW EXECUTE FUNCTION keep_content('claimed_by', 'claimed_until', 'conversation_id')",
      `GRANT SELECT, INSERT, UPDATE ON batch_slots TO ${MEMBER_ROLE}`,
    ],
  },
  {
    version: 9,
    description: 'a review is added only to a conversation the reviewer may read',
    sql: [
      // Reading a teammate's private conversation was refused, but a review of it could still be
      // added by anyone who knew its id (its approval rate is the private template's). The
      // conversation's own read policy applies inside EXISTS, as in the other parts' policies.
      'DROP POLICY reviews_insert ON reviews',
      `CREATE POLICY reviews_insert ON reviews FOR INSERT TO ${MEMBER_ROLE}
         WITH CHECK (created_by = current_user AND EXISTS (SELECT 1 FROM conversations c WHERE c.id = conversation_id))`,
    ],
  },
  {
    version: 10,
    description: "Message Batches on the team store: each member's submitted Message Batches and the results taken in, theirs alone",
    sql: [
      // The workspace's message_batches (its migrations 7, 9 and 10) column for column: one row per
      // Message Batch, written BEFORE the POST ('submitting', no anthropic_id) and given its id
      // right after, so a crash between the two is matched against the account's Message Batches
      // on resume instead of submitting the same work twice. `confirmed` stays an integer (0 or 1)
      // as in the workspace, so the same statements read and write it on both.
      `CREATE TABLE message_batches (
         id TEXT PRIMARY KEY,                   -- ours; the start of every custom_id it holds
         batch_id TEXT NOT NULL REFERENCES batches(id),
         anthropic_id TEXT UNIQUE,              -- msgbatch_…: unique across the team (one account may serve several members)
         state TEXT NOT NULL CHECK (state IN ('submitting', 'submitted', 'collected', 'lost')),
         request_count INTEGER NOT NULL,
         custom_ids JSONB NOT NULL,             -- in request order
         attempt INTEGER NOT NULL,
         worst_case_usd DOUBLE PRECISION NOT NULL, -- held against the submitter's budgets until collected
         created_at BIGINT NOT NULL,
         submitted_at BIGINT,
         ended_at BIGINT,
         purpose TEXT NOT NULL DEFAULT 'generation' CHECK (purpose IN ('generation', 'judge')),
         confirmed INTEGER NOT NULL DEFAULT 1 CHECK (confirmed IN (0, 1)),
         created_by TEXT NOT NULL DEFAULT current_user
       )`,
      'CREATE INDEX message_batches_by_batch ON message_batches (batch_id, created_at)',
      // What a member holds against their daily budget: their Message Batches not yet collected.
      "CREATE INDEX message_batches_outstanding ON message_batches (created_by) WHERE state IN ('submitting', 'submitted')",
      // Each result line taken in once: its key is the guard, also for two processes collecting
      // one Message Batch at once (the second's insert waits for the first's commit, then adds
      // nothing: ON CONFLICT DO NOTHING).
      `CREATE TABLE message_batch_results (
         message_batch_id TEXT NOT NULL REFERENCES message_batches(id),
         custom_id TEXT NOT NULL,
         result TEXT NOT NULL CHECK (result IN ('succeeded', 'errored', 'canceled', 'expired')),
         error_type TEXT,
         conversation_id TEXT,
         created_at BIGINT NOT NULL,
         created_by TEXT NOT NULL DEFAULT current_user,
         PRIMARY KEY (message_batch_id, custom_id)
       )`,
      ...['message_batches', 'message_batch_results'].flatMap((t) => [`ALTER TABLE ${t} ENABLE ROW LEVEL SECURITY`, `ALTER TABLE ${t} FORCE ROW LEVEL SECURITY`]),
      // The submitter's alone, like the generation logs: a Message Batch's worst case, custom ids
      // and Anthropic id are about the member's spending and account. A row is written only for a
      // batch the member may see (the batches' read policy applies inside EXISTS).
      `CREATE POLICY message_batches_read ON message_batches FOR SELECT TO ${MEMBER_ROLE} USING (created_by = current_user)`,
      `CREATE POLICY message_batches_insert ON message_batches FOR INSERT TO ${MEMBER_ROLE}
         WITH CHECK (created_by = current_user AND EXISTS (SELECT 1 FROM batches b WHERE b.id = batch_id))`,
      `CREATE POLICY message_batches_update ON message_batches FOR UPDATE TO ${MEMBER_ROLE} USING (created_by = current_user) WITH CHECK (created_by = current_user)`,
      // Results: with their Message Batch, so the submitter's too (its own policy applies inside EXISTS).
      `CREATE POLICY message_batch_results_read ON message_batch_results FOR SELECT TO ${MEMBER_ROLE} USING (created_by = current_user)`,
      `CREATE POLICY message_batch_results_insert ON message_batch_results FOR INSERT TO ${MEMBER_ROLE}
         WITH CHECK (created_by = current_user AND EXISTS (SELECT 1 FROM message_batches m WHERE m.id = message_batch_id))`,
      // No DELETE; results are append-only.
      `GRANT SELECT, INSERT, UPDATE ON message_batches TO ${MEMBER_ROLE}`,
      `GRANT SELECT, INSERT ON message_batch_results TO ${MEMBER_ROLE}`,
    ],
  },
  {
    version: 11,
    description: "the judge on the team store: a conversation's author replaces its score with the judge's combined one",
    sql: [
      // The judge (promptloom.quality.judge on) replaces the scorer's score with the combined one
      // (src/core/store/judgeCalls.ts, saveJudged). Members could only insert scores: now the
      // conversation's author, and no one else, may update its score. A teammate's score is never
      // theirs to change: the conversation's own policies apply inside EXISTS (a conversation
      // they may not read is no conversation), and the author is compared with current_user.
      `CREATE POLICY quality_scores_update ON quality_scores FOR UPDATE TO ${MEMBER_ROLE}
         USING (EXISTS (SELECT 1 FROM conversations c WHERE c.id = conversation_id AND c.created_by = current_user))
         WITH CHECK (EXISTS (SELECT 1 FROM conversations c WHERE c.id = conversation_id AND c.created_by = current_user))`,
      `GRANT UPDATE ON quality_scores TO ${MEMBER_ROLE}`,
      // judge_calls has been here since migration 1, with the generation logs' rules (RLS, the
      // author's reads and inserts only, no UPDATE or DELETE); its by-author index was not: the
      // daily budget sums the member's own calls since midnight (judgeSpentSince).
      'CREATE INDEX judge_calls_by_author ON judge_calls (created_by, created_at)',
    ],
  },
  {
    version: 12,
    description: "the team's figures per version, per quarter hour and per batch: aggregates of everyone's logs, never a log",
    sql: [
      // Per-template figures were the team's (template_analytics), but per version, per day and
      // per batch a member added up only their own logs. These views give those figures for
      // everyone's logs, as template_analytics does: they run with their owner's rights (who reads
      // every log) while current_user stays the caller, for the templates the caller may read
      // (active ones and their own), and answer only sums and counts. security_barrier keeps a
      // caller's function in WHERE from being pushed below the aggregation; equality on a
      // grouping column (leakproof) is still pushed down, so a read of one template, version or
      // batch uses an index instead of aggregating every log.
      //
      // Aggregated when read rather than kept as totals (migration 3's design): these groups are
      // fine (a quarter hour of one version), so kept totals would be a row for every few logs,
      // each insert paying a second set-aside and fold; reads of one template or version are
      // narrowed by the indexes, and only the whole team's series aggregates every visible log.
      //
      // Quarter hours (created_at / 900000, as the workspace's dailySeries groups): the reader
      // puts them into local days or hours (its dayOf), so day boundaries are the caller's own,
      // daylight saving and 30- and 45-minute offsets included (every zone's offset is a multiple
      // of 15 minutes).
      'CREATE INDEX generation_logs_by_version ON generation_logs (version_id, created_at)',
      `CREATE VIEW generation_figures WITH (security_barrier) AS
         SELECT g.template_id, g.version_id, g.created_at / 900000 AS b,
                count(*) AS generations,
                count(*) FILTER (WHERE g.status = 'succeeded') AS succeeded,
                count(*) FILTER (WHERE g.status = 'failed') AS failed,
                count(*) FILTER (WHERE g.status = 'cancelled') AS cancelled,
                sum(g.cost_usd) AS cost_usd,
                sum(g.saved_usd) AS saved_usd,
                sum(g.duration_ms) AS duration_ms,
                max(g.created_at) AS last_generation_at
           FROM generation_logs g
          WHERE EXISTS (SELECT 1 FROM prompt_templates t WHERE t.id = g.template_id AND (t.is_active OR t.created_by = current_user))
          GROUP BY g.template_id, g.version_id, g.created_at / 900000`,
      // The same by quarter hour alone, for the whole team's series (the dashboard's chart):
      // grouping by template and version first would only be undone, at twice the work.
      `CREATE VIEW generation_quarter_hours WITH (security_barrier) AS
         SELECT g.created_at / 900000 AS b,
                count(*) AS generations,
                count(*) FILTER (WHERE g.status = 'failed') AS failed,
                count(*) FILTER (WHERE g.status = 'cancelled') AS cancelled,
                sum(g.cost_usd) AS cost_usd
           FROM generation_logs g
          WHERE EXISTS (SELECT 1 FROM prompt_templates t WHERE t.id = g.template_id AND (t.is_active OR t.created_by = current_user))
          GROUP BY g.created_at / 900000`,
      // The export card's cost: per batch, and per conversation for a log outside a batch.
      `CREATE VIEW generation_costs WITH (security_barrier) AS
         SELECT g.batch_id, CASE WHEN g.batch_id IS NULL THEN g.conversation_id END AS conversation_id,
                count(*) AS generations, sum(g.cost_usd) AS cost_usd, sum(g.input_tokens) AS input_tokens, sum(g.output_tokens) AS output_tokens
           FROM generation_logs g
          WHERE EXISTS (SELECT 1 FROM prompt_templates t WHERE t.id = g.template_id AND (t.is_active OR t.created_by = current_user))
          GROUP BY g.batch_id, CASE WHEN g.batch_id IS NULL THEN g.conversation_id END`,
      // The first and last log's times (seriesUnit), from each visible template's first and last
      // index entry (generation_logs_by_template) rather than from every log.
      `CREATE VIEW generation_span WITH (security_barrier) AS
         SELECT min(s.first_generation_at) AS first_generation_at, max(s.last_generation_at) AS last_generation_at
           FROM (SELECT (SELECT min(g.created_at) FROM generation_logs g WHERE g.template_id = t.id) AS first_generation_at,
                        (SELECT max(g.created_at) FROM generation_logs g WHERE g.template_id = t.id) AS last_generation_at
                   FROM prompt_templates t WHERE t.is_active OR t.created_by = current_user) s`,
      `GRANT SELECT ON generation_figures, generation_quarter_hours, generation_costs, generation_span TO ${MEMBER_ROLE}`,
    ],
  },
  {
    version: 13,
    description: "a template shown or hidden (active, inactive, deleted, renamed) is announced, so teammates' views drop or add it",
    sql: [
      // Views on the team store re-read only the templates a change names; a teammate's template
      // turned inactive or deleted named none, and its row stayed in their views until a refresh
      // (found in review). Announced when the template was visible to the team before or after
      // (an inactive template that stays inactive is its author's alone: never named), and only
      // its id, as migration 2's announcements.
      `CREATE FUNCTION notify_template_change() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF NEW.is_active OR (TG_OP = 'UPDATE' AND OLD.is_active) THEN
           PERFORM pg_notify('${CHANGES_CHANNEL}', json_build_object('table', TG_TABLE_NAME, 'template', NEW.id)::text);
         END IF;
         RETURN NULL;
       END $$`,
      'CREATE TRIGGER prompt_templates_notify AFTER INSERT OR UPDATE OF is_active, deleted_at, name, tier ON prompt_templates FOR EACH ROW EXECUTE FUNCTION notify_template_change()',
    ],
  },
];

export const TEAM_SCHEMA_VERSION = PG_MIGRATIONS[PG_MIGRATIONS.length - 1]!.version;
