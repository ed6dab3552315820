/**
 * The workspace database's `Repositories`: the repository classes over one `Store`, and the
 * analytics functions (and the estimate's two reads of past generations) bound to it. Those
 * modules import only the store's types, so importing them here (and this from index.ts) makes
 * no cycle at run time.
 */
import { randomUUID } from 'node:crypto';
import { coverage } from '../analytics/coverage';
import { currentThreshold, reviewAgreementByTemplate } from '../analytics/reviewAgreement';
import { dailySeries, seriesUnit } from '../analytics/series';
import { baselineFor } from '../analytics/templateTest';
import { computeStats, templateQuality, templateRows, totalsOf, versionRows } from '../analytics/templates';
import { pastDurationMs, pastOutputTokens } from '../generation/estimate';
import type { Database } from './database';
import type { AnalyticsQueries, Repositories } from './interfaces';
import { WorkspaceJudgeCallRepository } from './judgeCalls';
import { WorkspaceBatchRepository, WorkspaceGenerationRepository, WorkspaceTemplateRepository, systemClock, type Clock } from './repositories';
import type { Store } from './store';

export function workspaceRepositories(store: Store, clock: Clock = systemClock, newId: () => string = randomUUID): Repositories {
  return {
    templates: new WorkspaceTemplateRepository(store, clock),
    generations: new WorkspaceGenerationRepository(store, clock, newId),
    batches: new WorkspaceBatchRepository(store, clock, newId),
    judgeCalls: new WorkspaceJudgeCallRepository(store, clock),
    analytics: workspaceAnalytics(store),
  };
}

export function workspaceAnalytics(store: Store): AnalyticsQueries {
  return analyticsOn(store);
}

/** The analytics queries bound to a database handle: the workspace's, or the team's (one implementation, docs/team-store.md step 2). */
export function analyticsOn(store: Database): AnalyticsQueries {
  return {
    templateRows: () => templateRows(store),
    computeStats: () => computeStats(store),
    totals: () => totalsOf(store),
    templateQuality: (templatePath, recent) => templateQuality(store, templatePath, recent),
    versionRows: (templateId) => versionRows(store, templateId),
    dailySeries: (options) => dailySeries(store, options),
    seriesUnit: () => seriesUnit(store),
    coverage: (templateId) => coverage(store, templateId),
    reviewAgreementByTemplate: () => reviewAgreementByTemplate(store),
    currentThreshold: (templateId) => currentThreshold(store, templateId),
    baselineFor: (templateId, versionId, before) => baselineFor(store, templateId, versionId, before),
    pastOutputTokens: (templatePath) => pastOutputTokens(store, templatePath),
    pastDurationMs: (templatePath) => pastDurationMs(store, templatePath),
  };
}
