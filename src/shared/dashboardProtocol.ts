/**
 * The messages between the analytics dashboard's webview and the extension host: one union per
 * direction, shared by both sides.
 */
import { oneOf, rowId, workspacePath, type Infer } from './schema';

export const DASHBOARD_VIEW_TYPE = 'promptloom.dashboard';

/** One template's row in the table (the `promptloom stats` figures and a few counts). */
export interface TemplateView {
  readonly id: number;
  readonly name: string;
  readonly file: string;
  readonly tier: string;
  readonly usageCount: number;
  readonly succeeded: number;
  readonly failed: number;
  /** Requests cut off by a cancel: neither succeeded nor failed. */
  readonly cancelled: number;
  readonly conversations: number;
  readonly avgQuality: number | null;
  readonly minQuality: number | null;
  readonly maxQuality: number | null;
  readonly approvalRate: number | null;
  readonly avgDurationMs: number | null;
  readonly avgCostUsd: number | null;
  readonly totalCostUsd: number;
  readonly trend: 'improving' | 'stable' | 'declining';
  /** 1 − mean nearest-neighbour similarity (docs/datasets.md); null under 2 signed conversations. */
  readonly diversity: number | null;
  /** Conversations marked as near-duplicates of an earlier one. */
  readonly nearDuplicates: number;
  /** How well the score predicts the reviewers' decisions; null under 20 reviewed conversations. */
  readonly reviewAgreement: ReviewAgreementView | null;
  /** What prompt caching saved on the template's generations, in US dollars. */
  readonly savedUsd: number;
}

/** A `.prompt` file of the workspace that the database has never seen. */
export interface UnrunTemplateView {
  readonly name: string;
  readonly file: string;
  readonly tier: string;
}

/** docs/quality.md, "Learning from the reviewers". */
export interface ReviewAgreementView {
  readonly reviewed: number;
  /** Null when every review made the same decision. */
  readonly auc: number | null;
  /** At `threshold`, the template's current flag threshold (0–10). */
  readonly accuracy: number;
  readonly threshold: number;
  /** 0–10 in tenths; "Use suggested threshold" writes it / 10 as `quality_threshold`. */
  readonly suggestedThreshold: number;
}

/** One period of a series: a day (YYYY-MM-DD) or, for data spanning under two days, an hour (YYYY-MM-DDTHH:00). */
export interface DayView {
  readonly day: string;
  readonly generations: number;
  readonly failed: number;
  readonly cancelled: number;
  readonly conversations: number;
  readonly avgQuality: number | null;
  readonly costUsd: number;
}

/** A chart's time axis, computed by the host from the data (src/core/analytics/series.ts, timeAxis). */
export interface AxisView {
  readonly unit: 'day' | 'hour';
  /** Seconds: the periods' local wall-clock times read as UTC (the page draws them in UTC). */
  readonly min: number;
  readonly max: number;
  readonly ticks: readonly { readonly at: number; readonly label: string }[];
}

export interface VersionView {
  readonly id: number;
  readonly number: number;
  readonly createdAt: number;
}

/** One side of a comparison: a template or one of its versions. */
export interface SideView {
  readonly label: string;
  readonly figures: Omit<TemplateView, 'id' | 'name' | 'file' | 'tier' | 'diversity' | 'nearDuplicates' | 'reviewAgreement' | 'savedUsd'>;
  readonly series: readonly DayView[];
}

/**
 * One template's coverage (see src/core/analytics/coverage.ts for the definitions): its varied
 * variables with their values as shown, and per combination of them the counts.
 */
export interface CoverageView {
  readonly template: number;
  readonly name: string;
  readonly file: string;
  /** The varied variables, in order; at least one. */
  readonly varied: readonly string[];
  /** Per varied variable, its values as text (`—` for none), in order. */
  readonly domains: readonly (readonly string[])[];
  readonly cells: readonly CoverageCellView[];
  /** Approved conversations every combination should have. */
  readonly target: number;
  /** Combinations under the target, and the approved conversations they lack in all. */
  readonly gapCells: number;
  readonly lacking: number;
}

export interface CoverageCellView {
  /** Per varied variable, the index of this combination's value in `domains`. */
  readonly at: readonly number[];
  readonly requested: number;
  readonly approved: number;
  readonly total: number;
  /** target − approved, or 0. */
  readonly lacks: number;
}

export interface DashboardData {
  readonly templates: readonly TemplateView[];
  /** Templates of the workspace never generated from (not in the database), by name: listed with no runs. */
  readonly unrun?: readonly UnrunTemplateView[];
  /** Templates whose value plans varied something, by name. */
  readonly coverage: readonly CoverageView[];
  readonly totals: { readonly conversations: number; readonly generations: number; readonly costUsd: number };
  /** All templates together, per day (per hour when the data spans under two days). */
  readonly series: readonly DayView[];
  readonly axis: AxisView;
  readonly recommendations: readonly { readonly tier: string; readonly text: string; readonly files: readonly string[] }[];
  /** When the figures were computed (ms since the epoch). */
  readonly computedAt: number;
  readonly computeMs: number;
}

/** What to compare: two templates, or two versions (ids). */
export const compareRequest = oneOf('kind', {
  templates: { a: rowId, b: rowId },
  versions: { template: rowId, a: rowId, b: rowId },
});
export type CompareRequest = Infer<typeof compareRequest>;

export type DashboardHostMessage =
  | { readonly type: 'data'; readonly data: DashboardData }
  | { readonly type: 'versions'; readonly template: number; readonly versions: readonly VersionView[] }
  | { readonly type: 'comparison'; readonly request: CompareRequest; readonly sides: readonly [SideView, SideView]; readonly axis: AxisView }
  | { readonly type: 'empty'; readonly reason: string };

export const dashboardWebviewMessage = oneOf('type', {
  ready: {},
  versions: { template: rowId },
  compare: { request: compareRequest },
  exportCsv: {},
  // Template files, workspace-relative as the store names them.
  open: { file: workspacePath },
  conversations: { file: workspacePath },
  // Generate what a template's coverage gaps lack (after the confirmation of value sets and cost).
  fillGaps: { template: rowId },
  // Write the suggested threshold (computed again by the host) into the template's front matter.
  useSuggestedThreshold: { file: workspacePath },
});

export type DashboardWebviewMessage = Infer<typeof dashboardWebviewMessage>;

export interface DashboardState {
  readonly sort?: { readonly key: string; readonly descending: boolean };
  readonly compare?: CompareRequest;
}
