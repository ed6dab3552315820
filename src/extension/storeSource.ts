/**
 * The one seam between the editor's views and the store in use (team-store step 7): the workspace
 * database, or the team's PostgreSQL when the user setting `promptloom.database.url` (or
 * PROMPTLOOM_DATABASE_URL) chooses it. Views ask for a `StoreHandle` (the `Database` handle and the
 * read-and-review repositories written once against it) and follow one `onDidChange` event:
 *
 * - on the workspace database, the event is WorkspaceDb's (writes here, the journal's watcher);
 * - on the team database, one `TeamChanges` listener (LISTEN/NOTIFY) owned here feeds it; it is
 *   started with the pool on first use, restarted when the setting or the password changes, and
 *   closed on deactivate. Views re-read through the handle, so what a member sees is what the
 *   server's row-level security lets them read, never what an event said;
 * - a change of choice fires it too, so every view re-reads from the store now chosen.
 *
 * Generation records in the store chosen here too (`write()`: on the team database its pool,
 * `StoreHandle.team`), so what a run writes is what the views show.
 *
 * On the workspace database, `read()` and `write()` hand out the workspace's `Store` in a worker
 * thread (`WorkspaceDb`, a writable `ReplicaDatabase`, docs/team-store.md §5) as `db`: reads,
 * writes and transactions run off the extension host's thread.
 */
import * as vscode from 'vscode';
import { systemClock } from '../core/store';
import { ConversationReads } from '../core/store/conversationReads';
import type { Database } from '../core/store/database';
import { DatabaseUrlError } from '../core/store/databaseUrl';
import type { TeamChange } from '../core/store/postgres/changes';
import type { TeamDatabase as TeamPool } from '../core/store/postgres/teamDatabase';
import { TemplateReads } from '../core/store/templateReads';
import { Disposable } from './disposable';
import type { Log } from './log';
import type { StoreState } from './storeIndicator';
import type { TeamDatabase } from './teamDatabase';
import type { WorkspaceDb, WorkspaceStore } from './workspaceDb';

export type StoreKind = 'workspace' | 'postgresql';

/** The store a view reads (and reviews) through. */
export interface StoreHandle {
  readonly store: StoreKind;
  readonly db: Database;
  readonly conversations: ConversationReads;
  readonly templates: TemplateReads;
  /**
   * Runs `work` on one consistent read of the store: on the team database one read-only
   * REPEATABLE READ transaction (`TeamDatabase.snapshot`, as `export --database-url` reads), so
   * what it reads agrees while teammates write; on the workspace database the store itself (one
   * process's reads of a local file).
   */
  snapshot<T>(work: (db: Database) => Promise<T>): Promise<T>;
  /** On the team database, its pool: what a run records through (`runTeamBatch`, `runTeamResume`). */
  readonly team?: TeamPool;
}

/** What fired `onDidChange`: the team's change when it came from a teammate's write. */
export interface StoreSourceChange {
  readonly store: StoreKind;
  readonly team?: TeamChange;
}

/** The team database opened for one URL: the pool, and the listener that follows it. */
interface TeamConnection {
  readonly url: string;
  readonly opening: Promise<{ handle: StoreHandle; close: () => Promise<void> }>;
}

export class StoreSource extends Disposable {
  private readonly changed = this.register(new vscode.EventEmitter<StoreSourceChange>());
  /** The store in use changed: written here or elsewhere, a teammate's write, or another store chosen. */
  readonly onDidChange = this.changed.event;
  private readonly stateChanged = this.register(new vscode.EventEmitter<StoreState>());
  /** The store chosen, and on the team database whether it is followed live (the status bar). */
  readonly onDidChangeState = this.stateChanged.event;
  private current: StoreState = { store: 'workspace' };
  /** The choice, resolved once and kept until the setting or the password changes. */
  private choosing: Promise<{ store: 'workspace' } | { store: 'postgresql'; url: string } | { store: 'error'; message: string }> | undefined;
  private team: TeamConnection | undefined;
  /** The workspace database (its Store in the worker), and the handle on it. */
  private workspace: { store: WorkspaceStore; handle: StoreHandle } | undefined;
  /** The store last chosen (for labels, and to ignore the other store's events). */
  private chosen: StoreKind | undefined;
  /** Why the chosen store cannot be read, when it cannot: shown once per choice, kept for views. */
  problem: string | undefined;
  private shownProblem: string | undefined;
  /** The last team URL opened and its `describeUrl` words (the module that has it is loaded on first use). */
  private described: { url: string; where: string } | undefined;

