/**
 * The store's worker thread (./replica.ts). Read-only, it holds a `ReadOnlyStore` of one
 * workspace and answers `all`/`get`, catching up with the journal before each (one `lstat` when
 * nothing changed). Writable (`workerData.writable`), it holds the workspace's full `Store` and
 * answers the whole `Database` interface: writes, and transactions whose body runs on the thread
 * that asked, statement by statement (`begin`, statements naming the transaction, `commit` or
 * `rollback`), while `Store.transaction` holds the lock and the store's queue here. Its journal
 * catch-up is asked for (`refresh`, on the editor's file watcher), and answers whether anything
 * changed. Bundled on its own as dist/storeWorker.js (esbuild.mjs).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openWorkspaceStore } from '../generation/unstored';
import type { AsyncTx } from './database';
import { threadEnded } from './lock';
import { ReadOnlyStore } from './readOnlyStore';
import type { ReplicaReply, ReplicaRequest, ReplicaValue, ReplicaWorkerData } from './replicaProtocol';
import type { Store } from './store';

const port = parentPort;
if (!port) throw new Error('replicaWorker.ts runs as a worker thread');
const { workspace, writable, storeOptions, endedThreads } = workerData as ReplicaWorkerData;
for (const thread of endedThreads ?? []) threadEnded(thread);

/** The store this worker holds, and the notices of its open. */
interface Held {
  readonly store: ReadOnlyStore | Store;
  readonly notices: string[];
}

const opening: Promise<Held> = writable ? openWritable() : ReadOnlyStore.open(workspace).then((store) => ({ store, notices: [] }));
opening.then(
  () => port.postMessage({ type: 'ready' } satisfies ReplicaReply),
  (error: unknown) => port.postMessage({ type: 'failed', message: messageOf(error) } satisfies ReplicaReply),
);

function openWritable(): Promise<Held> {
  return openWorkspaceStore(workspace, storeOptions);
}

/** An open transaction: its handle, and how the asking thread ends it. */
interface OpenTx {
  readonly tx: AsyncTx;
  commit(): void;
  rollback(): void;
  /** Settles when `Store.transaction` does: committed and durable, or rolled back. */
  readonly finished: Promise<unknown>;
}
const transactions = new Map<number, OpenTx>();
/** Why a transaction's body ended without committing: the asking thread said so. */
class RolledBack extends Error {}
/** Requests being answered: `close` waits for them, so no write is cut off. */
const inFlight = new Set<Promise<unknown>>();

port.on('message', (request: ReplicaRequest) => {
  // What `close` waits for: the requests that came before it.
  const earlier = [...inFlight];
  const answered = opening.then(
    (held) =>
      (request.op === 'close' ? close(held.store, earlier) : answer(held, request)).then(
        (value) => port.postMessage({ type: 'result', id: request.id, value } satisfies ReplicaReply),
        (error: unknown) => port.postMessage({ type: 'error', id: request.id, message: messageOf(error) } satisfies ReplicaReply),
      ),
    () => undefined, // 'failed' was posted: the main thread answers from its own store
  );
  inFlight.add(answered);
  void answered.finally(() => inFlight.delete(answered));
});

async function answer({ store, notices }: Held, request: ReplicaRequest): Promise<ReplicaValue> {
  if (store instanceof ReadOnlyStore) {
    // The read-only copy reads synchronously, so messages are answered in the order they came.
    if (request.op === 'open') return notices;
    if (request.op !== 'all' && request.op !== 'get') throw new Error('the read replica of the workspace database does not write');
    store.refresh();
    const rows = store.rows(request.sql, request.params);
    return request.op === 'get' ? rows.slice(0, 1) : rows;
  }
  switch (request.op) {
    case 'open':
      return notices;
    case 'all':
    case 'get':
    case 'run':
    case 'insert': {
      const { op, sql, params } = request;
      if (request.tx !== undefined) {
        const tx = openTx(request.tx).tx;
        if (op === 'all') return tx.all(sql, params);
        if (op === 'get') return rowList(await tx.get(sql, params));
        if (op === 'run') return tx.run(sql, params);
        return tx.insert(sql, params);
      }
      if (op === 'all') return store.all(sql, params);
      if (op === 'get') return rowList(await store.get(sql, params));
      if (op === 'run') return store.run(sql, params);
      throw new Error('an insert runs inside a transaction');
    }
    case 'runAll':
      return store.runAll(request.statements);
    case 'begin':
      return begin(store, request.id);
    case 'commit':
    case 'rollback': {
      const open = openTx(request.tx);
      transactions.delete(request.tx);
      if (request.op === 'commit') {
        open.commit();
        await open.finished;
      } else {
        open.rollback();
        await open.finished.catch((error: unknown) => {
          if (!(error instanceof RolledBack)) throw error;
        });
      }
      return null;
    }
    case 'refresh':
      return store.refresh();
    case 'checkpoint':
      await store.checkpoint();
      return null;
    case 'close':
      throw new Error('close is answered apart');
  }
}

/** Opens transaction `id`: answers once its body runs (the lock held), or with why it could not start. */
function begin(store: Store, id: number): Promise<null> {
  return new Promise<null>((started, failed) => {
    let commit!: () => void;
    let rollback!: () => void;
    const finished = store.transaction(
      (tx) =>
        new Promise<void>((resolve, reject) => {
          commit = resolve;
          rollback = () => reject(new RolledBack('rolled back'));
          transactions.set(id, { tx, commit, rollback, finished });
          started(null);
        }),
    );
    // Before the body ran (the lock not had, the store closed): the begin failed.
    finished.catch((error: unknown) => failed(error));
  });
}

function openTx(id: number): OpenTx {
  const open = transactions.get(id);
  if (!open) throw new Error(`transaction ${id} is not open in the workspace database's worker`);
  return open;
}

/**
 * Closes the store once the requests before this one are answered (a write asked before is
 * finished, never cut off; a transaction still open is rolled back): the journal folded into the
 * snapshot (best effort, `Store.close`). The asking thread ends the worker on this answer.
 */
async function close(store: ReadOnlyStore | Store, earlier: readonly Promise<unknown>[]): Promise<null> {
  for (const open of transactions.values()) open.rollback();
  transactions.clear();
  await Promise.allSettled(earlier);
  if (!(store instanceof ReadOnlyStore)) store.close();
  return null;
}

function rowList<T>(row: T | undefined): T[] {
  return row === undefined ? [] : [row];
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
