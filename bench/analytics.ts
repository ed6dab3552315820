/**
 * Analytics at the scale (1,000 templates, 100,000 generation logs): every template's
 * figures, the daily series and top performers, beside the first implementation (correlated
 * subqueries per template, joining scores and reviews) as the baseline.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { computeStats, dailySeries, templateRows, topPerformers } from '../src/core/analytics';
import { WorkspaceGenerationRepository, WorkspaceTemplateRepository, type Store } from '../src/core/store';
import type { Database } from '../src/core/store/database';
import { ReplicaDatabase } from '../src/core/store/replica';
import { dashboardData } from '../src/extension/dashboard/dashboardData';
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

/**
 * The dashboard's refresh as the editor runs it (`dashboardData`), and the longest the calling
 * thread (the extension host's, in the editor) was blocked meanwhile: the largest delay of the
 * event loop (`monitorEventLoopDelay`, 1 ms resolution) during the refresh. Median over `runs`
 * after a warm-up.
 */
async function dashboardRefresh(db: Database, runs = 5): Promise<{ wallMs: number; blockMs: number }> {
  await dashboardData(db);
  const walls: number[] = [];
  const blocks: number[] = [];
  for (let i = 0; i < runs; i++) {
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    // Let the monitor's timer start before the refresh does.
    await new Promise((resolve) => setTimeout(resolve, 5));
    const t0 = performance.now();
    await dashboardData(db);
    walls.push(performance.now() - t0);
    // One more turn of the loop, so a block at the refresh's end is recorded.
    await new Promise((resolve) => setTimeout(resolve, 5));
    delay.disable();
    blocks.push(delay.max / 1e6);
  }
  return { wallMs: median(walls), blockMs: median(blocks) };
}

/** The dashboard's refresh with its reads on the calling thread (before), then through the read replica's worker. */
export async function benchDashboardThread(store: Store): Promise<string[][]> {
  const before = await dashboardRefresh(store);
  const replica = new ReplicaDatabase({ workspace: dirname(store.dir), fallback: store });
  try {
    const t0 = performance.now();
    await replica.get('SELECT 1');
    const startMs = performance.now() - t0;
    const after = await dashboardRefresh(replica);
    if (replica.fallenBack) throw new Error('the read replica fell back to the main thread');
    const ms = (x: number) => `${x.toFixed(0)} ms`;
    return [
      ['dashboard refresh (dashboardData, as the editor runs it): wall time, reads in a worker (read replica)', ms(after.wallMs), 'reads on the calling thread', ms(before.wallMs), ''],
      ['  longest block of the calling thread (extension host) meanwhile', ms(after.blockMs), 'reads on the calling thread', ms(before.blockMs), '< 50 ms'],
      ["  the read replica's first read: worker started, database loaded (off the thread)", ms(startMs), '', '', ''],
    ];
  } finally {
    await replica.close();
  }
}

/** The store test's writer process: `count` transactions of 2 rows each (a template and its version). */
const WRITER = join(__dirname, '..', 'test', 'fixtures', 'store', 'writer.ts');

async function otherProcessWrites(dir: string, tag: string, transactions: number): Promise<void> {
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', WRITER, dir, tag, String(transactions)], { stdio: 'ignore' });
  const code = await new Promise<number | null>((done) => child.on('exit', done));
  if (code !== 0) throw new Error(`the writer process exited with ${code}`);
}

const TURNS = Array.from({ length: 12 }, (_, i) => ({ role: i % 2 === 0 ? ('user' as const) : ('assistant' as const), content: `Turn ${i}: ${'a realistic sentence of a conversation. '.repeat(6)}` }));

/**
 * The editor's writes and its catch-up, and the longest the calling thread was blocked meanwhile:
 * another process writes 1,000 rows (500 transactions), then 200 generation records go through
 * the handle (the first write catches up with the other process under the lock) and `refresh()`
 * runs, as the journal's watcher asks it to.
 */
async function writesAndCatchUp(db: Database & { refresh(): Promise<boolean> }, dir: string, tag: string): Promise<{ wallMs: number; blockMs: number }> {
  const templates = new WorkspaceTemplateRepository(db);
  const template = await templates.ensure(`bench/${tag}.prompt`, { name: tag, tier: 'template' });
  const version = await templates.recordVersion(template.id, 'body');
  const generations = new WorkspaceGenerationRepository(db);
  await otherProcessWrites(dir, tag, 500);
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  await new Promise((resolve) => setTimeout(resolve, 5));
  const t0 = performance.now();
  for (let i = 0; i < 200; i++) {
    await generations.record({
      templateId: template.id,
      versionId: version.id,
      parameters: { persona: 'Anxious Investor', i },
      model: 'claude-sonnet-4-5',
      attempt: 1,
      status: 'succeeded',
      inputTokens: 900,
      outputTokens: 2400,
      costUsd: 0.0387,
      durationMs: 21000,
      conversation: { systemPrompt: 'You advise.', turns: TURNS, quality: { overall: 7.8, breakdown: {}, recommendations: [] } },
    });
  }
  await otherProcessWrites(dir, `${tag}-late`, 500);
  const wallMs = performance.now() - t0;
  if (!(await db.refresh())) throw new Error('the catch-up found nothing new');
  await new Promise((resolve) => setTimeout(resolve, 5));
  delay.disable();
  return { wallMs, blockMs: delay.max / 1e6 };
}

/**
 * Writes and the journal's catch-up with the workspace's `Store` on the calling thread (before),
 * then in the worker (`ReplicaDatabase`, writable), on the same database.
 */
export async function benchWritesThread(store: Store): Promise<string[][]> {
  const dir = dirname(store.dir);
  const before = await writesAndCatchUp(store, dir, 'on-thread');
  const worker = new ReplicaDatabase({ workspace: dir, writable: true, fallback: store });
  try {
    await worker.open(); // the worker started and the database loaded, off the thread
    const after = await writesAndCatchUp(worker, dir, 'in-worker');
    if (worker.fallenBack) throw new Error('the worker fell back to the main thread');
    const ms = (x: number) => `${x.toFixed(0)} ms`;
    return [
      ['200 generation records through the handle, with 1,000 rows of another process caught up: longest block of the calling thread, Store in a worker', ms(after.blockMs), 'Store on the calling thread', ms(before.blockMs), '< 50 ms'],
      ['  the writes’ wall time (records, the other process waited for)', ms(after.wallMs), 'Store on the calling thread', ms(before.wallMs), ''],
    ];
  } finally {
    await worker.close();
  }
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
      ...(await benchDashboardThread(store)),
      ...(await benchWritesThread(store)),
    ];
  } finally {
    store.close();
  }
}

export const ANALYTICS_SCALE = `${SCALE.templates.toLocaleString('en-US')} templates, ${SCALE.logs.toLocaleString('en-US')} generation logs over ${SCALE.days} days`;
