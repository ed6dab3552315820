import * as vscode from 'vscode';
import { Store } from '../core/store';
import { ReplicaDatabase } from '../core/store/replica';
import { Disposable } from './disposable';
import type { Log } from './log';

/** The workspace database as the editor uses it: its `Store` in a worker thread (reads, writes, catch-up). */
export type WorkspaceStore = ReplicaDatabase;

/**
 * The workspace database, opened on first use (not at activation: loading SQLite's WebAssembly
 * takes tens of milliseconds). Its `Store` lives in a worker thread (`ReplicaDatabase`, writable,
 * docs/team-store.md §5): reads, writes, transactions and the journal's catch-up run there, off
 * the extension host's thread. Watches the journal so rows written by the CLI or another window
 * show up here: the worker catches up and says whether anything changed. In an untrusted
 * workspace it is neither opened nor created: its `.promptloom/` came with the files; once trust
 * is granted, views are told to look again (and open it).
 *
 * Generation runs, the Message Batches path (the judge's included) and the views all go through
 * the worker's handle. A `Store` on this thread is opened only if the worker cannot run (its
 * fallback); the file lock and the journal keep it and the worker's in step, as they do the CLI's
 * and the editor's.
 */
export class WorkspaceDb extends Disposable {
  private opening: Promise<WorkspaceStore | undefined> | undefined;
  /** The `Store` on this thread, opened only when the worker falls back to it. */
  private onThread: Promise<Store> | undefined;
  private readonly changed = this.register(new vscode.EventEmitter<void>());
  /** Fires when the database changed: written here, or by another process (the CLI, another window). */
  readonly onDidChange = this.changed.event;

  constructor(private readonly log: Log) {
    super();
    vscode.workspace.onDidGrantWorkspaceTrust(() => this.changed.fire(), this, this.subscriptions);
  }

  /** The workspace folder holding the database: the first one, on disk. */
  get folder(): vscode.WorkspaceFolder | undefined {
    return vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file');
  }

  /** The store, or undefined when no folder is open or the workspace is not trusted. Problems found on open are shown once. */
  get(): Promise<WorkspaceStore | undefined> {
    if (!vscode.workspace.isTrusted) return Promise.resolve(undefined);
    this.opening ??= this.open().catch((error: unknown) => {
      // Say why, and try again next time rather than staying without a database.
      this.opening = undefined;
      this.log.error('opening the workspace database failed', error);
      void vscode.window.showErrorMessage(`Promptloom: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    });
    return this.opening;
  }

  /**
   * The store only when a database already exists: views that merely show data must not create
   * `.promptloom/` in a workspace that never generated anything.
   */
  async getIfExists(): Promise<WorkspaceStore | undefined> {
    if (!vscode.workspace.isTrusted) return undefined;
    if (this.opening) return this.current(await this.opening);
    const folder = this.folder;
    if (!folder) return undefined;
    const files = ['promptloom.db', 'promptloom.journal'].map((name) => vscode.Uri.joinPath(folder.uri, '.promptloom', name));
    for (const file of files) {
      try {
        await vscode.workspace.fs.stat(file);
        return this.current(await this.get());
      } catch {
        // not there: try the next
      }
    }
    return undefined;
  }

  /**
   * Catches up with other writers before a read (one stat when nothing changed), so a view never
   * shows rows older than the file watcher would have delivered.
   */
  private async current(store: WorkspaceStore | undefined): Promise<WorkspaceStore | undefined> {
    if (store && !this.isDisposed && (await store.refresh())) this.changed.fire();
    return store;
  }

  private openOnThread(): Promise<Store> {
    const folder = this.folder;
    if (!folder) return Promise.reject(new Error('no workspace folder is open'));
    this.onThread ??= Store.open(folder.uri.fsPath).then(
      (store) => {
        this.register({ dispose: () => store.close() });
        return store;
      },
      (error: unknown) => {
        this.onThread = undefined;
        throw error;
      },
    );
    return this.onThread;
  }

  /** Tells listeners that this window wrote (a generation, a review). */
  wrote(): void {
    this.changed.fire();
  }

  /** A template's path relative to the workspace folder, or undefined when it lies outside. */
  relativePath(uri: vscode.Uri): string | undefined {
    const folder = this.folder;
    if (!folder || uri.scheme !== 'file') return undefined;
    const relative = vscode.workspace.asRelativePath(uri, false);
    return relative === uri.fsPath ? undefined : relative;
  }

  private async open(): Promise<WorkspaceStore | undefined> {
    const folder = this.folder;
    if (!folder) return undefined;
    // Opened in the worker as the shells open it (kept-aside answers imported); if the worker
    // cannot run, the Store on this thread answers (and its open's error is the one shown).
    const store = new ReplicaDatabase({ workspace: folder.uri.fsPath, writable: true, fallback: () => this.openOnThread(), log: this.log });
    let notices: string[];
    try {
      notices = await store.open();
    } catch (error) {
      await store.close();
      throw error;
    }
    this.register({ dispose: () => void store.close() });
    for (const notice of notices) {
      this.log.info(notice);
      void vscode.window.showWarningMessage(`Promptloom: ${notice}`);
    }
    const watcher = this.register(vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(folder, '.promptloom/promptloom.journal')));
    const refresh = () => {
      if (this.isDisposed) return;
      store.refresh().then(
        (changed) => {
          if (changed && !this.isDisposed) this.changed.fire();
        },
        (error: unknown) => this.log.error('reading what another process wrote failed', error),
      );
    };
    watcher.onDidChange(refresh, this, this.subscriptions);
    watcher.onDidCreate(refresh, this, this.subscriptions);
    return store;
  }
}
