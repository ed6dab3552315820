import * as vscode from 'vscode';
import { runRecordedBatch, runTeamBatch, runTeamResume, type BatchInput, type BatchOutcome } from '../core/generation/batch';
import type { Database } from '../core/store/database';
import type { TeamDatabase as TeamPool } from '../core/store/postgres/teamDatabase';
import { nothingClaimed, replayTeamSpool } from '../core/workspace';
import { limiterFor } from '../core/generation/rateLimiter';
import type { GenerationEngine, ModelInfo } from '../core/generation/engine';
import type { Priority } from '../core/generation/priorityQueue';
import type { RateLimiter } from '../core/generation/rateLimiter';
import { judgeModelOf, pathFor, type GenerationSettings } from '../core/generation/settings';
import { messageBatchResumeLeft } from '../core/generation/messageBatchRecords';
import { progressLine, type MessageBatchOutcome } from '../core/generation/messageBatches';
import { CANCEL_AT_ANTHROPIC, COLLECT, MessageBatchRuns } from './messageBatchRuns';
import { failureSummary } from '../core/generation/failures';
import { BatchProgress } from '../core/generation/progress';
import { editorApiAddress, editorWorkspace } from './settings';
import { confirmBatch, type DurationBasis } from './batchPlanner';
import { countInputTokens, createClient } from '../core/generation/claude';
import { estimateBatch, estimateDuration, estimateJudge, formatDuration, pastDurationMs, pastOutputTokens, type Estimate, type JudgeEstimate } from '../core/generation/estimate';
import type { ExplicitCell, Sampling } from '../core/plan';
import { WorkspaceBatchRepository, WorkspaceTemplateRepository } from '../core/store';
import { sampleMissing, type RawParameters, type SampleLists, type VariableDecl } from '../core/template';
import { Disposable } from './disposable';
import type { Log } from './log';
import type { TemplateStore } from './templates';
import type { StoreSource } from './storeSource';
import type { WorkspaceDb, WorkspaceStore } from './workspaceDb';

const SECRET = 'promptloom.apiKey';

/**
 * Where a run records: the workspace database, or the team database when the views show it (then
 * the workspace folder gives only its settings, and the spool of answers the server cannot take now).
 */
type Recorder = { readonly store: 'workspace'; readonly db: WorkspaceStore } | { readonly store: 'postgresql'; readonly db: TeamPool; readonly folder: string };

/** What a run is given by `execute`: the limiter, the address, and the hooks that follow it. */
type RunHooks = Pick<BatchInput, 'limiter' | 'started' | 'onAttempt' | 'baseURL'>;

/**
 * Generation from the editor: test runs and batches through the engine, recorded in the store the
 * views show (the workspace database, or the team's through the same core as `promptloom generate
 * --database-url`), with a cancellable progress notification, a status bar item showing the
 * limiter's state, and the API key in SecretStorage (never in settings).
 */
export class GenerationService extends Disposable {
  /** Batches in progress, with what the queue view shows of them. */
  private readonly running = new Map<GenerationEngine, { title: string; progress: BatchProgress }>();
  /** One limiter per model, shared by all batches of this window: they share the account's limits. */
  private readonly limiters = new Map<string, RateLimiter>();
  private readonly status = this.register(vscode.window.createStatusBarItem('promptloom.limiter', vscode.StatusBarAlignment.Right, 100));
  private statusTimer: NodeJS.Timeout | undefined;
  private lastState = 'healthy';
  /** Batches sent through Message Batches: run, waited for, cancelled at Anthropic, collected. */
  readonly messageBatches: MessageBatchRuns;
  /** Message Batches at Anthropic not yet collected, as the database last said (for the context key). */
  private atAnthropic = 0;

