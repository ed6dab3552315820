import { dailySeries, templateRows, topPerformers, totalsOf, versionRows, type TemplateRow, type VersionRow } from '../../core/analytics';
import type { Store } from '../../core/store';
import type { CompareRequest, DashboardData, DayView, SideView, TemplateView } from '../../shared/dashboardProtocol';

/** Minutes east of UTC now, so days in the charts are the user's days. */
const utcOffsetMinutes = () => -new Date().getTimezoneOffset();

export function dashboardData(store: Store): DashboardData {
  const started = performance.now();
  const rows = templateRows(store);
  return {
    templates: rows.map(templateView),
    totals: totalsOf(store),
    series: dailySeries(store, { utcOffsetMinutes: utcOffsetMinutes() }),
    recommendations: topPerformers(rows).map((r) => ({ tier: r.tier, text: r.text, files: r.top.map((t) => t.template.file) })),
    computedAt: Date.now(),
    computeMs: performance.now() - started,
  };
}

export function comparison(store: Store, request: CompareRequest): [SideView, SideView] | undefined {
  if (request.kind === 'templates') {
    const rows = templateRows(store);
    const side = (id: number): SideView | undefined => {
      const row = rows.find((r) => r.id === id);
      return row && { label: `${row.name} (${row.file})`, figures: figuresOf(row), series: series(store, { templateId: id }) };
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
  return dailySeries(store, { ...where, utcOffsetMinutes: utcOffsetMinutes() });
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
