/**
 * A batch from template to database: records the template version and the batch, runs the
 * engine, and stores every attempt (log, conversation, turns, quality score) as it happens. Shared by the CLI
 * and the editor, so both record exactly the same way.
 */
import { WorkspaceBatchRepository, WorkspaceGenerationRepository, WorkspaceTemplateRepository, type BatchRepository, type BatchRow, type GenerationRecord, type GenerationRepository, type TemplateRepository } from '../store';
import type { Database, WorkspaceDatabase } from '../store/database';
import type { TeamDatabase } from '../store/postgres/teamDatabase';
import type { QualityReport } from '../quality';
import type { ParsedTemplate, Rendered } from '../template';
import { createClient } from './claude';
import { GenerationEngine, type Attempt, type BatchSummary, type ModelInfo } from './engine';
import type { Priority } from './priorityQueue';
import { limiterFor, type RateLimiter } from './rateLimiter';
import { SETTINGS, judgeModelOf, type GenerationSettings } from './settings';
import { judgeAfterBatch, type BatchJudgement } from './judgeBatch';
import { judgeSpentSince } from '../store/judgeCalls';
import { importKeptAside } from './unstored';
import { outstanding } from './messageBatchRecords';
import { BatchBusyError, holdBatch } from './batchLease';
import { answerRecord, keepRecord, type Kept, type RecordContext } from './recording';
import { planKey } from '../plan';
import { TeamSpool } from './teamSpool';
import { randomUUID } from 'node:crypto';
import { CLAIM_RENEW_MS, FirstRunClaims, claimSlots, ensureSlots, releaseClaims, renewClaims, slotCounts } from './teamClaims';

export interface BatchInput {
  /**
   * The workspace database: the CLI's `Store`, or the editor's handle on the `Store` in its worker
   * thread. Rows go through it; the lease and kept-aside answers are files in its `dir`.
   */
  readonly store: WorkspaceDatabase;
  /** Workspace-relative path of the template file. */
  readonly templatePath: string;
  readonly templateText: string;
  readonly template: ParsedTemplate;
  readonly rendered: Rendered;
  readonly settings: GenerationSettings;
  readonly model: ModelInfo;
  readonly apiKey: string;
  readonly baseURL?: string;
  /** Conversations to generate: all of `rendered`, or with `cells` their total. */
  readonly count: number;
  /**
   * A value plan: each cell's values rendered, and how many conversations it gets. Without it,
   * every conversation gets `rendered`.
   */
  readonly cells?: readonly BatchCell[];
  /** A team resume's claimed slots, one per cell (each of count 1): a stored answer fills its slot. */
  readonly slots?: readonly number[];
  readonly priority?: Priority;
  /** Why the batch runs: a template test's generations are kept out of later tests' baselines. */
  readonly purpose?: 'test';
  /** A limiter shared across batches (the editor keeps one per model); a fresh one otherwise. */
  readonly limiter?: RateLimiter;
  /** Continue this stored batch (its template version and its batch row) instead of starting one. */
  readonly resume?: {
    readonly batchId: string;
    readonly templateId: number;
    readonly versionId: number;
    /** Conversations the batch had stored when the resume was planned: a run that stored more since makes the plan stale. */
    readonly completed?: number;
  };
  /** Called with the engine before it starts, so the caller can cancel it. */
  readonly started?: (engine: GenerationEngine, batchId: string) => void;
  readonly onAttempt?: (attempt: Attempt, conversationId: string | undefined) => void;
}

export interface BatchCell {
  readonly rendered: Rendered;
  readonly count: number;
}

/** One plan cell's outcome: its values, what it asked for in this run, what was generated. */
export interface CellCoverage {
  readonly values: Readonly<Record<string, unknown>>;
  readonly requested: number;
  readonly succeeded: number;
}

