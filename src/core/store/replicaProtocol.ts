/**
 * The messages between the store's worker (./replicaWorker.ts) and the thread that started it
 * (./replica.ts): reads for a read-only replica, and with `writable` the whole `Database`
 * interface of the workspace's `Store` (writes, asynchronous transactions), its catch-up with
 * other processes (`refresh`) and its checkpoint.
 */
import type { SqlStatement } from './database';
import type { StoreOptions } from './store';
import type { Row, SqlParam } from './types';

export interface ReplicaWorkerData {
  /** The workspace folder whose `.promptloom/` the worker reads. */
  readonly workspace: string;
  /**
   * Hold the workspace's full `Store` (opened as the shells open it: kept-aside answers imported)
   * and take writes, rather than a read-only copy.
   */
  readonly writable?: boolean;
  /** The writable `Store`'s options (tests shorten the lock's waits). */
  readonly storeOptions?: Pick<StoreOptions, 'lockTimeoutMs' | 'lockStaleMs' | 'checkpointBytes'>;
  /** Threads of this process that ended (an earlier worker that crashed): a lock they left is taken over at once. */
  readonly endedThreads?: readonly number[];
}

/**
 * A request. `tx` names an open transaction (the id of its `begin`): its statements run inside it.
 * `insert` is only asked inside one (`AsyncTx.insert`).
 */
export type ReplicaRequest =
  | { readonly id: number; readonly op: 'all' | 'get' | 'run' | 'insert'; readonly sql: string; readonly params: readonly SqlParam[]; readonly tx?: number }
  | { readonly id: number; readonly op: 'runAll'; readonly statements: readonly SqlStatement[] }
  /** Answered once the transaction holds the store's lock and queue; its id names it from then on. */
  | { readonly id: number; readonly op: 'begin' }
  | { readonly id: number; readonly op: 'commit' | 'rollback'; readonly tx: number }
  /** `open` answers the notices of the open (a damaged file moved aside, answers imported). */
  | { readonly id: number; readonly op: 'open' | 'refresh' | 'checkpoint' | 'close' };

export type ReplicaOp = ReplicaRequest['op'];

/** What a request answers: rows for reads, else the `Database` method's value. */
export type ReplicaValue = Row[] | { changes: number } | { changes: number }[] | number | boolean | string[] | null;

export type ReplicaReply =
  | { readonly type: 'ready' }
  /** The worker could not load the database: the main thread reads its own store instead. */
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'result'; readonly id: number; readonly value: ReplicaValue }
  | { readonly type: 'error'; readonly id: number; readonly message: string };
