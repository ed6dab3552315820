/**
 * The workspace database: SQLite in memory (sql.js), made durable by a journal.
 *
 * Files in `<workspace>/.promptloom/`:
 * - `promptloom.db`: a snapshot, the SQLite file as of journal sequence number S;
 * - `promptloom.journal`: every write transaction after S, appended and fsync'd before the
 *   write returns, so a finished write is durable in milliseconds whatever the database size;
 * - `promptloom.lock`: held by whichever process is writing.
 *
 * That folder comes with the workspace (a cloned repository may hold one), so every file in it is
 * reached through safeFiles: links are refused, never followed, and nothing is written before the
 * files are found to be what they should be.
 *
 * Opening loads the snapshot and replays the journal. Writers take the lock, first replay what
 * other processes appended, then run their transaction and append it: transactions are
 * serialised across processes, and replaying them in order gives every process the same data.
 * From time to time the journal is folded into a new snapshot (written aside, fsync'd, renamed
 * over the old one) and restarted. A crash at any instant leaves either a torn last frame (cut
 * off on the next open) or an unrenamed temporary file: nothing committed is lost, nothing is
 * corrupted.
 *
 * Writes are asynchronous only in waiting: within a process they are queued, the lock is waited
 * for on timers (the editor's extension host must never be frozen by another process's write),
 * then the transaction runs synchronously under the lock.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Database, SqlJsStatic } from 'sql.js';
import type { AsyncTx, Database as StoreDatabase, SqlStatement } from './database';
import { SQLITE_DIALECT, type Dialect } from './dialect';
import { appendDurably, fileSize, hasFrameAfter, readFrames, startJournal, type JournalEntry, type Statement } from './journal';
import { FileLock } from './lock';
import { StoreAccessError, accessError, copyFile, ensureFolder, entryKind, readFile, refuseLink, rename, replaceFile, truncateFile } from './safeFiles';
import { MIGRATIONS, type Migration } from './schema';
import { loadSqlJs, selectRows } from './sqljs';
import type { Row, SqlParam } from './types';

export interface StoreOptions {
  /** Fold the journal into the snapshot once it grows past this many bytes. */
  readonly checkpointBytes?: number;
  /** The migrations to apply (tests open databases as older releases made them). */
  readonly migrations?: readonly Migration[];
  /** How long a writer waits for another process's lock. */
  readonly lockTimeoutMs?: number;
  /** How old a lock's heartbeat may get before the lock stops counting (tests shorten it). */
  readonly lockStaleMs?: number;
  /** Told when a wait for another process's lock lasts (see LOCK_WAIT_NOTICE_MS), with who holds it. */
  readonly onLockWait?: (holder: string) => void;
}

export interface RunResult {
  readonly changes: number;
  readonly lastInsertRowid: number;
}

/** What a write transaction can do: statements are journaled; reads see the transaction's own writes. */
export interface WriteTx {
  run(sql: string, params?: readonly SqlParam[]): RunResult;
  all<T extends Row = Row>(sql: string, params?: readonly SqlParam[]): T[];
  get<T extends Row = Row>(sql: string, params?: readonly SqlParam[]): T | undefined;
}

const SQLITE_HEADER = 'SQLite format 3\0';

export class Store implements StoreDatabase {
  /** Queries written against `Database` ask this how SQLite spells what PostgreSQL spells differently. */
  readonly dialect: Dialect = SQLITE_DIALECT;
  readonly dir: string;
  readonly snapshotPath: string;
  readonly journalPath: string;
  /** Things worth telling the user that happened on open (a damaged file moved aside…). */
  readonly notices: string[] = [];

  private db!: Database;
  private seq = 0;
  private journalId = '';
  private journalEnd = 0;
  /** Size of the journal's header frame: a journal no bigger holds no transactions. */
  private journalHeaderBytes = 0;
  private readonly lock: FileLock;
  private readonly checkpointBytes: number;
  private closed = false;
  /** The end of this store's queue of locked operations: one at a time within the process. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Settles when the asynchronous transaction body now running ends; undefined when none runs. */
  private openBody: Promise<void> | undefined;