export interface BatchOutcome {
  readonly summary: BatchSummary;
  /** Per plan cell (one cell for a batch of one value set). */
  readonly coverage: readonly CellCoverage[];
  /** Paid answers the database would not take, kept in `.promptloom/unstored/` for the next open. */
  readonly keptAside: number;
  /** On the team store: answers kept in the local spool while the server was unreachable (all written by the end of the run). */
  readonly spooled?: number;
  readonly batchId: string;
  readonly conversations: string[];
  /** Mean quality of this run's conversations (null when none), and how many were flagged. */
  readonly quality: { readonly average: number | null; readonly flagged: number };
  /** With `promptloom.quality.judge` on: what the judge graded and what it cost (judge cost, not in `summary`). */
  readonly judge?: BatchJudgement;
}

/**
 * What a batch row keeps of its settings, to resume with: the settings table's values and nothing
 * else (never an API address: where the key goes is the user's choice at each run).
 */
function batchSettings(settings: GenerationSettings): Record<string, unknown> {
  return Object.fromEntries(SETTINGS.filter((s) => s.name !== 'models' && settings[s.name] !== undefined).map((s) => [s.name, settings[s.name]]));
}

/** How often a running batch looks whether another process cancelled it. */
const CANCEL_CHECK_MS = 500;

/** Dollars spent on generations and judge calls since local midnight: in this workspace, or by this member of the team. */
export async function spentToday(store: Database, now = new Date()): Promise<number> {
  const midnight = new Date(now);
  midnight.setHours(0, 0, 0, 0);
  const generations = await new WorkspaceGenerationRepository(store).spentSince(midnight.getTime());
  return generations + (await judgeSpentSince(store, midnight.getTime())); // the judge's calls are paid too
}

/** Dollars a batch has spent so far (its generations and judge calls): a resume's batch budget is what is left of it. */
export async function spentOnBatch(store: Database, batchId: string): Promise<number> {
  const generations = Number((await store.get('SELECT coalesce(sum(cost_usd), 0) AS spent FROM generation_logs WHERE batch_id = ?', [batchId]))!.spent);
  return generations + Number((await store.get('SELECT coalesce(sum(cost_usd), 0) AS spent FROM judge_calls WHERE batch_id = ?', [batchId]))!.spent);
}

/**
 * Where a run records, and what it needs of that store beyond its repositories. The workspace's
 * (`workspaceTarget`) imports answers kept aside, keeps a paid answer aside when the database will
 * not take it, counts outstanding Message Batches against the budget, sees other processes'
 * writes by refreshing; the team's (`teamTarget`) does only what the team store has yet: its
 * repositories, and the member's spending. On both the judge records where the run records.
 */
interface RecordingTarget {
  readonly templates: TemplateRepository;
  readonly batches: BatchRepository;
  readonly generations: GenerationRepository;
  /** Before budgets are read: the workspace imports answers kept aside (they are paid for). */
  prepare(): Promise<void>;
  /** Dollars that count against today's budget (spent, and held by Message Batches not yet collected). */
  spentToday(): Promise<number>;
  spentOnBatch(batchId: string): Promise<number>;
  /** Stores one attempt's record, retried; a paid answer the store will not take is kept aside where it can be. */
  keep(record: GenerationRecord): Promise<Kept>;
  /** Catches up with other processes' writes before a batch's status is read (the workspace's journal). */
  catchUp(): Promise<unknown>;
  /** Where the judge records its calls and grades: the same database as the run's records. */
  readonly judgeDb: Database;
  /** The team's spool: told the engine (to halt it when full), settled before the batch's status is written. */
  readonly spool?: TeamSpool;
}

function workspaceTarget(store: WorkspaceDatabase): RecordingTarget {
  const generations = new WorkspaceGenerationRepository(store);
  return {
    templates: new WorkspaceTemplateRepository(store),
    batches: new WorkspaceBatchRepository(store),
    generations,
    prepare: async () => void (await importKeptAside(store)),
    // Message Batches not yet collected (a detached one) hold their worst case until then.
    spentToday: async () => (await spentToday(store)) + (await outstanding(store)),
    spentOnBatch: (batchId) => spentOnBatch(store, batchId),
    keep: (record) => keepRecord(store, record, generations),
    catchUp: () => store.refresh(),
    judgeDb: store,
  };
}

/** The server's clock in milliseconds (no client clocks compared across machines). */
const SERVER_MS = '(extract(epoch from clock_timestamp()) * 1000)::bigint';
/**
 * How long a resume believes the sign of life of a first run from a release before claims (which
 * set the batch's `updated_at` every second and made no slots): see `refuseWhileFirstRunLives`.
 */