  constructor(
    private readonly secrets: vscode.SecretStorage,
    private readonly db: WorkspaceDb,
    private readonly templates: TemplateStore,
    private readonly state: vscode.Memento,
    private readonly log: Log,
    /** The store the views show, which runs record in: the workspace database without it. */
    private readonly source?: StoreSource,
  ) {
    super();
    this.status.name = 'Promptloom rate limit';
    this.register({ dispose: () => this.cancelAll() });
    this.register({ dispose: () => clearInterval(this.statusTimer) });
    this.messageBatches = this.register(new MessageBatchRuns(db, log, () => this.apiKey(), () => this.updateRunning(), source));
  }

  /** Settings from VS Code's configuration, as one typed object; bad values are logged and skipped. */
  settings(resource?: vscode.Uri): GenerationSettings {
    return editorWorkspace(resource, this.log).settings;
  }

  async setApiKey(given?: string): Promise<boolean> {
    const key =
      given ??
      (await vscode.window.showInputBox({
        title: 'Anthropic API key',
        prompt: 'Stored in VS Code’s secret storage for this machine, never in settings.',
        password: true,
        ignoreFocusOut: true,
        validateInput: (v) => (v.trim().length < 8 ? 'That does not look like an API key.' : undefined),
      }));
    if (!key) return false;
    await this.secrets.store(SECRET, key.trim());
    // The start-up check needed a key: Message Batches left at Anthropic are named now.
    if (!given) void this.messageBatches.checkAtStartup().catch((error: unknown) => this.log.error('checking Message Batches at Anthropic failed', error));
    return true;
  }

  private async apiKey(): Promise<string | undefined> {
    return (await this.secrets.get(SECRET)) ?? process.env.ANTHROPIC_API_KEY;
  }

  /**
   * `Promptloom: Cancel Batch`. With only direct batches running, all of them stop (as ever). With
   * Message Batches at Anthropic too (run from this window, or found in the database after a
   * reload), the person picks which batch; a Message Batch picked is cancelled at Anthropic.
   * `batchId` cancels that batch's Message Batches without asking. Returns the batches cancelled.
   */
  async cancelBatch(batchId?: string): Promise<number> {
    if (batchId) return (await this.messageBatches.cancel(batchId), 1);
    const remote = await this.messageBatches.atAnthropic();
    if (remote.length === 0) {
      const n = this.cancelAll();
      if (n === 0) void vscode.window.showInformationMessage('No batch is running.');
      return n;
    }
    type Item = vscode.QuickPickItem & { engine?: GenerationEngine; batchId?: string };
    const items: Item[] = [
      ...[...this.running.entries()].map(([engine, b]) => ({ label: `$(debug-stop) ${b.title}`, description: 'direct: stop sending', engine })),
      ...remote.map((b) => ({ label: `$(cloud) ${b.title}`, description: `${b.messageBatches} Message Batch${b.messageBatches === 1 ? '' : 'es'} at Anthropic: cancel there`, detail: b.anthropicIds.join(', '), batchId: b.batchId })),
    ];
    const picked = await vscode.window.showQuickPick(items, { title: 'Cancel which batch?', placeHolder: 'Answers already paid for are still collected and stored.' });
    if (picked?.engine) picked.engine.cancel();
    else if (picked?.batchId) await this.messageBatches.cancel(picked.batchId);
    return picked ? 1 : 0;
  }

  cancelAll(): number {
    const n = this.running.size;
    for (const engine of this.running.keys()) engine.cancel();
    return n;
  }