  private constructor(
    private readonly sql: SqlJsStatic,
    workspace: string,
    options: StoreOptions,
  ) {
    this.dir = join(workspace, '.promptloom');
    this.snapshotPath = join(this.dir, 'promptloom.db');
    this.journalPath = join(this.dir, 'promptloom.journal');
    this.lock = new FileLock(join(this.dir, 'promptloom.lock'), options.lockTimeoutMs, options.lockStaleMs, options.onLockWait);
    this.checkpointBytes = options.checkpointBytes ?? 16 * 1024 * 1024;
  }

  /** Opens (creating if needed) the database of a workspace folder. */
  static async open(workspace: string, options: StoreOptions = {}): Promise<Store> {
    const store = new Store(await loadSqlJs(), workspace, options);
    ensureFolder(store.dir);
    // Refuse before touching anything: a link among our files (the lock, a leftover .tmp) would
    // otherwise only be found after other files were written.
    for (const path of [store.snapshotPath, store.journalPath, store.lock.path, `${store.snapshotPath}.tmp`, `${store.journalPath}.tmp`]) refuseLink(path);
    try {
      await store.locked(() => {
        store.loadSnapshot();
        store.catchUp();
      });
      await store.migrate(options.migrations ?? MIGRATIONS);
    } catch (error) {
      throw accessError(error, store.dir, 'use the workspace database in');
    }
    return store;
  }

  /** The journal sequence number this process has applied. */
  get sequence(): number {
    return this.seq;
  }

  /** The highest migration applied. */
  async schemaVersion(): Promise<number> {
    return this.appliedVersion();
  }

  // ---- reading ---------------------------------------------------------------------------------
  //
  // Reads return Promises although sql.js answers at once: callers are written against the
  // asynchronous interface every backend offers (a PostgreSQL server, or this database moved to a
  // worker thread, docs/team-store.md), so swapping the backend changes no caller. Inside a write
  // transaction, reads stay synchronous (WriteTx).

  async all<T extends Row = Row>(sql: string, params: readonly SqlParam[] = []): Promise<T[]> {
    if (this.openBody) await this.afterOpenBody();
    return this.rows<T>(sql, params);
  }

  async get<T extends Row = Row>(sql: string, params: readonly SqlParam[] = []): Promise<T | undefined> {
    if (this.openBody) await this.afterOpenBody();
    return this.row<T>(sql, params);
  }

  /** Reads outside a transaction never see an asynchronous body's uncommitted rows (see `transaction`). */
  private async afterOpenBody(): Promise<void> {
    while (this.openBody) await this.openBody;
  }

  /** The synchronous read under `all` and `get`, for this class and its write transactions. */
  private rows<T extends Row = Row>(sql: string, params: readonly SqlParam[] = []): T[] {
    this.assertOpen();
    return selectRows<T>(this.db, sql, params);
  }

  private row<T extends Row = Row>(sql: string, params: readonly SqlParam[] = []): T | undefined {
    return this.rows<T>(sql, params)[0];
  }

  private appliedVersion(): number {
    return Number(this.rows<{ version: number }>('SELECT max(version) AS version FROM schema_version')[0]?.version ?? 0);
  }

  /**
   * Applies what other processes appended since our last look. Returns true when anything
   * changed. Cheap when nothing did (one stat of the journal).
   */
  async refresh(): Promise<boolean> {
    this.assertOpen();
    const before = this.seq;
    if (fileSize(this.journalPath) === this.journalEnd && this.currentJournalId() === this.journalId) return false;
    // Under the lock: what catch-up finds (a rotated or damaged journal) may need files moved.
    await this.locked(() => this.catchUp());
    return this.seq !== before;
  }