export const TEAM_ALIVE_MS = 4_000;

/**
 * The team store's target. An answer the server cannot take because it is unreachable goes to the
 * run's spool in the workspace's `.promptloom/team-spool/` (teamSpool.ts), written back when the
 * server answers again; one it refuses is tried for longer (TEAM_RETRY) and then stops the batch,
 * as a full disk does in a workspace.
 */
function teamTarget(db: TeamDatabase, folder: string): RecordingTarget {
  const generations = new WorkspaceGenerationRepository(db);
  const spool = new TeamSpool(folder, db);
  return {
    templates: new WorkspaceTemplateRepository(db),
    batches: new WorkspaceBatchRepository(db),
    generations,
    prepare: () => spool.start(),
    // The member's Message Batches not yet collected hold their worst case, as in a workspace.
    spentToday: async () => (await spentToday(db)) + (await outstanding(db)),
    spentOnBatch: (batchId) => spentOnBatch(db, batchId),
    keep: (record) => spool.keep(record),
    catchUp: async () => undefined,
    judgeDb: db,
    spool,
  };
}

export async function runRecordedBatch(input: BatchInput): Promise<BatchOutcome> {
  // One run of a batch at a time: a resume while another process still runs it is refused.
  let release = input.resume ? holdBatch(input.store.dir, input.resume.batchId) : undefined;
  try {
    if (input.resume?.completed !== undefined) {
      await input.store.refresh();
      const now = (await new WorkspaceBatchRepository(input.store).get(input.resume.batchId))?.completed;
      if (now !== input.resume.completed) throw new BatchBusyError(`batch ${input.resume.batchId} stored conversations while this resume was being prepared: run promptloom resume again`);
    }
    // A new batch is held from the moment its row exists.
    return await runHeldBatch(input, workspaceTarget(input.store), (batchId) => (release = holdBatch(input.store.dir, batchId)));
  } finally {
    release?.();
  }
}

/** What a batch on the team store is given: the team database instead of a workspace's, and no resume (not yet on the team store). */
export type TeamBatchInput = Omit<BatchInput, 'store' | 'resume'> & {
  readonly db: TeamDatabase;
  /** The workspace folder: answers the server cannot take now wait in its `.promptloom/team-spool/`. */
  readonly folder: string;
};

/**
 * A batch recorded in the team database: the same run as `runRecordedBatch`, every row written
 * through the team's handle (authored by the member the URL names). The batch is created with its
 * slots, and each conversation's slot is claimed before its first request (`FirstRunClaims`), so
 * a resume of the batch started meanwhile (another terminal, machine or member) takes a disjoint
 * share of what is left. The judge's calls and grades are recorded there too (with
 * `promptloom.quality.judge` on).
 */
export async function runTeamBatch(input: TeamBatchInput): Promise<BatchOutcome> {
  const claims = new FirstRunClaims(input.db);
  const items = batchCells(input).flatMap((cell, c) => Array.from({ length: cell.count }, (_, i) => ({ key: itemKey(c, i), ...(input.cells ? { values: cell.rendered.parameters } : {}) })));
  try {
    const created = async (batchId: string) => {
      const plan = await planResume(input.db, batchId);
      if (plan) await claims.open(plan, items); // none: a batch of no conversations
    };
    return await runHeldBatch(input, teamTarget(input.db, input.folder), created, false, { claims, db: input.db });
  } finally {
    await claims.close();
  }
}

/** A run's plan cells: the value plan's, or one cell of the batch's own values. */
function batchCells(input: Pick<BatchInput, 'cells' | 'rendered' | 'count'>): readonly BatchCell[] {
  return input.cells ?? [{ rendered: input.rendered, count: input.count }];
}

/** An engine item's key: its cell and its place in the cell, so each answer is stored with its own cell's values. */
function itemKey(cell: number, index: number): string {
  return `${cell}:${index}`;
}

/** What the team store cannot do yet: the caller says it in one line. */
export class TeamStoreUnsupportedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TeamStoreUnsupportedError';
  }
}

