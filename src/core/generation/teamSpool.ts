/**
 * Paid answers kept locally while the team database (PostgreSQL) is unreachable: a run of
 * `generate --database-url` appends each answer the server cannot take now to its own spool file,
 * `.promptloom/team-spool/<pid>-<id>.jsonl` in the workspace folder (one record a line, fsync'd
 * before the engine goes on), retries the server in the background with backoff, and writes the
 * spool back in order when it answers again. What is still spooled when a run ends is written by
 * the next team `generate` (`replaySpool`, which `resume` can call too).
 *
 * A line holds the generation record (what `GenerationRepository.record` takes: the log, the
 * conversation and its turns, score inputs, values, batch, version, costs) and the role that
 * recorded it (the URL's user, never its password; the API key is never in a record). Each paid
 * answer carries its conversation id, made on the client: writing a line twice (a crash between
 * its insert and the removal of the file) finds it stored and adds nothing.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, fstatSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { WorkspaceBatchRepository, WorkspaceGenerationRepository, type GenerationRecord, type GenerationRepository } from '../store';
import type { Database } from '../store/database';
import { createFile, ensureFolder, entryKind, openFile, readFile, remove, syncDirectory, syncFile, writeAll } from '../store/safeFiles';
import { storeRecord, TEAM_RETRY, type Kept } from './recording';

/** The spool folder, inside the workspace's `.promptloom/`. */
export const SPOOL_DIR = join('.promptloom', 'team-spool');

/** Answers a run keeps in its spool at most: then it starts no new request (those in flight are kept too). */
export const SPOOL_LIMIT = 200;

/** The first wait before the server is tried again, and the longest (backoff doubles between). */
const FIRST_WAIT_MS = 250;
const LONGEST_WAIT_MS = 2000;
/** How long the end of a run waits for the server to take what is spooled: about a record's old tries (TEAM_RETRY). */
const SETTLE_MS = 10_000;

interface SpoolLine {
  readonly user: string;
  readonly record: GenerationRecord;
}

/**
 * The server cannot be reached now (a restart, a network cut): connection refused, reset or
 * ended, the server shutting down (57P01, 57P02) or not yet accepting (57P03), SQLSTATE class 08.
 * Not a refusal of the record itself (a constraint, a policy): that is a bug or a permission.
 */
export function isServerUnreachable(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return /^08|^57P0[123]$/.test(code) || ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'].includes(code);
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|connection error|Connection ended|timeout exceeded when trying to connect|not queryable|Client was closed/i.test(message);
}

/** Appends lines to a spool file (created when missing, never through a link), synced before it returns. */
function append(path: string, lines: readonly SpoolLine[]): void {
  ensureFolder(join(path, '..'));
  let fd = openFile(path, 'update');
  const created = fd === undefined;
  fd ??= createFile(path) ?? openFile(path, 'update');
  if (fd === undefined) throw new Error(`cannot create ${path}`);
  try {
    const size = fstatSync(fd).size;
    let text = lines.map((l) => JSON.stringify(l) + '\n').join('');
    if (size > 0) {
      // A line cut off by a crash is left alone, never joined to the next one.
      const last = Buffer.alloc(1);
      readSync(fd, last, 0, 1, size - 1);
      if (last[0] !== 0x0a) text = '\n' + text;
    }
    writeAll(fd, path, Buffer.from(text), size);
    syncFile(fd, path);
  } finally {
    closeSync(fd);
  }
  if (created) syncDirectory(path);
}

/** The whole lines of a spool file (one cut off by a crash was never acknowledged: it is named, not written). */
function readLines(path: string): { lines: SpoolLine[]; notices: string[] } {
  const bytes = readFile(path); // regular files only, never through a link
  if (!bytes) return { lines: [], notices: [] };
  const lines: SpoolLine[] = [];
  const notices: string[] = [];
  for (const text of bytes.toString('utf8').split('\n')) {
    if (!text.trim()) continue;
    try {
      const line = JSON.parse(text) as SpoolLine;
      if (typeof line?.user !== 'string' || typeof line.record !== 'object' || !line.record || !Number.isInteger(line.record.templateId)) throw new Error('not a spooled record');
      lines.push(line);
    } catch {
      notices.push(`${path}: a line that is not a whole record was skipped (cut off by a crash before it was kept)`);
    }
  }
  return { lines, notices };
}

