/** The messages between the read replica (./replica.ts) and its worker (./replicaWorker.ts). */
import type { Row, SqlParam } from './types';

export interface ReplicaWorkerData {
  /** The workspace folder whose `.promptloom/` the worker reads. */
  readonly workspace: string;
}

export interface ReplicaRequest {
  readonly id: number;
  readonly op: 'all' | 'get';
  readonly sql: string;
  readonly params: readonly SqlParam[];
}

export type ReplicaReply =
  | { readonly type: 'ready' }
  /** The worker could not load the database: the main thread reads its own store instead. */
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'rows'; readonly id: number; readonly rows: Row[] }
  | { readonly type: 'error'; readonly id: number; readonly message: string };
