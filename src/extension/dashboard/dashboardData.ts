import { dailySeries, templateRows, topPerformers, totalsOf, versionRows, type TemplateRow, type VersionRow } from '../../core/analytics';
import type { Store } from '../../core/store';
import type { CompareRequest, DashboardData, DayView, SideView, TemplateView } from '../../shared/dashboardProtocol';

export function dashboardData(store: Store): DashboardData {
  const started = performance.now();
  const rows = templateRows(store);
  return {
    templates: rows.map(templateView),
    totals: totalsOf(store),
    series: dailySeries(store),
    recommendations: topPerformers(rows).map((r) => ({ tier: r.tier, text: r.text, files: r.top.map((t) => t.template.file) })),
    computedAt: Date.now(),
    computeMs: performance.now() - started,
  };
}

/** Two sides to compare; `rows` are the dashboard's figures when already computed. */
export function comparison(store: Store, request: CompareRequest, rows?: readonly TemplateView[]): [SideView, SideView] | undefined {
  if (request.kind === 'templates') {
    const known = rows ?? templateRows(store).map(templateView);
    const side = (id: number): SideView | undefined => {
      const row = known.find((r) => r.id === id);
      if (!row) return undefined;
      const { id: _id, name, file, tier: _tier, ...figures } = row;
      return { label: `${name} (${file})`, figures, series: series(store, { templateId: id }) };
    };
    const [a, b] = [side(request.a), side(request.b)];
    return a && b ? [a, b] : undefined;
  }
  const versions = versionRows(store, request.template);
  const side = (id: number): SideView | undefined => {
    const v = versions.find((x) => x.id === id);
    return v && { label: `version ${v.number} (${new Date(v.createdAt).toLocaleDateString()})`, figures: figuresOf(v), series: series(store, { versionId: id }) };
  };
  const [a, b] = [side(request.a), side(request.b)];
  return a && b ? [a, b] : undefined;
}

function series(store: Store, where: { templateId?: number; versionId?: number }): DayView[] {
  return dailySeries(store, where);
}

function templateView(r: TemplateRow): TemplateView {
  return { id: r.id, name: r.name, file: r.file, tier: r.tier, ...figuresOf(r) };
}

function figuresOf(r: TemplateRow | VersionRow): SideView['figures'] {
  return {
    usageCount: r.usageCount,
    succeeded: r.succeeded,
    failed: r.failed,
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
