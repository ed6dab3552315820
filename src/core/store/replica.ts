/**
 * A read replica of the workspace database in a worker thread (docs/team-store.md, step 5): a
 * `Database` whose `all`/`get` are answered by a worker holding its own read-only copy of the
 * workspace (`ReadOnlyStore`), so the heavy reads (the dashboard's figures, the lists) run off the
 * calling thread: the editor's extension host thread, which every extension shares.
 *
 * Every process already catches up with the others through the journal; the worker is one more
 * reader. Before each read it looks at the journal (one `lstat` when nothing changed), and a
 * write of the main `Store` is durable in the journal before it resolves: a read issued after a
 * write resolved sees it.
 *
 * Writes are not taken (`run`/`runAll` reject): they stay with the main thread's `Store`, in short
 * transactions. The worker starts on the first read and is ended by `close()`. If it crashes, the
 * error is logged and it is started again once, the reads in flight sent again (reads can be
 * repeated); if it cannot start (or crashes again), that is logged and every read from then on
 * is answered by `fallback`, the main thread's store.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Database } from './database';
import { SQLITE_DIALECT, type Dialect } from './dialect';
import type { ReplicaReply, ReplicaRequest, ReplicaWorkerData } from './replicaProtocol';
import type { Row, SqlParam } from './types';

export interface ReplicaLog {
  error(message: string, error?: unknown): void;
  info(message: string): void;
}

export interface ReplicaOptions {
  /** The workspace folder (holding `.promptloom/`). */
  readonly workspace: string;
  /** The main thread's store: what answers when the worker cannot. */
  readonly fallback: Database;
  readonly log?: ReplicaLog;
  /** Starts the worker (tests start one that fails); by default the bundled or source worker. */
  readonly startWorker?: (data: ReplicaWorkerData) => Worker;
}

interface Pending {
  readonly request: ReplicaRequest;
  resolve(rows: Row[]): void;
  reject(error: Error): void;
}

export class ReplicaDatabase implements Database {
  readonly dialect: Dialect = SQLITE_DIALECT;
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private restarted = false;
  /** Set once the worker is given up on: the fallback answers. */
  private fellBack = false;
  private closed = false;

  constructor(private readonly options: ReplicaOptions) {}

  /** True while reads go to the worker (false before the first read, after close, or once fallen back). */
  get running(): boolean {
    return this.worker !== undefined;
  }

  /** True once the worker was given up on and the main thread's store answers. */
  get fallenBack(): boolean {
    return this.fellBack;
  }

  async all<T extends Row = Row>(sql: string, params: readonly SqlParam[] = []): Promise<T[]> {
    return (await this.request('all', sql, params)) as T[];
  }

  async get<T extends Row = Row>(sql: string, params: readonly SqlParam[] = []): Promise<T | undefined> {
    return (await this.request('get', sql, params))[0] as T | undefined;
  }

  run(): Promise<{ changes: number }> {
    return Promise.reject(new Error('the read replica of the workspace database does not write: write through the workspace Store'));
  }

  runAll(): Promise<{ changes: number }[]> {
    return this.run().then(() => []);
  }

  transaction<T>(): Promise<T> {
    return this.run().then(() => undefined as T);
  }

  /** Ends the worker; reads still waiting are rejected. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    void worker?.terminate();
    for (const p of this.pending.values()) p.reject(new Error('the read replica of the workspace database was closed'));
    this.pending.clear();
  }

  private request(op: ReplicaRequest['op'], sql: string, params: readonly SqlParam[]): Promise<Row[]> {
    if (this.closed) return Promise.reject(new Error('the read replica of the workspace database was closed'));
    if (this.fellBack) return this.fromFallback(op, sql, params);
    const request: ReplicaRequest = { id: this.nextId++, op, sql, params: [...params] };
    return new Promise<Row[]>((resolve, reject) => {
      this.pending.set(request.id, { request, resolve, reject });
      const worker = this.worker ?? this.start();
      if (!worker) return; // could not start: the request was answered by the fallback
      worker.ref();
      worker.postMessage(request);
    });
  }

  private async fromFallback(op: ReplicaRequest['op'], sql: string, params: readonly SqlParam[]): Promise<Row[]> {
    if (op === 'all') return this.options.fallback.all(sql, params);
    const row = await this.options.fallback.get(sql, params);
    return row ? [row] : [];
  }

  /** Starts the worker; undefined (and fallen back) when it cannot be. */
  private start(): Worker | undefined {
    let worker: Worker;
    try {
      worker = (this.options.startWorker ?? startReplicaWorker)({ workspace: this.options.workspace });
    } catch (error) {
      this.fallBack('the read replica of the workspace database could not start; reading on this thread', error);
      return undefined;
    }
    this.worker = worker;
    worker.unref();
    worker.on('message', (reply: ReplicaReply) => this.receive(worker, reply));
    worker.on('error', (error) => this.crashed(worker, error));
    worker.on('exit', (code) => this.crashed(worker, new Error(`the worker exited with code ${code}`)));
    return worker;
  }

  private receive(worker: Worker, reply: ReplicaReply): void {
    if (worker !== this.worker) return;
    switch (reply.type) {
      case 'ready':
        return;
      case 'failed':
        this.stop(worker);
        this.fallBack(`the read replica of the workspace database could not load it (${reply.message}); reading on this thread`);
        return;
      case 'rows':
      case 'error': {
        const pending = this.pending.get(reply.id);
        if (!pending) return;
        this.pending.delete(reply.id);
        if (this.pending.size === 0) worker.unref();
        if (reply.type === 'rows') pending.resolve(reply.rows);
        else pending.reject(new Error(reply.message));
      }
    }
  }

  /** The worker died: started again once (the reads in flight sent again), then given up on. */
  private crashed(worker: Worker, error: unknown): void {
    if (worker !== this.worker || this.closed) return;
    this.stop(worker);
    if (this.restarted) {
      this.fallBack('the read replica of the workspace database crashed again; reading on this thread', error);
      return;
    }
    this.restarted = true;
    this.options.log?.error('the read replica of the workspace database crashed; starting it again', error);
    const next = this.start();
    if (!next) return;
    if (this.pending.size > 0) next.ref();
    for (const p of this.pending.values()) next.postMessage(p.request);
  }

  private stop(worker: Worker): void {
    this.worker = undefined;
    worker.removeAllListeners();
    // An 'error' after this must not go unhandled.
    worker.on('error', () => undefined);
    void worker.terminate();
  }

  /** From now on the main thread's store answers, the reads in flight first. */
  private fallBack(message: string, error?: unknown): void {
    this.fellBack = true;
    this.options.log?.error(message, error);
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const p of waiting) this.fromFallback(p.request.op, p.request.sql, p.request.params).then(p.resolve, p.reject);
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
