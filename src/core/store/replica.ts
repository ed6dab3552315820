/**
 * The workspace database in a worker thread (docs/team-store.md, step 5): a `Database` whose
 * statements are answered by a worker, so SQLite and the journal's file I/O run off the calling
 * thread: the editor's extension host thread, which every extension shares.
 *
 * - **Read replica** (the default): the worker holds its own read-only copy (`ReadOnlyStore`) and
 *   answers `all`/`get`; `run`/`runAll`/`transaction` reject (writes go to a `Store`). Before each
 *   read it looks at the journal (one `lstat` when nothing changed), and a `Store`'s write is
 *   durable in the journal before it resolves: a read issued after a write resolved sees it.
 * - **Writable** (`writable: true`): the worker holds the workspace's full `Store` and answers the
 *   whole `Database` interface. A transaction's body runs here; each of its statements is a
 *   message to the worker, where `Store.transaction` holds the lock and the store's queue until
 *   this side commits or rolls back. `refresh()` (the catch-up with other processes' writes) and
 *   `checkpoint()` run there too.
 *
 * The worker starts on the first request and is ended by `close()`. If it crashes, the error is
 * logged and it is started again once: reads in flight are sent again (they can be repeated), but
 * a write in flight (a statement, a transaction, its commit) is rejected as not confirmed, never
 * sent again: it may or may not have reached the journal, and a second try could apply it twice.
 * If the worker cannot start (or crashes again), that is logged and every request from then on is
 * answered by `fallback`, a store on the calling thread (opened only then when it is a function).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { AsyncTx, Database, SqlStatement, WorkspaceDatabase } from './database';
import { SQLITE_DIALECT, type Dialect } from './dialect';
import { threadEnded } from './lock';
import type { ReplicaOp, ReplicaReply, ReplicaRequest, ReplicaValue, ReplicaWorkerData } from './replicaProtocol';
import type { Row, SqlParam } from './types';

export interface ReplicaLog {
  error(message: string, error?: unknown): void;
  info(message: string): void;
}

/** A store on the calling thread that can also catch up and checkpoint (a `Store`). */
type FallbackStore = Database & { refresh?(): Promise<boolean>; checkpoint?(): Promise<void>; readonly notices?: readonly string[] };

export interface ReplicaOptions {
  /** The workspace folder (holding `.promptloom/`). */
  readonly workspace: string;
  /**
   * What answers when the worker cannot: a store on the calling thread, or how to open one (only
   * then: a writable worker's fallback is the workspace's `Store`, not opened twice while it works).
   */
  readonly fallback: FallbackStore | (() => Promise<FallbackStore>);
  /** Hold the workspace's full `Store` in the worker, and take writes. */
  readonly writable?: boolean;
  /** The writable worker's `Store` options (tests shorten the lock's waits). */
  readonly storeOptions?: ReplicaWorkerData['storeOptions'];
  readonly log?: ReplicaLog;
  /** Starts the worker (tests start one that fails); by default the bundled or source worker. */
  readonly startWorker?: (data: ReplicaWorkerData) => Worker;
}

/** A write the worker stopped before confirming: not tried again (it may have been written). */
export class WriteNotConfirmedError extends Error {
  constructor(cause: unknown) {
    super(`the workspace database's worker stopped before confirming this write (${cause instanceof Error ? cause.message : String(cause)}); it may not have been saved: look, and do it again if it is missing`);
    this.name = 'WriteNotConfirmedError';
  }
}

/** Requests that can be sent again after a crash: they change nothing. */
const REPEATABLE: ReadonlySet<ReplicaOp> = new Set<ReplicaOp>(['open', 'all', 'get', 'refresh', 'checkpoint', 'begin']);

interface Pending {
  readonly request: ReplicaRequest;
  resolve(value: ReplicaValue): void;
  reject(error: Error): void;
}

/** A request before its id is given. */
type Unnumbered = WithoutId<ReplicaRequest>;
type WithoutId<R> = R extends unknown ? Omit<R, 'id'> : never;

