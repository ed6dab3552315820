/**
 * The read replica's worker thread (./replica.ts): holds a `ReadOnlyStore` of one workspace and
 * answers `all`/`get` messages, catching up with the journal before each (one `lstat` when
 * nothing changed). Bundled on its own as dist/storeWorker.js (esbuild.mjs).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ReadOnlyStore } from './readOnlyStore';
import type { ReplicaReply, ReplicaRequest, ReplicaWorkerData } from './replicaProtocol';

const port = parentPort;
if (!port) throw new Error('replicaWorker.ts runs as a worker thread');
const { workspace } = workerData as ReplicaWorkerData;

const opening = ReadOnlyStore.open(workspace);
opening.then(
  () => port.postMessage({ type: 'ready' } satisfies ReplicaReply),
  (error: unknown) => port.postMessage({ type: 'failed', message: messageOf(error) } satisfies ReplicaReply),
);

port.on('message', (request: ReplicaRequest) => {
  // Messages are answered in the order they came: each waits for the same open.
  void opening.then(
    (store) => {
      let reply: ReplicaReply;
      try {
        store.refresh();
        const rows = store.rows(request.sql, request.params);
        reply = { type: 'rows', id: request.id, rows: request.op === 'get' ? rows.slice(0, 1) : rows };
      } catch (error) {
        reply = { type: 'error', id: request.id, message: messageOf(error) };
      }
      port.postMessage(reply);
    },
    () => undefined, // 'failed' was posted: the main thread answers from its own store
  );
});

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
