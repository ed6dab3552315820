import * as vscode from 'vscode';
import { WorkspaceTemplateRepository, contentHash, type VersionSummary } from '../core/store';
import { Disposable } from './disposable';
import type { StoreHandle, StoreKind, StoreSource } from './storeSource';
import { setTemplateActive } from './templateActive';
import { isTemplate, type TemplateStore } from './templates';
import type { WorkspaceDb } from './workspaceDb';

export const VERSION_SCHEME = 'promptloom-version';
/** The authority of a version's URI when it is read from the team database. */
const TEAM_AUTHORITY = 'team';

/**
 * Template history: records a version whenever a template is saved with new content, shows
 * versions (time, usage, average quality), compares any two in VS Code's diff editor over
 * read-only virtual documents, and restores an old version into the file.
 *
 * Versions are recorded on save, and read (listed, compared, restored), in the store the views
 * show (`StoreSource`): on the team database saving records the member's own template's version,
 * and the list shows the versions of the template at that path the member may read (their own
 * first, else a teammate's active one), as pushed, saved or generated there.
 */
export class TemplateHistory extends Disposable implements vscode.TextDocumentContentProvider {
  constructor(
    private readonly db: WorkspaceDb,
    private readonly source: StoreSource,
    private readonly templates: TemplateStore,
  ) {
    super();
    this.register(vscode.workspace.registerTextDocumentContentProvider(VERSION_SCHEME, this));
    vscode.workspace.onDidSaveTextDocument((doc) => void this.recordSaved(doc), this, this.subscriptions);
    // A template deleted some other way (explorer, git) keeps its history, marked deleted.
    vscode.workspace.onDidDeleteFiles((e) => void this.markDeleted(e.files), this, this.subscriptions);
  }

  private async markDeleted(files: readonly vscode.Uri[]): Promise<void> {
    const paths = files.map((f) => this.db.relativePath(f)).filter((p): p is string => p !== undefined && p.endsWith('.prompt'));
    if (paths.length === 0) return;
    const repo = await this.ownTemplates();
    if (!repo) return;
    for (const path of paths) {
      const template = await repo.ownByPath(path);
      if (template && template.deletedAt === null) await repo.markDeleted(template.id);
    }
  }

  /**
   * The templates of the store the views show, for this member's bookkeeping (usage, inactive,
   * deleted): on the team database their own template at a path, in a workspace the one there.
   * The workspace's catches up first: the CLI may have written conversations a moment ago.
   */
  private async ownTemplates(): Promise<WorkspaceTemplateRepository | undefined> {
    const handle = await this.source.write();
    if (!handle) return undefined;
    if (handle.store === 'workspace') await (await this.db.get())?.refresh();
    return new WorkspaceTemplateRepository(handle.db);
  }

  /**
   * `Promptloom: Delete Template`: when conversations depend on the template, says how many and
   * offers to mark it inactive instead. Returns what was done, for scripts and tests.
   */
  async delete(uri: vscode.Uri, choose: (message: string, options: string[]) => Thenable<string | undefined> = ask): Promise<'deleted' | 'inactive' | 'cancelled'> {
    const path = this.db.relativePath(uri);
    const repo = path ? await this.ownTemplates() : undefined;
    const template = path && repo ? await repo.ownByPath(path) : undefined;
    const usage = template && repo ? await repo.usage(template.id) : { generations: 0, conversations: 0 };
    const name = uri.path.split('/').pop();
    const options = usage.conversations > 0 ? ['Mark Inactive', 'Delete Anyway'] : ['Delete'];
    const message =
      usage.conversations > 0
        ? `${usage.conversations} conversation${usage.conversations === 1 ? '' : 's'} depend on ${name}. Mark it inactive instead (it stays, and generating from it asks first)? Deleting the file keeps its history either way.`
        : `Delete ${name}?`;
    const choice = await choose(message, options);
    if (choice === 'Mark Inactive') {
      // The file says it (`active: false`, as the Templates view's Mark Inactive writes it); the
      // database's flag follows for readers without the file.
      await setTemplateActive(this.templates, uri, false);
      if (template && repo) await repo.setActive(template.id, false);
      return 'inactive';
    }
    if (choice !== 'Delete' && choice !== 'Delete Anyway') return 'cancelled';
    // Keep the last content in the history, then delete through a workspace edit: undoable, and
    // the trash is used where the platform has one.
    const doc = await vscode.workspace.openTextDocument(uri);
    if (template && repo) await repo.recordVersion(template.id, doc.getText());
    const edit = new vscode.WorkspaceEdit();
    edit.deleteFile(uri, { ignoreIfNotExists: true });
    if (!(await vscode.workspace.applyEdit(edit))) throw new Error(`${name} could not be deleted.`);
    if (template && repo) await repo.markDeleted(template.id);
    return 'deleted';
  }

  /**
   * Records the saved content as a version (once per distinct content) in the store the views show:
   * on the team database the member's own template at that path (as `generate --database-url`
   * records one), so the history lists it.
   */
  async recordSaved(doc: vscode.TextDocument): Promise<number | undefined> {
    if (!isTemplate(doc)) return undefined;
    const path = this.db.relativePath(doc.uri);
    const handle = path && (await this.source.write());
    if (!path || !handle) return undefined;
    const parsed = this.templates.get(doc);
    const repo = new WorkspaceTemplateRepository(handle.db);
    const template = await repo.ensure(path, { name: parsed.settings.name, tier: parsed.settings.tier });
    return (await repo.recordVersion(template.id, doc.getText())).id;
  }

