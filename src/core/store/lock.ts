/**
 * An inter-process write lock: a lock file created exclusively (O_EXCL, never through a link)
 * holding the owner's pid, a random token and where that pid means something (host and pid
 * namespace). Every writer — the editor's windows, the CLI — takes it around one write
 * transaction, so their transactions are appended to the journal one after another.
 *
 * The file's mtime is the holder's heartbeat: set when the lock is taken and refreshed by the
 * holder during long holds (replaying a long journal, writing a big snapshot). A lock stops
 * counting as soon as its heartbeat is old, whatever its pid says: a pid can be reused after a
 * reboot or name an unrelated process in another container. A lock whose pid is dead (kill -9)
 * is taken over at once. Waiting for the lock never blocks the thread: it polls on timers.
 * A process only ever removes a lock file carrying its own token.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, futimesSync, linkSync, readFileSync, readlinkSync, renameSync } from 'node:fs';
import { hostname } from 'node:os';
import { threadId } from 'node:worker_threads';
import { accessError, createFile, openFile, readAll, readFile, remove, writeAll } from './safeFiles';

export interface LockHolder {
  readonly pid: number;
  /** Its command line, when this system can tell (Linux /proc, same host and pid namespace). */
  readonly command?: string;
}

export class StoreBusyError extends Error {
  constructor(
    readonly path: string,
    waitedMs: number,
    readonly holder?: LockHolder,
  ) {
    const who = describeHolder(holder);
    super(`the workspace database is busy: ${who} holds ${path}; gave up after waiting ${Math.round(waitedMs / 1000)} s`);
    this.name = 'StoreBusyError';
  }
}

/**
 * The holder in words, for messages. Its command line may carry a password (`db push
 * --database-url postgresql://USER:PASSWORD@…`): a URL's password is blotted out.
 */
export function describeHolder(holder: LockHolder | undefined): string {
  return holder ? `process ${holder.pid}${holder.command ? ` (${withoutUrlPasswords(holder.command)})` : ''}` : 'another Promptloom process';
}

function withoutUrlPasswords(command: string): string {
  return command.replace(/(\/\/[^\s/@:]*:)\S*@/g, '$1***@');
}

/** How long a wait for the lock goes unmentioned: longer, and `onWait` says who holds it. */
export const LOCK_WAIT_NOTICE_MS = 500;

/** A lock whose heartbeat is older than this is stale. Holders beat several times within it while they work. */
export const LOCK_STALE_MS = 8_000;

/** Where a pid means something: two processes with the same scope see the same pids. */
const SCOPE = (() => {
  let namespace = '';
  try {
    namespace = readlinkSync('/proc/self/ns/pid');
  } catch {
    // not Linux: the host alone
  }
  return `${hostname()} ${namespace}`.trim();
})();

/** Tokens of the locks this process holds (any FileLock object): a lock with our pid and another token is a leftover. */
const heldTokens = new Set<string>();

/**
 * Threads of this process said to have ended (`threadEnded`). The editor holds the workspace's
 * `Store` in a worker thread, and may open a second one on its main thread: both take this lock,
 * with the same pid. A lock of another thread of this process counts as held (only its heartbeat
 * says otherwise) unless that thread is known to have ended (a worker that crashed mid-write).
 */
const endedThreads = new Set<number>();

/** Tells this thread's locks that a thread of this process ended: a lock it left is taken over at once. */
export function threadEnded(thread: number): void {
  endedThreads.add(thread);
}

