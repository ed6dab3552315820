import * as vscode from 'vscode';
import { createClient } from '../core/generation/claude';
import { cancelBatch, runMessageBatches, runTeamMessageBatches, type MessageBatchInput, type MessageBatchOutcome, type MessageBatchProgress, type TeamMessageBatchInput } from '../core/generation/messageBatches';
import { uncollectedMessageBatches, type UncollectedBatch } from '../core/generation/messageBatchRecords';
import { WorkspaceBatchRepository } from '../core/store';
import type { TeamDatabase as TeamPool } from '../core/store/postgres/teamDatabase';
import { Disposable } from './disposable';
import type { Log } from './log';
import { editorApiAddress, editorWorkspace } from './settings';
import type { StoreSource } from './storeSource';
import type { WorkspaceDb, WorkspaceStore } from './workspaceDb';

/** What the editor adds to a run's input: the hooks it follows the run with, and the user's address. */
type Hooks = 'signal' | 'onProgress' | 'started' | 'baseURL';

/**
 * Where this window's Message Batches are recorded: the store the views show. The workspace's
 * `Store` (in its worker, through `WorkspaceDb`), or on the team database its pool, where a
 * member's Message Batches rows are theirs alone (row-level security): the list, Collect and
 * Cancel reach only their own.
 */
type Records = { readonly team: TeamPool } | { readonly store: WorkspaceStore };

/** A batch this window is waiting for at Anthropic. */
interface LiveRun {
  readonly title: string;
  batchId?: string;
  latest?: MessageBatchProgress;
  cancelling: boolean;
  finished: boolean;
  readonly stop: AbortController;
  readonly listeners: Set<(p: MessageBatchProgress) => void>;
  done?: Promise<MessageBatchOutcome>;
}

export const CANCEL_AT_ANTHROPIC = 'Cancel at Anthropic';
export const KEEP_RUNNING = 'Keep Running';
export const COLLECT = 'Collect';

/**
 * The editor's side of Message Batches: a batch sent through them with a progress notification
 * fed by the core's `onProgress`; cancelling at Anthropic only when asked in so many words
 * (closing the notification, or the window, leaves the paid work running, and the next start
 * collects it); the start-up notice for Message Batches still at Anthropic, whose Collect runs the
 * same collection as `promptloom resume`. Storing, scoring and flagging are the core's.
 */
export class MessageBatchRuns extends Disposable {
  private readonly live = new Set<LiveRun>();

  constructor(
    private readonly db: WorkspaceDb,
    private readonly log: Log,
    private readonly apiKey: () => Promise<string | undefined>,
    /** Called when runs start or end (the status bar, the context key) and when rows were written. */
    private readonly changed: () => void,
    /** The store the views show (the team database when chosen); the workspace database without it. */
    private readonly source?: StoreSource,
  ) {
    super();
    // A window closing stops waiting; the Message Batches go on at Anthropic, collected at the next start.
    this.register({ dispose: () => this.live.forEach((r) => r.stop.abort()) });
  }

  /** Runs waited for in this window. */
  get running(): number {
    return this.live.size;
  }

  /** Runs a batch through Message Batches, with a progress notification unless `quiet`. */
  run(input: Omit<MessageBatchInput, Hooks>, quiet: boolean, title = `${input.template.settings.name} × ${input.count}`): Promise<MessageBatchOutcome> {
    return this.follow(title, quiet, input.resume?.batchId, (hooks) => runMessageBatches({ ...input, ...hooks }));
  }

  /** The same on the team database: recorded through its pool as the member (`runTeamMessageBatches`). */
  runOnTeam(input: Omit<TeamMessageBatchInput, Hooks>, quiet: boolean, title = `${input.template.settings.name} × ${input.count}`): Promise<MessageBatchOutcome> {
    return this.follow(title, quiet, input.resume?.batchId, (hooks) => runTeamMessageBatches({ ...input, ...hooks }));
  }

