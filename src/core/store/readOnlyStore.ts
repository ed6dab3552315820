/**
 * A read-only copy of the workspace database, for a read replica (./replica.ts): it loads the
 * snapshot and replays the journal like `Store` does, and catches up by reading the journal, but
 * never writes a file: no folder created, no lock taken (nor its heartbeat written), no
 * migration, no checkpoint, no damaged file moved aside or cut. What a writer repairs (a torn
 * tail, a damaged journal) is the main `Store`'s to repair, under the lock; until then this copy
 * stops before the damage.
 *
 * Without the lock, a reader can meet the files mid-change; each change is atomic, and the order
 * they happen in lets a reader make sense of them:
 * - an appended frame is written and fsync'd before its writer returns; one still being written
 *   reads as a torn tail, and is read again, whole, on the next look;
 * - a checkpoint renames a new snapshot over the old, then a new journal (a new file: a new
 *   inode) over the old. So the journal is read first, then the snapshot: the snapshot is then as
 *   new as the journal's start or newer, and journal frames it already holds are skipped. When the
 *   journal was replaced meanwhile, the next look sees another inode and loads both again.
 *
 * Checking for news is one `lstat` of the journal (inode and size).
 */
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import type { Database as SqlJsDatabase, SqlJsStatic } from 'sql.js';
import type { Database } from './database';
import { SQLITE_DIALECT, type Dialect } from './dialect';
import { readFrames, type JournalEntry } from './journal';
import { accessError, readFile, refuseLink } from './safeFiles';
import { loadSqlJs, selectRows } from './sqljs';
import type { Row, SqlParam } from './types';

const SQLITE_HEADER = 'SQLite format 3\0';
/** How often a load is tried again when the files changed under it (a checkpoint meanwhile). */
const LOAD_ATTEMPTS = 5;

interface JournalStamp {
  readonly ino: number;
  readonly size: number;
}

export class ReadOnlyStore implements Database {
  readonly dialect: Dialect = SQLITE_DIALECT;
  readonly dir: string;
  readonly snapshotPath: string;
  readonly journalPath: string;

  private db: SqlJsDatabase | undefined;
  private seq = 0;
  /** The journal file this copy has read (its inode), and how far. */
  private journalIno = -1;
  private journalEnd = 0;
  private closed = false;

  private constructor(
    private readonly sql: SqlJsStatic,
    workspace: string,
  ) {
    this.dir = join(workspace, '.promptloom');
    this.snapshotPath = join(this.dir, 'promptloom.db');
    this.journalPath = join(this.dir, 'promptloom.journal');
  }

  /** Loads the workspace database as it is now, writing nothing. */
  static async open(workspace: string): Promise<ReadOnlyStore> {
    const store = new ReadOnlyStore(await loadSqlJs(), workspace);
    try {
      for (const path of [store.snapshotPath, store.journalPath]) refuseLink(path);
      store.load();
    } catch (error) {
      store.close();
      throw accessError(error, store.dir, 'read the workspace database in');
    }
    return store;
  }

  /** The journal sequence number this copy has applied. */
  get sequence(): number {
    return this.seq;
  }

  /**
   * Applies what writers appended since the last look; true when anything changed. One `lstat`
   * when nothing did.
   */
  refresh(): boolean {
    this.assertOpen();
    const before = this.seq;
    const stamp = journalStamp(this.journalPath);
    if (stamp.ino === this.journalIno && stamp.size === this.journalEnd) return false;
    if (stamp.ino !== this.journalIno || stamp.size < this.journalEnd || !this.readOn()) this.load();
    return this.seq !== before;
  }

  async all<T extends Row = Row>(sql: string, params: readonly SqlParam[] = []): Promise<T[]> {
    return this.rows<T>(sql, params);
  }

  async get<T extends Row = Row>(sql: string, params: readonly SqlParam[] = []): Promise<T | undefined> {
    return this.rows<T>(sql, params)[0];
  }

  run(): Promise<{ changes: number }> {
    return Promise.reject(new Error('the read-only copy of the workspace database does not write: write through the workspace Store'));
  }

