/**
 * The team database behind the `Database` handle (../database.ts): a `pg.Pool` whose connections
 * have `search_path = promptloom`, so queries written for the workspace database find the team's
 * tables unqualified. The differences queries must know of are in ../dialect.ts; the ones the
 * handle absorbs are here: placeholders, and the types of values read.
 */
import { Pool, types, type CustomTypesConfig, type PoolClient } from 'pg';
import type { AsyncTx, Database, SqlStatement } from '../database';
import { POSTGRESQL_DIALECT } from '../dialect';
import type { Row, SqlParam } from '../types';
import { checkDatabaseUrl, inTransaction, teamConnectionConfig, TeamDatabaseError, teamErrorMessage } from './connection';

/**
 * `?` placeholders numbered `$1, $2…` in order, as PostgreSQL wants them. A `?` inside a quoted
 * string ('…', with '' as a quote within) or a quoted name ("…") is text, left alone. Not
 * understood, so not to be written in shared queries: comments, dollar-quoted strings, and the
 * jsonb operators `?`, `?|`, `?&` (use jsonb_exists and its kin).
 */
export function numberedPlaceholders(sql: string): string {
  let out = '';
  let n = 0;
  let quote: "'" | '"' | undefined;
  for (const ch of sql) {
    if (quote) {
      // A doubled quote closes and reopens: the same state, whichever way it is read.
      if (ch === quote) quote = undefined;
      out += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      out += ch;
    } else if (ch === '?') out += `$${++n}`;
    else out += ch;
  }
  return out;
}

/**
 * The parameters as PostgreSQL takes them: its text refuses the NUL character, which SQLite
 * stores, so NUL becomes U+FFFD (a statement holding one would be refused whole). JSON built from
 * a record is cleaned before it is serialised (`Dialect.storable`): here a text that spells the
 * escape \u0000 is no NUL and is kept as it is.
 */
export function pgParams(params: readonly SqlParam[] = []): unknown[] {
  return params.map((value) => (typeof value === 'string' ? value.replaceAll('\u0000', '\uFFFD') : value));
}

/** pg's type ids whose values are worth converting. */
const INT8 = 20;
const NUMERIC = 1700;
const JSON_OID = 114;
const JSONB = 3802;

/**
 * bigint (counts, ids, times in ms) and numeric (sums and means of bigints) as numbers, as the
 * workspace database gives them: pg gives strings, because a bigint may exceed 2^53, which no
 * count, id or millisecond time here comes near. JSON as its text, as the workspace stores it:
 * mappers parse it either way (jsonb's text orders an object's keys its own way).
 */
export const TEAM_TYPES: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8 || oid === NUMERIC) return (value: string) => Number(value);
    if (oid === JSON_OID || oid === JSONB) return (value: string) => value;
    return format === 'binary' ? types.getTypeParser(oid, 'binary') : types.getTypeParser(oid, 'text');
  }) as CustomTypesConfig['getTypeParser'],
};

/** How many times a transaction runs before a serialization failure or deadlock is given up on. */
export const TRANSACTION_ATTEMPTS = 5;

/** PostgreSQL's codes for "run it again": serialization_failure and deadlock_detected. */
const RETRYABLE = new Set(['40001', '40P01']);

export function isRetryable(error: unknown): boolean {
  return RETRYABLE.has(String((error as { code?: unknown } | undefined)?.code));
}

/** A transaction body's handle on one client: the same placeholders and types as the pool's. */
function clientTx(client: PoolClient): AsyncTx {
  const query = (sql: string, params: readonly SqlParam[] = []) => client.query(numberedPlaceholders(sql), pgParams(params));
  return {
    all: async <T extends Row = Row>(sql: string, params?: readonly SqlParam[]) => (await query(sql, params)).rows as T[],
    get: async <T extends Row = Row>(sql: string, params?: readonly SqlParam[]) => (await query(sql, params)).rows[0] as T | undefined,
    run: async (sql, params) => ({ changes: (await query(sql, params)).rowCount ?? 0 }),
    // The shared INSERT with the key asked back: ids are the server's (GENERATED ALWAYS AS IDENTITY).
    insert: async (sql, params) => Number((await query(`${sql} RETURNING id`, params)).rows[0]!.id),
  };
}

/** A lock held by a run (`TeamDatabase.hold`). */
export interface TeamLease {
  /** True once the connection holding it dropped: another session may hold the lock now. */
  readonly lost: boolean;
  release(): Promise<void>;
}

export class TeamDatabase implements Database {
  readonly dialect = POSTGRESQL_DIALECT;

  private constructor(
    private readonly pool: Pool,
    private readonly url: string,
  ) {}

