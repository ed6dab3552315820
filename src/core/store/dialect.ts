/**
 * What the workspace database (SQLite) and the team database (PostgreSQL) spell differently, in
 * one place: queries written against `Database` (./database.ts) ask their dialect for these, so a
 * query is written once and the workspace's SQL stays what it was (each SQLite form below is the
 * text the queries used before the team store existed).
 *
 * The team schema mirrors the workspace's column for column (postgres/migrations.ts) except:
 * - templates are `prompt_templates`, `is_active` a boolean, and a path is unique per member
 *   (each has their own a.prompt): `templates` gives the workspace's names, and `ownFirst` picks
 *   the reader's own where a path names two;
 * - a member reads only their own generation logs (row-level security): per-template figures of
 *   everyone's logs come from the `template_analytics` view (`templateGenerations`), per version,
 *   quarter hour and batch from the views of team migration 12 (`generationFigures`,
 *   `generationQuarterHours`, `generationCosts`, `generationSpan`). Figures read from
 *   `generation_logs` directly (the estimate's means, the daily budget) are the member's own on
 *   the team store: see docs/team-store.md, "Where team figures differ".
 * - rows have no insertion order (SQLite's rowid): the tie-breaker after created_at is the id.
 */
export interface Dialect {
  readonly name: 'sqlite' | 'postgresql';
  /** The templates, with the workspace's columns (id, path, name, tier, active as 1/0, deleted_at, created_at); give it an alias. */
  readonly templates: string;
  /**
   * Per template, the figures of every generation log the store counts: template_id, generations,
   * succeeded, failed, cancelled, avg_duration_ms, avg_cost_usd, cost_usd, saved_usd,
   * last_generation_at. A relation: give it an alias.
   */
  readonly templateGenerations: string;
  /** The same over every template the store counts, one row: generations, cost_usd. */
  readonly allGenerations: string;
  /**
   * The generation logs the store counts, as rows to add up (`total()` each column): template_id,
   * version_id, b (the quarter hour, created_at / LOG_BUCKET_MS), generations, succeeded, failed,
   * cancelled, cost_usd, saved_usd, duration_ms, last_generation_at. The workspace's is one row per
   * log (a projection of `generation_logs`, which SQLite flattens into the query reading it); the
   * team's is everyone's logs grouped by those keys (team migration 12), since a member may read
   * only their own. A relation: give it an alias.
   */
  readonly generationFigures: string;
  /** The same without template and version, for a series of every template: b, generations, failed, cancelled, cost_usd. */
  readonly generationQuarterHours: string;
  /** The same for the export card's cost: batch_id, conversation_id (of a log outside a batch), generations, cost_usd, input_tokens, output_tokens. */
  readonly generationCosts: string;
  /** One row: the first and the last log's times the store counts (first_generation_at, last_generation_at; NULL without logs). */
  readonly generationSpan: string;
  /**
   * `value` as the backend can store it: PostgreSQL's text and jsonb refuse the NUL character
   * (SQLite keeps it), so on the team store each string's NUL becomes U+FFFD; the same value in a
   * workspace.
   */
  storable<T>(value: T): T;
  /** Where a path names two templates (team: one per member), the reader's own first: an ORDER BY clause, or nothing. */
  ownFirst(alias: string): string;
  /** A template's author (team: the role that created it) as an expression; NULL in a workspace, which has one author. */
  author(alias: string): string;
  /** SQLite's total(): the sum of a number column, 0 over no rows. */
  total(expr: string): string;
  /** How many rows meet `condition` (0 over no rows). */
  countWhere(condition: string): string;
  /** The text of `expr` over the group's rows, joined by `separator`, in `orderBy`'s order where the backend needs telling. */
  joined(expr: string, separator: string, orderBy?: string): string;
  /** The order rows were inserted in, as the tie-breaker after created_at. */
  insertionOrder(alias: string): string;
  /** A JSON column's top-level field, as text. */
  jsonField(column: string, key: string): string;
  /**
   * `expr` (text) compared byte by byte, for an ORDER BY both backends must agree on: SQLite's
   * default collation is binary already, a PostgreSQL database's may be a locale's (en_US sorts
   * `-` and case its own way).
   */
  bytewise(expr: string): string;

  // ---- writes (the recording path: repositories.ts, nearDuplicates.ts) ----------------------
  /** The table templates are written to (`templates` has the workspace's columns only for reading). */
  readonly templateTable: string;
  /** Its column saying whether the template is in rotation. */
  readonly activeColumn: string;
  /** The literal "true" for that column. */
  readonly trueLiteral: string;
  /**
   * ` AND <alias.>created_by = current_user` on the team store, where each member's rows are
   * theirs (a path names one template per member; spending is per member), nothing in a workspace.
   */
  andOwn(alias?: string): string;
}

/** The period the logs' figures are grouped by over time: a quarter hour (see generationFigures). */
export const LOG_BUCKET_MS = 15 * 60_000;