  // ---- writing ---------------------------------------------------------------------------------

  /** One statement as its own transaction (`Database.run`): journaled like any write. */
  async run(sql: string, params: readonly SqlParam[] = []): Promise<{ changes: number }> {
    const { changes } = await this.write((tx) => tx.run(sql, params));
    return { changes };
  }

  /** Statements as one transaction (`Database.runAll`): all or none, one journal frame. */
  async runAll(statements: readonly SqlStatement[]): Promise<{ changes: number }[]> {
    return this.write((tx) => statements.map((s) => ({ changes: tx.run(s.sql, s.params ?? []).changes })));
  }

  /**
   * Runs `fn` as one transaction and makes it durable before resolving: under the inter-process
   * lock, after catching up with other writers. If `fn` throws, nothing is written. `fn` itself
   * is synchronous: statements after an await would escape the transaction.
   */
  async write<T>(fn: (tx: WriteTx) => T): Promise<T> {
    this.assertOpen();
    return this.locked(() => {
      this.catchUp();
      const { tx, statements } = this.journaledTx();
      this.db.run('BEGIN');
      let value: T;
      try {
        value = fn(tx);
        // Statements after an await would run outside the transaction and never be journaled.
        if (value instanceof Promise) throw new TypeError('a write transaction must be synchronous');
        this.db.run('COMMIT');
      } catch (error) {
        this.db.run('ROLLBACK');
        throw error;
      }
      this.makeDurable(statements);
      return value;
    });
  }

  /**
   * `Database.transaction` for the workspace: an asynchronous body, with the guarantees `write`
   * gives a synchronous one. Why this is enough (docs/team-store.md, "What step 3 did"):
   * - it runs as one of the store's locked operations: after the earlier ones of this process,
   *   under the inter-process lock, after catching up, so no other write (this process's or
   *   another's) can interleave with it however often the body awaits;
   * - its statements are journaled as one frame, appended and fsync'd after COMMIT and before it
   *   resolves, exactly as `write` does: the journal stays statement-based and replays the same;
   * - sql.js has one connection, so a read outside the transaction while the body awaits would
   *   see its uncommitted rows: `all` and `get` wait for an open body to finish first.
   * The body's statements run synchronously in sql.js, so it awaits only already-settled
   * promises: the lock is held for as long as a synchronous `write` would hold it, plus microtasks.
   * A body must not call the store itself (its reads would wait for it: a deadlock); it uses `tx`.
   */
  async transaction<T>(body: (tx: AsyncTx) => Promise<T>): Promise<T> {
    this.assertOpen();
    return this.locked(async () => {
      this.catchUp();
      const { tx, statements } = this.journaledTx();
      let open = true;
      const inBody = <R>(fn: () => R): Promise<R> => {
        if (!open) return Promise.reject(new Error('the transaction is over: a statement escaped its body'));
        try {
          return Promise.resolve(fn());
        } catch (error) {
          return Promise.reject(error);
        }
      };
      const asyncTx: AsyncTx = {
        all: (sql, params) => inBody(() => tx.all(sql, params)),
        get: (sql, params) => inBody(() => tx.get(sql, params)),
        run: (sql, params) => inBody(() => ({ changes: tx.run(sql, params).changes })),
        insert: (sql, params) => inBody(() => tx.run(sql, params).lastInsertRowid),
      };
      let bodyDone!: () => void;
      this.openBody = new Promise<void>((resolve) => (bodyDone = resolve));
      this.db.run('BEGIN');
      let value: T;
      try {
        value = await body(asyncTx);
        this.db.run('COMMIT');
      } catch (error) {
        this.db.run('ROLLBACK');
        throw error;
      } finally {
        open = false;
        this.openBody = undefined;
        bodyDone();
      }
      this.makeDurable(statements);
      return value;
    });
  }