/**
 * `round`: one claim's worth of a team resume (`runTeamResume`), which sets the batch's status
 * itself: a round neither marks the batch running nor completed or failed.
 */
async function runHeldBatch(
  input: Omit<BatchInput, 'store'>,
  target: RecordingTarget,
  created: (batchId: string) => unknown,
  round = false,
  /** A team `generate`: its slots claimed one by one, and its batch's status set as the claimants' last. */
  team?: { readonly claims: FirstRunClaims; readonly db: Database },
): Promise<BatchOutcome> {
  const { settings, model, rendered, template } = input;
  const { templates, batches } = target;
  // Answers kept aside earlier are paid for: they count against today's budget, and a resumed
  // batch must see them stored before it decides what is still missing.
  await target.prepare();
  const daily = settings.dailyBudgetUsd !== undefined ? Math.max(0, settings.dailyBudgetUsd - (await target.spentToday())) : undefined;
  // The batch budget is the batch's, across its runs: a resume has what earlier runs left of it.
  const batchBudget = settings.budgetUsd !== undefined && input.resume ? Math.max(0, settings.budgetUsd - (await target.spentOnBatch(input.resume.batchId))) : settings.budgetUsd;
  const budgets = [batchBudget, daily].filter((b): b is number => b !== undefined);
  let row: { id: number };
  let version: { id: number };
  let batch: { id: string };
  if (input.resume) {
    row = { id: input.resume.templateId };
    version = { id: input.resume.versionId };
    batch = { id: input.resume.batchId };
  } else {
    row = await templates.ensure(input.templatePath, { name: template.settings.name, tier: template.settings.tier });
    version = await templates.recordVersion(row.id, input.templateText);
    batch = await batches.create({
      templateId: row.id,
      versionId: version.id,
      requested: input.count,
      parameters: rendered.parameters,
      model: model.id,
      settings: { ...batchSettings(settings), priority: input.priority ?? settings.priority, ...(input.purpose ? { purpose: input.purpose } : {}) },
      ...(input.cells ? { plan: input.cells.map((c) => ({ values: c.rendered.parameters, count: c.count })) } : {}),
    });
    await created(batch.id);
  }
  if (!round) await batches.setStatus(batch.id, 'running');

  const engine = new GenerationEngine({
    client: createClient({ apiKey: input.apiKey, ...(input.baseURL ? { baseURL: input.baseURL } : {}), timeoutMs: settings.timeoutMs }),
    model,
    limiter: input.limiter ?? limiterFor(settings, model),
    retry: { strategy: settings.retryStrategy, baseDelayMs: settings.baseDelayMs, maxDelayMs: settings.maxDelayMs, maxAttempts: settings.maxAttempts },
    concurrency: settings.concurrency,
    maxTokens: template.settings.maxTokens ?? settings.maxTokens,
    ...(template.settings.temperature !== undefined ? { temperature: template.settings.temperature } : {}),
    onError: settings.onError,
    ...(budgets.length > 0 ? { budgetUsd: Math.min(...budgets) } : {}),
    ...(input.baseURL ? { address: input.baseURL } : {}),
    ...(team ? { admit: (item: { key: string }) => admitted(item.key) } : {}),
  });
  if (target.spool) target.spool.halt = (reason) => engine.halt(reason);
  input.started?.(engine, batch.id);
  // `promptloom cancel` in another process marks the batch cancelled in the database: stop then.
  const cancelWatch = setInterval(() => {
    target
      .catchUp()
      .then(() => batches.get(batch.id))
      .then((stored) => stored?.status === 'cancelled' && engine.cancel())
      .catch(() => undefined); // a busy database: look again next time
  }, CANCEL_CHECK_MS);
  cancelWatch.unref();

  const conversations: string[] = [];
  const scores = new Map<string, number>();
  const flaggedIds = new Set<string>();
  // What the judge grades once the batch is generated (stored conversations only).
  const toJudge: { conversationId: string; turns: NonNullable<Attempt['turns']>; report: QualityReport }[] = [];
  let keptAside = 0;
  const context: RecordContext = {
    templateId: row.id,
    versionId: version.id,
    batchId: batch.id,
    model: model.id,
    tier: template.settings.tier,
    qualityThreshold: template.settings.qualityThreshold,
    nearDuplicateThreshold: settings.nearDuplicateThreshold,
  };
  const cells = batchCells(input);
  const succeededPerCell = cells.map(() => 0);
  // What another run claimed first is neither this run's to request nor its coverage's.
  const leftPerCell = cells.map(() => 0);
  const admitted = async (key: string) => {
    const claim = await team!.claims.admit(key);
    // Cancelled (`promptloom cancel`): stopped now rather than at the next look of the cancel watch.
    if (claim === 'cancelled') engine.cancel();
    else if (claim === 'taken') leftPerCell[Number(key.split(':')[0])]!++;
    return claim === 'claimed';
  };
  const items = cells.flatMap((cell, c) =>
    Array.from({ length: cell.count }, (_, i) => ({
      key: itemKey(c, i),
      prompt: cell.rendered.prompt,
      priority: input.priority ?? settings.priority,
      ...(cell.rendered.system !== undefined ? { system: cell.rendered.system } : {}),
    })),
  );
  let summary: BatchSummary;
  try {
    summary = await engine.run(items, async (a) => {
      const c = Number(a.key.split(':')[0]);
      const cell = cells[c]!.rendered;
      // Scored as it arrives and stored with it; a low score marks it for revision at once.
      // Recorded before the engine goes on: a generation that is not recorded did not happen.
      const { record, quality, flagged } = answerRecord(context, cell, a);
      const slot = team ? team.claims.slotOf(a.key) : input.slots?.[c];
      const { conversationId, nearDuplicateOf, aside } = await target.keep(slot !== undefined && record.conversation ? { ...record, slot: { batchId: batch.id, slot } } : record);
      if (aside) keptAside++;
      if (conversationId) {
        conversations.push(conversationId);
        succeededPerCell[c]!++;
      }
      if (quality && conversationId) scores.set(conversationId, quality.overall);
      if ((flagged || nearDuplicateOf) && conversationId) flaggedIds.add(conversationId);
      if (quality && conversationId && !aside && a.turns) toJudge.push({ conversationId, turns: a.turns, report: quality });
      input.onAttempt?.(a, conversationId);
    });
  } catch (error) {
    if (team) await endClaimingRun(team.db, batch.id, team.claims.owner).catch(() => undefined);
    else if (!round) await batches.setStatus(batch.id, 'failed');
    throw error;
  } finally {
    clearInterval(cancelWatch);
  }
  // What waits in the team's spool is written now, or the run ends naming it (the server is away).
  await target.spool?.settle();
  // Complete only when the batch's whole count is stored (a resumed batch counts what came before).
  const stored = (await batches.get(batch.id))!;
  const complete = stored.completed >= stored.requested;
  // A team batch others may still be generating: the last claimant to end sets its status. This
  // run's own Ctrl+C stops this run only (a resume helping it goes on); \`promptloom cancel\` stands.
  if (team) await endClaimingRun(team.db, batch.id, team.claims.owner);
  else if (!round) await batches.setStatus(batch.id, summary.stopped === 'cancelled' ? 'cancelled' : complete ? 'completed' : 'failed');
  // The judge (opt-in): after the batch, each stored conversation graded and its score updated.
  // Never before storing: a paid conversation is kept whatever becomes of its grade.
  let judge: BatchJudgement | undefined;
  const judgeModel = settings.judge === 'on' ? judgeModelOf(settings) : undefined;
  if (judgeModel && toJudge.length > 0 && summary.stopped !== 'cancelled' && summary.stopped !== 'fatal') {
    const left = budgets.length > 0 ? Math.max(0, Math.min(...budgets) - summary.costUsd) : undefined;
    judge = await judgeAfterBatch({
      db: target.judgeDb,
      batchId: batch.id,
      conversations: toJudge,
      qualityThreshold: template.settings.qualityThreshold,
      settings,
      model: judgeModel,
      apiKey: input.apiKey,
      ...(input.baseURL ? { baseURL: input.baseURL } : {}),
      ...(left !== undefined ? { budgetUsd: left } : {}),
      signal: engine.signal,
    });
    for (const j of judge.judged) {
      scores.set(j.conversationId, j.overall);
      if (j.flagged) flaggedIds.add(j.conversationId);
    }
  }
  const values = [...scores.values()];
  const average = values.length ? Math.round((values.reduce((x, y) => x + y, 0) / values.length) * 10) / 10 : null;
  const coverage = cells.map((cell, c) => ({ values: cell.rendered.parameters, requested: cell.count - leftPerCell[c]!, succeeded: succeededPerCell[c]! }));
  return { summary, coverage, keptAside, ...(target.spool ? { spooled: target.spool.spooled } : {}), batchId: batch.id, conversations, quality: { average, flagged: flaggedIds.size }, ...(judge ? { judge } : {}) };
}

