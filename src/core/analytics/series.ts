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
  /** The calendar day a moment falls on (YYYY-MM-DD); the local day by default. */
  readonly dayOf?: (ms: number) => string;
}

/** Rows are grouped in quarter hours, then into days in JavaScript: daylight saving and
 * half-hour time zones move day boundaries, which one fixed offset in SQL would get wrong. */
const BUCKET_MS = 15 * 60_000;

export function localDay(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/**
 * Generations, failures, conversations, mean quality and cost per calendar day, oldest first;
 * days without activity are left out (charts draw the gap).
 */
export function dailySeries(store: Store, options: SeriesOptions = {}): DayPoint[] {
  const dayOf = options.dayOf ?? localDay;
  const where: string[] = [];
  const params: number[] = [];
  if (options.templateId !== undefined) {
    where.push('template_id = ?');
    params.push(options.templateId);
  }
  if (options.versionId !== undefined) {
    where.push('version_id = ?');
    params.push(options.versionId);
  }
  const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const bucket = `CAST(created_at / ${BUCKET_MS} AS INTEGER)`;
  const logs = store.all(`SELECT ${bucket} AS b, count(*) AS n, total(status = 'failed') AS failed, total(cost_usd) AS cost FROM generation_logs ${filter} GROUP BY b`, params);
  const conversations = store.all(`SELECT ${bucket} AS b, count(*) AS n, count(quality) AS scored, total(quality) AS quality FROM conversations ${filter} GROUP BY b`, params);
  const days = new Map<string, { generations: number; failed: number; conversations: number; scored: number; quality: number; costUsd: number }>();
  const at = (b: number) => {
    const day = dayOf(b * BUCKET_MS);
    let point = days.get(day);
    if (!point) days.set(day, (point = { generations: 0, failed: 0, conversations: 0, scored: 0, quality: 0, costUsd: 0 }));
    return point;
  };
  for (const r of logs) {
    const p = at(Number(r.b));
    p.generations += Number(r.n);
    p.failed += Number(r.failed);
    p.costUsd += Number(r.cost);
  }
  for (const r of conversations) {
    const p = at(Number(r.b));
    p.conversations += Number(r.n);
    p.scored += Number(r.scored);
    p.quality += Number(r.quality);
  }
  return [...days.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([day, p]) => ({ day, generations: p.generations, failed: p.failed, conversations: p.conversations, avgQuality: p.scored ? p.quality / p.scored : null, costUsd: p.costUsd }));
}
