import * as vscode from 'vscode';
import { describeTemplateFilter, templateFigures, templateList, templatePerPath, type TemplateEntry, type TemplateFiguresRow, type TemplateFile, type TemplateFilter, type TemplateSort } from '../core/analytics';
import { parseTemplate } from '../core/template';
import { Disposable } from './disposable';
import type { Log } from './log';
import { concernsTemplate, type StoreHandle, type StoreKind, type StoreSource, type StoreSourceChange } from './storeSource';
import { isTemplate } from './templates';
import type { WorkspaceDb } from './workspaceDb';

export const TEMPLATES_VIEW = 'promptloom.templates';

/** One row as the view shows it: the entry and its item's words (what commands return to scripts and tests). */
export interface TemplateRowShown extends TemplateEntry {
  readonly label: string;
  readonly description: string;
  readonly contextValue: string;
}

/** The view's rows, read afresh, with its description (the sort and the filter). */
export interface TemplatesShown {
  readonly description: string;
  readonly rows: readonly TemplateRowShown[];
}

/** What the view shows: kept per workspace. */
export interface TemplatesViewState {
  readonly sort: TemplateSort;
  readonly filter: TemplateFilter;
}

const STATE_KEY = 'promptloom.templates.view';
const REFRESH_DELAY_MS = 200;
const GLOB = '**/*.prompt';
const EXCLUDE = '{**/node_modules/**,**/.git/**,**/.promptloom/**}';

/** As the CLI reads templates: a bigger file is not a template anyone wrote. */
const MAX_TEMPLATE_BYTES = 16 * 1024 * 1024;

const SORT_WORDS: Readonly<Record<TemplateSort, string>> = { name: 'by name', usage: 'by usage', rating: 'by rating', modified: 'by last modified' };

/**
 * The Templates view: every `.prompt` file of the workspace (found once, then kept current by a
 * file watcher and by the editor's unsaved changes), with tier, active or inactive, runs, average
 * quality and approval rate from the store the views show (`StoreSource`: the workspace database,
 * or the team's, whose runs are everyone's, from `template_analytics`, and whose figures for a
 * path are the reader's own template's where two members have one there); sorted and filtered as chosen. Its elements are
 * the templates' URIs, so the existing template commands (preview, test, generate, history) take
 * them as they are. In an untrusted workspace the files are listed without figures: the database
 * there came with the files and is not opened.
 */
export class TemplatesView extends Disposable implements vscode.TreeDataProvider<vscode.Uri> {
  private readonly changed = this.register(new vscode.EventEmitter<void>());
  readonly onDidChangeTreeData = this.changed.event;
  private readonly filesChanged = this.register(new vscode.EventEmitter<void>());
  /** Fires when a template file was added, changed or removed (the dashboard lists them too). */
  readonly onDidChangeFiles = this.filesChanged.event;
  readonly view: vscode.TreeView<vscode.Uri>;
  private state: TemplatesViewState;
  /** Every template file known, by URI. */
  private readonly files = new Map<string, { uri: vscode.Uri; file: TemplateFile }>();
  private scanning: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** What the view last showed, by URI (for its items), and in order (for tests). */
  private entries = new Map<string, TemplateEntry>();
  shown: TemplateEntry[] = [];
  /** The store the figures last came from (the view's description names the team database). */
  private figuresFrom: StoreKind | undefined;
  /**
   * On the team database, the figures last read (the row each path shows, and every template the
   * reader sees), and the templates teammates' changes named since: the next listing re-reads
   * those alone (none: no read at all, as for a keystroke in a template).
   */
  private teamFigures: { byPath: Map<string, TemplateFiguresRow>; visible: Set<number>; stale: Set<number> } | undefined;
  /** What the last listings read of the figures, newest last: every template's, these templates', or none (tests)… */
  readonly figuresReads: ('all' | 'none' | readonly number[])[] = [];
  /** …and how many listings read them in all (the list keeps the last 50). */
  figuresReadCount = 0;

