/**
 * Per-template (and per-version) analytics, computed with grouped SQL over the workspace database:
 * one pass over each table, whatever the number of templates.
 *
 * Trend rule: compare the mean quality of a template's 5 most recent scored conversations with
 * the 5 before them; a rise of more than 0.5 points is `improving`, a fall of more than 0.5 is
 * `declining`, anything else (or fewer than 10 scored conversations) is `stable`.
 */
import { diversityByTemplate } from '../dataset/nearDuplicates';
import type { Database } from '../store/database';
import { reviewAgreementByTemplate, type ReviewAgreement } from './reviewAgreement';

export type Trend = 'improving' | 'stable' | 'declining';

/** One template's figures, exactly as `promptloom stats` prints them. */
export interface TemplateStats {
  readonly name: string;
  readonly file: string;
  readonly tier: string;
  readonly usageCount: number;
  readonly succeeded: number;
  readonly failed: number;
  /** Requests cut off by a cancel: neither succeeded nor failed, left for a resume. */
  readonly cancelled: number;
  readonly avgQuality: number | null;
  readonly minQuality: number | null;
  readonly maxQuality: number | null;
  /** approved / reviewed, 0..1; null when nothing was reviewed. */
  readonly approvalRate: number | null;
  readonly avgDurationMs: number | null;
  readonly avgCostUsd: number | null;
  readonly totalCostUsd: number;
  readonly trend: Trend;
  /**
   * 1 − the mean nearest-neighbour similarity of the template's conversations, from their MinHash
   * signatures (docs/datasets.md); null with fewer than two signed conversations.
   */
  readonly diversity: number | null;
  /** Conversations found to be near-duplicates of an earlier one of the template. */
  readonly nearDuplicates: number;
  /**
   * How well the score predicts the reviewers' decisions (./reviewAgreement.ts, docs/quality.md);
   * null with fewer than 20 reviewed, scored conversations.
   */
  readonly reviewAgreement: ReviewAgreement | null;
  /** What prompt caching saved on the template's generations, in US dollars (docs/generation.md). */
  readonly savedUsd: number;
  /**
   * Who created the template: on the team store its author's role (two members may each have a
   * template at one path, and their rows would read alike); null in a workspace, which has one.
   */
  readonly author: string | null;
}

/** The same, with what the dashboard also needs: counts behind the rates, and the id. */
export interface TemplateRow extends TemplateStats {
  readonly id: number;
  readonly active: boolean;
  readonly conversations: number;
  readonly scored: number;
  readonly reviewed: number;
  readonly lastActivity: number | null;
}

export interface Stats {
  readonly templates: TemplateStats[];
  readonly totals: { readonly conversations: number; readonly generations: number; readonly costUsd: number };
}

export const TREND_WINDOW = 5;
export const TREND_THRESHOLD = 0.5;

export function trendOf(recentFirst: readonly number[]): Trend {
  if (recentFirst.length < TREND_WINDOW * 2) return 'stable';
  const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  // In tenths, as scores are: an exact half-point rise is not "more than 0.5".
  const delta = Math.round((mean(recentFirst.slice(0, TREND_WINDOW)) - mean(recentFirst.slice(TREND_WINDOW, TREND_WINDOW * 2))) * 1e6) / 1e6;
  return delta > TREND_THRESHOLD ? 'improving' : delta < -TREND_THRESHOLD ? 'declining' : 'stable';
}

type Group = 'template_id' | 'version_id';

/**
 * The aggregates of every group (template or version): one scan of the logs and one of the
 * conversations (which carry their score and review time, see migration 3), and the trend's
 * newest scores read from the `conversations_scored` index (none when `recentCount` is 0).
 * `templateIds` narrows to those templates.
 */