  /**
   * Runs `count` generations of a template. Values: those given, else the preview form's,
   * else asked for. Returns the outcome (undefined when the user backed out).
   */
  async run(
    uri: vscode.Uri,
    options: {
      count: number;
      priority?: Priority;
      concurrency?: number;
      values?: RawParameters;
      quiet?: boolean;
      /** Fill missing required values with samples (the preview's "Fill sample values" rule) instead of asking. */
      autoFill?: boolean;
      purpose?: 'test';
      /** Vary these variables over their values (a value plan), or explicit value sets with their counts. */
      plan?: { vary: readonly string[] | 'all'; sampling?: Sampling; seed?: number } | { cells: readonly ExplicitCell[] };
      /** Show the value sets and the estimated cost, and go on only when the person agrees. */
      confirm?: boolean;
    },
  ): Promise<BatchOutcome | undefined> {
    if (!vscode.workspace.isTrusted) throw new Error('Generation is off in untrusted workspaces: trust the workspace to call the Claude API.');
    const document = await vscode.workspace.openTextDocument(uri);
    const template = this.templates.get(document);
    if (template.hasErrors) throw new Error(`${template.settings.name} has errors: fix them first (see the Problems panel).`);
    const path = this.db.relativePath(uri);
    if (!path) throw new Error('Generations are recorded with the template’s path in the workspace: open the folder that holds this template.');
    const recorder = await this.recorder();
    const apiKey = await this.apiKey();
    if (!apiKey) {
      const choice = await vscode.window.showErrorMessage('Promptloom needs an Anthropic API key.', 'Set API Key');
      if (choice === 'Set API Key') await vscode.commands.executeCommand('promptloom.setApiKey');
      return undefined;
    }
    const workspace = editorWorkspace(uri, this.log);
    // Varied variables take their plan's values: only the others are asked for. Explicit value
    // sets carry their own values: nothing is asked.
    const plan = options.plan;
    const varied = new Set(plan ? ('cells' in plan || plan.vary === 'all' ? template.variables.map((v) => v.name) : plan.vary) : []);
    const values = options.values ?? (plan && 'cells' in plan ? {} : await this.values(uri, template.variables.filter((v) => !varied.has(v.name)), options.autoFill ? template.settings : undefined));
    if (!values) return undefined;
    const prepared = workspace.prepareBatch({
      file: uri.fsPath,
      text: document.getText(),
      values,
      count: options.count,
      ...(options.plan ? { plan: options.plan } : {}),
      ...(options.priority ? { priority: options.priority } : {}),
      ...(options.purpose ? { purpose: options.purpose } : {}),
    });
    if (!prepared.ok) {
      if (prepared.reason === 'model') throw new Error(`${prepared.message[0]!.toUpperCase()}${prepared.message.slice(1)} (promptloom.models).`);
      if (prepared.reason === 'template') throw new Error(`${template.settings.name} has errors: fix them first (see the Problems panel).`);
      if (prepared.reason === 'plan') throw new Error(`The plan cannot be made: ${[...new Set(prepared.problems.map((p) => p.message))].slice(0, 3).join(' ')}`);
      throw new Error(`Invalid values: ${prepared.problems.map((p) => (p.variable ? `${p.variable} ${p.message}` : p.message)).join('; ')}`);
    }
    const settings = options.concurrency ? { ...prepared.input.settings, concurrency: options.concurrency } : prepared.input.settings;
    // promptloom.generation.mode: directly, through Message Batches, or (auto) by the plan's size.
    let route = pathFor(settings.mode, prepared.input.count);
    if (options.confirm) {
      const estimate = await this.estimate(prepared.input, recorder.db, apiKey);
      const more = { path: route, mode: settings.mode, duration: await this.duration({ ...prepared.input, settings }, recorder.db), judge: this.judgeEstimate(prepared.input, estimate) };
      const chosen = await confirmBatch(prepared.input, estimate, more);
      if (!chosen) return undefined;
      route = chosen;
    }
    const input = { ...prepared.input, settings, templatePath: path, apiKey };
    if (recorder.store === 'postgresql') {
      const { db, folder } = recorder;
      // As `promptloom generate --database-url`: what an earlier run here kept while the server was away is written first.
      this.tell(await replayTeamSpool(folder, db));
      // Through Message Batches as `generate --batch-api --database-url`: recorded through the pool, as the member.
      if (route === 'batch') return this.executeMessageBatches(this.messageBatches.runOnTeam({ ...input, db }, options.quiet ?? false), options.quiet ?? false);
      return this.execute(input, options.quiet ?? false, (hooks) => runTeamBatch({ ...input, db, folder, ...hooks }));
    }
    const store = recorder.db;
    if (route === 'batch') return this.executeMessageBatches(this.messageBatches.run({ ...input, store }, options.quiet ?? false), options.quiet ?? false);
    return this.execute(input, options.quiet ?? false, (hooks) => runRecordedBatch({ ...input, store, ...hooks }));
  }