  constructor(
    private readonly db: WorkspaceDb,
    private readonly source: StoreSource,
    private readonly memento: vscode.Memento,
    private readonly log: Log,
  ) {
    super();
    const saved = memento.get<TemplatesViewState>(STATE_KEY);
    this.state = { sort: saved?.sort ?? 'name', filter: saved?.filter ?? {} };
    this.view = this.register(vscode.window.createTreeView(TEMPLATES_VIEW, { treeDataProvider: this, showCollapseAll: false }));
    this.describe();
    const watcher = this.register(vscode.workspace.createFileSystemWatcher(GLOB));
    watcher.onDidCreate((uri) => void this.reread(uri), this, this.subscriptions);
    watcher.onDidChange((uri) => void this.reread(uri), this, this.subscriptions);
    watcher.onDidDelete((uri) => this.forget(uri), this, this.subscriptions);
    // Unsaved edits (a mark written into a file its author is editing) show at once.
    vscode.workspace.onDidChangeTextDocument((e) => isTemplate(e.document) && e.contentChanges.length > 0 && void this.reread(e.document.uri), this, this.subscriptions);
    vscode.workspace.onDidCloseTextDocument((doc) => isTemplate(doc) && void this.reread(doc.uri), this, this.subscriptions);
    vscode.workspace.onDidChangeWorkspaceFolders(() => this.rescan(), this, this.subscriptions);
    // Generations and reviews land (here, or a teammate's on the team database), or another store
    // is chosen: the figures change.
    source.onDidChange((change) => this.storeChanged(change), this, this.subscriptions);
    vscode.workspace.onDidGrantWorkspaceTrust(() => this.refresh(), this, this.subscriptions);
    this.register({ dispose: () => clearTimeout(this.timer) });
  }

