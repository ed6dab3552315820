import * as vscode from 'vscode';
import { computeStats, flagThresholdOf, type TemplateFile, qualityThresholdEdit, qualityThresholdValue, reviewAgreementByTemplate, statsCsv, versionRows } from '../../core/analytics';
import { coverage, fillPlan, gaps } from '../../core/analytics/coverage';
import type { GenerationService } from '../generation';
import {
  DASHBOARD_VIEW_TYPE,
  type CompareRequest,
  type DashboardHostMessage,
  type DashboardState,
  type DashboardWebviewMessage,
  compareRequest,
  dashboardWebviewMessage,
} from '../../shared/dashboardProtocol';
import { validate } from '../../shared/schema';
import { Disposable } from '../disposable';
import { receiveMessages, type Deliver, type MessageLog } from '../webviewMessages';
import { pageReloader, webviewOptions, webviewPage } from '../webviewPage';
import type { Database } from '../../core/store/database';
import type { StoreSource } from '../storeSource';
import type { WorkspaceDb } from '../workspaceDb';
import { comparison, comparisonAxis, dashboardData } from './dashboardData';

export interface DashboardDeps {
  readonly extensionUri: vscode.Uri;
  /** The workspace folder, where the template files are. */
  readonly db: WorkspaceDb;
  /** The store the figures are read from: the workspace database or the team's. */
  readonly source: StoreSource;
  readonly log: MessageLog;
  /** Runs a batch (Fill gaps): with `confirm`, only after the person agrees to its value sets and cost. */
  readonly generation: Pick<GenerationService, 'run'>;
  /** The workspace's template files (the Templates view's), so never-generated ones are listed too. */
  readonly templateFiles?: () => Promise<TemplateFile[]>;
  /** Fires when those files change. */
  readonly onDidChangeTemplateFiles?: vscode.Event<void>;
}

/** A template's fill plan: its file and the value sets its coverage gaps lack. */
export interface FillRequest {
  readonly template: number;
  readonly file: string;
  readonly count: number;
  readonly cells: readonly { readonly values: Readonly<Record<string, unknown>>; readonly count: number }[];
}

/** New generations arrive in bursts during a batch: recompute at most this often. */
const REFRESH_DELAY_MS = 1_000;

/**
 * The analytics dashboard: every template's figures in a sortable table, quality and volume
 * over time (uPlot), two templates or versions side by side, the best per tier, and CSV export.
 * One panel; it follows the database as generations and reviews land.
 */
export class DashboardPanel extends Disposable {
  private static current: DashboardPanel | undefined;
  private ready = false;
  private timer: NodeJS.Timeout | undefined;
  private compareRequest: CompareRequest | undefined;
  /** The last data sent, for tests. */
  lastData: Extract<DashboardHostMessage, { type: 'data' }>['data'] | undefined;
  lastComparison: Extract<DashboardHostMessage, { type: 'comparison' }> | undefined;
  /** The handle the last figures were read through (on the workspace database, its read replica), for tests. */
  lastDb: Database | undefined;
  /** The last fill plan handed to Generate Batch, for tests. */
  lastFill: FillRequest | undefined;
  /** Receives a message as if the webview posted it: checked, then handled (tests use it). */
  readonly deliver: Deliver;

  static show(deps: DashboardDeps): DashboardPanel {
    if (DashboardPanel.current) {
      DashboardPanel.current.panel.reveal();
      return DashboardPanel.current;
    }
    const panel = vscode.window.createWebviewPanel(DASHBOARD_VIEW_TYPE, 'Promptloom Analytics', vscode.ViewColumn.Active, webviewOptions(deps.extensionUri));
    return new DashboardPanel(deps, panel, undefined);
  }

  static revive(deps: DashboardDeps, panel: vscode.WebviewPanel, state: DashboardState | undefined): void {
    panel.webview.options = webviewOptions(deps.extensionUri);
    new DashboardPanel(deps, panel, state);
  }

  static disposeAll(): void {
    DashboardPanel.current?.panel.dispose();
  }

