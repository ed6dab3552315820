import * as vscode from 'vscode';
import { flagThreshold } from '../../core/quality';
import { templateQuality, type TemplateQuality } from '../../core/analytics';
import { Disposable } from '../disposable';
import { isTemplate, toRange, type TemplateStore } from '../templates';
import type { StoreSource } from '../storeSource';
import type { WorkspaceDb } from '../workspaceDb';

/** PL011 needs this many scored conversations before it judges a template. */
export const PL011_MIN_CONVERSATIONS = 3;
/** …and looks at this many of the newest. */
export const PL011_RECENT = 10;

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
    vscode.workspace.onDidCloseTextDocument((d) => this.diagnostics.delete(d.uri), this, this.subscriptions);
    source.onDidChange(() => this.refreshAll(), this, this.subscriptions);
    this.refreshAll();
  }

  refreshAll(): void {
    this.lensesChanged.fire();
    for (const doc of vscode.workspace.textDocuments) void this.check(doc);
  }

  private async quality(doc: vscode.TextDocument): Promise<TemplateQuality | undefined> {
    const path = isTemplate(doc) ? this.db.relativePath(doc.uri) : undefined;
    const handle = path && (await this.source.read());
    return handle ? templateQuality(handle.db, path, PL011_RECENT) : undefined;
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