/** What resuming a stored batch needs: its template as it was, its values, its settings. */
export interface ResumePlan {
  readonly batch: BatchRow;
  readonly templatePath: string;
  readonly templateText: string;
  readonly remaining: number;
  /** For a batch with a value plan: what each cell still lacks (cells complete already left out). */
  readonly cells?: readonly { readonly values: Record<string, unknown>; readonly remaining: number }[];
}

/** The batch to resume: the one named, or the newest unfinished one. Undefined when none. */
export async function planResume(store: Database, batchId?: string): Promise<ResumePlan | undefined> {
  const batches = new WorkspaceBatchRepository(store);
  const batch = batchId ? await batches.get(batchId) : (await batches.unfinished())[0];
  if (!batch || batch.completed >= batch.requested) return undefined;
  const templates = new WorkspaceTemplateRepository(store);
  const version = (await templates.version(batch.versionId))!;
  const path = (await templates.byId(batch.templateId))!.path;
  const base = { batch, templatePath: path, templateText: version.content, remaining: batch.requested - batch.completed };
  if (!batch.plan) return base;
  // What each cell has: its stored conversations, told apart by their values.
  const stored = new Map<string, number>();
  for (const values of await batches.conversationValues(batch.id)) {
    const key = planKey(values);
    stored.set(key, (stored.get(key) ?? 0) + 1);
  }
  const cells = batch.plan.flatMap((cell) => {
    const key = planKey(cell.values);
    const have = stored.get(key) ?? 0;
    stored.set(key, Math.max(0, have - cell.count)); // two cells of the same values share what is stored
    const remaining = Math.max(0, cell.count - have);
    return remaining > 0 ? [{ values: cell.values, remaining }] : [];
  });
  return { ...base, cells, remaining: cells.reduce((n, c) => n + c.remaining, 0) };
}

