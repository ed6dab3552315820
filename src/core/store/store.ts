/**
 * The workspace database: SQLite in memory (sql.js), made durable by a journal.
 *
 * Files in `<workspace>/.promptloom/`:
 * - `promptloom.db`: a snapshot, the SQLite file as of journal sequence number S;
 * - `promptloom.journal`: every write transaction after S, appended and fsync'd before the
 *   write returns, so a finished write is durable in milliseconds whatever the database size;
 * - `promptloom.lock`: held by whichever process is writing.
 *
 * Opening loads the snapshot and replays the journal. Writers take the lock, first replay what
 * other processes appended, then run their transaction and append it: transactions are
 * serialised across processes, and replaying them in order gives every process the same data.
 * From time to time the journal is folded into a new snapshot (written aside, fsync'd, renamed
 * over the old one) and restarted. A crash at any instant leaves either a torn last frame (cut
 * off on the next open) or an unrenamed temporary file: nothing committed is lost, nothing is
 * corrupted.
 */
import { closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, truncateSync, writeSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Database, SqlJsStatic } from 'sql.js';
import { appendDurably, fileSize, hasFrameAfter, readFrames, startJournal, syncDirectory, type JournalEntry, type Statement } from './journal';
import { FileLock } from './lock';
import { MIGRATIONS, type Migration } from './schema';
import { loadSqlJs } from './sqljs';
import type { Row, SqlParam } from './types';

export interface StoreOptions {
  /** Fold the journal into the snapshot once it grows past this many bytes. */
  readonly checkpointBytes?: number;
  /** The migrations to apply (tests open databases as older releases made them). */
  readonly migrations?: readonly Migration[];
  /** How long a writer waits for another process's lock. */
  readonly lockTimeoutMs?: number;
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

export class Store {
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

  private constructor(
    private readonly sql: SqlJsStatic,
    workspace: string,
    options: StoreOptions,
  ) {
    this.dir = join(workspace, '.promptloom');
    this.snapshotPath = join(this.dir, 'promptloom.db');
    this.journalPath = join(this.dir, 'promptloom.journal');
    this.lock = new FileLock(join(this.dir, 'promptloom.lock'), options.lockTimeoutMs);
    this.checkpointBytes = options.checkpointBytes ?? 16 * 1024 * 1024;
  }

  /** Opens (creating if needed) the database of a workspace folder. */
  static async open(workspace: string, options: StoreOptions = {}): Promise<Store> {
    const store = new Store(await loadSqlJs(), workspace, options);
    try {
      mkdirSync(store.dir, { recursive: true });
    } catch (error) {
      throw new Error(`cannot keep the workspace database in ${store.dir}: ${(error as NodeJS.ErrnoException).code === 'EEXIST' || (error as NodeJS.ErrnoException).code === 'ENOTDIR' ? 'a file of that name is in the way' : (error as Error).message}`);
    }
    store.lock.with(() => {
      store.loadSnapshot();
      store.catchUp();
    });
    store.migrate(options.migrations ?? MIGRATIONS);
    return store;
  }

  /** The journal sequence number this process has applied. */
  get sequence(): number {
    return this.seq;
  }

  get schemaVersion(): number {
    return Number(this.get<{ version: number }>('SELECT max(version) AS version FROM schema_version')?.version ?? 0);
  }

  // ---- reading ---------------------------------------------------------------------------------

  all<T extends Row = Row>(sql: string, params: readonly SqlParam[] = []): T[] {
    this.assertOpen();
    const statement = this.db.prepare(sql);
    try {
      statement.bind(params as SqlParam[]);
      const rows: T[] = [];
      while (statement.step()) rows.push(statement.getAsObject() as T);
      return rows;
    } finally {
      statement.free();
    }
  }

  get<T extends Row = Row>(sql: string, params: readonly SqlParam[] = []): T | undefined {
    return this.all<T>(sql, params)[0];
  }

  /**
   * Applies what other processes appended since our last look. Returns true when anything
   * changed. Cheap when nothing did (one stat of the journal).
   */
  refresh(): boolean {
    this.assertOpen();
    const before = this.seq;
    if (fileSize(this.journalPath) === this.journalEnd && this.currentJournalId() === this.journalId) return false;
    // Under the lock: what catch-up finds (a rotated or damaged journal) may need files moved.
    this.lock.with(() => this.catchUp());
    return this.seq !== before;
  }

  // ---- writing ---------------------------------------------------------------------------------

  /**
   * Runs `fn` as one transaction and makes it durable before returning: under the inter-process
   * lock, after catching up with other writers. If `fn` throws, nothing is written.
   */
  write<T>(fn: (tx: WriteTx) => T): T {
    this.assertOpen();
    const result = this.lock.with(() => {
      this.catchUp();
      const statements: Statement[] = [];
      const tx: WriteTx = {
        run: (sql, params = []) => {
          assertReplayable(params);
          const result = this.exec(sql, params);
          statements.push({ sql, params: [...params] });
          return result;
        },
        all: (sql, params) => this.all(sql, params),
        get: (sql, params) => this.get(sql, params),
      };
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
      return value;
    });
    if (this.journalEnd > this.checkpointBytes) {
      try {
        this.checkpoint();
      } catch {
        // The write is durable in the journal already; folding it in can wait for the next one.
      }
    }
    return result;
  }