  private constructor(
    private readonly deps: DashboardDeps,
    readonly panel: vscode.WebviewPanel,
    state: DashboardState | undefined,
  ) {
    super();
    DashboardPanel.current = this;
    // Saved by the page, so checked like its messages.
    this.compareRequest = state?.compare && validate(compareRequest, state.compare).ok ? state.compare : undefined;
    const page = () => webviewPage(panel.webview, deps.extensionUri, { name: 'dashboard', title: 'Promptloom analytics', loading: 'Computing the figures…', styles: ['dist/dashboard.css'], live: false });
    panel.webview.html = page();
    panel.iconPath = vscode.Uri.joinPath(deps.extensionUri, 'media', 'quality.svg');
    panel.onDidDispose(() => this.dispose(), this, this.subscriptions);
    this.deliver = receiveMessages(panel.webview, { panel: 'Analytics dashboard', schema: dashboardWebviewMessage, log: deps.log, window: vscode.window, handle: (m) => this.receive(m), reload: pageReloader(panel.webview, page) }, this.subscriptions);
    deps.source.onDidChange(() => this.schedule(), this, this.subscriptions);
    deps.onDidChangeTemplateFiles?.(() => this.schedule(), this, this.subscriptions);
    // A hidden panel is not recomputed; it catches up when shown again.
    panel.onDidChangeViewState(() => panel.visible && this.stale && this.schedule(), this, this.subscriptions);
    this.register({ dispose: () => clearTimeout(this.timer) });
    this.register({ dispose: () => DashboardPanel.current === this && (DashboardPanel.current = undefined) });
  }

  /** Recomputes and sends everything now. */
  async refresh(): Promise<void> {
    const handle = await this.deps.source.read();
    if (this.isDisposed) return;
    if (!handle) return this.post({ type: 'empty', reason: this.deps.source.problem ?? 'No generations yet: the figures appear once a template has been run.' });
    const data = await dashboardData(handle.db, (await this.deps.templateFiles?.()) ?? []);
    this.lastData = data;
    this.lastDb = handle.db;
    this.post({ type: 'data', data });
    if (this.compareRequest) await this.compare(this.compareRequest, data);
  }

  private stale = false;