async function aggregate(db: Database, group: Group, templateIds?: readonly number[], recentCount = TREND_WINDOW * 2) {
  const d = db.dialect;
  // Ids are numbers (from the store), written into the text: an empty list matches nothing.
  const ids = templateIds === undefined ? undefined : templateIds.map(Number).join(', ') || 'NULL';
  const only = ids === undefined ? '' : `WHERE template_id IN (${ids})`;
  const byKey = (rows: Record<string, unknown>[]) => new Map(rows.map((r) => [Number(r.k), r]));
  // Everyone's logs as the store counts them: per template the team's kept totals
  // (template_analytics), per version the team's grouped figures (generation_figures).
  const logs = byKey(
    await db.all(
      group === 'template_id'
        ? `SELECT template_id AS k, generations AS usage, succeeded AS ok, failed AS bad, avg_duration_ms AS dur, avg_cost_usd AS avg_cost, cost_usd AS cost,
                  last_generation_at AS last, cancelled, saved_usd AS saved
             FROM ${d.templateGenerations} g ${only}`
        : `SELECT ${group} AS k, ${d.total('generations')} AS usage, ${d.total('succeeded')} AS ok, ${d.total('failed')} AS bad,
                  ${d.total('duration_ms')} / nullif(${d.total('generations')}, 0) AS dur, ${d.total('cost_usd')} / nullif(${d.total('generations')}, 0) AS avg_cost,
                  ${d.total('cost_usd')} AS cost, max(last_generation_at) AS last, ${d.total('cancelled')} AS cancelled, ${d.total('saved_usd')} AS saved
             FROM ${d.generationFigures} g ${only} GROUP BY ${group}`,
    ),
  );
  const quality = byKey(
    await db.all(
      `SELECT ${group} AS k, count(*) AS conversations, count(quality) AS scored, avg(quality) AS avg_q, min(quality) AS min_q, max(quality) AS max_q,
              ${d.countWhere("status = 'approved' AND reviewed_at IS NOT NULL")} AS approved, count(reviewed_at) AS reviewed,
              count(near_duplicate_of) AS near_dups
         FROM conversations ${only} GROUP BY ${group}`,
    ),
  );
  // Per group, its newest scored conversations (newest first) for the trend: a few index rows each.
  const groups = group === 'template_id' ? `SELECT id AS k FROM ${d.templates} t ${ids === undefined ? '' : `WHERE id IN (${ids})`}` : `SELECT id AS k FROM template_versions ${only}`;
  const recent = new Map<number, number[]>();
  for (const r of recentCount <= 0 ? [] : await db.all(
    `SELECT g.k, (SELECT ${d.joined('n.quality', ',', `n.created_at DESC, n.tie DESC`)} FROM (
        SELECT c.quality, c.created_at, ${d.insertionOrder('c')} AS tie FROM conversations c WHERE c.${group} = g.k ${ids === undefined ? '' : `AND c.template_id IN (${ids})`} AND c.quality IS NOT NULL
         ORDER BY c.created_at DESC, ${d.insertionOrder('c')} DESC LIMIT ${Number(recentCount)}) n) AS recent
       FROM (${groups}) g`,
  )) {
    if (r.recent !== null) recent.set(Number(r.k), String(r.recent).split(',').map(Number));
  }
  return { logs, quality, recent };
}

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
/**
 * A mean of scores (one decimal each) to 12 significant digits: each backend adds the rows up
 * in its own order (PostgreSQL's changes when a review rewrites a row), and the last bits differ —
 * 7.15 or 7.1499999999999995, shown as 7.2 or 7.1 for the same scores.
 */
const settled = (v: unknown): number | null => (v === null || v === undefined ? null : Number(Number(v).toPrecision(12)));

function figures(key: number, a: Awaited<ReturnType<typeof aggregate>>) {
  const l = a.logs.get(key);
  const q = a.quality.get(key);
  const reviewed = Number(q?.reviewed ?? 0);
  return {
    usageCount: Number(l?.usage ?? 0),
    succeeded: Number(l?.ok ?? 0),
    failed: Number(l?.bad ?? 0),
    cancelled: Number(l?.cancelled ?? 0),
    avgQuality: settled(q?.avg_q),
    minQuality: num(q?.min_q),
    maxQuality: num(q?.max_q),
    approvalRate: reviewed > 0 ? Number(q!.approved) / reviewed : null,
    avgDurationMs: num(l?.dur),
    avgCostUsd: num(l?.avg_cost),
    totalCostUsd: Number(l?.cost ?? 0),
    savedUsd: Math.round(Number(l?.saved ?? 0) * 1e6) / 1e6, // sums of float products: shown to the micro-dollar
    trend: trendOf(a.recent.get(key) ?? []),
    conversations: Number(q?.conversations ?? 0),
    scored: Number(q?.scored ?? 0),
    reviewed,
    lastActivity: num(l?.last),
    nearDuplicates: Number(q?.near_dups ?? 0),
  };
}

