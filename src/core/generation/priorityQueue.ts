/**
 * A bounded priority queue: high before normal before low, first in first out within a level.
 * Each level is an array read from a moving head, so push and shift are O(1) amortised.
 */
export type Priority = 'high' | 'normal' | 'low';
const LEVELS: readonly Priority[] = ['high', 'normal', 'low'];

export class QueueFullError extends Error {
  constructor(readonly capacity: number) {
    super(`the generation queue is full (${capacity} requests waiting): wait for the batch to progress or cancel one`);
    this.name = 'QueueFullError';
  }
}

export class PriorityQueue<T> {
  private readonly levels = new Map<Priority, { items: T[]; head: number }>(LEVELS.map((l) => [l, { items: [], head: 0 }]));
  private count = 0;

  constructor(readonly capacity = 10_000) {}

  get size(): number {
    return this.count;
  }

  push(item: T, priority: Priority = 'normal'): void {
    if (this.count >= this.capacity) throw new QueueFullError(this.capacity);
    this.levels.get(priority)!.items.push(item);
    this.count++;
  }

  /** Puts an item before the others of its level (a retry of an item already begun). */
  pushFront(item: T, priority: Priority = 'normal'): void {
    if (this.count >= this.capacity) throw new QueueFullError(this.capacity);
    const q = this.levels.get(priority)!;
    if (q.head > 0) q.items[--q.head] = item;
    else q.items.unshift(item);
    this.count++;
  }

  peek(): T | undefined {
    for (const level of LEVELS) {
      const q = this.levels.get(level)!;
      if (q.head < q.items.length) return q.items[q.head];
    }
    return undefined;
  }

  shift(): T | undefined {
    for (const level of LEVELS) {
      const q = this.levels.get(level)!;
      if (q.head < q.items.length) {
        const item = q.items[q.head]!;
        q.items[q.head++] = undefined as T; // let it be collected
        // Compact once the consumed part dominates, keeping shifts O(1) amortised.
        if (q.head > 1024 && q.head * 2 > q.items.length) {
          q.items.splice(0, q.head);
          q.head = 0;
        }
        this.count--;
        return item;
      }
    }
    return undefined;
  }

  /** Removes every waiting item that matches (a cancelled batch); returns them. */
  removeWhere(match: (item: T) => boolean): T[] {
    const removed: T[] = [];
    for (const level of LEVELS) {
      const q = this.levels.get(level)!;
      const kept: T[] = [];
      for (let i = q.head; i < q.items.length; i++) {
        const item = q.items[i]!;
        (match(item) ? removed : kept).push(item);
      }
      q.items = kept;
      q.head = 0;
    }
    this.count -= removed.length;
    return removed;
  }
}