/** Writes one spooled record: a conversation stored already (a replay after a crash) adds nothing. */
async function writeOnce(record: GenerationRecord, generations: GenerationRepository): Promise<void> {
  try {
    await generations.record(record);
  } catch (error) {
    // Two replays at once: the other one's insert of this conversation id committed first.
    if ((error as { code?: unknown }).code !== '23505' || !record.conversationId) throw error;
  }
}

/** Writes a spool file's records in order, then removes it. Throws (the file stays) when one cannot be written. */
async function replayFile(path: string, db: Database, user: string): Promise<{ written: number; batchIds: Set<string>; notices: string[] }> {
  const { lines, notices } = readLines(path);
  const others = lines.filter((l) => l.user !== user);
  if (others.length > 0) return { written: 0, batchIds: new Set(), notices: [...notices, `${path} holds answers recorded by ${others[0]!.user}: write them with that member's URL`] };
  const generations = new WorkspaceGenerationRepository(db);
  const batchIds = new Set<string>();
  for (const { record } of lines) {
    await writeOnce(record, generations);
    if (record.batchId) batchIds.add(record.batchId);
  }
  remove(path);
  return { written: lines.length, batchIds, notices };
}

/** A batch that lacked only what was spooled is complete now. */
async function completeBatches(db: Database, batchIds: Iterable<string>): Promise<void> {
  const batches = new WorkspaceBatchRepository(db);
  for (const id of batchIds) {
    const batch = await batches.get(id);
    if (batch && (batch.status === 'failed' || batch.status === 'running') && batch.completed >= batch.requested) await batches.setStatus(id, 'completed');
  }
}