  /** Opens a pool and checks that it connects: a wrong URL or password fails here, as a TeamDatabaseError. */
  static async connect(url: string, options: { connectTimeoutMs?: number; maxConnections?: number } = {}): Promise<TeamDatabase> {
    checkDatabaseUrl(url);
    const pool = new Pool({ ...teamConnectionConfig(url, options), types: TEAM_TYPES, max: options.maxConnections ?? 4 });
    // An idle connection lost (the server restarted) must not end the process with the driver's message.
    pool.on('error', () => undefined);
    const db = new TeamDatabase(pool, url);
    try {
      await pool.query('SELECT 1');
    } catch (error) {
      // Not awaited: a pool whose client's socket never opened never ends (see connectTeamDatabase).
      void pool.end().catch(() => undefined);
      throw new TeamDatabaseError(teamErrorMessage(error, url));
    }
    return db;
  }

  async all<T extends Row = Row>(sql: string, params: readonly SqlParam[] = []): Promise<T[]> {
    return (await this.pool.query(numberedPlaceholders(sql), pgParams(params))).rows as T[];
  }

  async get<T extends Row = Row>(sql: string, params: readonly SqlParam[] = []): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  async run(sql: string, params: readonly SqlParam[] = []): Promise<{ changes: number }> {
    return { changes: (await this.pool.query(numberedPlaceholders(sql), pgParams(params))).rowCount ?? 0 };
  }

  async runAll(statements: readonly SqlStatement[]): Promise<{ changes: number }[]> {
    const client = await this.pool.connect();
    try {
      return await inTransaction(client, async () => {
        const results: { changes: number }[] = [];
        for (const s of statements) results.push({ changes: (await client.query(numberedPlaceholders(s.sql), pgParams(s.params))).rowCount ?? 0 });
        return results;
      });
    } finally {
      client.release();
    }
  }

  /**
   * `work` reading through one REPEATABLE READ, READ ONLY transaction: every read sees the
   * database as of the first, so a read of many statements (an export: its rows, their turns, the
   * links, the card's counts) is consistent while teammates write. A write through it is refused.
   */
  async snapshot<T>(work: (db: Database) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      return await inTransaction(client, async () => {
        await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
        const refused = () => Promise.reject(new Error('a snapshot of the team database only reads'));
        const reader: Database = {
          dialect: this.dialect,
          async all<R extends Row = Row>(sql: string, params: readonly SqlParam[] = []): Promise<R[]> {
            return (await client.query(numberedPlaceholders(sql), pgParams(params))).rows as R[];
          },
          async get<R extends Row = Row>(sql: string, params: readonly SqlParam[] = []): Promise<R | undefined> {
            return ((await client.query(numberedPlaceholders(sql), pgParams(params))).rows as R[])[0];
          },
          run: refused,
          runAll: refused,
          transaction: refused,
        };
        return work(reader);
      });
    } finally {
      client.release();
    }
  }

  /**
   * `Database.transaction`: `BEGIN … COMMIT` on one pooled client, at READ COMMITTED. A
   * serialization failure (40001) or a deadlock (40P01) rolls it back and runs the body again, a
   * few times with a short random wait (two writers that deadlocked would otherwise meet again at
   * once); any other failure rolls back and is thrown. A client whose connection failed is
   * destroyed, not returned to the pool.
   */
  async transaction<T>(body: (tx: AsyncTx) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        try {
          const value = await body(clientTx(client));
          await client.query('COMMIT');
          return value;
        } catch (error) {
          await client.query('ROLLBACK').catch((rollbackFailed: Error) => (broken = rollbackFailed));
          throw error;
        }
      } catch (error) {
        if (attempt < TRANSACTION_ATTEMPTS && isRetryable(error)) {
          await new Promise((r) => setTimeout(r, Math.random() * 20 * attempt));
          continue;
        }
        throw error;
      } finally {
        client.release(broken);
      }
    }
  }

  /**
   * A lease for as long as a run goes on: a session advisory lock on `key`, taken on a connection
   * of this pool's kept for it alone until `release`. Undefined when another session holds it.
   * The server lets it go when that connection ends, so a process killed with kill -9 holds
   * nothing (its session ends with its socket); a lease whose connection dropped (a server
   * restart, the network) says so in `lost`, since another process may hold it from then on.
   */
  async hold(key: string): Promise<TeamLease | undefined> {
    const client = await this.pool.connect();
    let lost = false;
    const onLost = () => (lost = true);
    // A checked-out client's failure is emitted on it: without a listener it would end the process.
    client.on('error', onLost);
    client.on('end', onLost);
    let held: boolean;
    try {
      held = (await client.query<{ held: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS held', [key])).rows[0]!.held === true;
    } catch (error) {
      client.off('end', onLost);
      client.release(true);
      throw error;
    }
    if (!held) {
      client.off('error', onLost);
      client.off('end', onLost);
      client.release();
      return undefined;
    }
    let released = false;
    return {
      get lost() {
        return lost;
      },
      release: async () => {
        if (released) return;
        released = true;
        // Ending the connection ends the session and its lock: nothing to unlock by hand.
        client.off('end', onLost);
        client.release(true);
      },
    };
  }

  /** Why `error` happened, in one line without the password. */
  describeError(error: unknown): string {
    return teamErrorMessage(error, this.url);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