  /** Shows again soon; bursts (a batch's writes, a branch switch) cost one read. */
  refresh(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.changed.fire(), REFRESH_DELAY_MS);
  }

  current(): TemplatesViewState {
    return this.state;
  }

  async setState(state: TemplatesViewState): Promise<void> {
    this.state = state;
    await this.memento.update(STATE_KEY, state);
    this.describe();
    this.changed.fire();
  }

  /** Every template file of the workspace, whatever the filter (the dashboard lists them too). */
  async templateFiles(): Promise<TemplateFile[]> {
    await (this.scanning ??= this.scan());
    return [...this.files.values()].map((f) => f.file);
  }

  /** The entries the view shows now, read afresh. */
  async listing(): Promise<TemplateEntry[]> {
    const files = await this.templateFiles();
    const handle = vscode.workspace.isTrusted ? await this.source.read() : undefined;
    // Trusted without a workspace database: nothing was ever generated, so every template has no
    // runs. A team database that cannot be read gives no figures (never the workspace's instead).
    const rows = !vscode.workspace.isTrusted ? undefined : handle ? await this.figures(handle) : this.source.problem === undefined ? [] : undefined;
    const from = handle?.store;
    if (from !== this.figuresFrom) {
      this.figuresFrom = from;
      this.describe();
    }
    this.shown = templateList(files, rows, this.state.sort, this.state.filter);
    const uris = new Map([...this.files.values()].map((f) => [f.file.path, f.uri.toString()]));
    this.entries = new Map(this.shown.map((e) => [uris.get(e.path)!, e]));
    return this.shown;
  }

  /**
   * A teammate's change names the templates whose figures moved: those shown are re-read at the
   * next listing (`concernsTemplate`, the lenses' rule), one the reader sees but the view does not
   * show (a teammate's at a path where the reader has their own) is nothing to re-read, and an
   * unknown one (a new template at some path) or any other change means reading all again.
   */
  private storeChanged(change: StoreSourceChange): void {
    const kept = this.teamFigures;
    const named = change.team && !change.team.everything ? change.team.templateIds : undefined;
    if (!kept || !named || [...named].some((id) => !kept.visible.has(id))) this.teamFigures = undefined;
    else for (const row of kept.byPath.values()) if (concernsTemplate(change, row)) kept.stale.add(row.id);
    this.refresh();
  }

  /** The figures by path: on the team database from what was read, re-reading what changed. */
  private async figures(handle: StoreHandle): Promise<TemplateFiguresRow[]> {
    if (handle.store !== 'postgresql') {
      this.teamFigures = undefined;
      this.readFigures('all');
      return byPath(await templateFigures(handle.db), await templatePerPath(handle.db));
    }
    const kept = this.teamFigures;
    if (kept) {
      const stale = [...kept.stale];
      kept.stale.clear();
      this.readFigures(stale.length ? stale : 'none');
      let reread: TemplateFiguresRow[];
      try {
        reread = stale.length ? await templateFigures(handle.db, stale) : [];
      } catch (error) {
        if (this.teamFigures === kept) this.teamFigures = undefined;
        throw error;
      }
      // One the reader no longer sees (a teammate's turned inactive or deleted): which template
      // that path shows now is for a full read to say.
      if (reread.length < stale.length) {
        if (this.teamFigures === kept) this.teamFigures = undefined;
        return this.figures(handle);
      }
      for (const row of reread) if (kept.byPath.get(row.file)?.id === row.id) kept.byPath.set(row.file, row);
      return [...kept.byPath.values()];
    }
    const all = await templateFigures(handle.db);
    const shown = byPath(all, await templatePerPath(handle.db));
    this.teamFigures = { byPath: new Map(shown.map((r) => [r.file, r])), visible: new Set(all.map((r) => r.id)), stale: new Set() };
    this.readFigures('all');
    return shown;
  }

  private readFigures(what: TemplatesView['figuresReads'][number]): void {
    this.figuresReads.push(what);
    this.figuresReadCount++;
    if (this.figuresReads.length > 50) this.figuresReads.shift();
  }

  async shownRows(): Promise<TemplatesShown> {
    const uris = await this.getChildren();
    const rows = uris.map((uri) => {
      const item = this.getTreeItem(uri);
      return { ...this.entries.get(uri.toString())!, label: String(item.label), description: String(item.description ?? ''), contextValue: item.contextValue ?? '' };
    });
    return { description: this.view.description ?? '', rows };
  }

  async getChildren(element?: vscode.Uri): Promise<vscode.Uri[]> {
    if (element) return [];
    const entries = await this.listing();
    const uris = new Map([...this.files.values()].map((f) => [f.file.path, f.uri]));
    return entries.map((e) => uris.get(e.path)!);
  }

  getTreeItem(uri: vscode.Uri): vscode.TreeItem {
    const e = this.entries.get(uri.toString()) ?? this.files.get(uri.toString())?.file;
    const item = new vscode.TreeItem(e?.name ?? uri.path.split('/').pop() ?? 'template');
    item.id = uri.toString();
    item.resourceUri = uri;
    if (!e) return item;
    const figures = 'figures' in e ? (e as TemplateEntry).figures : undefined;
    const words = figuresWords(figures);
    item.description = [e.active ? undefined : 'inactive', e.tier, ...words].filter((p) => p !== undefined).join(' · ');
    item.iconPath = e.active ? new vscode.ThemeIcon('file-code') : new vscode.ThemeIcon('circle-slash', new vscode.ThemeColor('disabledForeground'));
    item.contextValue = e.active ? 'template.active' : 'template.inactive';
    item.command = { title: 'Open Template', command: 'promptloom.openTemplate', arguments: [uri] };
    const tooltip = new vscode.MarkdownString(undefined, false);
    tooltip.appendMarkdown(`**${escapeMarkdown(e.name)}** · ${escapeMarkdown(e.tier)} · ${e.active ? 'active' : 'inactive'}\n\n`);
    tooltip.appendText(`${e.path}\n`);
    tooltip.appendText(vscode.workspace.isTrusted ? `${words.join(' · ')}\n` : 'Figures appear once the workspace is trusted.\n');
    tooltip.appendText(`Modified ${new Date(e.modifiedAt).toLocaleString()}`);
    item.tooltip = tooltip;
    item.accessibilityInformation = { label: `${e.name}, ${e.tier}, ${e.active ? 'active' : 'inactive'}${words.length ? `, ${words.join(', ')}` : ''}`, role: 'treeitem' };
    return item;
  }

  /** Asks for the tier, then active or not, one step at a time. */
  async chooseFilter(): Promise<void> {
    const tiers = [...new Set((await this.templateFiles()).map((f) => f.tier))].sort();
    type Pick<T> = vscode.QuickPickItem & { value: T };
    const { filter } = this.state;
    const current = (yes: boolean): { description?: string } => (yes ? { description: 'current' } : {});
    const tier = await vscode.window.showQuickPick<Pick<string | undefined>>(
      [{ label: 'Any tier', value: undefined, ...current(filter.tier === undefined) }, ...tiers.map((t) => ({ label: t, value: t, ...current(filter.tier === t) }))],
      { title: 'Filter templates (1/2): tier' },
    );
    if (!tier) return;
    const active = await vscode.window.showQuickPick<Pick<boolean | undefined>>(
      [
        { label: 'Active and inactive', value: undefined, ...current(filter.active === undefined) },
        { label: 'Active only', value: true, ...current(filter.active === true) },
        { label: 'Inactive only', value: false, ...current(filter.active === false) },
      ],
      { title: 'Filter templates (2/2): active' },
    );
    if (!active) return;
    await this.setState({ ...this.state, filter: { ...(tier.value !== undefined ? { tier: tier.value } : {}), ...(active.value !== undefined ? { active: active.value } : {}) } });
  }

  private describe(): void {
    const filter = describeTemplateFilter(this.state.filter);
    this.view.description = [this.figuresFrom === 'postgresql' ? 'team database' : undefined, filter ? `filtered: ${filter}` : undefined, SORT_WORDS[this.state.sort]].filter((p) => p !== undefined).join(' · ');
    void vscode.commands.executeCommand('setContext', 'promptloom.templatesFiltered', filter !== '');
    void vscode.commands.executeCommand('setContext', 'promptloom.templatesSort', this.state.sort);
  }

  /** Finds the files again (Refresh: a watcher can miss files its excludes hide). */
  rescan(): void {
    this.files.clear();
    // Refresh asks for everything afresh, figures too.
    this.teamFigures = undefined;
    this.scanning = undefined;
    this.refresh();
  }

  private async scan(): Promise<void> {
    const uris = await vscode.workspace.findFiles(GLOB, EXCLUDE);
    await Promise.all(uris.map((uri) => this.read(uri)));
  }

  private async reread(uri: vscode.Uri): Promise<void> {
    if (!uri.path.endsWith('.prompt') || /\/(node_modules|\.git|\.promptloom)\//.test(uri.path)) return;
    if (uri.scheme !== 'file' && uri.scheme !== 'vscode-remote') return;
    const before = this.files.get(uri.toString())?.file;
    await this.read(uri);
    this.refresh();
    // Listeners care about what a template is (a new one, its name, tier, state), not each keystroke.
    const after = this.files.get(uri.toString())?.file;
    if (before?.name !== after?.name || before?.tier !== after?.tier || before?.active !== after?.active) this.filesChanged.fire();
  }

  private forget(uri: vscode.Uri): void {
    if (!this.files.delete(uri.toString())) return;
    this.refresh();
    this.filesChanged.fire();
  }

  /**
   * Reads one template: the open document's text when it is open (unsaved edits included), the
   * file's otherwise. Only the front matter's name, tier and `active:` are kept.
   */
  private async read(uri: vscode.Uri): Promise<void> {
    try {
      const stat = await vscode.workspace.fs.stat(uri);
      // Files of a cloned repository are data: a `.prompt` that is a FIFO, a device or a link to
      // one (reading would never end) or a huge file is not read, and not listed.
      if (!(stat.type & vscode.FileType.File) || stat.size > MAX_TEMPLATE_BYTES) {
        this.files.delete(uri.toString());
        this.log.info(`templates view: ${uri.path} is not a regular file of at most ${MAX_TEMPLATE_BYTES / 1024 / 1024} MB; not listed`);
        return;
      }
      const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
      const text = open ? open.getText() : new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
      const parsed = parseTemplate(text, { fileName: uri.path });
      // The database's key for files of its folder; other folders' files (multi-root) are named
      // with their folder, so they neither collide with nor borrow the database's figures.
      const path = this.db.relativePath(uri) ?? vscode.workspace.asRelativePath(uri, true);
      this.files.set(uri.toString(), { uri, file: { path, name: parsed.settings.name, tier: parsed.settings.tier, active: parsed.settings.active, modifiedAt: stat.mtime } });
    } catch (error) {
      // Deleted between the event and the read, or unreadable: not a template to list.
      if (this.files.delete(uri.toString())) this.log.info(`templates view: ${uri.path} is no longer readable (${error instanceof Error ? error.message : String(error)})`);
    }
  }
}

/** Each path's row: the template it names for the reader. */
function byPath(rows: readonly TemplateFiguresRow[], chosen: ReadonlyMap<string, number>): TemplateFiguresRow[] {
  return rows.filter((r) => chosen.get(r.file) === r.id);
}

/** "12 runs", "quality 7.4", "50% approved"; "no runs" for a template never generated; nothing without the database. */
function figuresWords(figures: TemplateEntry['figures']): string[] {
  if (!figures) return [];
  if (figures.runs === 0 && figures.conversations === 0) return ['no runs'];
  return [
    `${figures.runs} ${figures.runs === 1 ? 'run' : 'runs'}`,
    `quality ${figures.avgQuality === null ? '—' : figures.avgQuality.toFixed(1)}`,
    `${figures.approvalRate === null ? '—' : `${Math.round(figures.approvalRate * 100)}%`} approved`,
  ];
}

function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}
