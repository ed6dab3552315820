/**
 * An inter-process write lock: a lock file created exclusively (O_EXCL) holding the owner's pid
 * and a random token. Every writer — the editor's windows, the CLI — takes it around one write
 * transaction, so their transactions are appended to the journal one after another. A lock
 * left by a process that died (kill -9) is recognised and taken over; a process only ever
 * removes a lock file carrying its own token.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, linkSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';

export class StoreBusyError extends Error {
  constructor(readonly path: string, waitedMs: number) {
    super(`the workspace database is busy: another Promptloom process held ${path} for over ${Math.round(waitedMs / 1000)} s`);
    this.name = 'StoreBusyError';
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** Blocks the thread briefly; writes are synchronous, so the wait for the lock is too. */
function sleep(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A lock file that never got its content is stale once it is this old (writing it takes microseconds). */
const UNWRITTEN_STALE_MS = 2_000;

export class FileLock {
  private held = 0;
  private token = '';

  constructor(
    readonly path: string,
    private readonly timeoutMs = 10_000,
  ) {}

  get isHeld(): boolean {
    return this.held > 0;
  }

  /** Runs `fn` holding the lock (re-entrant within this object). */
  with<T>(fn: () => T): T {
    if (this.held > 0) {
      this.held++;
      try {
        return fn();
      } finally {
        this.held--;
      }
    }
    this.acquire();
    this.held = 1;
    try {
      return fn();
    } finally {
      this.held = 0;
      this.release();
    }
  }

  private acquire(): void {
    const started = Date.now();
    const token = `${process.pid}:${randomBytes(8).toString('hex')}`;
    let delay = 1;
    for (;;) {
      try {
        const fd = openSync(this.path, 'wx');
        try {
          writeSync(fd, token);
        } finally {
          closeSync(fd);
        }
        this.token = token;
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      this.breakIfStale();
      if (Date.now() - started > this.timeoutMs) throw new StoreBusyError(this.path, Date.now() - started);
      sleep(delay);
      delay = Math.min(delay * 2, 20);
    }
  }

  /**
   * Removes the lock file when its owner no longer runs: its pid is dead, or it is our own pid
   * (all our locking is synchronous, so a lock with our pid that this object does not hold was
   * left by an earlier process that had the same pid), or it never got its content.
   */
  private breakIfStale(): void {
    let content: string;
    let ageMs: number;
    try {
      content = readFileSync(this.path, 'utf8');
      ageMs = Date.now() - statSync(this.path).mtimeMs;
    } catch {
      return; // released meanwhile
    }
    const owner = Number(content.split(':')[0]);
    const unwritten = !Number.isInteger(owner) || owner <= 0;
    const stale = unwritten ? ageMs > UNWRITTEN_STALE_MS : owner === process.pid || !alive(owner);
    if (!stale) return;
    // Move it aside atomically, then make sure it is the stale lock we moved: two waiters may
    // see the same stale lock, and the slower must not remove the faster's new one.
    const aside = `${this.path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      renameSync(this.path, aside);
    } catch {
      return; // another waiter broke it first
    }
    try {
      if (readFileSync(aside, 'utf8') !== content) linkSync(aside, this.path); // a live lock: put it back
    } catch {
      // a new lock exists already: ours to wait for
    } finally {
      try {
        unlinkSync(aside);
      } catch {
        // already gone
      }
    }
  }

  /** Removes the lock file only if it is still ours. */
  private release(): void {
    try {
      if (readFileSync(this.path, 'utf8') === this.token) unlinkSync(this.path);
    } catch {
      // already gone: nothing to release
    }
    this.token = '';
  }
}
