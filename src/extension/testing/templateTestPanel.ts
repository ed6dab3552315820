import * as vscode from 'vscode';
import { baselineFor, judgeTest, runReasons, testFlagReason, type RunReasons, type TestRun } from '../../core/analytics';
import { storedJudgePart } from '../../core/quality/judge';
import { WorkspaceBatchRepository, WorkspaceGenerationRepository, type ConversationDetails } from '../../core/store';
import { TEST_VIEW_TYPE, testWebviewMessage, type TestHostMessage, type TestResultView, type TestRunJudgeView, type TestRunView, type TestState, type TestWebviewMessage } from '../../shared/testProtocol';
import { Disposable } from '../disposable';
import type { GenerationService } from '../generation';
import type { ConversationDocuments } from '../quality/conversationDocuments';
import type { TemplateStore } from '../templates';
import { receiveMessages, type Deliver, type MessageLog } from '../webviewMessages';
import { pageReloader, webviewOptions, webviewPage } from '../webviewPage';
import type { StoreSource } from '../storeSource';

export interface TemplateTestDeps {
  readonly extensionUri: vscode.Uri;
  /** The store the runs were recorded in (the one the views show), read back for the verdict. */
  readonly source: StoreSource;
  readonly generation: GenerationService;
  readonly templates: TemplateStore;
  readonly documents: ConversationDocuments;
  readonly log: MessageLog;
}

export const DEFAULT_TEST_RUNS = 3;

/**
 * `Promptloom: Test Template`: a few test generations with the preview's values (or realistic
 * stand-ins), scored and judged against the template's threshold and its baseline. The verdict
 * opens in a panel that says which criteria failed.
 */
export async function testTemplate(deps: TemplateTestDeps, uri: vscode.Uri, runs?: number): Promise<TestResultView | undefined> {
  const count =
    runs ??
    Number(
      await vscode.window.showInputBox({
        title: 'Test template',
        prompt: 'How many test generations?',
        value: String(DEFAULT_TEST_RUNS),
        validateInput: (v) => (/^\d+$/.test(v.trim()) && Number(v) >= 1 && Number(v) <= 50 ? undefined : 'A whole number from 1 to 50.'),
      }),
    );
  if (!count) return undefined;
  const started = Date.now();
  const outcome = await deps.generation.run(uri, { count, autoFill: true, purpose: 'test' });
  if (!outcome) return undefined;
  // Where the run recorded: the workspace database (its worker caught up with the run's writes
  // first, `StoreSource.read`), or the team database.
  const handle = await deps.source.read();
  if (!handle) throw new Error(`The test's runs cannot be read back: ${deps.source.problem ?? 'the database is not available'}.`);
  const store = handle.db;
  const batch = (await new WorkspaceBatchRepository(store).get(outcome.batchId))!;
  const generations = new WorkspaceGenerationRepository(store);
  const document = await vscode.workspace.openTextDocument(uri);
  const template = deps.templates.get(document);
  const runsData: (TestRun & { status?: string; firstRecommendation?: string; judge?: TestRunJudgeView; details?: ConversationDetails })[] = [];
  for (const id of outcome.conversations) {
    const d = await generations.details(id);
    const breakdown = d?.quality?.breakdown as { structure?: { valid?: boolean } } | undefined;
    // Claude's grade, stored with the score when the judge was on (never asked for again here: it is paid for).
    const judge = storedJudgePart(d?.quality);
    runsData.push({
      conversationId: id,
      ...(d?.quality ? { overall: d.quality.overall } : {}),
      ...(breakdown?.structure?.valid !== undefined ? { structureValid: breakdown.structure.valid } : {}),
      ...(d ? { status: d.status } : {}),
      ...(d?.quality?.recommendations[0] ? { firstRecommendation: d.quality.recommendations[0] } : {}),
      ...(judge ? { judge: { score: judge.score, overall: judge.overall, model: judge.model, reason: judge.reason } } : {}),
      ...(d ? { details: d } : {}),
    });
    const flaggedReason = d && (await testFlagReason(store, d));
    if (flaggedReason) runsData[runsData.length - 1] = { ...runsData[runsData.length - 1]!, flaggedReason };
  }
  // Generations that failed for good left no conversation: they count as failed runs.
  for (let i = runsData.length; i < count; i++) runsData.push({});
  const verdict = judgeTest(runsData, template.settings.qualityThreshold, await baselineFor(store, batch.templateId, batch.versionId, started));
  const result: TestResultView = {
    template: template.settings.name,
    file: vscode.workspace.asRelativePath(uri),
    uri: uri.toString(),
    passed: verdict.passed,
    average: verdict.average,
    threshold: verdict.threshold,
    ...(verdict.baseline ? { baseline: verdict.baseline } : {}),
    ...(verdict.deviation !== undefined ? { deviation: verdict.deviation } : {}),
    criteria: verdict.criteria,
    runs: runsData.map((r) => ({
      ...(r.conversationId ? { conversationId: r.conversationId } : {}),
      ...(r.overall !== undefined ? { overall: r.overall } : {}),
      ...(r.status ? { status: r.status } : {}),
      ...(r.firstRecommendation ? { firstRecommendation: r.firstRecommendation } : {}),
      ...(r.judge ? { judge: r.judge } : {}),
      // Why a run is flagged or below the threshold: its reason and the findings on its turns.
      ...(r.details ? reasonsView(runReasons(r.details, verdict.threshold)) : {}),
    })),
    finishedAt: Date.now(),
  };
  TemplateTestPanel.show(deps, uri, result);
  return result;
}

