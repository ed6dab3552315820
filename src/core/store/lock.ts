/**
 * An inter-process write lock: a lock file created exclusively (O_EXCL), holding the owner's
 * pid. Every writer — the editor's windows, the CLI — takes it around one write transaction, so
 * their transactions are appended to the journal one after another. A lock left by a process
 * that died (kill -9) is recognised by its pid and taken over.
 */
import { closeSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';

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

export class FileLock {
  private held = 0;

  constructor(
    readonly path: string,
    private readonly timeoutMs = 10_000,
  ) {}

  get isHeld(): boolean {
    return this.held > 0;
  }

  /** Runs `fn` holding the lock (re-entrant within this process). */
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
    let delay = 1;
    for (;;) {
      try {
        const fd = openSync(this.path, 'wx');
        try {
          writeSync(fd, String(process.pid));
        } finally {
          closeSync(fd);
        }
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

  /** Removes the lock file when its owner no longer runs. */
  private breakIfStale(): void {
    let owner: number;
    try {
      owner = Number(readFileSync(this.path, 'utf8'));
    } catch {
      return; // released meanwhile
    }
    // An empty file: the owner died between creating and writing it, or is writing right now.
    if (!Number.isInteger(owner) || owner <= 0) {
      sleep(5);
      try {
        if (readFileSync(this.path, 'utf8') === '') unlinkSync(this.path);
      } catch {
        // gone already
      }
      return;
    }
    if (owner !== process.pid && !alive(owner)) {
      // Move it aside atomically, then make sure it was the dead owner's lock we moved: two
      // waiters may see the same stale lock, and the slower must not remove the faster's.
      const aside = `${this.path}.stale-${process.pid}`;
      try {
        renameSync(this.path, aside);
      } catch {
        return; // another waiter broke it first
      }
      try {
        if (Number(readFileSync(aside, 'utf8')) !== owner) linkSync(aside, this.path); // a live lock: put it back
      } catch {
        // put back impossible only if a new lock exists already; nothing more to do
      } finally {
        try {
          unlinkSync(aside);
        } catch {
          // already gone
        }
      }
    }
  }

  private release(): void {
    try {
      unlinkSync(this.path);
    } catch {
      // already gone: nothing to release
    }
  }
}