/** Every template's figures, by path. */
export async function templateRows(db: Database): Promise<TemplateRow[]> {
  const a = await aggregate(db, 'template_id');
  const diversity = await diversityByTemplate(db);
  const agreement = await reviewAgreementByTemplate(db);
  // By path, then id: on the team store two members may each have a template at one path.
  return (await db.all(`SELECT id, path, name, tier, active, ${db.dialect.author('t')} AS author FROM ${db.dialect.templates} t ORDER BY path, id`)).map((t) => {
    const f = figures(Number(t.id), a);
    return {
      name: String(t.name),
      file: String(t.path),
      tier: String(t.tier),
      usageCount: f.usageCount,
      succeeded: f.succeeded,
      failed: f.failed,
      cancelled: f.cancelled,
      avgQuality: f.avgQuality,
      minQuality: f.minQuality,
      maxQuality: f.maxQuality,
      approvalRate: f.approvalRate,
      avgDurationMs: f.avgDurationMs,
      avgCostUsd: f.avgCostUsd,
      totalCostUsd: f.totalCostUsd,
      trend: f.trend,
      diversity: diversity.get(Number(t.id)) ?? null,
      nearDuplicates: f.nearDuplicates,
      reviewAgreement: agreement.get(Number(t.id)) ?? null,
      savedUsd: f.savedUsd,
      author: t.author === null || t.author === undefined ? null : String(t.author),
      id: Number(t.id),
      active: Number(t.active) === 1,
      conversations: f.conversations,
      scored: f.scored,
      reviewed: f.reviewed,
      lastActivity: f.lastActivity,
    };
  });
}

/**
 * `templateRows`, one row per path: where a path names two templates (on the team store, one per
 * member), the reader's own, as `templateQuality` and `TemplateReads.byPath` take it (the
 * dialect's `ownFirst`). For views that match a workspace file to its figures by path. In the
 * workspace a path names one template, so these are all its rows.
 */
export async function templateRowsByPath(db: Database): Promise<TemplateRow[]> {
  const rows = await templateRows(db);
  const chosen = await templatePerPath(db);
  return rows.filter((r) => chosen.get(r.file) === r.id);
}

/** The template each path names for the reader: their own first (`ownFirst`), as `byPath` takes it. */
export async function templatePerPath(db: Database): Promise<Map<string, number>> {
  const chosen = new Map<string, number>();
  for (const t of await db.all(`SELECT id, path FROM ${db.dialect.templates} t ${db.dialect.ownFirst('t')}`)) {
    if (!chosen.has(String(t.path))) chosen.set(String(t.path), Number(t.id));
  }
  return chosen;
}

/** What the Templates view shows of a template: its runs (everyone's), conversations, average quality and approval rate. */
export interface TemplateFiguresRow {
  readonly id: number;
  readonly file: string;
  readonly active: boolean;
  readonly usageCount: number;
  readonly conversations: number;
  readonly avgQuality: number | null;
  readonly approvalRate: number | null;
}

/**
 * Every template's (or those of `templateIds`) view figures: `templateRows`' logs and conversations
 * scans (on the team database `template_analytics`' kept totals), without what the view does not
 * show (the trend, diversity, review agreement, which read every scored or reviewed conversation).
 */
export async function templateFigures(db: Database, templateIds?: readonly number[]): Promise<TemplateFiguresRow[]> {
  const a = await aggregate(db, 'template_id', templateIds, 0);
  const only = templateIds === undefined ? '' : `WHERE id IN (${templateIds.map(Number).join(', ') || 'NULL'})`;
  return (await db.all(`SELECT id, path, active FROM ${db.dialect.templates} t ${only} ORDER BY path, id`)).map((t) => {
    const f = figures(Number(t.id), a);
    return { id: Number(t.id), file: String(t.path), active: Number(t.active) === 1, usageCount: f.usageCount, conversations: f.conversations, avgQuality: f.avgQuality, approvalRate: f.approvalRate };
  });
}

/** How one template's conversations are doing, for its CodeLens and PL011. */
export interface TemplateQuality {
  readonly runs: number;
  readonly conversations: number;
  readonly average: number | null;
  /** Mean quality of the `recent` newest scored conversations, and how many there were. */
  readonly recentAverage: number | null;
  readonly recentCount: number;
  /** approved / reviewed, 0..1; null when nothing was reviewed. */
  readonly approvalRate: number | null;
  readonly reviewed: number;
}

/** The same figures as the dashboard's, for one template (by path), with its newest `recent` scores. */
export async function templateQuality(db: Database, templatePath: string, recent = TREND_WINDOW * 2): Promise<TemplateQuality> {
  return (await templateQualityOf(db, templatePath, recent)).quality;
}

/** The template a path names for the reader (its id, whether it is active), when there is one. */
export interface TemplateRead {
  readonly id: number;
  readonly active: boolean;
}

/**
 * `templateQuality` with the template it read: a caller that follows teammates' changes by
 * template (the editor's lenses, which a notification names by template id) knows which it shows.
 */