  constructor(
    private readonly db: WorkspaceDb,
    private readonly choice: TeamDatabase,
    private readonly log: Log,
  ) {
    super();
    db.onDidChange(() => this.chosen !== 'postgresql' && this.changed.fire({ store: 'workspace' }), this, this.subscriptions);
    choice.onDidChangeChoice(() => this.rechoose(), this, this.subscriptions);
    this.register({ dispose: () => void this.closeTeam() });
  }

  /** The store chosen now (resolving the choice if needed). */
  async kind(): Promise<StoreKind> {
    const choice = await this.resolve();
    return choice.store === 'workspace' ? 'workspace' : 'postgresql';
  }

  /** The store chosen, and on the team database the listener's state (never a URL, only `describeUrl`'s parts). */
  get state(): StoreState {
    return this.current;
  }

  /** Which store the views show, in words: "the workspace database", "the team database". */
  get label(): string {
    return this.chosen === 'postgresql' ? 'the team database' : 'the workspace database';
  }

  /**
   * The store to read: undefined when the workspace database does not exist yet (views must not
   * create it) or is not available, or when the team database cannot be reached (`problem` says why).
   */
  read(): Promise<StoreHandle | undefined> {
    return this.handle(false);
  }

  /** The store to write to (a review, a run, a saved version): the workspace database is created if need be. */
  write(): Promise<StoreHandle | undefined> {
    return this.handle(true);
  }

  /** Tells listeners that this window wrote (a review); the team's own notification follows later. */
  wrote(): void {
    if (this.chosen === 'postgresql') this.changed.fire({ store: 'postgresql' });
    else this.db.wrote();
  }

  private async handle(forWrite: boolean): Promise<StoreHandle | undefined> {
    const choice = await this.resolve();
    if (choice.store === 'error') {
      this.setState({ store: 'postgresql', listener: 'unreachable', reason: choice.message });
      this.report(choice.message);
      return undefined;
    }
    if (choice.store === 'workspace') {
      this.problem = undefined;
      const store = forWrite ? await this.db.get() : await this.db.getIfExists();
      if (!store) return undefined;
      if (this.workspace?.store !== store) {
        // An export reads the store as it is: one process's reads of a local file (the worker
        // changes it only for this window's writes and the watcher's catch-up).
        this.workspace = { store, handle: handleOn('workspace', store, (work) => work(store)) };
      }
      return this.workspace.handle;
    }
    if (this.team?.url !== choice.url) {
      void this.closeTeam();
      this.team = { url: choice.url, opening: this.openTeam(choice.url) };
    }
    const team = this.team;
    try {
      const { handle } = await team.opening;
      this.problem = undefined;
      this.shownProblem = undefined;
      return handle;
    } catch (error) {
      // Tried again on the next read (the server may be back); said once until it works again.
      const current = this.team === team;
      if (current) this.team = undefined;
      const { TeamDatabaseError } = await import('../core/store/postgres/connection');
      if (!(error instanceof TeamDatabaseError)) throw error;
      // Not when another choice or another attempt came meanwhile: its state is the one to show.
      if (current && this.team === undefined) this.setState({ store: 'postgresql', listener: 'unreachable', server: this.serverOf(choice.url), reason: error.message });
      this.report(`team database: ${error.message}`);
      return undefined;
    }
  }

  private resolve(): NonNullable<StoreSource['choosing']> {
    this.choosing ??= this.choice.choice().then(
      (c) => (c.store === 'workspace' ? { store: 'workspace' as const } : { store: 'postgresql' as const, url: c.url }),
      (error: unknown) => {
        if (error instanceof DatabaseUrlError) return { store: 'error' as const, message: error.message };
        throw error;
      },
    );
    return this.choosing.then((c) => {
      this.chosen = c.store === 'workspace' ? 'workspace' : 'postgresql';
      if (c.store === 'workspace') this.setState({ store: 'workspace' });
      return c;
    });
  }

  /** The setting or the password changed: the next read chooses again, and every view re-reads. */
  private rechoose(): void {
    this.choosing = undefined;
    this.shownProblem = undefined;
    void this.closeTeam();
    this.log.info('the database setting or password changed: views read the store chosen now');
    void this.kind().then(
      (store) => this.changed.fire({ store }),
      (error: unknown) => this.log.error('choosing the store failed', error),
    );
  }