async function currentUser(db: Database): Promise<string> {
  return String((await db.get('SELECT current_user AS u'))!.u);
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Writes every spool left in `folder` (a workspace folder) by runs that have ended, in order, each
 * record once; a spool of a run still going (its process alive) is left to it. Throws when the
 * server refuses a record (the spool stays, for the next try); files of another member are named
 * in `notices` and left in place.
 */
export async function replaySpool(folder: string, db: Database): Promise<{ written: number; notices: string[] }> {
  const dir = join(folder, SPOOL_DIR);
  const kind = entryKind(dir);
  if (kind === 'missing') return { written: 0, notices: [] };
  if (kind !== 'directory') return { written: 0, notices: [`${dir} is not a folder: nothing written from it`] };
  const user = await currentUser(db);
  const names = readdirSync(dir)
    .filter((n) => /^\d+-[\w-]+\.jsonl$/.test(n) && !alive(Number(n.split('-')[0])))
    .sort();
  let written = 0;
  const notices: string[] = [];
  const batchIds = new Set<string>();
  for (const name of names) {
    const done = await replayFile(join(dir, name), db, user);
    written += done.written;
    notices.push(...done.notices);
    for (const id of done.batchIds) batchIds.add(id);
  }
  await completeBatches(db, batchIds);
  return { written, notices };
}

/** A run ended with answers still spooled: the server did not come back in time. */
export class SpoolPendingError extends Error {
  constructor(
    readonly pending: number,
    readonly path: string,
  ) {
    super(`the team database stayed unreachable: ${pending} paid answer${pending === 1 ? ' is' : 's are'} kept in ${path}; the next promptloom generate --database-url … in this folder writes them first`);
    this.name = 'SpoolPendingError';
  }
}

/**
 * One run's spool: `keep` stores a record, or appends it to the spool when the server cannot be
 * reached (and everything after it while the spool is not empty, so answers are written in the
 * order they came); the server is tried again in the background and the spool written back when
 * it answers. `settle` at the end of the run writes what is left, or says where it is.
 */
export class TeamSpool {
  readonly path: string;
  /** Answers that went through the spool in this run. */
  spooled = 0;
  /** Records in the spool not yet written. */
  private pending = 0;
  private user?: string;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private waitMs = FIRST_WAIT_MS;
  private refused?: unknown;
  private readonly generations: GenerationRepository;

  /** Asked to start no new request: the spool is full, or the server refused a spooled record (the run sets it to its engine's). */
  halt: (reason: string) => void = () => undefined;

  constructor(
    folder: string,
    private readonly db: Database,
    private readonly limit = SPOOL_LIMIT,
  ) {
    this.path = join(folder, SPOOL_DIR, `${process.pid}-${randomUUID()}.jsonl`);
    this.generations = new WorkspaceGenerationRepository(db);
  }

  /** Before the run: the role records are kept for (asked while the server is surely up). */
  async start(): Promise<void> {
    this.user = await currentUser(this.db);
  }

  async keep(record: GenerationRecord): Promise<Kept> {
    if (this.pending === 0 && this.refused === undefined) {
      try {
        return { ...(await this.store(record)), aside: false };
      } catch (error) {
        if (!isServerUnreachable(error) || !record.conversation) throw error;
      }
    } else if (!record.conversation) {
      return { aside: false }; // a failed attempt's log while the server is away: nothing paid is lost
    }
    return this.serial(async () => {
      append(this.path, [{ user: this.user!, record }]);
      this.pending++;
      this.spooled++;
      if (this.pending >= this.limit) this.halt(`the team database is unreachable and ${this.pending} answers wait in ${this.path}: no new request is started`);
      this.schedule();
      return { conversationId: record.conversationId!, aside: false };
    });
  }

  /** A record written now; the server unreachable is said at once (no 9 s of tries), a refusal after TEAM_RETRY. */
  private async store(record: GenerationRecord): Promise<Awaited<ReturnType<GenerationRepository['record']>> | Record<string, never>> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        return await this.generations.record(record);
      } catch (error) {
        if (!isServerUnreachable(error) || attempt === 1) {
          if (isServerUnreachable(error)) throw error;
          return storeRecord(record, this.generations, TEAM_RETRY);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    return {};
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private schedule(): void {
    if (this.timer || this.refused !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.replay().then((done) => {
        if (done) this.waitMs = FIRST_WAIT_MS;
        else {
          this.waitMs = Math.min(LONGEST_WAIT_MS, this.waitMs * 2);
          this.schedule();
        }
      });
    }, this.waitMs);
    this.timer.unref(); // a run that failed otherwise does not wait for the server
  }

  /** Writes the spool back; false while the server is still unreachable. */
  private replay(): Promise<boolean> {
    return this.serial(async () => {
      if (this.pending === 0) return true;
      try {
        await replayFile(this.path, this.db, this.user!);
        this.pending = 0;
        return true;
      } catch (error) {
        if (isServerUnreachable(error)) return false;
        this.refused = error;
        this.halt(`the team database refused a spooled answer (${(error as Error).message}); it stays in ${this.path}`);
        return true;
      }
    });
  }

  /**
   * At the end of the run: the spool written, the server tried for `waitMs` more (a restart is
   * outlasted, as a record's own tries used to), or an error naming the spool.
   */
  async settle(waitMs = SETTLE_MS): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const deadline = Date.now() + waitMs;
    for (let wait = FIRST_WAIT_MS; this.pending > 0 && this.refused === undefined; wait = Math.min(LONGEST_WAIT_MS, wait * 2)) {
      if (await this.replay()) break;
      if (Date.now() + wait > deadline) break;
      await new Promise((r) => setTimeout(r, wait));
    }
    await this.queue;
    if (this.refused !== undefined) throw this.refused;
    if (this.pending > 0) throw new SpoolPendingError(this.pending, this.path);
  }
}