  /**
   * The store a run records in: the one the views show (`StoreSource`). On the team database its
   * pool; a team database that cannot be reached is an error, never a fall back to the workspace's.
   */
  private async recorder(): Promise<Recorder> {
    if (this.source && (await this.source.kind()) === 'postgresql') {
      const folder = this.db.folder?.uri.fsPath;
      if (!folder) throw new Error('Open the workspace folder: its settings apply to runs on the team database.');
      const handle = await this.source.write();
      if (!handle?.team) throw new Error(`Cannot generate on the team database: ${this.source.problem ?? 'it cannot be reached'}.`);
      return { store: 'postgresql', db: handle.team, folder };
    }
    // The worker's handle: the run's rows go through it, off this thread (docs/team-store.md §5).
    const store = await this.db.get();
    if (!store) throw new Error('Generations are recorded in the workspace database: open the folder that holds this template.');
    return { store: 'workspace', db: store };
  }

  /** Notices of the core (a spool written back), in the log and one message. */
  private tell(notices: readonly string[]): void {
    for (const notice of notices) this.log.info(notice);
    if (notices.length > 0) void vscode.window.showInformationMessage(`Promptloom: ${notices.join(' ')}`);
  }

  /** The cost of a prepared batch, counted by the API when it answers, estimated here otherwise. */
  private async estimate(input: Omit<BatchInput, 'store' | 'apiKey' | 'baseURL' | 'limiter' | 'started' | 'onAttempt' | 'resume'>, store: Database, apiKey: string): Promise<Estimate> {
    const baseURL = editorApiAddress();
    const client = createClient({ apiKey, ...(baseURL ? { baseURL } : {}), timeoutMs: Math.min(input.settings.timeoutMs, 30_000) });
    return estimateBatch(input.cells ?? [{ rendered: input.rendered, count: input.count }], {
      model: input.model,
      maxTokens: input.template.settings.maxTokens ?? input.settings.maxTokens,
      pastOutputTokens: await pastOutputTokens(store, input.templatePath),
      countTokens: (request) => countInputTokens(client, request),
    });
  }

  /** How long the batch should take at the rate this window's limiter knows (learned or configured). */
  private async duration(input: Pick<BatchInput, 'settings' | 'model' | 'count' | 'templatePath'>, store: Database): Promise<DurationBasis> {
    const known = { requestsPerWindow: this.limiter(input.settings, input.model).currentLimits().requests, windowMs: input.settings.windowSeconds !== undefined ? input.settings.windowSeconds * 1000 : input.model.windowMs };
    const past = await pastDurationMs(store, input.templatePath);
    return { ...estimateDuration({ requests: input.count, ...known, concurrency: input.settings.concurrency, pastDurationMs: past }), ...known, concurrency: input.settings.concurrency, pastDurationMs: past };
  }

  /** The judge's cost, when promptloom.quality.judge is on: one call per conversation. */
  private judgeEstimate(input: Pick<BatchInput, 'settings' | 'count' | 'template'>, estimate: Estimate): JudgeEstimate | undefined {
    const model = input.settings.judge === 'on' ? judgeModelOf(input.settings) : undefined;
    return model ? estimateJudge(input.count, { model, maxTokens: input.template.settings.maxTokens ?? input.settings.maxTokens, pastOutputTokens: estimate.pastOutputTokens }) : undefined;
  }

