/**
 * Analytics at the scale (1,000 templates, 100,000 generation logs): every template's
 * figures, the daily series and top performers, beside the first implementation (correlated
 * subqueries per template, joining scores and reviews) as the baseline.
 */
import { computeStats, dailySeries, templateRows, topPerformers } from '../src/core/analytics';
import type { Store } from '../src/core/store';
import { SCALE, analyticsDatabase } from './analyticsData';

function median(times: number[]): number {
  return [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

async function time(fn: () => Promise<unknown>, runs = 5): Promise<number> {
  await fn(); // warm: statements compiled, pages in memory
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** The first implementation's query: one correlated subquery per figure per template. */
async function correlatedBaseline(store: Store): Promise<number> {
  const rows = await store.all(
    `SELECT t.id,
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
            (SELECT count(*) FROM conversations c WHERE c.template_id = t.id AND c.status = 'approved' AND EXISTS (SELECT 1 FROM reviews r WHERE r.conversation_id = c.id)) AS approved
       FROM templates t ORDER BY t.path`,
  );
  for (const r of rows) {
    await store.all(`SELECT q.overall FROM conversations c JOIN quality_scores q ON q.conversation_id = c.id WHERE c.template_id = ? ORDER BY c.created_at DESC, c.id DESC LIMIT 10`, [Number(r.id)]);
  }
  return rows.length;
}

export async function benchAnalytics(): Promise<string[][]> {
  const store = await analyticsDatabase();
  try {
    const stats = await time(() => computeStats(store));
    const dashboard = await time(async () => {
      const rows = await templateRows(store);
      await dailySeries(store);
      topPerformers(rows);
    });
    const baseline = await time(() => correlatedBaseline(store), 3);
    const ms = (x: number) => `${x.toFixed(0)} ms`;
    return [
      [`every template's figures (promptloom stats)`, ms(stats), 'correlated subqueries per template (first version)', ms(baseline), '< 300 ms'],
      ['dashboard: figures + daily series + top performers', ms(dashboard), '', '', '< 300 ms'],
    ];
  } finally {
    store.close();
  }
}

export const ANALYTICS_SCALE = `${SCALE.templates.toLocaleString('en-US')} templates, ${SCALE.logs.toLocaleString('en-US')} generation logs over ${SCALE.days} days`;