  async versions(uri: vscode.Uri): Promise<{ store: StoreKind; templateId: number; versions: VersionSummary[] } | undefined> {
    const path = this.db.relativePath(uri);
    const handle = path && (await this.read());
    if (!path || !handle) return undefined;
    const template = await handle.templates.byPath(path);
    return template && { store: handle.store, templateId: template.id, versions: await handle.templates.versions(template.id) };
  }

  /** The store to read versions from; the workspace's caught up with other processes' writes (`StoreSource.read`). */
  private read(): Promise<StoreHandle | undefined> {
    return this.source.read();
  }

  /**
   * Read-only content of `promptloom-version:/<path>?<id>` (a version in the workspace database)
   * or `promptloom-version://team/<path>?<id>` (in the team database): ids of the two stores are
   * not the same versions, so their documents are not either.
   */
  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const handle = await this.source.read();
    const wanted: StoreKind = uri.authority === TEAM_AUTHORITY ? 'postgresql' : 'workspace';
    if (handle && handle.store !== wanted) return `(This version is in ${wanted === 'postgresql' ? 'the team database' : 'the workspace database'}, which is not the database chosen now.)\n`;
    const version = handle && (await handle.templates.version(Number(uri.query)));
    return version?.content ?? '';
  }

  versionUri(path: string, versionId: number, store: StoreKind = 'workspace'): vscode.Uri {
    return vscode.Uri.from({ scheme: VERSION_SCHEME, ...(store === 'postgresql' ? { authority: TEAM_AUTHORITY } : {}), path: `/${path}`, query: String(versionId) });
  }

  /** Opens the diff editor: version `a` on the left, version `b` (or the file itself) on the right. */
  async compare(uri: vscode.Uri, a: number, b?: number): Promise<void> {
    const path = this.db.relativePath(uri);
    if (!path) throw new Error('This template is not in the workspace folder.');
    const store = await this.source.kind();
    const left = this.versionUri(path, a, store);
    const right = b === undefined ? uri : this.versionUri(path, b, store);
    const name = path.split('/').pop();
    await vscode.commands.executeCommand('vscode.diff', left, right, `${name}: version ${a} ↔ ${b === undefined ? 'current' : `version ${b}`}${store === 'postgresql' ? ' (team database)' : ''}`);
  }

  /** Puts an old version's text into the file (an undoable edit; not saved). */
  async restore(uri: vscode.Uri, versionId: number): Promise<boolean> {
    const handle = await this.read();
    const version = handle && (await handle.templates.version(versionId));
    if (!version) throw new Error(`No version ${versionId} of this template is recorded${handle?.store === 'postgresql' ? ' in the team database' : ''}.`);
    const doc = await vscode.workspace.openTextDocument(uri);
    const edit = new vscode.WorkspaceEdit();
    edit.replace(uri, new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), version.content);
    return vscode.workspace.applyEdit(edit);
  }

  /** The interactive flow behind `Promptloom: Show Template History`. */
  async show(uri: vscode.Uri): Promise<void> {
    const found = await this.versions(uri);
    if (!found || found.versions.length === 0) {
      void vscode.window.showInformationMessage('No versions of this template are recorded yet: Promptloom records one each time you save it with new content.');
      return;
    }
    const doc = await vscode.workspace.openTextDocument(uri);
    const current = found.versions.find((v) => v.contentHash === contentHash(doc.getText()));
    const items = [...found.versions].reverse().map((v) => ({
      label: `Version ${v.id}${v === current ? ' (current)' : ''}`,
      description: new Date(v.createdAt).toLocaleString(),
      detail: `${v.generations} generations · ${v.conversations} conversations · average quality ${v.avgQuality === null ? '—' : v.avgQuality.toFixed(1)}`,
      version: v,
    }));
    const title = found.store === 'postgresql' ? 'Template history (team database)' : 'Template history';
    const picked = await vscode.window.showQuickPick(items, { title, placeHolder: 'Pick a version' });
    if (!picked) return;
    const actions = [
      { label: 'Compare with the current file', run: () => this.compare(uri, picked.version.id) },
      { label: 'Compare with another version…', run: () => this.pickOther(uri, picked.version.id, items) },
      { label: 'Restore this version into the file', run: () => this.restore(uri, picked.version.id) },
    ];
    const action = await vscode.window.showQuickPick(actions, { title: `Version ${picked.version.id}` });
    await action?.run();
  }

  private async pickOther(uri: vscode.Uri, first: number, items: { label: string; description: string; version: VersionSummary }[]): Promise<void> {
    const other = await vscode.window.showQuickPick(
      items.filter((i) => i.version.id !== first),
      { title: `Compare version ${first} with…` },
    );
    if (other) await this.compare(uri, Math.min(first, other.version.id), Math.max(first, other.version.id));
  }
}

function ask(message: string, options: string[]): Thenable<string | undefined> {
  return vscode.window.showWarningMessage(message, { modal: true }, ...options);
}