/** The thread in a token `pid:t<thread>:random`; undefined in an older release's `pid:random`. */
function threadOf(token: string): number | undefined {
  const match = /^\d+:t(\d+):/.exec(token);
  return match ? Number(match[1]) : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function commandOf(pid: number): string | undefined {
  try {
    const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    return command.length > 200 ? `${command.slice(0, 197)}...` : command || undefined;
  } catch {
    return undefined;
  }
}

/** The lock file's content: "pid:t<thread>:token" ("pid:token" before threads were named), then the scope on a second line (absent in older releases' locks). */
function parse(content: string): { pid: number; token: string; scope: string } {
  const [first = '', scope = SCOPE] = content.split('\n');
  const pid = Number(first.split(':')[0]);
  return { pid: Number.isInteger(pid) && pid > 0 ? pid : 0, token: first, scope };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class FileLock {
  private fd: number | undefined;
  private token = '';
  private lastBeat = 0;
  /** How often the heartbeat touches the file: often enough that a holder that beats is never taken for gone. */
  private readonly beatMs: number;

  constructor(
    readonly path: string,
    private readonly timeoutMs = 10_000,
    private readonly staleMs = LOCK_STALE_MS,
    /** Told once per wait that outlasts LOCK_WAIT_NOTICE_MS, so a person knows why nothing happens. */
    private readonly onWait?: (holder: string) => void,
  ) {
    this.beatMs = staleMs / 8;
  }

  get isHeld(): boolean {
    return this.fd !== undefined;
  }

  /** Waits (asynchronously) for the lock; a StoreBusyError naming the holder after the timeout. */
  async acquire(): Promise<void> {
    const started = Date.now();
    let delay = 1;
    let told = false;
    for (;;) {
      if (this.tryAcquire()) return;
      if (Date.now() - started > this.timeoutMs) throw new StoreBusyError(this.path, Date.now() - started, this.holder());
      if (!told && this.onWait && Date.now() - started > LOCK_WAIT_NOTICE_MS) {
        told = true;
        this.onWait(describeHolder(this.holder()));
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 20);
    }
  }

  /** Takes the lock if it is free or stale, without waiting. */
  tryAcquire(): boolean {
    if (this.fd !== undefined) throw new Error('the lock is held already');
    if (this.create()) return true;
    return this.breakIfStale() && this.create();
  }

  /** Refreshes the heartbeat (cheap to call often: it touches the file at most every `beatMs`). */
  beat(): void {
    if (this.fd === undefined || Date.now() - this.lastBeat < this.beatMs) return;
    this.lastBeat = Date.now();
    try {
      const now = new Date();
      futimesSync(this.fd, now, now);
    } catch {
      // The beat only delays others' takeover; failing to beat is not failing the write.
    }
  }

  /** Removes the lock file only if it is still ours. */
  release(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    heldTokens.delete(this.token);
    try {
      if (readFile(this.path)?.toString('utf8') === this.content()) remove(this.path);
    } catch {
      // gone, or replaced by a link: either way not ours to remove
    }
    this.token = '';
  }

  private content(): string {
    return `${this.token}\n${SCOPE}`;
  }

  private create(): boolean {
    const fd = createFile(this.path);
    if (fd === undefined) return false;
    this.token = `${process.pid}:t${threadId}:${randomBytes(8).toString('hex')}`;
    try {
      writeAll(fd, this.path, Buffer.from(this.content()), 0);
    } catch (error) {
      closeSync(fd);
      remove(this.path);
      throw error;
    }
    this.fd = fd;
    this.lastBeat = Date.now();
    heldTokens.add(this.token);
    return true;
  }

  /** The lock file's content and heartbeat age, or undefined when it is gone. */
  private look(path = this.path): { content: string; ageMs: number } | undefined {
    const fd = openFile(path, 'read');
    if (fd === undefined) return undefined;
    try {
      const ageMs = Date.now() - fstatSync(fd).mtimeMs;
      return { content: readAll(fd, path).toString('utf8'), ageMs };
    } catch (error) {
      throw accessError(error, path, 'read');
    } finally {
      closeSync(fd);
    }
  }

  /** Who holds the lock, in words (for messages). */
  heldBy(): string {
    return describeHolder(this.holder());
  }

  /** Who holds the lock, when the lock file says and the pid means something here. */
  private holder(): LockHolder | undefined {
    let seen: ReturnType<FileLock['look']>;
    try {
      seen = this.look();
    } catch {
      return undefined;
    }
    if (!seen) return undefined;
    const { pid, scope } = parse(seen.content);
    if (!pid) return undefined;
    const command = scope === SCOPE ? commandOf(pid) : undefined;
    return command ? { pid, command } : { pid };
  }

  private isStale(content: string, ageMs: number): boolean {
    // Nobody refreshed it: its holder is gone (or frozen), whatever process has that pid now.
    if (ageMs > this.staleMs) return true;
    const { pid, token, scope } = parse(content);
    if (!pid) return false; // being written this very moment
    if (scope !== SCOPE) return false; // a pid of another host or container: only the heartbeat tells
    if (pid === process.pid) {
      const thread = threadOf(token);
      // Another thread of this process holds it, alive as far as we know: its heartbeat tells.
      if (thread !== undefined && thread !== threadId && !endedThreads.has(thread)) return false;
      return !heldTokens.has(token); // an earlier process that had our pid, or a thread that ended
    }
    return !alive(pid);
  }

  /** Removes the lock file when its owner no longer holds it. True when the lock may be free now. */
  private breakIfStale(): boolean {
    const seen = this.look();
    if (!seen) return true; // released meanwhile
    if (!this.isStale(seen.content, seen.ageMs)) return false;
    // Move it aside atomically, then make sure it is the stale lock we moved: two waiters may
    // see the same stale lock, and the slower must not remove the faster's new one.
    const aside = `${this.path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      renameSync(this.path, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true; // another waiter broke it first
      throw accessError(error, this.path, 'move');
    }
    let free = true;
    try {
      if (this.look(aside)?.content !== seen.content) {
        free = false;
        linkSync(aside, this.path); // a live lock: put it back
      }
    } catch {
      // a new lock exists already: ours to wait for
    } finally {
      remove(aside);
    }
    return free;
  }
}