  private schedule(): void {
    if (!this.panel.visible) {
      this.stale = true;
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.stale = false;
      void this.refresh();
    }, REFRESH_DELAY_MS);
  }

  private post(message: DashboardHostMessage): void {
    if (this.ready) void this.panel.webview.postMessage(message);
  }

  /** Shows two templates or versions side by side (what the page's Compare button asks for). */
  async compare(request: CompareRequest, data = this.lastData): Promise<void> {
    const store = (await this.deps.source.read())?.db;
    const sides = store && (await comparison(store, request, data?.templates));
    if (!sides) return;
    this.compareRequest = request;
    this.lastComparison = { type: 'comparison', request, sides, axis: await comparisonAxis(store, sides) };
    this.post(this.lastComparison);
  }

  private async receive(message: DashboardWebviewMessage): Promise<void> {
    switch (message.type) {
      case 'ready':
        this.ready = true;
        await this.refresh();
        break;
      case 'versions': {
        const store = (await this.deps.source.read())?.db;
        const versions = store ? (await versionRows(store, message.template)).map((v) => ({ id: v.id, number: v.number, createdAt: v.createdAt })) : [];
        this.post({ type: 'versions', template: message.template, versions });
        break;
      }
      case 'compare':
        await this.compare(message.request);
        break;
      case 'exportCsv':
        await this.exportCsv();
        break;
      case 'fillGaps':
        await this.fillGaps(message.template);
        break;
      case 'useSuggestedThreshold':
        await this.useSuggestedThreshold(message.file);
        break;
      case 'open':
      case 'conversations': {
        const folder = this.deps.db.folder;
        if (!folder) return;
        const uri = vscode.Uri.joinPath(folder.uri, message.file);
        if (message.type === 'open') await vscode.window.showTextDocument(uri, { viewColumn: vscode.ViewColumn.Beside });
        else await vscode.commands.executeCommand('promptloom.showTemplateConversations', uri);
        break;
      }
    }
  }

  /**
   * What Fill gaps would generate for a template: each combination under the target, with the
   * full values of the newest plan that has it and the approved conversations it lacks.
   * Undefined for a template the database does not know.
   */
  async fillRequest(templateId: number): Promise<FillRequest | undefined> {
    const handle = await this.deps.source.read();
    const template = handle && (await handle.templates.list()).find((t) => t.id === templateId);
    if (!handle || !template) return undefined;
    const found = gaps(await coverage(handle.db, templateId));
    return { template: templateId, file: template.path, count: found.lacking, cells: fillPlan(found) };
  }

  /**
   * Fill gaps: Generate Batch with the fill plan as explicit value sets, through its confirmation
   * (the value sets and the estimated cost) before anything is spent.
   */
  async fillGaps(templateId: number): Promise<void> {
    const request = await this.fillRequest(templateId);
    const folder = this.deps.db.folder;
    if (!request || !folder) throw new Error(`that template is not in ${this.deps.source.label}`);
    if (request.cells.length === 0) {
      void vscode.window.showInformationMessage(`Promptloom: every value set of ${request.file} has its approved conversations: no gaps to fill.`);
      return;
    }
    this.lastFill = request;
    await this.deps.generation.run(vscode.Uri.joinPath(folder.uri, request.file), { count: request.count, plan: { cells: request.cells }, confirm: true });
  }

  /**
   * Use suggested threshold: sets the template's `quality_threshold` to the threshold that agrees
   * best with its reviews (computed here again, never taken from the page), as one undoable edit
   * of its document that changes nothing else. The document is saved unless it already had
   * unsaved changes. Returns the value written, or undefined when there was nothing to write.
   */
  async useSuggestedThreshold(file: string): Promise<string | undefined> {
    const handle = await this.deps.source.read();
    const folder = this.deps.db.folder;
    // On the team database, a path may be two members' templates: the reader's own comes first.
    const template = handle && (await handle.templates.byPath(file));
    if (!handle || !folder || !template) throw new Error(`that template is not in ${this.deps.source.label}`);
    const agreement = (await reviewAgreementByTemplate(handle.db)).get(template.id);
    if (!agreement) throw new Error(`${file} has fewer than 20 reviewed conversations: there is no suggested threshold yet`);
    const uri = vscode.Uri.joinPath(folder.uri, file);
    const document = await vscode.workspace.openTextDocument(uri);
    const text = document.getText();
    if (flagThresholdOf(text) === flagThresholdOf(text, agreement.suggestedThreshold)) {
      void vscode.window.showInformationMessage(`Promptloom: ${file} already flags at the suggested threshold.`);
      return undefined;
    }
    const change = qualityThresholdEdit(text, agreement.suggestedThreshold);
    if (!change) throw new Error(`${file}: its front matter is never closed; close it with a line \`---\` first`);
    const wasDirty = document.isDirty;
    const edit = new vscode.WorkspaceEdit();
    edit.replace(uri, new vscode.Range(document.positionAt(change.start), document.positionAt(change.end)), change.text);
    if (!(await vscode.workspace.applyEdit(edit))) throw new Error(`${file} could not be edited`);
    if (!wasDirty) await document.save();
    // Shown, so the change can be seen and undone.
    await vscode.window.showTextDocument(document, { viewColumn: vscode.ViewColumn.Beside, preview: false });
    const value = qualityThresholdValue(agreement.suggestedThreshold);
    void vscode.window.showInformationMessage(`Promptloom: ${file} now has quality_threshold: ${value} (flags below ${Math.max(6, agreement.suggestedThreshold).toFixed(1)}).`);
    return value;
  }

  /** The `promptloom stats --format csv` table, saved where the user says. */
  async exportCsv(target?: vscode.Uri): Promise<vscode.Uri | undefined> {
    const store = (await this.deps.source.read())?.db;
    if (!store) return undefined;
    const folder = this.deps.db.folder;
    const uri =
      target ??
      (await vscode.window.showSaveDialog({
        title: 'Export template analytics as CSV',
        filters: { CSV: ['csv'] },
        ...(folder ? { defaultUri: vscode.Uri.joinPath(folder.uri, 'promptloom-stats.csv') } : {}),
      }));
    if (!uri) return undefined;
    await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(statsCsv(await computeStats(store))));
    void vscode.window.showInformationMessage(`Promptloom: analytics saved to ${vscode.workspace.asRelativePath(uri)}.`);
    return uri;
  }
}