  /** A write transaction's handle: statements run and are collected for the journal; reads see them. */
  private journaledTx(): { tx: WriteTx; statements: Statement[] } {
    const statements: Statement[] = [];
    const tx: WriteTx = {
      run: (sql, params = []) => {
        assertReplayable(params);
        const result = this.exec(sql, params);
        statements.push({ sql, params: [...params] });
        return result;
      },
      all: (sql, params) => this.rows(sql, params),
      get: (sql, params) => this.row(sql, params),
    };
    return { tx, statements };
  }

  /** After COMMIT: the transaction's statements appended to the journal and fsync'd (or forgotten in memory too). */
  private makeDurable(statements: Statement[]): void {
    if (statements.length > 0) {
      try {
        this.journalEnd = appendDurably(this.journalPath, { kind: 'tx', seq: this.seq + 1, statements }, this.journalEnd);
      } catch (error) {
        // Not durable (disk full?): forget it in memory too, so memory matches the files.
        this.loadSnapshot();
        this.journalId = '';
        this.catchUp();
        throw error;
      }
      this.seq++;
    }
    if (this.journalEnd > this.checkpointBytes) {
      try {
        this.foldJournal();
      } catch {
        // The write is durable in the journal already; folding it in can wait for the next one.
      }
    }
  }

  /** Folds the journal into a new snapshot and starts an empty journal. */
  async checkpoint(): Promise<void> {
    this.assertOpen();
    await this.locked(() => this.foldJournal());
  }

  /**
   * Folds what this process knows into the database file (best effort), then frees memory.
   * Never waits: when another process holds the lock, the journal keeps everything anyway.
   */
  close(): void {
    if (this.closed) return;
    try {
      if (this.journalEnd > this.journalHeaderBytes && this.lock.tryAcquire()) {
        try {
          this.foldJournal();
        } finally {
          this.lock.release();
        }
      }
    } catch {
      // The lock file or the disk said no: the journal keeps everything anyway.
    }
    this.closed = true;
    this.db.close();
  }

  // ---- internals -------------------------------------------------------------------------------

  private exec(sql: string, params: readonly SqlParam[]): RunResult {
    this.db.run(sql, params as SqlParam[]);
    const changes = this.db.getRowsModified();
    const id = this.db.exec('SELECT last_insert_rowid()')[0]?.values[0]?.[0];
    return { changes, lastInsertRowid: Number(id ?? 0) };
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the workspace database is closed');
  }

