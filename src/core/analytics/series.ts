import type { Store } from '../store';

/** One day of activity, for charts over time. */
export interface DayPoint {
  /** Local calendar day, YYYY-MM-DD. */
  readonly day: string;
  readonly generations: number;
  readonly failed: number;
  readonly conversations: number;
  readonly avgQuality: number | null;
  readonly costUsd: number;
}

export interface SeriesOptions {
  /** Only this template (its id); every template when absent. */
  readonly templateId?: number;
  /** Only this version (its id). */
  readonly versionId?: number;
  /** Minutes east of UTC for day boundaries, as `-new Date().getTimezoneOffset()`. */
  readonly utcOffsetMinutes?: number;
}

const DAY_MS = 86_400_000;

/**
 * Generations, failures, conversations, mean quality and cost per local day, oldest first; days
 * without activity are left out (charts draw the gap).
 */
export function dailySeries(store: Store, options: SeriesOptions = {}): DayPoint[] {
  const offsetMs = (options.utcOffsetMinutes ?? 0) * 60_000;
  const where: string[] = [];
  const params: number[] = [offsetMs];
  if (options.templateId !== undefined) {
    where.push('template_id = ?');
    params.push(options.templateId);
  }
  if (options.versionId !== undefined) {
    where.push('version_id = ?');
    params.push(options.versionId);
  }
  const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const day = `CAST((created_at + ?) / ${DAY_MS} AS INTEGER)`;
  const logs = store.all(`SELECT ${day} AS d, count(*) AS n, total(status = 'failed') AS failed, total(cost_usd) AS cost FROM generation_logs ${filter} GROUP BY d`, params);
  const conversations = store.all(`SELECT ${day} AS d, count(*) AS n, avg(quality) AS q FROM conversations ${filter} GROUP BY d`, params);
  const days = new Map<number, { generations: number; failed: number; conversations: number; avgQuality: number | null; costUsd: number }>();
  const at = (d: number) => {
    let point = days.get(d);
    if (!point) days.set(d, (point = { generations: 0, failed: 0, conversations: 0, avgQuality: null, costUsd: 0 }));
    return point;
  };
  for (const r of logs) Object.assign(at(Number(r.d)), { generations: Number(r.n), failed: Number(r.failed), costUsd: Number(r.cost) });
  for (const r of conversations) Object.assign(at(Number(r.d)), { conversations: Number(r.n), avgQuality: r.q === null ? null : Number(r.q) });
  return [...days.entries()].sort(([a], [b]) => a - b).map(([d, point]) => ({ day: new Date(d * DAY_MS).toISOString().slice(0, 10), ...point }));
}