/** What resuming a team batch is given: the batch's plan and how to render a slot's values, instead of a count and cells. */
export interface TeamResumeInput extends Omit<BatchInput, 'store' | 'resume' | 'cells' | 'slots' | 'count'> {
  readonly db: TeamDatabase;
  /** The workspace folder, for the spool of answers the server cannot take now (as `TeamBatchInput`'s). */
  readonly folder: string;
  readonly plan: ResumePlan;
  readonly render: (values: Readonly<Record<string, unknown>>) => Rendered;
  /** Slots claimed at a time (default: the concurrency, at least 1). */
  readonly claimSize?: number;
}

export interface TeamResumeOutcome {
  /** This run's work; undefined when it claimed nothing. */
  readonly outcome?: BatchOutcome;
  /** Slots still open or held by other resumes' live claims when this run ended. */
  readonly open: number;
  readonly heldByOthers: number;
  /** This run stopped on a cancel (`promptloom cancel`, or its own Ctrl+C). */
  readonly cancelled: boolean;
}

/**
 * Resumes a team batch by claiming its missing conversations a few at a time (`teamClaims.ts`):
 * each claim runs as one round of the same recorded run as `runTeamBatch`, and every stored answer
 * fills its slot in its record's transaction. Concurrent resumes of one batch (other terminals,
 * machines, members) claim disjoint slots; none waits for another. The batch's status is read
 * before each claim: cancelled, nothing new is claimed. Claims this run did not fill (failed, cut
 * off) are given back at the end, for the next resume.
 */