  /** Follows a run in this window: its progress (from the Message Batches' request counts), its batch id for Cancel, its end. */
  private follow(title: string, quiet: boolean, resumed: string | undefined, record: (hooks: Pick<MessageBatchInput, Hooks>) => Promise<MessageBatchOutcome>): Promise<MessageBatchOutcome> {
    const baseURL = editorApiAddress();
    // A resumed batch is known at once, so a second Collect of it (two notices, the queue) finds it waited for.
    const run: LiveRun = { title, cancelling: false, finished: false, stop: new AbortController(), listeners: new Set(), ...(resumed ? { batchId: resumed } : {}) };
    this.live.add(run);
    this.changed();
    run.done = record({
      ...(baseURL ? { baseURL } : {}),
      signal: run.stop.signal,
      started: (batchId) => {
        run.batchId = batchId;
        this.changed();
      },
      onProgress: (p) => {
        run.latest = p;
        this.wrote();
        run.listeners.forEach((l) => l(p));
      },
    }).finally(() => {
      run.finished = true;
      this.live.delete(run);
      this.wrote();
      this.changed();
    });
    if (!quiet) this.showProgress(run);
    return run.done;
  }

  /** Views of the store the run records in catch up. */
  private wrote(): void {
    (this.source ?? this.db).wrote();
  }

  /**
   * Where the Message Batches records are now (`Records`). Undefined when there is none to read:
   * no workspace database yet (unless `create`), or a team database out of reach (`StoreSource`
   * says so once).
   */
  private async records(create: boolean): Promise<Records | undefined> {
    if (this.source && (await this.source.kind()) === 'postgresql') {
      const team = (await this.source.read())?.team;
      return team ? { team } : undefined;
    }
    const store = create ? await this.db.get() : await this.db.getIfExists();
    return store ? { store } : undefined;
  }

