/**
 * What callers may ask of a store, whichever backend holds it (docs/team-store.md, step 1).
 *
 * Every method returns a Promise, reads included: the workspace database answers at once, but the
 * team store (PostgreSQL) and the workspace database moved to a worker thread answer later, and a
 * caller written against this interface does not change when the backend does. The workspace
 * implementations are the `Workspace…Repository` classes (repositories.ts, judgeCalls.ts) and
 * `workspaceRepositories` (workspaceRepositories.ts).
 */
import type { Coverage } from '../analytics/coverage';
import type { ReviewAgreement } from '../analytics/reviewAgreement';
import type { DayPoint, SeriesOptions, SeriesUnit } from '../analytics/series';
import type { Baseline } from '../analytics/templateTest';
import type { Stats, TemplateQuality, TemplateRow as TemplateFiguresRow, VersionRow as VersionFiguresRow } from '../analytics/templates';
import type { QualityResult } from '../quality';
import type { JudgeCallRecord } from './judgeCalls';
import type {
  BatchRow,
  BatchStatus,
  ConversationDetails,
  ConversationFilter,
  ConversationStatus,
  ConversationSummary,
  GenerationRecord,
  RecordOutcome,
  ReviewStatus,
  TemplateRow,
  Turn,
  VersionRow,
  VersionSummary,
} from './repositories';

export interface TemplateRepository {
  /** The template at `path` (workspace-relative), created or updated with its current name and tier. */
  ensure(path: string, info: { name: string; tier: string }): Promise<TemplateRow>;
  byPath(path: string): Promise<TemplateRow | undefined>;
  byId(id: number): Promise<TemplateRow | undefined>;
  list(): Promise<TemplateRow[]>;
  /** Records `content` as a version of the template unless that exact content is recorded already. */
  recordVersion(templateId: number, content: string): Promise<VersionRow>;
  versions(templateId: number): Promise<VersionSummary[]>;
  version(id: number): Promise<VersionRow | undefined>;
  usage(templateId: number): Promise<{ generations: number; conversations: number }>;
  setActive(templateId: number, active: boolean): Promise<void>;
  markDeleted(templateId: number): Promise<void>;
}

export interface GenerationRepository {
  /** One attempt, stored in one transaction (log, conversation, turns, score, signature). */
  record(g: GenerationRecord): Promise<RecordOutcome>;
  /** Several attempts in one transaction: all or none. */
  recordMany(records: readonly GenerationRecord[]): Promise<RecordOutcome[]>;
  conversation(id: string): Promise<{ id: string; status: ConversationStatus; turns: Turn[]; overall: number | null } | undefined>;
  details(id: string): Promise<ConversationDetails | undefined>;
  list(filter?: ConversationFilter): Promise<ConversationSummary[]>;
  idsStartingWith(prefix: string, limit?: number): Promise<string[]>;
  /** Dollars the generation attempts logged since `since` (ms) cost (the judge's are apart). */
  spentSince(since: number): Promise<number>;
  /** Records a review and sets the conversation's status; false when the id is unknown. */
  review(conversationId: string, status: ReviewStatus, note?: string): Promise<boolean>;
}

export interface BatchRepository {
  create(b: { templateId: number; versionId: number; requested: number; parameters: Record<string, unknown>; model: string; settings: Record<string, unknown>; plan?: BatchRow['plan'] }): Promise<BatchRow>;
  setStatus(id: string, status: BatchStatus): Promise<void>;
  get(id: string): Promise<BatchRow | undefined>;
  /** Batches that stopped before their count was reached, newest first. */
  unfinished(): Promise<BatchRow[]>;
  /** The values of each conversation stored for the batch (what a resume has already). */
  conversationValues(id: string): Promise<Record<string, unknown>[]>;
}

export interface JudgeCallRepository {
  recordCall(c: JudgeCallRecord): Promise<void>;
  saveJudged(conversationId: string, quality: QualityResult, flag: string | undefined): Promise<void>;
  noteUnjudged(conversationId: string, note: string): Promise<void>;
  /** Dollars the judge spent since `since` (ms). */
  spentSince(since: number): Promise<number>;
}

/** The analytics the shells show (src/core/analytics), as queries on a store. */
export interface AnalyticsQueries {
  templateRows(): Promise<TemplateFiguresRow[]>;
  computeStats(): Promise<Stats>;
  totals(): Promise<Stats['totals']>;
  templateQuality(templatePath: string, recent?: number): Promise<TemplateQuality>;
  versionRows(templateId: number): Promise<VersionFiguresRow[]>;
  dailySeries(options?: SeriesOptions): Promise<DayPoint[]>;
  seriesUnit(): Promise<SeriesUnit>;
  coverage(templateId: number): Promise<Coverage>;
  reviewAgreementByTemplate(): Promise<Map<number, ReviewAgreement | null>>;
  currentThreshold(templateId: number): Promise<number>;
  baselineFor(templateId: number, versionId: number, before: number): Promise<Baseline | undefined>;
  /** A template's earlier successful generations: mean output tokens and mean duration (ms); null without any. */
  pastOutputTokens(templatePath: string): Promise<number | null>;
  pastDurationMs(templatePath: string): Promise<number | null>;
}

/** One store's repositories: what a shell holds instead of the store itself, once step 2 lands. */
export interface Repositories {
  readonly templates: TemplateRepository;
  readonly generations: GenerationRepository;
  readonly batches: BatchRepository;
  readonly judgeCalls: JudgeCallRepository;
  readonly analytics: AnalyticsQueries;
}
