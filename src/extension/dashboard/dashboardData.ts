import { currentThreshold, dailySeries, seriesUnit, templateRows, timeAxis, topPerformers, totalsOf, versionRows, type SeriesUnit, type TemplateFile, type TemplateRow, type VersionRow } from '../../core/analytics';
import { coverage, gaps } from '../../core/analytics/coverage';
import type { Database } from '../../core/store/database';
import type { AxisView, CompareRequest, CoverageView, DashboardData, DayView, SideView, TemplateView } from '../../shared/dashboardProtocol';

/** The figures; `files` are the workspace's templates, those the database never saw listed as unrun. */
export async function dashboardData(store: Database, files: readonly TemplateFile[] = []): Promise<DashboardData> {
  const started = performance.now();
  const rows = await templateRows(store);
  const unit = await seriesUnit(store);
  const all = await dailySeries(store, { unit });
  const known = new Set(rows.map((r) => r.file));
  const templates = await templateViews(rows, store);
  const coverage: CoverageView[] = [];
  for (const r of rows) {
    const view = await coverageView(store, r);
    if (view) coverage.push(view);
  }
  return {
    templates,
    unrun: files
      .filter((f) => !known.has(f.path))
      .map((f) => ({ name: f.name, file: f.path, tier: f.tier }))
      .sort((a, b) => a.name.localeCompare(b.name) || a.file.localeCompare(b.file)),
    coverage: coverage.sort((a, b) => a.name.localeCompare(b.name) || a.file.localeCompare(b.file)),
    totals: await totalsOf(store),
    series: all,
    axis: timeAxis(all.map((p) => p.day), unit),
    recommendations: topPerformers(rows).map((r) => ({ tier: r.tier, text: r.text, files: r.top.map((t) => t.template.file) })),
    computedAt: Date.now(),
    computeMs: performance.now() - started,
  };
}

/** The time axis both sides of a comparison share: their periods together. */
export async function comparisonAxis(store: Database, sides: readonly [SideView, SideView]): Promise<AxisView> {
  return timeAxis(
    sides.flatMap((s) => s.series.map((p) => p.day)),
    await seriesUnit(store),
  );
}

/** Two sides to compare; `rows` are the dashboard's figures when already computed. */
export async function comparison(store: Database, request: CompareRequest, rows?: readonly TemplateView[]): Promise<[SideView, SideView] | undefined> {
  // In the same periods as the dashboard's own charts (hours when the data spans under two days).
  const unit = await seriesUnit(store);
  if (request.kind === 'templates') {
    const known = rows ?? (await templateViews(await templateRows(store), store));
    const side = async (id: number): Promise<SideView | undefined> => {
      const row = known.find((r) => r.id === id);
      if (!row) return undefined;
      const { id: _id, name, file, tier: _tier, reviewAgreement: _agreement, ...figures } = row;
      return { label: `${name} (${file})`, figures, series: await series(store, { templateId: id }, unit) };
    };
    const [a, b] = [await side(request.a), await side(request.b)];
    return a && b ? [a, b] : undefined;
  }
  const versions = await versionRows(store, request.template);
  const side = async (id: number): Promise<SideView | undefined> => {
    const v = versions.find((x) => x.id === id);
    return v && { label: `version ${v.number} (${new Date(v.createdAt).toLocaleDateString()})`, figures: figuresOf(v), series: await series(store, { versionId: id }, unit) };
  };
  const [a, b] = [await side(request.a), await side(request.b)];
  return a && b ? [a, b] : undefined;
}

function series(store: Database, where: { templateId?: number; versionId?: number }, unit: SeriesUnit): Promise<DayView[]> {
  return dailySeries(store, { ...where, unit });
}

/** The rows as the page shows them, in order (each agreement's threshold read from its newest version). */
async function templateViews(rows: readonly TemplateRow[], store: Database): Promise<TemplateView[]> {
  const views: TemplateView[] = [];
  for (const r of rows) views.push(await templateView(r, store));
  return views;
}

async function templateView(r: TemplateRow, store: Database): Promise<TemplateView> {
  const a = r.reviewAgreement;
  return {
    id: r.id, name: r.name, file: r.file, tier: r.tier, ...figuresOf(r), diversity: r.diversity, nearDuplicates: r.nearDuplicates,
    reviewAgreement: a && { reviewed: a.reviewed, auc: a.auc, accuracy: a.accuracy, threshold: await currentThreshold(store, r.id), suggestedThreshold: a.suggestedThreshold },
    savedUsd: r.savedUsd,
  };
}

function figuresOf(r: TemplateRow | VersionRow): SideView['figures'] {
  return {
    usageCount: r.usageCount,
    succeeded: r.succeeded,
    failed: r.failed,
    cancelled: r.cancelled,
    conversations: r.conversations,
    avgQuality: r.avgQuality,
    minQuality: r.minQuality,
    maxQuality: r.maxQuality,
    approvalRate: r.approvalRate,
    avgDurationMs: r.avgDurationMs,
    avgCostUsd: r.avgCostUsd,
    totalCostUsd: r.totalCostUsd,
    trend: r.trend,
  };
}

/** A template's coverage as the page shows it; undefined when its plans varied nothing. */
export async function coverageView(store: Database, template: Pick<TemplateRow, 'id' | 'name' | 'file'>): Promise<CoverageView | undefined> {
  const of = await coverage(store, template.id);
  if (of.varied.length === 0) return undefined;
  const found = gaps(of);
  const keys = of.domains.map((values) => values.map((v) => JSON.stringify(v ?? null)));
  return {
    template: template.id,
    name: template.name,
    file: template.file,
    varied: of.varied,
    domains: of.domains.map((values) => values.map((v) => (v === null || v === undefined ? '—' : String(v)))),
    cells: of.cells.map((c) => ({
      at: c.combination.map((v, i) => keys[i]!.indexOf(JSON.stringify(v ?? null))),
      requested: c.requested,
      approved: c.approved,
      total: c.total,
      lacks: Math.max(0, found.target - c.approved),
    })),
    target: found.target,
    gapCells: found.gaps.length,
    lacking: found.lacking,
  };
}