  /**
   * Runs `fn` holding the inter-process lock, after this store's earlier locked operations. The
   * wait for the lock is asynchronous; `fn` runs synchronously (or, for `transaction`, awaiting
   * only its own statements), so no other locked operation of this process interleaves with it.
   */
  private locked<T>(fn: () => T | Promise<T>): Promise<T> {
    const run = this.queue.then(async () => {
      this.assertOpen();
      await this.lock.acquire();
      try {
        // Awaited here, so an asynchronous body (`transaction`) ends before the lock is released.
        return await fn();
      } finally {
        this.lock.release();
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Writes a new snapshot and restarts the journal. Under the lock. */
  private foldJournal(): void {
    this.catchUp();
    this.writeSnapshot();
    this.journalId = randomUUID();
    this.journalEnd = startJournal(this.journalPath, this.seq, this.journalId);
    this.journalHeaderBytes = this.journalEnd;
  }

  /** Loads the snapshot, or starts empty; a damaged snapshot is moved aside and reported. */
  private loadSnapshot(): void {
    this.db?.close();
    this.seq = 0;
    try {
      let bytes: Buffer | undefined;
      try {
        bytes = readFile(this.snapshotPath);
      } catch (error) {
        // A folder (say) where the file should be is damage, kept aside below; a link or a
        // filesystem failure is the user's to fix, and nothing may be moved.
        if (error instanceof StoreAccessError && error.problem === 'not-a-file') throw new Error(error.message);
        throw new RefusedError(error);
      }
      if (!bytes) {
        this.db = new this.sql.Database();
        return;
      }
      this.lock.beat();
      if (bytes.subarray(0, 16).toString('latin1') !== SQLITE_HEADER) throw new Error('not an SQLite file');
      const db = new this.sql.Database(bytes);
      const check = db.exec('PRAGMA quick_check')[0]?.values[0]?.[0];
      this.lock.beat();
      if (check !== 'ok') {
        db.close();
        throw new Error(String(check ?? 'integrity check failed'));
      }
      this.db = db;
      this.seq = Number(this.rows<{ value: string }>("SELECT value FROM meta WHERE key = 'seq'")[0]?.value ?? 0);
    } catch (error) {
      if (error instanceof RefusedError) throw error.cause;
      const aside = asideName(this.snapshotPath);
      rename(this.snapshotPath, aside);
      this.notices.push(
        `The workspace database was damaged (${error instanceof Error ? error.message : String(error)}); it was kept as ${aside} and a fresh one was started.`,
      );
      this.db = new this.sql.Database();
    }
  }

  /** The id in the journal's header, or '' when there is none. */
  private currentJournalId(): string {
    const first = readFrames(this.journalPath, 0, 1).entries[0];
    return first?.kind === 'header' ? first.journalId : '';
  }

  /** Replays journal frames this process has not applied yet. Always called under the lock. */
  private catchUp(): void {
    if (entryKind(this.journalPath) === 'missing') {
      this.journalId = randomUUID();
      this.startJournal();
      return;
    }
    let read: ReturnType<typeof readFrames>;
    let rotated: boolean;
    try {
      rotated = this.currentJournalId() !== this.journalId;
      read = readFrames(this.journalPath, rotated ? 0 : this.journalEnd);
    } catch (error) {
      // Only a journal that is not a file is damage to set aside; a link or an unreadable file is refused.
      if (!(error instanceof StoreAccessError) || error.problem !== 'not-a-file') throw error;
      this.recoverJournal(error.message);
      return;
    }
    let entries = read.entries;
    if (rotated) {
      const header = entries[0];
      if (header?.kind !== 'header') {
        this.recoverJournal('it has no header');
        return;
      }
      // A new journal continues the snapshot it was started after. If that is not where we
      // are (another process checkpointed past us, or recovered from a bad journal), start again
      // from the snapshot. The snapshot may also be ahead of the journal's start: a crash between
      // writing the snapshot and restarting the journal; frames it already holds are skipped.
      if (header.baseSeq !== this.seq) this.loadSnapshot();
      if (header.baseSeq > this.seq) {
        this.recoverJournal(`it continues transaction ${header.baseSeq}, but the database file holds ${this.seq}`);
        return;
      }
      this.journalId = header.journalId;
      this.journalHeaderBytes = readFrames(this.journalPath, 0, 1).end;
      entries = entries.slice(1);
    }
    try {
      for (const entry of entries) {
        this.apply(entry);
        this.lock.beat();
      }
    } catch (error) {
      this.recoverJournal(error instanceof Error ? error.message : String(error));
      return;
    }
    this.journalEnd = read.end;
    if (read.damagedTail) {
      if (hasFrameAfter(this.journalPath, read.end)) {
        // Good frames after bad bytes: damage, not a torn write. Keep a copy before cutting.
        const aside = asideName(this.journalPath);
        copyFile(this.journalPath, aside);
        this.notices.push(`The workspace journal was damaged after transaction ${this.seq}; later transactions could not be read. A copy was kept as ${aside}.`);
      } else {
        // A write was cut short by a crash (its caller never saw it succeed).
        this.notices.push('The last write before a crash was incomplete and was dropped; everything before it was kept.');
      }
      truncateFile(this.journalPath, read.end);
    }
  }

  private apply(entry: JournalEntry): void {
    if (entry.kind !== 'tx' || entry.seq <= this.seq) return; // already in the snapshot
    if (entry.seq !== this.seq + 1) throw new Error(`journal gap: expected transaction ${this.seq + 1}, found ${entry.seq}`);
    this.db.run('BEGIN');
    try {
      for (const s of entry.statements) this.db.run(s.sql, s.params as SqlParam[]);
      this.db.run('COMMIT');
    } catch (error) {
      this.db.run('ROLLBACK');
      throw error;
    }
    this.seq = entry.seq;
  }

  /** A journal that cannot belong to the snapshot is kept aside; the snapshot alone is used. */
  private recoverJournal(reason: string): void {
    const aside = asideName(this.journalPath);
    rename(this.journalPath, aside);
    this.notices.push(`The workspace journal could not be used (${reason}); it was kept as ${aside}.`);
    // Memory may hold part of that journal: go back to the snapshot the new journal continues.
    this.loadSnapshot();
    this.journalId = randomUUID();
    this.startJournal();
  }

  /** A fresh journal continuing the current sequence number. Under the lock. */
  private startJournal(): void {
    this.journalEnd = startJournal(this.journalPath, this.seq, this.journalId);
    this.journalHeaderBytes = this.journalEnd;
  }

  private writeSnapshot(): void {
    this.db.run("INSERT OR REPLACE INTO meta (key, value) VALUES ('seq', ?)", [String(this.seq)]);
    const bytes = this.db.export();
    this.lock.beat();
    replaceFile(this.snapshotPath, bytes, () => this.lock.beat());
  }

  private async migrate(migrations: readonly Migration[]): Promise<void> {
    const current = (): number => {
      const hasTable = this.rows("SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").length > 0;
      return hasTable ? this.appliedVersion() : 0;
    };
    // Every migration the database has not recorded, not only those above its highest: numbers
    // taken by parallel branches can land out of order (8 before 6), and none may be skipped.
    const applied = (): Set<number> =>
      current() === 0 ? new Set() : new Set(this.rows<{ version: number }>('SELECT version FROM schema_version').map((r) => Number(r.version)));
    const missing = (): Migration[] => {
      const have = applied();
      return [...migrations].sort((a, b) => a.version - b.version).filter((m) => !have.has(m.version));
    };
    if (missing().length === 0) return;
    await this.write((tx) => {
      // Re-read under the lock: another process may have migrated meanwhile.
      if (current() === 0) {
        tx.run('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
        tx.run('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
      }
      const highest = Math.max(0, ...applied());
      for (const migration of missing()) {
        if (migration.rebuilds && migration.version < highest) {
          throw new Error(`migration ${migration.version} rebuilds ${migration.rebuilds} and cannot run after migration ${highest}: it would drop what that one added (a release must list it before)`);
        }
        for (const sql of migration.sql) tx.run(sql);
        tx.run('INSERT INTO schema_version (version, applied_at) VALUES (?, ?)', [migration.version, Date.now()]);
      }
    });
  }
}

/** Carries a refusal past the "damaged file" handling, which must not move anything for it. */
class RefusedError extends Error {
  constructor(override readonly cause: unknown) {
    super('refused');
  }
}

/** A name beside `path` for a file kept aside, unique even within one millisecond. */
function asideName(path: string): string {
  return `${path}.damaged-${Date.now()}-${randomUUID().slice(0, 8)}`;
}

/** Values the journal (JSON) carries exactly: no NaN or Infinity, which JSON turns into null. */
function assertReplayable(params: readonly SqlParam[]): void {
  for (const p of params) {
    if (typeof p === 'number' && !Number.isFinite(p)) throw new TypeError(`cannot store ${p}: only finite numbers survive the journal`);
    if (p !== null && typeof p !== 'string' && typeof p !== 'number' && !(p instanceof Uint8Array)) {
      throw new TypeError(`cannot store a ${typeof p}: use text, a number, null or bytes`);
    }
  }
}