function reasonsView(r: RunReasons): Pick<TestRunView, 'flagged' | 'below' | 'verdict' | 'findings'> {
  return { flagged: r.flagged, below: r.below, verdict: r.verdict, ...(r.findings.length ? { findings: r.findings } : {}) };
}

/** The verdict of the last template test: one panel, reused. */
export class TemplateTestPanel extends Disposable {
  private static current: TemplateTestPanel | undefined;
  private ready = false;
  private result: TestResultView | undefined;
  private uri: vscode.Uri | undefined;
  /** Receives a message as if the webview posted it: checked, then handled (tests use it). */
  readonly deliver: Deliver;

  static show(deps: TemplateTestDeps, uri: vscode.Uri, result: TestResultView): void {
    const panel = TemplateTestPanel.current ?? new TemplateTestPanel(deps, vscode.window.createWebviewPanel(TEST_VIEW_TYPE, 'Template test', vscode.ViewColumn.Beside, webviewOptions(deps.extensionUri)));
    panel.uri = uri;
    panel.result = result;
    panel.panel.title = `Test ${result.passed ? 'passed' : 'failed'}: ${result.template}`;
    panel.panel.reveal(undefined, false);
    panel.post({ type: 'result', result });
  }

  static revive(deps: TemplateTestDeps, panel: vscode.WebviewPanel, state: TestState | undefined): void {
    panel.webview.options = webviewOptions(deps.extensionUri);
    const revived = new TemplateTestPanel(deps, panel);
    revived.result = state?.result;
  }

  static disposeAll(): void {
    TemplateTestPanel.current?.panel.dispose();
  }

  private constructor(
    private readonly deps: TemplateTestDeps,
    readonly panel: vscode.WebviewPanel,
  ) {
    super();
    TemplateTestPanel.current = this;
    const page = () => webviewPage(panel.webview, deps.extensionUri, { name: 'test', title: 'Promptloom template test', loading: 'Running the test…', styles: ['quality.css'] });
    panel.webview.html = page();
    panel.iconPath = vscode.Uri.joinPath(deps.extensionUri, 'media', 'quality.svg');
    panel.onDidDispose(() => this.dispose(), this, this.subscriptions);
    this.deliver = receiveMessages(panel.webview, { panel: 'Template test panel', schema: testWebviewMessage, log: deps.log, window: vscode.window, handle: (m) => this.receive(m), reload: pageReloader(panel.webview, page) }, this.subscriptions);
    this.register({ dispose: () => TemplateTestPanel.current === this && (TemplateTestPanel.current = undefined) });
  }

  private post(message: TestHostMessage): void {
    if (this.ready) void this.panel.webview.postMessage(message);
  }

  private async receive(message: TestWebviewMessage): Promise<void> {
    switch (message.type) {
      case 'ready':
        this.ready = true;
        if (this.result) this.post({ type: 'result', result: this.result });
        break;
      case 'open':
        await this.deps.documents.open(message.conversationId);
        break;
      case 'reveal':
        await this.deps.documents.revealTurn(message.conversationId, message.turn);
        break;
      case 'rerun': {
        const uri = this.uri ?? (this.result ? vscode.Uri.parse(this.result.uri) : undefined);
        // After a reload the URI comes from the page's saved state: only a template of this workspace is run.
        if (uri && !this.uri && !vscode.workspace.getWorkspaceFolder(uri)) throw new Error('the tested template is not in this workspace');
        if (uri) await testTemplate(this.deps, uri, this.result?.runs.length ?? DEFAULT_TEST_RUNS);
        break;
      }
    }
  }
}