export async function templateQualityOf(db: Database, templatePath: string, recent = TREND_WINDOW * 2): Promise<{ template?: TemplateRead; quality: TemplateQuality }> {
  const t = await db.get(`SELECT id, active FROM ${db.dialect.templates} t WHERE path = ? ${db.dialect.ownFirst('t')}`, [templatePath]);
  if (!t) return { quality: { runs: 0, conversations: 0, average: null, recentAverage: null, recentCount: 0, approvalRate: null, reviewed: 0 } };
  const id = Number(t.id);
  const a = await aggregate(db, 'template_id', [id], recent);
  const f = figures(id, a);
  const scores = a.recent.get(id) ?? [];
  return {
    template: { id, active: Number(t.active) === 1 },
    quality: {
      runs: f.usageCount,
      conversations: f.conversations,
      average: f.avgQuality,
      recentAverage: scores.length ? scores.reduce((x, y) => x + y, 0) / scores.length : null,
      recentCount: scores.length,
      approvalRate: f.approvalRate,
      reviewed: f.reviewed,
    },
  };
}

export interface VersionRow extends Omit<TemplateRow, 'name' | 'file' | 'tier' | 'active' | 'diversity' | 'nearDuplicates' | 'reviewAgreement' | 'savedUsd' | 'author'> {
  /** 1 for the template's first version. */
  readonly number: number;
  readonly createdAt: number;
}

/** One template's versions, oldest first, each with its own figures. */
export async function versionRows(db: Database, templateId: number): Promise<VersionRow[]> {
  const a = await aggregate(db, 'version_id', [templateId]);
  return (await db.all('SELECT id, created_at FROM template_versions WHERE template_id = ? ORDER BY created_at, id', [templateId])).map((v, i) => {
    const { conversations, scored, reviewed, lastActivity, nearDuplicates: _nearDuplicates, savedUsd: _savedUsd, ...f } = figures(Number(v.id), a);
    return { ...f, id: Number(v.id), number: i + 1, createdAt: Number(v.created_at), conversations, scored, reviewed, lastActivity };
  });
}

/** The `promptloom stats` contract: the figures alone, and the totals. */
export async function computeStats(db: Database): Promise<Stats> {
  // Exactly the contract's keys, in its order.
  const templates = (await templateRows(db)).map((r) => Object.fromEntries(STATS_COLUMNS.map((k) => [k, r[k]])) as unknown as TemplateStats);
  return { templates, totals: await totalsOf(db) };
}

/** Conversations, generations and money spent in the whole store (on the team's, the templates the reader may see). */
export async function totalsOf(db: Database): Promise<Stats['totals']> {
  const d = db.dialect;
  const totals = (await db.get(
    `SELECT (SELECT count(*) FROM conversations) AS conversations, (SELECT generations FROM ${d.allGenerations} a) AS generations,
            (SELECT cost_usd FROM ${d.allGenerations} a) AS cost`,
  ))!;
  return { conversations: Number(totals.conversations), generations: Number(totals.generations), costUsd: Number(totals.cost) };
}

export const STATS_COLUMNS: readonly (keyof TemplateStats)[] = [
  'name', 'file', 'tier', 'usageCount', 'succeeded', 'failed', 'avgQuality', 'minQuality', 'maxQuality',
  'approvalRate', 'avgDurationMs', 'avgCostUsd', 'totalCostUsd', 'trend',
  // Added with the dataset layer: at the end, so older readers of the CSV keep their columns.
  'diversity', 'nearDuplicates',
  // Added with the reviewers' agreement: an object in JSON, flat columns in CSV (STATS_CSV_COLUMNS).
  'reviewAgreement',
  // Added with prompt caching.
  'savedUsd',
  // Requests cut off by a cancel, apart from `failed`: at the end, so every earlier key keeps its place.
  'cancelled',
  // The template's author on the team store (null in a workspace).
  'author',
];

const AGREEMENT_CSV_COLUMNS = ['reviewAgreementReviewed', 'reviewAgreementAuc', 'reviewAgreementAccuracy', 'reviewAgreementSuggestedThreshold'];

/** The CSV's columns: STATS_COLUMNS in order, with `reviewAgreement` spread into one column per figure. */
export const STATS_CSV_COLUMNS: readonly string[] = STATS_COLUMNS.flatMap((c) => (c === 'reviewAgreement' ? AGREEMENT_CSV_COLUMNS : [c]));

function csvValues(t: TemplateStats): unknown[] {
  const a = t.reviewAgreement;
  return STATS_COLUMNS.flatMap((c) => (c === 'reviewAgreement' ? [a?.reviewed, a?.auc, a?.accuracy, a?.suggestedThreshold] : [t[c]]));
}

/** CSV with a header row of the JSON names; fields quoted where needed. */
export function statsCsv(stats: Stats): string {
  const cell = (v: unknown) => {
    let s = v === null || v === undefined ? '' : String(v);
    // A name starting with = + - @ would run as a formula in a spreadsheet.
    if (typeof v === 'string' && /^[=+\-@]/.test(s)) s = `'${s}`;
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [STATS_CSV_COLUMNS.join(','), ...stats.templates.map((t) => csvValues(t).map(cell).join(','))].join('\n') + '\n';
}