  /**
   * The progress notification. Its Cancel asks first: cancelling at Anthropic is what stops paid
   * work; keeping it running opens the notification again.
   */
  private showProgress(run: LiveRun): void {
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `${run.cancelling ? 'Cancelling' : 'Message Batches:'} ${run.title}`, cancellable: !run.cancelling },
      (progress, token) =>
        new Promise<void>((resolve) => {
          let reported = 0;
          const show = (p: MessageBatchProgress) => {
            const fraction = p.total > 0 ? (p.stored + p.failed) / p.total : 0;
            progress.report({ increment: Math.max(0, fraction - reported) * 100, message: progressText(p) });
            reported = fraction;
          };
          if (run.latest) show(run.latest);
          else progress.report({ message: 'submitting…' });
          run.listeners.add(show);
          const end = () => {
            run.listeners.delete(show);
            resolve();
          };
          void run.done?.then(end, end);
          token.onCancellationRequested(() => {
            end();
            void this.askCancel(run);
          });
        }),
    );
  }

  private async askCancel(run: LiveRun): Promise<void> {
    // Keep Running is the dialog's own way out (Escape, the close box): nothing else cancels.
    const choice = await vscode.window.showWarningMessage<vscode.MessageItem>(
      `Cancel ${run.title} at Anthropic?`,
      {
        modal: true,
        detail:
          'Requests Anthropic has already answered are paid for: they are collected and stored. The rest are not processed, and Resume Batch can send them later.\n' +
          'Keep Running leaves the Message Batches going; closing this window does too, and the next start collects them.',
      },
      { title: CANCEL_AT_ANTHROPIC },
      { title: KEEP_RUNNING, isCloseAffordance: true },
    );
    if (run.finished) return;
    if (choice?.title === CANCEL_AT_ANTHROPIC) await this.cancelRun(run);
    this.showProgress(run);
  }

  private async cancelRun(run: LiveRun): Promise<string[]> {
    run.cancelling = true;
    return run.batchId ? this.cancel(run.batchId) : [];
  }

  /** Cancels a batch's Message Batches at Anthropic (and marks it cancelled); what they answered is still collected. */
  async cancel(batchId: string): Promise<string[]> {
    const records = await this.records(true);
    const key = await this.apiKey();
    if (!records || !key) throw new Error(`Cancelling at Anthropic needs ${this.storeName()} and the API key.`);
    const db = 'team' in records ? records.team : records.store;
    const batch = await new WorkspaceBatchRepository(db).get(batchId);
    if (!batch) throw new Error(`No batch ${batchId} in ${this.storeName()}.`);
    const baseURL = editorApiAddress();
    // The member's own Message Batches on the team database (its rows are theirs): cancelled at Anthropic.
    const canceled = await cancelBatch(db, batch, () => createClient({ apiKey: key, ...(baseURL ? { baseURL } : {}), timeoutMs: 60_000 }));
    for (const run of this.live) if (run.batchId === batchId) run.cancelling = true;
    this.log.info(`batch ${batchId} cancelled at Anthropic: ${canceled.join(', ') || 'no Message Batch was still processing'}`);
    this.wrote();
    this.changed();
    return canceled;
  }

  /** Batches with Message Batches at Anthropic not yet collected, each with whether this window waits for it. */
  async atAnthropic(): Promise<(UncollectedBatch & { title: string; live?: MessageBatchProgress | true })[]> {
    // Only where a database exists (on the team database, the member's own rows: row-level security).
    const records = await this.records(false);
    if (!records) return [];
    return (await uncollectedMessageBatches('team' in records ? records.team : records.store)).map((b) => {
      const run = [...this.live].find((r) => r.batchId === b.batchId);
      return { ...b, title: `${b.templatePath} × ${b.requested}`, ...(run ? { live: run.latest ?? true } : {}) };
    });
  }

  /**
   * At start-up (a trusted workspace with a key): Message Batches still at Anthropic are named in
   * a notice whose Collect collects them. `answer` stands in for the person (tests, scripts).
   */
  async checkAtStartup(answer?: string): Promise<{ found: number; outcomes: MessageBatchOutcome[] }> {
    if (!vscode.workspace.isTrusted || !(await this.apiKey())) return { found: 0, outcomes: [] };
    const waiting = (await this.atAnthropic()).filter((b) => !b.live);
    const found = waiting.reduce((n, b) => n + b.messageBatches, 0);
    if (found === 0) return { found, outcomes: [] };
    this.changed();
    const choice =
      answer ??
      (await vscode.window.showInformationMessage(
        `Promptloom: ${found} Message Batch${found === 1 ? ' is' : 'es are'} still at Anthropic (${waiting.map((b) => b.title).join(', ')}).`,
        COLLECT,
      ));
    if (choice !== COLLECT) return { found, outcomes: [] };
    return { found, outcomes: await this.collect(waiting.map((b) => b.batchId)) };
  }

  /**
   * Collects batches' Message Batches, as `promptloom resume` does: polled, their results stored,
   * scored and flagged, what failed and may be retried sent again. A batch someone cancelled is
   * only collected: nothing more is sent for it.
   */
  async collect(batchIds: readonly string[]): Promise<MessageBatchOutcome[]> {
    const records = await this.records(true);
    const apiKey = await this.apiKey();
    if (!records || !apiKey) throw new Error(`Collecting Message Batches needs ${this.storeName()} and the API key.`);
    if ('store' in records) await records.store.refresh();
    const runs = batchIds.filter((id) => ![...this.live].some((r) => r.batchId === id)).map((id) => this.collectOne(records, apiKey, id));
    const outcomes = await Promise.all(runs);
    for (const outcome of outcomes) void announceCollected(outcome);
    return outcomes;
  }

  private async collectOne(records: Records, apiKey: string, batchId: string): Promise<MessageBatchOutcome> {
    const db = 'team' in records ? records.team : records.store;
    const batch = await new WorkspaceBatchRepository(db).get(batchId);
    if (!batch) throw new Error(`No batch ${batchId} in ${this.storeName()}.`);
    const { store: _read, ...input } = await editorWorkspace(undefined, this.log).prepareMessageBatchResume(db, batch);
    const title = `${input.templatePath} × ${batch.requested}`;
    if ('team' in records) return this.runOnTeam({ ...input, db: records.team, apiKey, finishCancelled: false }, false, title);
    return this.run({ ...input, store: records.store, apiKey, finishCancelled: false }, false, title);
  }

  /** "the workspace database" or "the team database", for messages. */
  private storeName(): string {
    return this.source?.label ?? 'the workspace database';
  }
}

/** The notification's line: "12 of 60 stored, 0 failed, 48 processing · $0.0210". */
function progressText(p: MessageBatchProgress): string {
  return `${p.stored} of ${p.total} stored, ${p.failed} failed, ${p.processing} processing · $${p.costUsd.toFixed(4)}`;
}

function announceCollected(outcome: MessageBatchOutcome): Thenable<unknown> {
  const s = outcome.summary;
  const text = `Promptloom: collected ${s.succeeded} conversation${s.succeeded === 1 ? '' : 's'} from Message Batches (${outcome.messageBatches.join(', ')}), $${s.costUsd.toFixed(4)} at half price.`;
  return s.failed > 0 || (s.stopped && s.stopped !== 'cancelled') ? vscode.window.showWarningMessage(`${text}${s.stopReason ? ` Stopped: ${s.stopReason}.` : ''}`) : vscode.window.showInformationMessage(text);
}