export class ReplicaDatabase implements WorkspaceDatabase {
  readonly dialect: Dialect = SQLITE_DIALECT;
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private restarted = false;
  /** Set once the worker is given up on: the fallback answers. */
  private fellBack = false;
  private fallbackStore: Promise<FallbackStore> | undefined;
  private closed = false;
  /** Threads of earlier workers, ended: a lock one left is free (lock.ts). */
  private readonly endedThreads: number[] = [];
  private readonly threads = new WeakMap<Worker, number>();
  private closing: Promise<void> | undefined;
  /** Set while a crashed worker is ended before the next starts: requests wait for it. */
  private restarting: Promise<void> | undefined;

  constructor(private readonly options: ReplicaOptions) {}

  /** True while requests go to the worker (false before the first one, after close, or once fallen back). */
  get running(): boolean {
    return this.worker !== undefined;
  }

  /** True once the worker was given up on and the calling thread's store answers. */
  get fallenBack(): boolean {
    return this.fellBack;
  }

  /** The workspace's `.promptloom/` folder, where the worker's `Store` keeps its files (a run's lease and kept-aside answers go there too). */
  get dir(): string {
    return join(this.options.workspace, '.promptloom');
  }

  /** Whether this handle takes writes. */
  get writable(): boolean {
    return this.options.writable === true;
  }

  /**
   * Starts the worker and waits for its store to open; answers the open's notices (a damaged file
   * moved aside, answers kept aside imported). If it cannot open, the fallback's open throws why.
   */
  async open(): Promise<string[]> {
    return (await this.request({ op: 'open' })) as string[];
  }

  async all<T extends Row = Row>(sql: string, params: readonly SqlParam[] = []): Promise<T[]> {
    return (await this.request({ op: 'all', sql, params: [...params] })) as T[];
  }

  async get<T extends Row = Row>(sql: string, params: readonly SqlParam[] = []): Promise<T | undefined> {
    return ((await this.request({ op: 'get', sql, params: [...params] })) as T[])[0];
  }

  async run(sql: string, params: readonly SqlParam[] = []): Promise<{ changes: number }> {
    this.assertWritable();
    return (await this.request({ op: 'run', sql, params: [...params] })) as { changes: number };
  }

  async runAll(statements: readonly SqlStatement[]): Promise<{ changes: number }[]> {
    this.assertWritable();
    return (await this.request({ op: 'runAll', statements: statements.map((s) => ({ sql: s.sql, params: [...(s.params ?? [])] })) })) as { changes: number }[];
  }

  /**
   * `Database.transaction`: `begin` waits in the worker for the store's queue and lock; the body
   * runs here, each statement a message; then `commit` (durable when it answers) or `rollback`.
   * Statements of a transaction whose worker died (or that fell back meanwhile) reject.
   */
  async transaction<T>(body: (tx: AsyncTx) => Promise<T>): Promise<T> {
    this.assertWritable();
    if (this.fellBack) return (await this.fallback()).transaction(body);
    const id = await this.requestWithId({ op: 'begin' });
    // Given up on the worker meanwhile: nothing was written; the transaction runs on the fallback.
    if (this.fellBack) return (await this.fallback()).transaction(body);
    // The transaction lives in this worker: once it is gone, so is the transaction.
    const owner = this.worker;
    const inTx = (request: Unnumbered): Promise<ReplicaValue> =>
      owner && this.worker === owner ? this.request(request) : Promise.reject(new WriteNotConfirmedError('the transaction was lost with its worker'));
    const tx: AsyncTx = {
      all: async <R extends Row = Row>(sql: string, params: readonly SqlParam[] = []) => (await inTx({ op: 'all', sql, params: [...params], tx: id })) as R[],
      get: async <R extends Row = Row>(sql: string, params: readonly SqlParam[] = []) => ((await inTx({ op: 'get', sql, params: [...params], tx: id })) as R[])[0] as R | undefined,
      run: async (sql, params = []) => (await inTx({ op: 'run', sql, params: [...params], tx: id })) as { changes: number },
      insert: async (sql, params = []) => (await inTx({ op: 'insert', sql, params: [...params], tx: id })) as number,
    };
    let value: T;
    try {
      value = await body(tx);
    } catch (error) {
      await inTx({ op: 'rollback', tx: id }).catch(() => undefined); // a lost worker rolled back with it
      throw error;
    }
    await inTx({ op: 'commit', tx: id });
    return value;
  }

  /** Catches up with what other processes wrote (writable: the worker's `Store`); true when anything changed. */
  async refresh(): Promise<boolean> {
    this.assertWritable();
    return (await this.request({ op: 'refresh' })) as boolean;
  }