  /** Opens the pool and the listener (loaded on first use: activation does not pay for pg). */
  private async openTeam(url: string): Promise<{ handle: StoreHandle; close: () => Promise<void> }> {
    const [{ TeamDatabase: TeamPool }, { TeamChanges }, { describeUrl }] = await Promise.all([
      import('../core/store/postgres/teamDatabase'),
      import('../core/store/postgres/changes'),
      import('../core/store/postgres/connection'),
    ]);
    const where = describeUrl(url);
    this.described = { url, where };
    const following = (state: StoreState): void => {
      if (this.team?.url === url) this.setState(state);
    };
    following({ store: 'postgresql', listener: 'connecting', server: where });
    const pool = await TeamPool.connect(url);
    let listener: Awaited<ReturnType<typeof TeamChanges.listen>>;
    try {
      listener = await TeamChanges.listen(url, (team) => this.team?.url === url && this.changed.fire({ store: 'postgresql', team }), {
        onState: (state, reason) => {
          if (state === 'reconnecting') {
            this.log.warn(`team database ${where}: live changes paused (${reason ?? 'connection lost'}); reconnecting`);
            // The first loss is a reconnection under way; a failed attempt after it means the server is out of reach.
            const lost = this.current.store === 'postgresql' && (this.current.listener === 'reconnecting' || this.current.listener === 'unreachable');
            following({ store: 'postgresql', listener: lost ? 'unreachable' : 'reconnecting', server: where, reason: reason ?? 'the connection ended', retrying: true });
          } else if (state === 'connected') {
            this.log.info(`team database ${where}: following teammates’ changes`);
            following({ store: 'postgresql', listener: 'following', server: where });
          }
        },
      });
    } catch (error) {
      await pool.close().catch(() => undefined);
      throw error;
    }
    this.log.info(`the views read the team database ${where}`);
    return {
      handle: { ...handleOn('postgresql', pool, (work) => pool.snapshot(work)), team: pool },
      close: async () => {
        await listener.close();
        await pool.close().catch(() => undefined);
      },
    };
  }

  private async closeTeam(): Promise<void> {
    const team = this.team;
    this.team = undefined;
    if (!team) return;
    try {
      await (await team.opening).close();
    } catch {
      // never opened: nothing to close
    }
  }

  /** The server's `describeUrl` words, once the driver's module has given them for this URL. */
  private serverOf(url: string): string | undefined {
    return this.described?.url === url ? this.described.where : undefined;
  }

  private setState(state: StoreState): void {
    if (JSON.stringify(state) === JSON.stringify(this.current)) return;
    this.current = state;
    this.stateChanged.fire(state);
  }

  private report(problem: string): void {
    this.problem = problem;
    if (this.shownProblem === problem) return;
    this.shownProblem = problem;
    this.log.error(problem);
    void vscode.window.showErrorMessage(`Promptloom: ${problem}`);
  }
}

/**
 * Whether a change may concern this conversation: any change but a teammate's, or one naming it
 * (every notification of a conversation, its turns' owner, its score or a review names it), or
 * one after the listener came back (anything may have changed).
 */
export function concerns(change: StoreSourceChange, conversationId: string): boolean {
  return !change.team || change.team.everything || change.team.conversationIds.has(conversationId);
}

/**
 * Whether a change may concern the figures of this template (the one a path names for the reader;
 * undefined when none does): any change but a teammate's, one after the listener came back, one
 * naming it. With no template there yet, any change may have made one (a teammate's first run at
 * that path). A log on an inactive template names none (migration 2), and the only inactive
 * template a member sees is their own, run perhaps from another machine: any log may be one of it.
 */
export function concernsTemplate(change: StoreSourceChange, template: { readonly id: number; readonly active: boolean } | undefined): boolean {
  if (!change.team || change.team.everything || !template) return true;
  if (!template.active && change.team.tables.has('generation_logs')) return true;
  return change.team.templateIds.has(template.id);
}

function handleOn(store: StoreKind, db: Database, snapshot: StoreHandle['snapshot']): StoreHandle {
  return { store, db, conversations: new ConversationReads(db, systemClock), templates: new TemplateReads(db), snapshot };
}
