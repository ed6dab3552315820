import type { Attempt } from './engine';

/** A batch's running counts, as both shells show them (a progress bar, a notification, the queue). */
export class BatchProgress {
  done = 0;
  failed = 0;
  costUsd = 0;

  /** Conversations each plan cell has got so far (attempt keys are `cell:index`). */
  private readonly perCell: number[];

  constructor(
    readonly total: number,
    private readonly cellCounts: readonly number[] = [total],
    /** When the batch started (ms), for the ETA. */
    private readonly startedAt = Date.now(),
  ) {
    this.perCell = cellCounts.map(() => 0);
  }

  add(a: Pick<Attempt, 'status' | 'final' | 'costUsd' | 'errorType'> & { key?: string }): void {
    if (a.status === 'succeeded') {
      this.done++;
      const cell = Number(a.key?.split(':')[0]);
      if (Number.isInteger(cell) && cell >= 0 && cell < this.perCell.length) this.perCell[cell]!++;
    }
    // A request cut off by a cancel is left for a resume, not failed.
    else if (a.final && a.errorType !== 'cancelled') this.failed++;
    this.costUsd += a.costUsd;
  }

  /** Plan cells that have all their conversations, and how many cells there are. */
  get cells(): { readonly complete: number; readonly total: number } {
    return { complete: this.perCell.filter((n, i) => n >= this.cellCounts[i]!).length, total: this.cellCounts.length };
  }

  get queued(): number {
    return Math.max(0, this.total - this.done - this.failed);
  }

  /**
   * Milliseconds left at the completion rate seen so far (finished ÷ time since the start, so a
   * batch held back by the rate limit sees its ETA grow); null until something has finished.
   */
  etaMs(now = Date.now()): number | null {
    const finished = this.done + this.failed;
    if (this.queued === 0) return 0;
    if (finished === 0 || now <= this.startedAt) return null;
    return (this.queued * (now - this.startedAt)) / finished;
  }

  get fraction(): number {
    return this.total === 0 ? 1 : (this.done + this.failed) / this.total;
  }
}
