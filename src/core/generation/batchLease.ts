/**
 * One process runs a batch at a time. A run (the first, or a resume; the CLI's or the editor's)
 * holds the batch's lease, a lock file beside the database, for as long as it runs: a second run
 * of the same batch (`promptloom resume` in another terminal while the first still works) would
 * otherwise generate, or submit as Message Batches, the same conversations again, and pay twice.
 * The lease is the store's kind of lock (see store/lock.ts): a heartbeat, and a holder killed
 * with kill -9 is taken over at once.
 */
import { join } from 'node:path';
import { FileLock } from '../store/lock';

/** How often a running batch refreshes its lease (the lock is stale after 8 s without). */
const BEAT_MS = 500;

export class BatchBusyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BatchBusyError';
  }
}

/** Takes the batch's lease, or throws BatchBusyError naming who runs it; returns its release. */
export function holdBatch(storeDir: string, batchId: string): () => void {
  const lock = new FileLock(join(storeDir, `batch-${batchId.replace(/[^A-Za-z0-9_-]/g, '_')}.running`), 0);
  if (!lock.tryAcquire()) {
    throw new BatchBusyError(`batch ${batchId} is being run by ${lock.heldBy()}: wait for it to finish, or stop it with promptloom cancel --batch ${batchId}`);
  }
  const beat = setInterval(() => lock.beat(), BEAT_MS);
  beat.unref();
  return () => {
    clearInterval(beat);
    lock.release();
  };
}
