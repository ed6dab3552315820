import * as vscode from 'vscode';
import { flagThreshold } from '../../core/quality';
import { templateQualityOf, type TemplateQuality, type TemplateRead } from '../../core/analytics';
import { Disposable } from '../disposable';
import { isTemplate, toRange, type TemplateStore } from '../templates';
import { concernsTemplate, type StoreKind, type StoreSource, type StoreSourceChange } from '../storeSource';
import type { WorkspaceDb } from '../workspaceDb';

/** PL011 needs this many scored conversations before it judges a template. */
export const PL011_MIN_CONVERSATIONS = 3;
/** …and looks at this many of the newest. */
export const PL011_RECENT = 10;

/** One path's figures read from the store: under way, then (on the team database) kept. */
interface KeptRead {
  readonly reading: Promise<{ template?: TemplateRead; quality: TemplateQuality; store: StoreKind } | undefined>;
  done?: { template?: TemplateRead; quality: TemplateQuality; store: StoreKind };
}

/**
 * How a template's conversations are doing, shown where the template is edited: a CodeLens over
 * the front matter (runs, average quality, approval rate) and PL011 when its recent
 * conversations average below its threshold. Both follow the database as it changes.
 */
export class TemplateQualityFeatures extends Disposable implements vscode.CodeLensProvider {
  private readonly lensesChanged = this.register(new vscode.EventEmitter<void>());
  readonly onDidChangeCodeLenses = this.lensesChanged.event;
  private readonly diagnostics = this.register(vscode.languages.createDiagnosticCollection('promptloom-template-quality'));
  private readonly formatDoc: vscode.Uri;
  /**
   * On the team database, what each template's lens and PL011 last read, by path: a teammate's
   * change re-reads only the templates it names (`concernsTemplate`), not every open template's.
   * The workspace database is read afresh each time, as before (a local file; its changes name no
   * template).
   */
  private readonly teamReads = new Map<string, KeptRead>();
  /** How many times each path's figures were read from the store (tests: what a change re-read). */
  readonly reads = new Map<string, number>();

  constructor(
    extensionUri: vscode.Uri,
    private readonly db: WorkspaceDb,
    private readonly source: StoreSource,
    private readonly templates: TemplateStore,
  ) {
    super();
    this.formatDoc = vscode.Uri.joinPath(extensionUri, 'docs', 'prompt-format.md');
    this.register(vscode.languages.registerCodeLensProvider({ language: 'promptloom', scheme: 'file' }, this));
    vscode.workspace.onDidOpenTextDocument((d) => void this.check(d), this, this.subscriptions);
    vscode.workspace.onDidSaveTextDocument((d) => void this.check(d), this, this.subscriptions);
    vscode.workspace.onDidCloseTextDocument((d) => this.forget(d), this, this.subscriptions);
    source.onDidChange((change) => this.changed(change), this, this.subscriptions);
    this.refreshAll();
  }

  private forget(doc: vscode.TextDocument): void {
    this.diagnostics.delete(doc.uri);
    const path = isTemplate(doc) ? this.db.relativePath(doc.uri) : undefined;
    if (path) this.teamReads.delete(path);
  }

  refreshAll(): void {
    this.lensesChanged.fire();
    for (const doc of vscode.workspace.textDocuments) void this.check(doc);
  }

  /** The store changed: forget what it may concern, then show again (the rest from what was read). */
  private changed(change: StoreSourceChange): void {
    for (const [path, kept] of [...this.teamReads]) {
      // A read under way may predate the change: forgotten too.
      if (!kept.done || change.store !== 'postgresql' || concernsTemplate(change, kept.done.template)) this.teamReads.delete(path);
    }
    this.refreshAll();
  }

  /**
   * The figures for a template document. Synchronous up to the read, so the reads a change
   * causes are all counted by the time any of them is.
   */
  private quality(doc: vscode.TextDocument): Promise<TemplateQuality | undefined> {
    const path = isTemplate(doc) ? this.db.relativePath(doc.uri) : undefined;
    if (!path) return Promise.resolve(undefined);
    const kept = this.teamReads.get(path);
    if (kept) return kept.reading.then((r) => r?.quality);
    this.reads.set(path, (this.reads.get(path) ?? 0) + 1);
    const reading = this.source.read().then(async (handle) => (handle ? { ...(await templateQualityOf(handle.db, path, PL011_RECENT)), store: handle.store } : undefined));
    // Callers meanwhile share this read; once done it is kept on the team database only, and not
    // after a failure (tried again next time).
    const entry: KeptRead = { reading };
    this.teamReads.set(path, entry);
    const forget = (): void => void (this.teamReads.get(path) === entry && this.teamReads.delete(path));
    reading.then((r) => (r?.store === 'postgresql' ? (entry.done = r) : forget()), forget);
    return reading.then((r) => r?.quality);
  }

  async provideCodeLenses(doc: vscode.TextDocument): Promise<vscode.CodeLens[]> {
    const q = await this.quality(doc);
    if (!q || q.runs === 0) return [];
    const parts = [
      `${q.runs} ${q.runs === 1 ? 'run' : 'runs'}`,
      q.average !== null ? `quality ${q.average.toFixed(1)}${q.recentAverage !== null && q.recentCount < q.conversations ? ` (last ${q.recentCount}: ${q.recentAverage.toFixed(1)})` : ''}` : 'not scored',
      q.approvalRate !== null ? `${Math.round(q.approvalRate * 100)}% approved of ${q.reviewed} reviewed` : 'none reviewed',
    ];
    return [
      new vscode.CodeLens(new vscode.Range(0, 0, 0, 0), {
        title: `$(graph) ${parts.join(' · ')}`,
        tooltip: 'Show this template’s conversations',
        command: 'promptloom.showTemplateConversations',
        arguments: [doc.uri],
      }),
    ];
  }

  /** PL011 on the template when its recent conversations average below its threshold. */
  private async check(doc: vscode.TextDocument): Promise<void> {
    if (!isTemplate(doc) || doc.uri.scheme !== 'file') return;
    const q = await this.quality(doc);
    if (doc.isClosed) return;
    const template = this.templates.get(doc);
    const threshold = flagThreshold(template.settings.qualityThreshold);
    if (!q || q.recentAverage === null || q.recentCount < PL011_MIN_CONVERSATIONS || q.recentAverage >= threshold) {
      this.diagnostics.delete(doc.uri);
      return;
    }
    const key = template.frontMatter?.keys.find((k) => k.path.length === 1 && k.path[0] === 'quality_threshold');
    const range = key ? toRange(template, { start: key.keySpan.start, end: key.valueSpan?.end ?? key.keySpan.end }) : doc.lineAt(0).range;
    const declared = template.settings.qualityThreshold !== undefined;
    const d = new vscode.Diagnostic(
      range,
      `The last ${q.recentCount} conversations average ${q.recentAverage.toFixed(1)}, below ${declared ? 'this template’s quality_threshold' : 'the flagging threshold'} of ${threshold.toFixed(1)}. ` +
        'Open the Conversations view to see what their recommendations have in common.',
      vscode.DiagnosticSeverity.Warning,
    );
    d.source = 'promptloom';
    d.code = { value: 'PL011', target: this.formatDoc.with({ fragment: 'pl011' }) };
    this.diagnostics.set(doc.uri, [d]);
  }
}