export async function runTeamResume(input: TeamResumeInput): Promise<TeamResumeOutcome> {
  const { db, plan } = input;
  const batchId = plan.batch.id;
  const owner = randomUUID();
  const target = teamTarget(db, input.folder);
  await refuseWhileFirstRunLives(db, batchId);
  await ensureSlots(db, plan);
  await setTeamStatus(db, batchId, 'running', false);
  const renew = setInterval(() => void renewClaims(db, batchId, owner).catch(() => undefined), CLAIM_RENEW_MS);
  renew.unref();
  const outcomes: BatchOutcome[] = [];
  const tried: number[] = [];
  let cancelled = false;
  const size = Math.max(1, input.claimSize ?? input.settings.concurrency ?? 1);
  try {
    for (;;) {
      const claimed = await claimSlots(db, batchId, owner, size, tried);
      if (claimed === 'cancelled') {
        cancelled = true;
        break;
      }
      if (claimed.length === 0) break;
      tried.push(...claimed.map((c) => c.slot));
      const outcome = await runHeldBatch(
        {
          ...input,
          count: claimed.length,
          cells: claimed.map((c) => ({ rendered: input.render(c.values ?? plan.batch.parameters), count: 1 })),
          slots: claimed.map((c) => c.slot),
          resume: { batchId, templateId: plan.batch.templateId, versionId: plan.batch.versionId },
        },
        target,
        () => undefined,
        true,
      );
      outcomes.push(outcome);
      if (outcome.summary.stopped) {
        cancelled = outcome.summary.stopped === 'cancelled';
        break;
      }
    }
  } catch (error) {
    await endClaimingRun(db, batchId, owner).catch(() => undefined);
    throw error;
  } finally {
    clearInterval(renew);
  }
  // This run's own Ctrl+C stops this run only: the batch is shared, and other resumes of it go on
  // (the batch is then failed only if none does).
  const { counts, stored } = await endClaimingRun(db, batchId, owner);
  let outcome = outcomes.length ? mergeOutcomes(outcomes) : undefined;
  // Cancelled between two rounds (seen by the claim, not by a round's cancel watch): said as a stop.
  if (outcome && cancelled && !outcome.summary.stopped) {
    outcome = { ...outcome, summary: { ...outcome.summary, stopped: 'cancelled', stopReason: 'cancelled', remaining: Math.max(0, stored.requested - stored.completed) } };
  }
  return { ...(outcome ? { outcome } : {}), open: counts.open, heldByOthers: counts.heldByOthers, cancelled };
}

/**
 * A running team batch without slots whose sign of life is recent is being generated by a
 * `generate` of a release before claims (it set the batch's `updated_at` every second and claimed
 * nothing): taking it up now would generate the same conversations again. Throws BatchBusyError
 * (one line) then. A `generate` of this release creates the slots before it marks the batch
 * running, so its batches never meet this: a resume shares the work with it.
 */
export async function refuseWhileFirstRunLives(db: Database, batchId: string): Promise<void> {
  const alive = await db.get(`SELECT ${SERVER_MS} - updated_at AS age FROM batches b WHERE id = ? AND status = 'running' AND NOT EXISTS (SELECT 1 FROM batch_slots s WHERE s.batch_id = b.id)`, [batchId]);
  if (alive && Number(alive.age) < TEAM_ALIVE_MS) {
    throw new BatchBusyError(`batch ${batchId} is still being generated by its first run (a sign of life ${Math.max(0, Math.round(Number(alive.age) / 1000))} s ago): wait for it to finish, or stop it with promptloom cancel --batch ${batchId}`);
  }
}

/**
 * The end of a run that claims a team batch's slots (a `generate` or a resume): its unfilled claims
 * given back, then the batch completed when every conversation is stored, else failed (resumable)
 * when no other run holds a live claim (others still generating: the last of them sets the
 * status). A cancel (`promptloom cancel`) stands; a run's own Ctrl+C never cancels the shared
 * batch, so a run helping it is not stopped.
 */
