import * as vscode from 'vscode';
import { TemplateRepository, contentHash, type Store, type VersionSummary } from '../core/store';
import { Disposable } from './disposable';
import { isTemplate, type TemplateStore } from './templates';
import type { WorkspaceDb } from './workspaceDb';

export const VERSION_SCHEME = 'promptloom-version';

/**
 * Template history: records a version whenever a template is saved with new content, shows
 * versions (time, usage, average quality), compares any two in VS Code's diff editor over
 * read-only virtual documents, and restores an old version into the file.
 */
export class TemplateHistory extends Disposable implements vscode.TextDocumentContentProvider {
  constructor(
    private readonly db: WorkspaceDb,
    private readonly templates: TemplateStore,
  ) {
    super();
    this.register(vscode.workspace.registerTextDocumentContentProvider(VERSION_SCHEME, this));
    vscode.workspace.onDidSaveTextDocument((doc) => void this.recordSaved(doc), this, this.subscriptions);
  }

  /** Records the saved content as a version (once per distinct content). */
  async recordSaved(doc: vscode.TextDocument): Promise<number | undefined> {
    if (!isTemplate(doc)) return undefined;
    const path = this.db.relativePath(doc.uri);
    const store = path && (await this.db.get());
    if (!path || !store) return undefined;
    const parsed = this.templates.get(doc);
    const repo = new TemplateRepository(store);
    const template = repo.ensure(path, { name: parsed.settings.name, tier: parsed.settings.tier });
    return repo.recordVersion(template.id, doc.getText()).id;
  }

  async versions(uri: vscode.Uri): Promise<{ store: Store; templateId: number; versions: VersionSummary[] } | undefined> {
    const path = this.db.relativePath(uri);
    const store = path && (await this.db.get());
    if (!path || !store) return undefined;
    store.refresh();
    const template = new TemplateRepository(store).byPath(path);
    return template && { store, templateId: template.id, versions: new TemplateRepository(store).versions(template.id) };
  }

  /** Read-only content of `promptloom-version:/<path>?<id>`. */
  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const store = await this.db.get();
    const version = store && new TemplateRepository(store).version(Number(uri.query));
    return version?.content ?? '';
  }

  versionUri(path: string, versionId: number): vscode.Uri {
    return vscode.Uri.from({ scheme: VERSION_SCHEME, path: `/${path}`, query: String(versionId) });
  }

  /** Opens the diff editor: version `a` on the left, version `b` (or the file itself) on the right. */
  async compare(uri: vscode.Uri, a: number, b?: number): Promise<void> {
    const path = this.db.relativePath(uri);
    if (!path) throw new Error('This template is not in the workspace folder.');
    const left = this.versionUri(path, a);
    const right = b === undefined ? uri : this.versionUri(path, b);
    const name = path.split('/').pop();
    await vscode.commands.executeCommand('vscode.diff', left, right, `${name}: version ${a} ↔ ${b === undefined ? 'current' : `version ${b}`}`);
  }

  /** Puts an old version's text into the file (an undoable edit; not saved). */
  async restore(uri: vscode.Uri, versionId: number): Promise<boolean> {
    const store = await this.db.get();
    const version = store && new TemplateRepository(store).version(versionId);
    if (!version) throw new Error(`No version ${versionId} of this template is recorded.`);
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
    const picked = await vscode.window.showQuickPick(items, { title: 'Template history', placeHolder: 'Pick a version' });
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