  /** Folds the journal into a new snapshot and starts an empty journal. */
  checkpoint(): void {
    this.assertOpen();
    this.lock.with(() => {
      this.catchUp();
      this.writeSnapshot();
      this.journalId = randomUUID();
      this.journalEnd = startJournal(this.journalPath, this.seq, this.journalId);
      this.journalHeaderBytes = this.journalEnd;
    });
  }

  /** Folds what this process knows into the database file (best effort), then frees memory. */
  close(): void {
    if (this.closed) return;
    try {
      if (this.journalEnd > this.journalHeaderBytes) this.checkpoint();
    } catch {
      // Another process holds the lock or the disk is full: the journal keeps everything anyway.
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

  /** Loads the snapshot, or starts empty; a damaged snapshot is moved aside and reported. */
  private loadSnapshot(): void {
    this.db?.close();
    this.seq = 0;
    if (!existsSync(this.snapshotPath)) {
      this.db = new this.sql.Database();
      return;
    }
    try {
      const bytes = readFileSync(this.snapshotPath);
      if (bytes.subarray(0, 16).toString('latin1') !== SQLITE_HEADER) throw new Error('not an SQLite file');
      const db = new this.sql.Database(bytes);
      const check = db.exec('PRAGMA quick_check')[0]?.values[0]?.[0];
      if (check !== 'ok') {
        db.close();
        throw new Error(String(check ?? 'integrity check failed'));
      }
      this.db = db;
      this.seq = Number(this.get<{ value: string }>("SELECT value FROM meta WHERE key = 'seq'")?.value ?? 0);
    } catch (error) {
      const aside = asideName(this.snapshotPath);
      renameSync(this.snapshotPath, aside);
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
    if (!existsSync(this.journalPath)) {
      this.journalId = randomUUID();
      this.journalEnd = this.lockedStartJournal();
      return;
    }
    let read: ReturnType<typeof readFrames>;
    let rotated: boolean;
    try {
      rotated = this.currentJournalId() !== this.journalId;
      read = readFrames(this.journalPath, rotated ? 0 : this.journalEnd);
    } catch (error) {
      this.recoverJournal((error as Error).message);
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
      for (const entry of entries) this.apply(entry);
    } catch (error) {
      this.recoverJournal(error instanceof Error ? error.message : String(error));
      return;
    }
    this.journalEnd = read.end;
    if (read.damagedTail) {
      if (hasFrameAfter(this.journalPath, read.end)) {
        // Good frames after bad bytes: damage, not a torn write. Keep a copy before cutting.
        const aside = asideName(this.journalPath);
        copyFileSync(this.journalPath, aside);
        this.notices.push(`The workspace journal was damaged after transaction ${this.seq}; later transactions could not be read. A copy was kept as ${aside}.`);
      } else {
        // A write was cut short by a crash (its caller never saw it succeed).
        this.notices.push('The last write before a crash was incomplete and was dropped; everything before it was kept.');
      }
      truncateSync(this.journalPath, read.end);
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
    renameSync(this.journalPath, aside);
    this.notices.push(`The workspace journal could not be used (${reason}); it was kept as ${aside}.`);
    // Memory may hold part of that journal: go back to the snapshot the new journal continues.
    this.loadSnapshot();
    this.journalId = randomUUID();
    this.journalEnd = this.lockedStartJournal();
  }

  private lockedStartJournal(): number {
    this.journalHeaderBytes = this.lock.with(() => startJournal(this.journalPath, this.seq, this.journalId));
    return this.journalHeaderBytes;
  }

  private writeSnapshot(): void {
    this.db.run("INSERT OR REPLACE INTO meta (key, value) VALUES ('seq', ?)", [String(this.seq)]);
    const bytes = this.db.export();
    const tmp = `${this.snapshotPath}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.snapshotPath);
    syncDirectory(this.snapshotPath);
  }

  private migrate(migrations: readonly Migration[]): void {
    const current = (): number => {
      const hasTable = this.get("SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'");
      return hasTable ? this.schemaVersion : 0;
    };
    if (migrations.every((m) => m.version <= current())) return;
    this.write((tx) => {
      // Re-read under the lock: another process may have migrated meanwhile.
      let version = current();
      if (version === 0) {
        tx.run('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
        tx.run('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
      }
      for (const migration of migrations) {
        if (migration.version <= version) continue;
        for (const sql of migration.sql) tx.run(sql);
        tx.run('INSERT INTO schema_version (version, applied_at) VALUES (?, ?)', [migration.version, Date.now()]);
        version = migration.version;
      }
    });
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
