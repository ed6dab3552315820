import type { Attempt } from './engine';

/** A batch's running counts, as both shells show them (a progress bar, a notification, the queue). */
export class BatchProgress {
  done = 0;
  failed = 0;
  costUsd = 0;

  constructor(readonly total: number) {}

  add(a: Pick<Attempt, 'status' | 'final' | 'costUsd' | 'errorType'>): void {
    if (a.status === 'succeeded') this.done++;
    // A request cut off by a cancel is left for a resume, not failed.
    else if (a.final && a.errorType !== 'cancelled') this.failed++;
    this.costUsd += a.costUsd;
  }

  get queued(): number {
    return Math.max(0, this.total - this.done - this.failed);
  }

  get fraction(): number {
    return this.total === 0 ? 1 : (this.done + this.failed) / this.total;
  }
}