  /**
   * `Promptloom: Resume Batch`: finishes an interrupted batch (the one given, or one picked) in the
   * store the views show; on the team database by claiming its missing conversations with any other
   * resume of it (`runTeamResume`, as `promptloom resume --database-url`).
   */
  async resume(batchId?: string): Promise<BatchOutcome | undefined> {
    if (!vscode.workspace.isTrusted) throw new Error('Generation is off in untrusted workspaces: trust the workspace to call the Claude API.');
    const recorder = await this.recorder();
    if (recorder.store === 'workspace') await recorder.db.refresh();
    // On the team database, answers kept in the spool are written before what is missing is counted.
    else this.tell(await replayTeamSpool(recorder.folder, recorder.db));
    const id = batchId ?? (await this.pickUnfinished(recorder.db));
    if (!id) return undefined;
    const apiKey = await this.apiKey();
    if (!apiKey) throw new Error('Promptloom needs an Anthropic API key: run Promptloom: Set API Key.');
    if (recorder.store === 'postgresql') return this.resumeOnTeam(recorder, id, apiKey);
    const store = recorder.db;
    // A batch sent through Message Batches is re-attached to, as `promptloom resume` does: its
    // submitted Message Batches collected, only what none holds submitted.
    const chosen = await new WorkspaceBatchRepository(store).get(id);
    if (chosen && chosen.settings.mode === 'batch' && (await messageBatchResumeLeft(store, chosen))) {
      return this.executeMessageBatches(this.messageBatches.run({ ...(await editorWorkspace(undefined, this.log).prepareMessageBatchResume(store, chosen)), apiKey }, false), false);
    }
    const prepared = await editorWorkspace(undefined, this.log).prepareResume(store, id);
    if (!prepared) {
      void vscode.window.showInformationMessage('That batch is complete: nothing to resume.');
      return undefined;
    }
    return this.execute(prepared, false, (hooks) => runRecordedBatch({ ...prepared, apiKey, ...hooks }));
  }

  /** The unfinished batches of the store, newest first, to pick one from; undefined when none (said) or none picked. */
  private async pickUnfinished(db: Database): Promise<string | undefined> {
    const unfinished = await new WorkspaceBatchRepository(db).unfinished();
    if (unfinished.length === 0) {
      void vscode.window.showInformationMessage('No batch is unfinished.');
      return undefined;
    }
    const paths = new Map((await new WorkspaceTemplateRepository(db).list()).map((t) => [t.id, t.path]));
    const picked = await vscode.window.showQuickPick(
      unfinished.map((b) => ({ label: `${paths.get(b.templateId) ?? 'template'} × ${b.requested}`, description: `${b.completed} of ${b.requested} done · ${b.status} · ${new Date(b.createdAt).toLocaleString()}`, id: b.id })),
      { title: 'Resume which batch?' },
    );
    return picked?.id;
  }

  /** A team batch resumed here: its missing conversations claimed a few at a time with any other resume of it. */
  private async resumeOnTeam(recorder: Extract<Recorder, { store: 'postgresql' }>, batchId: string, apiKey: string): Promise<BatchOutcome | undefined> {
    const { db, folder } = recorder;
    const workspace = editorWorkspace(undefined, this.log);
    // A refusal (`TeamResumeRefusal`: no such batch, another member's Message Batches) is its one line, shown as an error.
    const chosen = await workspace.teamBatchToResume(db, batchId);
    if (chosen.settings.mode === 'batch') {
      // Sent through Message Batches: re-attached to by its author, as `resume --database-url` does.
      const input = await workspace.teamMessageBatchResume(db, chosen);
      if (!input) {
        void vscode.window.showInformationMessage('That batch is complete: nothing to resume.');
        return undefined;
      }
      return this.executeMessageBatches(this.messageBatches.runOnTeam({ ...input, db, apiKey }, false), false);
    }
    const { batch, prepared } = await workspace.teamResume(db, chosen.id);
    if (!prepared) {
      void vscode.window.showInformationMessage('That batch is complete: nothing to resume.');
      return undefined;
    }
    const input = { ...prepared, count: prepared.remaining, apiKey };
    return this.execute(input, false, async (hooks) => {
      const result = await runTeamResume({ ...input, db, folder, ...hooks });
      if (!result.outcome) void vscode.window.showInformationMessage(`Promptloom: ${nothingClaimed(batch.id, result)}.`);
      return result.outcome;
    });
  }