  /** Folds the journal into a new snapshot (the worker's `Store.checkpoint`). */
  async checkpoint(): Promise<void> {
    this.assertWritable();
    await this.request({ op: 'checkpoint' });
  }

  /**
   * Ends the worker. A writable one first finishes what it was asked and closes its `Store` (the
   * journal folded, as `Store.close` does); the promise settles when it has. Requests still
   * waiting after that are rejected; none are taken from now on.
   */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    const worker = this.worker;
    this.closing = (async () => {
      if (worker && this.writable) {
        await new Promise<void>((done) => {
          const id = this.nextId++;
          this.pending.set(id, { request: { id, op: 'close' }, resolve: () => done(), reject: () => done() });
          worker.ref();
          worker.postMessage({ id, op: 'close' } satisfies ReplicaRequest);
        });
      }
      this.worker = undefined;
      if (worker) {
        worker.removeAllListeners();
        worker.on('error', () => undefined);
        await worker.terminate();
      }
      this.rejectAll();
    })();
    return this.closing;
  }

  private rejectAll(): void {
    for (const p of this.pending.values()) p.reject(new Error('the workspace database’s worker was closed'));
    this.pending.clear();
  }

  private assertWritable(): void {
    if (!this.writable) throw new Error('the read replica of the workspace database does not write: write through the workspace Store');
  }

  private async request(request: Unnumbered): Promise<ReplicaValue> {
    return this.send(request).value;
  }

  /** Sends `request` and answers its id once it is answered (a `begin`'s id names its transaction). */
  private async requestWithId(request: Unnumbered): Promise<number> {
    const sent = this.send(request);
    await sent.value;
    return sent.id;
  }

  private send(request: Unnumbered): { id: number; value: Promise<ReplicaValue> } {
    const id = this.nextId++;
    if (this.closed) return { id, value: Promise.reject(new Error('the workspace database’s worker was closed')) };
    const numbered = { ...request, id } as ReplicaRequest;
    if (this.fellBack) return { id, value: this.fromFallback(numbered) };
    const value = new Promise<ReplicaValue>((resolve, reject) => {
      this.pending.set(id, { request: numbered, resolve, reject });
      if (this.restarting) return; // posted to the next worker once it starts
      const worker = this.worker ?? this.start();
      if (!worker) return; // could not start: the request was answered by the fallback
      worker.ref();
      worker.postMessage(numbered);
    });
    return { id, value };
  }

  private fallback(): Promise<FallbackStore> {
    const { fallback } = this.options;
    this.fallbackStore ??= typeof fallback === 'function' ? fallback() : Promise.resolve(fallback);
    return this.fallbackStore;
  }

  /** A request answered by the calling thread's store; a transaction's pieces cannot be (it began in the worker). */
  private async fromFallback(request: ReplicaRequest): Promise<ReplicaValue> {
    if ('tx' in request && request.tx !== undefined) throw new WriteNotConfirmedError('the transaction was lost with its worker');
    const store = await this.fallback();
    switch (request.op) {
      case 'open':
        return [...(store.notices ?? [])];
      case 'all':
        return store.all(request.sql, request.params);
      case 'get': {
        const row = await store.get(request.sql, request.params);
        return row ? [row] : [];
      }
      case 'run':
        return store.run(request.sql, request.params);
      case 'runAll':
        return store.runAll(request.statements);
      case 'refresh':
        return (await store.refresh?.()) ?? false;
      case 'checkpoint':
        await store.checkpoint?.();
        return null;
      case 'begin':
        return null; // `transaction` runs the body on the fallback itself
      default:
        throw new Error(`${request.op} cannot be answered on this thread`);
    }
  }

  /** Starts the worker; undefined (and fallen back) when it cannot be. */
  private start(): Worker | undefined {
    let worker: Worker;
    const data: ReplicaWorkerData = {
      workspace: this.options.workspace,
      ...(this.writable ? { writable: true, endedThreads: [...this.endedThreads] } : {}),
      ...(this.options.storeOptions ? { storeOptions: this.options.storeOptions } : {}),
    };
    try {
      worker = (this.options.startWorker ?? startReplicaWorker)(data);
    } catch (error) {
      this.fallBack(`${this.name} could not start; ${this.onThread}`, error);
      return undefined;
    }
    this.worker = worker;
    // Read now: once the thread has ended, `threadId` says -1.
    this.threads.set(worker, worker.threadId);
    worker.unref();
    worker.on('message', (reply: ReplicaReply) => this.receive(worker, reply));
    worker.on('error', (error) => this.crashed(worker, error));
    worker.on('exit', (code) => this.crashed(worker, new Error(`the worker exited with code ${code}`)));
    return worker;
  }

  private get name(): string {
    return this.writable ? 'the workspace database’s worker' : 'the read replica of the workspace database';
  }

  private get onThread(): string {
    return this.writable ? 'using it on this thread' : 'reading on this thread';
  }

  private receive(worker: Worker, reply: ReplicaReply): void {
    if (worker !== this.worker) return;
    switch (reply.type) {
      case 'ready':
        return;
      case 'failed':
        void this.stop(worker);
        this.fallBack(`${this.name} could not load it (${reply.message}); ${this.onThread}`);
        return;
      case 'result':
      case 'error': {
        const pending = this.pending.get(reply.id);
        if (!pending) return;
        this.pending.delete(reply.id);
        if (this.pending.size === 0) worker.unref();
        if (reply.type === 'result') pending.resolve(reply.value);
        else pending.reject(new Error(reply.message));
      }
    }
  }

  /**
   * The worker died: started again once (the reads in flight sent again, the writes in flight
   * rejected as not confirmed), then given up on.
   */
  private crashed(worker: Worker, error: unknown): void {
    if (worker !== this.worker) return;
    if (this.closed) return this.rejectAll();
    const ended = this.stop(worker);
    this.failWrites(error);
    if (this.restarted) {
      this.fallBack(`${this.name} crashed again; ${this.onThread}`, error);
      return;
    }
    this.restarted = true;
    this.options.log?.error(`${this.name} crashed; starting it again`, error);
    // Once the old thread has ended: the next worker may then take over a lock it left.
    this.restarting = ended.then(() => {
      this.restarting = undefined;
      if (this.closed || this.fellBack) return;
      const next = this.start();
      if (!next) return;
      if (this.pending.size > 0) next.ref();
      for (const p of this.pending.values()) next.postMessage(p.request);
    });
  }

  /** Rejects the writes in flight: the worker that took them is gone, and with it whether they were written. */
  private failWrites(cause: unknown): void {
    for (const [id, p] of this.pending) {
      if (REPEATABLE.has(p.request.op) && !('tx' in p.request && p.request.tx !== undefined)) continue;
      this.pending.delete(id);
      p.reject(new WriteNotConfirmedError(cause));
    }
  }

  /** Ends the worker; settles once its thread has ended, which frees a lock it left (told to this thread and the next worker). */
  private stop(worker: Worker): Promise<void> {
    this.worker = undefined;
    worker.removeAllListeners();
    // An 'error' after this must not go unhandled.
    worker.on('error', () => undefined);
    const thread = this.threads.get(worker);
    return worker.terminate().then(
      () => {
        if (thread === undefined) return;
        threadEnded(thread);
        this.endedThreads.push(thread);
      },
      () => undefined,
    );
  }

  /** From now on the calling thread's store answers, the reads in flight first (the writes were rejected). */
  private fallBack(message: string, error?: unknown): void {
    this.fellBack = true;
    this.options.log?.error(message, error);
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const p of waiting) {
      if (p.request.op === 'begin') p.resolve(null); // `transaction` sees the fall back and starts over there
      else this.fromFallback(p.request).then(p.resolve, p.reject);
    }
  }
}

/**
 * The worker: dist/storeWorker.js beside the bundle (esbuild.mjs builds it), or, run from sources
 * (tests, benchmarks), replicaWorker.ts through tsx.
 */
export function startReplicaWorker(data: ReplicaWorkerData): Worker {
  const bundled = join(__dirname, 'storeWorker.js');
  if (existsSync(bundled)) return new Worker(bundled, { workerData: data });
  const source = join(__dirname, 'replicaWorker.ts');
  if (!existsSync(source)) throw new Error(`the read replica's worker is missing (${bundled})`);
  return new Worker(`require('tsx/cjs'); require(${JSON.stringify(source)});`, { eval: true, workerData: data });
}
