/**
 * Per-template analytics, computed with SQL over the workspace database.
 *
 * Trend rule: compare the mean quality of a template's 5 most recent scored conversations with
 * the 5 before them; a rise of more than 0.5 points is `improving`, a fall of more than 0.5 is
 * `declining`, anything else (or fewer than 10 scored conversations) is `stable`.
 */
import type { Store } from '../store';

export type Trend = 'improving' | 'stable' | 'declining';

export interface TemplateStats {
  readonly name: string;
  readonly file: string;
  readonly tier: string;
  readonly usageCount: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly avgQuality: number | null;
  readonly minQuality: number | null;
  readonly maxQuality: number | null;
  /** approved / reviewed, 0..1; null when nothing was reviewed. */
  readonly approvalRate: number | null;
  readonly avgDurationMs: number | null;
  readonly avgCostUsd: number | null;
  readonly totalCostUsd: number;
  readonly trend: Trend;
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
  const delta = mean(recentFirst.slice(0, TREND_WINDOW)) - mean(recentFirst.slice(TREND_WINDOW, TREND_WINDOW * 2));
  return delta > TREND_THRESHOLD ? 'improving' : delta < -TREND_THRESHOLD ? 'declining' : 'stable';
}

export function computeStats(store: Store): Stats {
  const rows = store.all(
    `SELECT t.id, t.name, t.path, t.tier,
            (SELECT count(*) FROM generation_logs g WHERE g.template_id = t.id) AS usage_count,
            (SELECT count(*) FROM generation_logs g WHERE g.template_id = t.id AND g.status = 'succeeded') AS succeeded,
            (SELECT count(*) FROM generation_logs g WHERE g.template_id = t.id AND g.status = 'failed') AS failed,
            (SELECT avg(g.duration_ms) FROM generation_logs g WHERE g.template_id = t.id) AS avg_duration,
            (SELECT avg(g.cost_usd) FROM generation_logs g WHERE g.template_id = t.id) AS avg_cost,
            (SELECT coalesce(sum(g.cost_usd), 0) FROM generation_logs g WHERE g.template_id = t.id) AS total_cost,
            (SELECT avg(q.overall) FROM conversations c JOIN quality_scores q ON q.conversation_id = c.id WHERE c.template_id = t.id) AS avg_q,
            (SELECT min(q.overall) FROM conversations c JOIN quality_scores q ON q.conversation_id = c.id WHERE c.template_id = t.id) AS min_q,
            (SELECT max(q.overall) FROM conversations c JOIN quality_scores q ON q.conversation_id = c.id WHERE c.template_id = t.id) AS max_q,
            (SELECT count(DISTINCT r.conversation_id) FROM reviews r JOIN conversations c ON c.id = r.conversation_id WHERE c.template_id = t.id) AS reviewed,
            (SELECT count(*) FROM conversations c WHERE c.template_id = t.id AND c.status = 'approved'
               AND EXISTS (SELECT 1 FROM reviews r WHERE r.conversation_id = c.id)) AS approved
       FROM templates t ORDER BY t.path`,
  );
  const templates = rows.map((r): TemplateStats => {
    const recent = store
      .all(`SELECT q.overall FROM conversations c JOIN quality_scores q ON q.conversation_id = c.id WHERE c.template_id = ? ORDER BY c.created_at DESC, c.id DESC LIMIT ?`, [Number(r.id), TREND_WINDOW * 2])
      .map((q) => Number(q.overall));
    const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
    const reviewed = Number(r.reviewed);
    return {
      name: String(r.name),
      file: String(r.path),
      tier: String(r.tier),
      usageCount: Number(r.usage_count),
      succeeded: Number(r.succeeded),
      failed: Number(r.failed),
      avgQuality: num(r.avg_q),
      minQuality: num(r.min_q),
      maxQuality: num(r.max_q),
      approvalRate: reviewed > 0 ? Number(r.approved) / reviewed : null,
      avgDurationMs: num(r.avg_duration),
      avgCostUsd: num(r.avg_cost),
      totalCostUsd: Number(r.total_cost),
      trend: trendOf(recent),
    };
  });
  const totals = store.get(
    `SELECT (SELECT count(*) FROM conversations) AS conversations, (SELECT count(*) FROM generation_logs) AS generations,
            (SELECT coalesce(sum(cost_usd), 0) FROM generation_logs) AS cost`,
  )!;
  return { templates, totals: { conversations: Number(totals.conversations), generations: Number(totals.generations), costUsd: Number(totals.cost) } };
}

export const STATS_COLUMNS: readonly (keyof TemplateStats)[] = [
  'name', 'file', 'tier', 'usageCount', 'succeeded', 'failed', 'avgQuality', 'minQuality', 'maxQuality',
  'approvalRate', 'avgDurationMs', 'avgCostUsd', 'totalCostUsd', 'trend',
];

/** CSV with a header row of the JSON names; fields quoted where needed. */
export function statsCsv(stats: Stats): string {
  const cell = (v: unknown) => {
    let s = v === null || v === undefined ? '' : String(v);
    // A name starting with = + - @ would run as a formula in a spreadsheet.
    if (typeof v === 'string' && /^[=+\-@]/.test(s)) s = `'${s}`;
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [STATS_COLUMNS.join(','), ...stats.templates.map((t) => STATS_COLUMNS.map((c) => cell(t[c])).join(','))].join('\n') + '\n';
}