  /**
   * Runs a recorded batch through `record` (the workspace's or the team's run), with a cancellable
   * progress notification unless `quiet`. Undefined when `record` ran nothing (a team resume that
   * found nothing to claim, which said so).
   */
  private execute<T extends BatchOutcome | undefined>(
    input: Pick<BatchInput, 'settings' | 'model' | 'template' | 'count' | 'cells'>,
    quiet: boolean,
    record: (hooks: RunHooks) => Promise<T>,
  ): Promise<T> {
    // The user's address only (environment or user settings), checked before any request.
    const baseURL = editorApiAddress();
    const limiter = this.limiter(input.settings, input.model);
    const title = `${input.template.settings.name} × ${input.count}`;
    let engine: GenerationEngine | undefined;
    const run = (report?: (progress: BatchProgress) => void) =>
      record({
        ...(baseURL ? { baseURL } : {}),
        limiter,
        started: (e) => {
          // A team resume runs a round per claim, each with its engine: the progress goes on across them.
          const progress = engine && this.running.get(engine)?.progress;
          if (engine) this.running.delete(engine);
          engine = e;
          this.running.set(e, { title, progress: progress ?? new BatchProgress(input.count, input.cells?.map((c) => c.count), Date.now()) });
          this.updateRunning();
        },
        onAttempt: (a) => {
          // Every attempt is a row (failures too): views of the database catch up.
          (this.source ?? this.db).wrote();
          const entry = engine && this.running.get(engine);
          if (!entry) return;
          entry.progress.add(a);
          report?.(entry.progress);
        },
      }).finally(() => {
        if (engine) this.running.delete(engine);
        this.updateRunning();
      });

    if (quiet) return run();
    return Promise.resolve(
      vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Generating ${title}`, cancellable: true }, async (progress, token) => {
        token.onCancellationRequested(() => engine?.cancel());
        let reported = 0;
        const outcome = await run((p) => {
          const cells = p.cells.total > 1 ? ` · ${p.cells.complete} of ${p.cells.total} value sets complete` : '';
          const eta = p.etaMs();
          const left = eta === null || p.queued === 0 ? '' : ` · about ${formatDuration(eta / 1000)} left`;
          progress.report({ increment: (p.fraction - reported) * 100, message: `${p.done} done, ${p.failed} failed, ${p.queued} queued${cells} · $${p.costUsd.toFixed(4)}${left}` });
          reported = p.fraction;
        });
        if (outcome) void this.announce(outcome);
        return outcome;
      }),
    );
  }

  /** A batch run through Message Batches (`MessageBatchRuns`: progress in a notification unless `quiet`), and how it ended said. */
  private async executeMessageBatches(run: Promise<MessageBatchOutcome>, quiet: boolean): Promise<MessageBatchOutcome> {
    const outcome = await run;
    if (!quiet) void this.announce(outcome);
    return outcome;
  }

  /** The batch's end in one message, with what to do next: set the key, resume, or nothing. */
  private async announce(outcome: BatchOutcome): Promise<void> {
    const s = outcome.summary;
    const q = outcome.quality;
    const quality = q.average !== null ? `, quality ${q.average.toFixed(1)}${q.flagged ? ` (${q.flagged} flagged for revision)` : ''}` : '';
    const failures = failureSummary(s.failures);
    const aside = outcome.keptAside > 0 ? ` ${outcome.keptAside} could not be written to the database and were kept in .promptloom/unstored/ (imported on the next start).` : '';
    // On the team store: answers that waited in the spool while the server was unreachable (all written by now).
    const spooled = outcome.spooled ? ` ${outcome.spooled} waited in .promptloom/team-spool/ while the team database was unreachable, and were written when it was back.` : '';
    const batches = 'messageBatches' in outcome ? (outcome as MessageBatchOutcome).messageBatches : undefined;
    const through = batches ? ` through Message Batches at half price (${batches.join(', ')})` : '';
    const text = `${s.succeeded} of ${s.requested} conversations generated${through}${quality}, ${s.inputTokens + s.outputTokens} tokens, $${s.costUsd.toFixed(4)}.${aside}${spooled}${failures ? ` ${failures}.` : ''}`;
    if (s.stopped === 'detached') {
      // The window stopped waiting (it is closing): the Message Batches go on, collected at the next start.
      this.log.info(`batch ${outcome.batchId}: Message Batches ${batches?.join(', ') ?? ''} left at Anthropic, collected at the next start`);
      return;
    }
    if (s.stopped === 'fatal') {
      const fixes = s.fatal?.type === 'authentication' ? ['Set API Key'] : [];
      this.log.info(`batch ${outcome.batchId} stopped: ${s.stopReason ?? ''}`);
      const choice = await vscode.window.showErrorMessage(`Promptloom: ${s.stopReason ?? 'the batch stopped'}. ${text}`, ...fixes);
      if (choice === 'Set API Key') await vscode.commands.executeCommand('promptloom.setApiKey');
      return;
    }
    if (s.stopped === 'cancelled') {
      const choice = await vscode.window.showWarningMessage(`Promptloom: cancelled, ${s.remaining} of ${s.requested} not generated. ${text}`, 'Resume');
      if (choice === 'Resume') await vscode.commands.executeCommand('promptloom.resumeBatch', outcome.batchId);
      return;
    }
    const stopped = s.stopReason ? ` Stopped: ${s.stopReason}.` : '';
    if (s.failed > 0 || s.stopped || outcome.keptAside > 0) void vscode.window.showWarningMessage(`Promptloom: ${text}${stopped}`);
    else void vscode.window.showInformationMessage(`Promptloom: ${text}`);
  }

  /** The queue view: running batches with their progress; pick one to cancel it. */
  async showQueue(): Promise<void> {
    const now = Date.now();
    const limits = [...this.limiters.entries()].map(([key, limiter]) => {
      const pause = limiter.pausedUntilMs() - now;
      return `${key.split(':')[0]}: ${limiter.status(now)}, ${Math.round(limiter.usage(now) * 100)}% of the limit used${pause > 0 ? `, resumes in ${Math.ceil(pause / 1000)} s` : ''}`;
    });
    type Item = vscode.QuickPickItem & { engine?: GenerationEngine };
    const items: Item[] = [...this.running.entries()].map(([engine, b]) => ({
      label: `$(debug-stop) ${b.title}`,
      description: `${b.progress.done} done · ${b.progress.failed} failed · ${b.progress.queued} queued · $${b.progress.costUsd.toFixed(4)}`,
      engine,
    }));
    // Message Batches from the database: they survive a window reload.
    type Remote = Item & { remote?: Awaited<ReturnType<MessageBatchRuns['atAnthropic']>>[number] };
    const remote: Remote[] = (await this.messageBatches.atAnthropic()).map((b) => ({
      label: `$(cloud) ${b.title}`,
      description:
        b.live === true
          ? 'Message Batches: submitting…'
          : b.live
            ? progressLine(b.live)
            : `${b.messageBatches} Message Batch${b.messageBatches === 1 ? '' : 'es'} at Anthropic, not collected yet (since ${new Date(b.submittedAt).toLocaleString()})`,
      detail: b.anthropicIds.join(', '),
      remote: b,
    }));
    const all: Remote[] = [...items, ...remote];
    if (all.length === 0) all.push({ label: 'No batch is running.' });
    const picked = await vscode.window.showQuickPick(all, { title: 'Promptloom queue', placeHolder: limits.join(' · ') || 'The rate limiter has not been used yet.' });
    if (picked?.engine) picked.engine.cancel();
    if (picked?.remote) {
      const b = picked.remote;
      const actions = b.live ? ['Keep Running', CANCEL_AT_ANTHROPIC] : [COLLECT, CANCEL_AT_ANTHROPIC];
      const action = await vscode.window.showQuickPick(actions, { title: `${b.title}: Message Batches at Anthropic` });
      if (action === CANCEL_AT_ANTHROPIC) await this.messageBatches.cancel(b.batchId);
      if (action === COLLECT) await this.messageBatches.collect([b.batchId]);
    }
  }

  private limiter(settings: GenerationSettings, model: ModelInfo): RateLimiter {
    const key = `${model.id}:${settings.requestsPerWindow ?? ''}:${settings.windowSeconds ?? ''}`;
    let limiter = this.limiters.get(key);
    if (!limiter) {
      limiter = limiterFor(settings, model);
      this.limiters.set(key, limiter);
    }
    return limiter;
  }

  /**
   * Values from the preview form; a missing required one is asked for, or with `samples` (template
   * tests) filled by the sample rule the preview's "Fill sample values" uses (sampleValues.ts).
   */
  private async values(uri: vscode.Uri, variables: readonly VariableDecl[], samples: SampleLists | undefined): Promise<RawParameters | undefined> {
    const form = this.state.get<Record<string, string | boolean>>(`promptloom.preview.values:${uri.toString()}`) ?? {};
    const values = new Map<string, unknown>(Object.entries(form).filter(([, v]) => v !== ''));
    if (samples) {
      for (const [name, sample] of sampleMissing(variables, values, samples)) values.set(name, sample.value);
      return values;
    }
    for (const v of variables) {
      if (!v.required || values.has(v.name)) continue;
      const value = v.options
        ? await vscode.window.showQuickPick(v.options.map(String), { title: `Value of ${v.name}` })
        : await vscode.window.showInputBox({ title: `Value of ${v.name}`, ignoreFocusOut: true });
      if (value === undefined) return undefined;
      values.set(v.name, value);
    }
    return values;
  }

  private updateRunning(): void {
    const running = () => this.running.size + this.messageBatches.running;
    const context = () => void vscode.commands.executeCommand('setContext', 'promptloom.batchRunning', running() > 0 || this.atAnthropic > 0);
    context();
    // Cancel Batch is offered for Message Batches at Anthropic too, also those of an earlier window.
    void this.messageBatches.atAnthropic().then((list) => {
      this.atAnthropic = list.length;
      context();
    }, () => undefined);
    if (running() > 0 && !this.statusTimer) {
      this.statusTimer = setInterval(() => this.showStatus(), 1000);
      this.showStatus();
    } else if (running() === 0 && this.statusTimer) {
      clearInterval(this.statusTimer);
      this.statusTimer = undefined;
      this.showStatus();
    }
  }

  /** The status bar: limiter state, with a countdown while the server holds us back. */
  private showStatus(): void {
    const now = Date.now();
    let state = 'healthy';
    let resumeIn = 0;
    for (const limiter of this.limiters.values()) {
      const s = limiter.status(now);
      if (s === 'throttled' || (s === 'busy' && state === 'healthy')) state = s;
      resumeIn = Math.max(resumeIn, limiter.pausedUntilMs() - now);
    }
    const icon = state === 'throttled' ? '$(watch)' : state === 'busy' ? '$(pulse)' : '$(check)';
    const running = this.running.size + this.messageBatches.running;
    this.status.text = `${icon} Claude ${state}${resumeIn > 0 ? ` ${Math.ceil(resumeIn / 1000)}s` : ''}${running > 0 ? ` · ${running} running` : ''}`;
    this.status.tooltip = 'Promptloom rate limiter: healthy below 70% of the limits, busy from 70%, throttled from 90% or while the API asks to wait.';
    this.status.command = 'promptloom.showQueue';
    if (running > 0 || this.limiters.size > 0) this.status.show();
    // One notification when throttling starts and one when it ends, not one per request.
    if (state === 'throttled' && this.lastState !== 'throttled') void vscode.window.showInformationMessage('Promptloom: the Claude rate limit is nearly used up; requests wait for room.');
    if (state !== 'throttled' && this.lastState === 'throttled') void vscode.window.showInformationMessage('Promptloom: requests flow again.');
    this.lastState = state;
  }
}
