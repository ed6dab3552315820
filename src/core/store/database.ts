/**
 * A database handle both backends implement (docs/team-store.md, step 2): the workspace database
 * (`Store`, SQLite) and the team database (`TeamDatabase`, PostgreSQL). Queries written against
 * it run on either: statements use `?` placeholders (the PostgreSQL handle numbers them), and
 * what the two SQL dialects spell differently is asked of `dialect` (./dialect.ts), never tested
 * for by name in a query.
 *
 * Numbers arrive as numbers and JSON columns as their text on both (the PostgreSQL handle parses
 * bigint and numeric, and leaves jsonb as text), so row mappers parse JSON on read either way.
 */
import type { Dialect } from './dialect';
import type { Row, SqlParam } from './types';

export interface SqlStatement {
  readonly sql: string;
  readonly params?: readonly SqlParam[];
}

export interface Database {
  readonly dialect: Dialect;
  all<T extends Row = Row>(sql: string, params?: readonly SqlParam[]): Promise<T[]>;
  get<T extends Row = Row>(sql: string, params?: readonly SqlParam[]): Promise<T | undefined>;
  /** One write, a transaction of its own; `changes` is the number of rows it touched. */
  run(sql: string, params?: readonly SqlParam[]): Promise<{ changes: number }>;
  /**
   * Several writes as one transaction: all or none. A list rather than an async body: the
   * workspace database runs its transactions synchronously under its lock (docs/team-store.md).
   */
  runAll(statements: readonly SqlStatement[]): Promise<{ changes: number }[]>;
  /**
   * Runs `body` as one transaction: committed when it resolves, rolled back when it throws. The
   * body may read (it sees its own writes) and decide what to write next. It may be run more than
   * once (PostgreSQL retries it after a serialization failure or a deadlock), so it must do
   * nothing but statements through `tx` and computing its result; work that needs no transaction
   * (ids, signatures) is done before it.
   */
  transaction<T>(body: (tx: AsyncTx) => Promise<T>): Promise<T>;
}

/** What a transaction body may do (`Database.transaction`). */
export interface AsyncTx {
  all<T extends Row = Row>(sql: string, params?: readonly SqlParam[]): Promise<T[]>;
  get<T extends Row = Row>(sql: string, params?: readonly SqlParam[]): Promise<T | undefined>;
  run(sql: string, params?: readonly SqlParam[]): Promise<{ changes: number }>;
  /**
   * An INSERT of one row into a table with an `id` key, answering that id: SQLite's
   * last_insert_rowid() (the statement journaled as written), PostgreSQL's `RETURNING id`.
   */
  insert(sql: string, params?: readonly SqlParam[]): Promise<number>;
}

/**
 * The workspace database as a generation run uses it: any `Database` on it (the CLI's `Store`, or
 * the editor's handle on the `Store` in its worker thread), with the workspace's `.promptloom/`
 * folder (a batch's lease and the answers kept aside are files there, written by the run's own
 * thread) and its catch-up with what other processes wrote (the journal).
 */
export interface WorkspaceDatabase extends Database {
  /** The workspace's `.promptloom/` folder, beside the database's files. */
  readonly dir: string;
  /** Reads what other processes wrote since the last look; true when anything changed. */
  refresh(): Promise<boolean>;
}