  runAll(): Promise<{ changes: number }[]> {
    return this.run().then(() => []);
  }

  transaction<T>(): Promise<T> {
    return this.run().then(() => undefined as T);
  }

  /** The synchronous read (what the worker answers with). */
  rows<T extends Row = Row>(sql: string, params: readonly SqlParam[] = []): T[] {
    this.assertOpen();
    return selectRows<T>(this.db!, sql, params);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db?.close();
    this.db = undefined;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the read-only copy of the workspace database is closed');
  }

  /**
   * Reads the frames appended to the journal already read; false when that cannot be done
   * (the file was replaced while reading, or its frames do not follow on), and a full load must.
   */
  private readOn(): boolean {
    const read = readFrames(this.journalPath, this.journalEnd);
    // The file read must be the one stamped before: a checkpoint may have replaced it meanwhile.
    if (journalStamp(this.journalPath).ino !== this.journalIno) return false;
    if (!this.applyAll(read.entries)) return false;
    // A torn or damaged tail is not cut here (that is a writer's to do, under the lock): the next
    // look reads from the same place again.
    this.journalEnd = read.end;
    return true;
  }

  /** Loads the journal, then the snapshot, then applies the frames the snapshot lacks. */
  private load(): void {
    // Until a load succeeds, every look loads again: a copy half loaded must not pass for current.
    this.journalIno = -1;
    let problem = '';
    for (let attempt = 0; attempt < LOAD_ATTEMPTS; attempt++) {
      const stamp = journalStamp(this.journalPath);
      const read = readFrames(this.journalPath, 0);
      if (journalStamp(this.journalPath).ino !== stamp.ino) {
        problem = 'the journal was replaced while it was read';
        continue;
      }
      const [header, ...entries] = read.entries;
      this.loadSnapshot();
      if (header && header.kind !== 'header') throw new Error('the workspace journal has no header');
      if (header && header.baseSeq > this.seq) {
        problem = `the journal continues transaction ${header.baseSeq}, but the database file holds ${this.seq}`;
        continue;
      }
      if (!this.applyAll(entries)) {
        problem = 'the journal has a gap';
        continue;
      }
      this.journalIno = stamp.ino;
      this.journalEnd = read.end;
      return;
    }
    throw new Error(`cannot read the workspace database: ${problem}`);
  }

  /** Applies transactions in order, skipping those already held; false at a gap. */
  private applyAll(entries: readonly JournalEntry[]): boolean {
    for (const entry of entries) {
      if (entry.kind !== 'tx' || entry.seq <= this.seq) continue;
      if (entry.seq !== this.seq + 1) return false;
      const db = this.db!;
      db.run('BEGIN');
      try {
        for (const s of entry.statements) db.run(s.sql, s.params as SqlParam[]);
        db.run('COMMIT');
      } catch (error) {
        db.run('ROLLBACK');
        throw error;
      }
      this.seq = entry.seq;
    }
    return true;
  }

  private loadSnapshot(): void {
    this.db?.close();
    this.db = undefined;
    this.seq = 0;
    const bytes = readFile(this.snapshotPath);
    if (!bytes) {
      this.db = new this.sql.Database();
      return;
    }
    if (bytes.subarray(0, 16).toString('latin1') !== SQLITE_HEADER) throw new Error(`${this.snapshotPath} is not an SQLite file`);
    // No integrity check: the main Store checked this file when it opened it (and moved it aside
    // if damaged); a damaged page here fails the query that reads it, nothing more.
    this.db = new this.sql.Database(bytes);
    const seq = this.db.exec("SELECT value FROM meta WHERE key = 'seq'")[0]?.values[0]?.[0];
    this.seq = Number(seq ?? 0);
  }
}

/** The journal's inode and size; a missing journal is inode 0, size 0. */
function journalStamp(path: string): JournalStamp {
  try {
    const stats = lstatSync(path);
    return { ino: stats.ino, size: stats.size };
  } catch {
    return { ino: 0, size: 0 };
  }
}