/** Every log as a row of figures to add up: the workspace's generationFigures, generationQuarterHours and generationCosts (it reads every log). */
const SQLITE_LOG_ROWS = `(SELECT template_id, version_id, batch_id, conversation_id, CAST(created_at / ${LOG_BUCKET_MS} AS INTEGER) AS b, 1 AS generations,
           status = 'succeeded' AS succeeded, status = 'failed' AS failed, status = 'cancelled' AS cancelled, cost_usd, saved_usd, duration_ms,
           input_tokens, output_tokens, created_at AS last_generation_at
      FROM generation_logs)`;

export const SQLITE_DIALECT: Dialect = {
  name: 'sqlite',
  templates: 'templates',
  templateGenerations: `(SELECT template_id, count(*) AS generations, total(status = 'succeeded') AS succeeded, total(status = 'failed') AS failed,
           total(status = 'cancelled') AS cancelled, avg(duration_ms) AS avg_duration_ms, avg(cost_usd) AS avg_cost_usd, total(cost_usd) AS cost_usd,
           total(saved_usd) AS saved_usd, max(created_at) AS last_generation_at
      FROM generation_logs GROUP BY template_id)`,
  allGenerations: '(SELECT count(*) AS generations, total(cost_usd) AS cost_usd FROM generation_logs)',
  generationFigures: SQLITE_LOG_ROWS,
  generationQuarterHours: SQLITE_LOG_ROWS,
  generationCosts: SQLITE_LOG_ROWS,
  generationSpan: '(SELECT min(created_at) AS first_generation_at, max(created_at) AS last_generation_at FROM generation_logs)',
  ownFirst: () => '',
  storable: (value) => value,
  author: () => 'NULL',
  total: (expr) => `total(${expr})`,
  countWhere: (condition) => `total(${condition})`,
  // group_concat follows the order of the rows it is given (an ordered subquery).
  joined: (expr, separator) => `group_concat(${expr}, '${separator}')`,
  insertionOrder: (alias) => `${alias}.rowid`,
  jsonField: (column, key) => `json_extract(${column}, '$.${key}')`,
  bytewise: (expr) => expr,
  templateTable: 'templates',
  activeColumn: 'active',
  trueLiteral: '1',
  andOwn: () => '',
};

export const POSTGRESQL_DIALECT: Dialect = {
  name: 'postgresql',
  templates: `(SELECT id, path, name, tier, CASE WHEN is_active THEN 1 ELSE 0 END AS active, deleted_at, created_at, created_by FROM prompt_templates)`,
  // template_analytics runs with its owner's rights: everyone's logs, added up, for the templates
  // the reader may see (its cancelled and saved_usd since team migration 7).
  templateGenerations: `(SELECT template_id, generations, succeeded, failed, cancelled,
           avg_duration_ms, cost_usd / nullif(generations, 0) AS avg_cost_usd, cost_usd, saved_usd, last_generation_at
      FROM template_analytics)`,
  allGenerations: '(SELECT coalesce(sum(generations), 0) AS generations, coalesce(sum(cost_usd), 0) AS cost_usd FROM template_analytics)',
  // Everyone's logs, grouped, for the templates the reader may see (team migration 12).
  generationFigures: 'generation_figures',
  generationQuarterHours: 'generation_quarter_hours',
  generationCosts: 'generation_costs',
  generationSpan: 'generation_span',
  ownFirst: (alias) => `ORDER BY (${alias}.created_by = current_user) DESC, ${alias}.id`,
  storable: withoutNul,
  author: (alias) => `${alias}.created_by`,
  total: (expr) => `coalesce(sum(${expr}), 0)`,
  countWhere: (condition) => `count(*) FILTER (WHERE ${condition})`,
  // string_agg's order is not the subquery's unless told.
  joined: (expr, separator, orderBy) => `string_agg((${expr})::text, '${separator}'${orderBy ? ` ORDER BY ${orderBy}` : ''})`,
  insertionOrder: (alias) => `${alias}.id`,
  jsonField: (column, key) => `(${column} ->> '${key}')`,
  bytewise: (expr) => `${expr} COLLATE "C"`,
  templateTable: 'prompt_templates',
  activeColumn: 'is_active',
  trueLiteral: 'true',
  // created_by is the server's (DEFAULT current_user): compared with, never written.
  andOwn: (alias) => ` AND ${alias ? `${alias}.` : ''}created_by = current_user`,
};

/** `value` with every string's NUL character replaced by U+FFFD (arrays and plain objects walked, others kept). */
export function withoutNul<T>(value: T): T {
  if (typeof value === 'string') return value.replaceAll('\u0000', '\uFFFD') as T;
  if (Array.isArray(value)) return value.map((v: unknown) => withoutNul(v)) as T;
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutNul(v)])) as T;
  }
  return value;
}