async function endClaimingRun(db: Database, batchId: string, owner: string): Promise<{ counts: Awaited<ReturnType<typeof slotCounts>>; stored: BatchRow }> {
  await releaseClaims(db, batchId, owner).catch(() => undefined);
  const counts = await slotCounts(db, batchId, owner);
  const stored = (await new WorkspaceBatchRepository(db).get(batchId))!;
  if (stored.completed >= stored.requested) await setTeamStatus(db, batchId, 'completed', true);
  else if (counts.heldByOthers === 0) await setTeamStatus(db, batchId, 'failed', true);
  return { counts, stored };
}

/** Sets a team batch's status; `unlessCancelled`: a cancel in the meantime stands. */
async function setTeamStatus(db: Database, batchId: string, status: string, unlessCancelled: boolean): Promise<void> {
  await db.run(`UPDATE batches SET status = ?, updated_at = ? WHERE id = ?${unlessCancelled ? " AND status <> 'cancelled'" : ''}`, [status, Date.now(), batchId]);
}

/** One outcome of a resume's rounds: counts added up, coverage by values, the last round's stop. */
function mergeOutcomes(outcomes: readonly BatchOutcome[]): BatchOutcome {
  const last = outcomes[outcomes.length - 1]!;
  const sum = (f: (s: BatchSummary) => number) => outcomes.reduce((n, o) => n + f(o.summary), 0);
  const failures = new Map<string, BatchSummary['failures'][number]>();
  for (const f of outcomes.flatMap((o) => o.summary.failures)) {
    const key = `${f.type}:${'status' in f ? String(f.status) : ''}`;
    const had = failures.get(key);
    failures.set(key, had ? { ...had, count: had.count + f.count } : f);
  }
  const coverage = new Map<string, CellCoverage>();
  for (const c of outcomes.flatMap((o) => o.coverage)) {
    const key = planKey(c.values as Record<string, unknown>);
    const had = coverage.get(key);
    coverage.set(key, had ? { values: c.values, requested: had.requested + c.requested, succeeded: had.succeeded + c.succeeded } : c);
  }
  const scored = outcomes.filter((o) => o.quality.average !== null);
  const weight = (o: BatchOutcome) => Math.max(1, o.conversations.length);
  const average = scored.length ? Math.round((scored.reduce((n, o) => n + o.quality.average! * weight(o), 0) / scored.reduce((n, o) => n + weight(o), 0)) * 10) / 10 : null;
  const summary: BatchSummary = {
    ...last.summary,
    requested: sum((s) => s.requested),
    succeeded: sum((s) => s.succeeded),
    failed: sum((s) => s.failed),
    attempts: sum((s) => s.attempts),
    retries: sum((s) => s.retries),
    rateLimited: sum((s) => s.rateLimited),
    inputTokens: sum((s) => s.inputTokens),
    outputTokens: sum((s) => s.outputTokens),
    costUsd: sum((s) => s.costUsd),
    cacheWriteTokens: sum((s) => s.cacheWriteTokens),
    cacheReadTokens: sum((s) => s.cacheReadTokens),
    savedUsd: sum((s) => s.savedUsd),
    durationMs: sum((s) => s.durationMs),
    failures: [...failures.values()],
    remaining: sum((s) => s.remaining),
    unstored: sum((s) => s.unstored),
  };
  return {
    summary,
    coverage: [...coverage.values()],
    keptAside: outcomes.reduce((n, o) => n + o.keptAside, 0),
    batchId: last.batchId,
    conversations: outcomes.flatMap((o) => o.conversations),
    quality: { average, flagged: outcomes.reduce((n, o) => n + o.quality.flagged, 0) },
    ...mergeJudgements(outcomes),
  };
}

/** The judge's work over a resume's rounds (each round judges what it stored): added up. */
function mergeJudgements(outcomes: readonly BatchOutcome[]): { judge?: BatchJudgement } {
  const judged = outcomes.flatMap((o) => (o.judge ? [o.judge] : []));
  if (judged.length === 0) return {};
  return {
    judge: {
      model: judged[0]!.model,
      judged: judged.flatMap((j) => j.judged),
      notJudged: judged.reduce((n, j) => n + j.notJudged, 0),
      costUsd: judged.reduce((n, j) => n + j.costUsd, 0),
    },
  };
}
