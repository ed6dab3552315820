import type { Database } from '../store/database';
import { LOG_BUCKET_MS } from '../store/dialect';

/** One period (a day, or an hour: see SeriesOptions.unit) of activity, for charts over time. */
export interface DayPoint {
  /** The period's local start: the calendar day, YYYY-MM-DD, or with hours YYYY-MM-DDTHH:00. */
  readonly day: string;
  readonly generations: number;
  readonly failed: number;
  /** Requests cut off by a cancel (counted in `generations`, apart from `failed`). */
  readonly cancelled: number;
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
  /** Periods of a day (the default) or of an hour (for data spanning under two days). */
  readonly unit?: SeriesUnit;
}

export type SeriesUnit = 'day' | 'hour';

/** Rows are grouped in quarter hours, then into days in JavaScript: daylight saving and
 * half-hour time zones move day boundaries, which one fixed offset in SQL would get wrong. The
 * logs' quarter hours come grouped already (the dialect's generationFigures: on the team store
 * everyone's logs are read only so), the conversations' are grouped here the same way. */
const BUCKET_MS = LOG_BUCKET_MS;

export function localDay(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** The local hour a moment falls in, YYYY-MM-DDTHH:00. */
export function localHour(ms: number): string {
  return `${localDay(ms)}T${String(new Date(ms).getHours()).padStart(2, '0')}:00`;
}

/**
 * Generations, failures, conversations, mean quality and cost per calendar day, oldest first;
 * days without activity are left out (charts draw the gap).
 */
export async function dailySeries(db: Database, options: SeriesOptions = {}): Promise<DayPoint[]> {
  const dayOf = options.dayOf ?? (options.unit === 'hour' ? localHour : localDay);
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
  const d = db.dialect;
  // Everyone's logs the store counts (on the team store, of the templates the reader may see),
  // by quarter hour alone when every template is asked for.
  const logs = await db.all(
    `SELECT b, ${d.total('generations')} AS n, ${d.total('failed')} AS failed, ${d.total('cancelled')} AS cancelled, ${d.total('cost_usd')} AS cost
       FROM ${where.length ? d.generationFigures : d.generationQuarterHours} g ${filter} GROUP BY b`,
    params,
  );
  const conversations = await db.all(`SELECT ${bucket} AS b, count(*) AS n, count(quality) AS scored, ${d.total('quality')} AS quality FROM conversations ${filter} GROUP BY b`, params);
  const days = new Map<string, { generations: number; failed: number; cancelled: number; conversations: number; scored: number; quality: number; costUsd: number }>();
  const at = (b: number) => {
    const day = dayOf(b * BUCKET_MS);
    let point = days.get(day);
    if (!point) days.set(day, (point = { generations: 0, failed: 0, cancelled: 0, conversations: 0, scored: 0, quality: 0, costUsd: 0 }));
    return point;
  };
  for (const r of logs) {
    const p = at(Number(r.b));
    p.generations += Number(r.n);
    p.failed += Number(r.failed);
    p.cancelled += Number(r.cancelled);
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
    .map(([day, p]) => ({ day, generations: p.generations, failed: p.failed, cancelled: p.cancelled, conversations: p.conversations, avgQuality: p.scored ? p.quality / p.scored : null, costUsd: p.costUsd }));
}

/** Spans shorter than this are drawn hour by hour: a day or two of data would be one or two points. */
export const HOURLY_BELOW_MS = 2 * 86_400_000;

/** Hours when the store's generations (on the team store, everyone's it counts) span under two days (or there are none yet), else days. */
export async function seriesUnit(db: Database): Promise<SeriesUnit> {
  const r = await db.get(`SELECT first_generation_at AS first, last_generation_at AS last FROM ${db.dialect.generationSpan} s`);
  if (r?.first === null || r?.first === undefined) return 'hour';
  return Number(r.last) - Number(r.first) < HOURLY_BELOW_MS ? 'hour' : 'day';
}

/** A chart's time axis: its range and ticks, in seconds of the periods' local times read as UTC. */
export interface TimeAxis {
  readonly unit: SeriesUnit;
  readonly min: number;
  readonly max: number;
  readonly ticks: readonly { readonly at: number; readonly label: string }[];
}

const HOUR_S = 3600;
const DAY_S = 86_400;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A period's start (YYYY-MM-DD or YYYY-MM-DDTHH:00), its local wall-clock time read as UTC, in seconds. */
export function periodSeconds(period: string): number {
  return Date.UTC(Number(period.slice(0, 4)), Number(period.slice(5, 7)) - 1, Number(period.slice(8, 10)), period.length > 10 ? Number(period.slice(11, 13)) : 0) / 1000;
}

/**
 * The time axis of a chart of periods: from the first to the last (never a fixed span), padded
 * by half a period so both ends are drawn whole; hours get hour ticks (every 1–4 h, so at most
 * about a dozen), days get day ticks (every n days, the same limit). No periods: today, by hour.
 */
export function timeAxis(periods: readonly string[], unit: SeriesUnit, today: string = localDay(Date.now())): TimeAxis {
  const starts = periods.map(periodSeconds).sort((a, b) => a - b);
  const period = unit === 'hour' ? HOUR_S : DAY_S;
  let min = starts.length > 0 ? starts[0]! - period / 2 : periodSeconds(today);
  let max = starts.length > 0 ? starts.at(-1)! + period / 2 : periodSeconds(today) + DAY_S;
  // A few hours at least, centred on the data: one busy hour is not drawn as the whole axis.
  const least = unit === 'hour' ? 6 * HOUR_S : 2 * DAY_S;
  if (max - min < least) {
    const centre = (min + max) / 2;
    [min, max] = [centre - least / 2, centre + least / 2];
  }
  const span = max - min;
  const step = unit === 'hour' ? ([1, 2, 3, 4, 6, 12].find((h) => span / (h * HOUR_S) <= 12) ?? 24) * HOUR_S : Math.max(1, Math.ceil(span / DAY_S / 12)) * DAY_S;
  const ticks: { at: number; label: string }[] = [];
  for (let at = Math.ceil(min / step) * step; at <= max; at += step) {
    const d = new Date(at * 1000);
    const date = `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}`;
    // Hour ticks say the hour, and the date where a day starts (or on the first tick).
    const label = unit === 'day' ? date : d.getUTCHours() === 0 || ticks.length === 0 ? `${date} ${String(d.getUTCHours()).padStart(2, '0')}:00` : `${String(d.getUTCHours()).padStart(2, '0')}:00`;
    ticks.push({ at, label });
  }
  return { unit, min, max, ticks };
}
