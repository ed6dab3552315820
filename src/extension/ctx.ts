import * as vscode from 'vscode';
import { PREVIEW_VIEW_TYPE, type PreviewState } from '../shared/previewProtocol';
import { QUALITY_VIEW_TYPE, type QualityState } from '../shared/qualityProtocol';
import { DASHBOARD_VIEW_TYPE, type DashboardState } from '../shared/dashboardProtocol';
import { DashboardPanel, type DashboardDeps } from './dashboard/dashboardPanel';
import { TEST_VIEW_TYPE, type TestState } from '../shared/testProtocol';
import { TemplateTestPanel, type TemplateTestDeps } from './testing/templateTestPanel';
import { COMMANDS, type CommandId } from './commands';
import { TemplateDiagnostics } from './diagnostics';
import { Disposable } from './disposable';
import { GenerationService } from './generation';
import { TemplateHistory } from './history';
import { LanguageFeatures } from './languageFeatures';
import { Log } from './log';
import { PreviewPanel, type PreviewDeps } from './preview/previewPanel';
import { ConversationDocuments } from './quality/conversationDocuments';
import { ConversationsView } from './quality/conversationsView';
import { QualityPanel, type QualityPanelDeps } from './quality/qualityPanel';
import { RetrySimulationPanel, type RetrySimulationDeps } from './retry/retrySimulationPanel';
import { RETRY_VIEW_TYPE } from '../shared/retryProtocol';
import { TemplateQualityFeatures } from './quality/templateQuality';
import { TemplateStore } from './templates';
import { TemplatesView } from './templatesView';
import { StoreSource } from './storeSource';
import { StoreStatusItem } from './storeStatusItem';
import { TeamDatabase } from './teamDatabase';
import { WorkspaceDb } from './workspaceDb';

/** The one context object: builds and owns everything that lives as long as the extension. */
export class Ctx extends Disposable {
  readonly log = this.register(new Log());
  readonly templates = this.register(new TemplateStore(this.log));
  readonly db = this.register(new WorkspaceDb(this.log));
  readonly history: TemplateHistory;
  readonly generation: GenerationService;
  readonly previewDeps: PreviewDeps;
  readonly conversationDocs: ConversationDocuments;
  readonly conversations: ConversationsView;
  readonly templatesView: TemplatesView;
  /** A template's quality CodeLens and PL011. */
  readonly templateQuality: TemplateQualityFeatures;
  readonly qualityDeps: QualityPanelDeps;
  readonly dashboardDeps: DashboardDeps;
  readonly testDeps: TemplateTestDeps;
  readonly retryDeps: RetrySimulationDeps;
  /** Which store is in use (the team's PostgreSQL or the workspace database), and its password. */
  readonly teamDb: TeamDatabase;
  /**
   * What the views read and review through: the workspace database, or the team's when the user
   * setting chooses it; its one change event follows either (the team's through LISTEN/NOTIFY).
   */
  readonly source: StoreSource;
  /** The status bar item: which store the views show, and whether the team's is followed live. */
  readonly storeStatus: StoreStatusItem;

  constructor(readonly extension: vscode.ExtensionContext) {
    super();
    this.previewDeps = { extensionUri: extension.extensionUri, templates: this.templates, state: extension.workspaceState, log: this.log };
    this.teamDb = this.register(new TeamDatabase(extension.secrets, this.db, this.log));
    this.source = this.register(new StoreSource(this.db, this.teamDb, this.log));
    this.storeStatus = this.register(new StoreStatusItem(this.source));
    this.history = this.register(new TemplateHistory(this.db, this.source, this.templates));
    this.conversationDocs = this.register(new ConversationDocuments(this.source));
    this.generation = this.register(new GenerationService(extension.secrets, this.db, this.templates, extension.workspaceState, this.log, this.source));
    this.register(new TemplateDiagnostics(extension.extensionUri, this.templates));
    this.register(new LanguageFeatures(this.templates));
    this.conversations = this.register(new ConversationsView(this.source, extension.workspaceState));
    this.templatesView = this.register(new TemplatesView(this.db, this.source, extension.workspaceState, this.log));
    this.qualityDeps = { extensionUri: extension.extensionUri, db: this.db, source: this.source, documents: this.conversationDocs, conversations: this.conversations, log: this.log };
    this.templateQuality = this.register(new TemplateQualityFeatures(extension.extensionUri, this.db, this.source, this.templates));
    this.register(
      vscode.window.registerWebviewPanelSerializer(QUALITY_VIEW_TYPE, {
        deserializeWebviewPanel: async (panel, state: QualityState | undefined) => QualityPanel.revive(this.qualityDeps, panel, state),
      }),
    );
    this.register({ dispose: () => QualityPanel.disposeAll() });
    // The breakdown follows the list's selection (a click, a verdict moving on), without focus.
    this.conversations.view.onDidChangeSelection(
      (e) => {
        const ids = this.conversations.selected();
        if (ids.length === 1 && e.selection.length === 1) void QualityPanel.follow(ids[0]!);
      },
      this,
      this.subscriptions,
    );
    this.dashboardDeps = { extensionUri: extension.extensionUri, db: this.db, source: this.source, log: this.log, generation: this.generation, templateFiles: () => this.templatesView.templateFiles(), onDidChangeTemplateFiles: this.templatesView.onDidChangeFiles };
    this.register(
      vscode.window.registerWebviewPanelSerializer(DASHBOARD_VIEW_TYPE, {
        deserializeWebviewPanel: async (panel, state: DashboardState | undefined) => DashboardPanel.revive(this.dashboardDeps, panel, state),
      }),
    );
    this.register({ dispose: () => DashboardPanel.disposeAll() });
    this.retryDeps = { extensionUri: extension.extensionUri, log: this.log };
    this.register(vscode.window.registerWebviewPanelSerializer(RETRY_VIEW_TYPE, { deserializeWebviewPanel: async (panel) => RetrySimulationPanel.revive(this.retryDeps, panel) }));
    this.register({ dispose: () => RetrySimulationPanel.disposeAll() });
    this.testDeps = { extensionUri: extension.extensionUri, source: this.source, generation: this.generation, templates: this.templates, documents: this.conversationDocs, log: this.log };
    this.register(
      vscode.window.registerWebviewPanelSerializer(TEST_VIEW_TYPE, {
        deserializeWebviewPanel: async (panel, state: TestState | undefined) => TemplateTestPanel.revive(this.testDeps, panel, state),
      }),
    );
    this.register({ dispose: () => TemplateTestPanel.disposeAll() });
    this.register(
      vscode.window.registerWebviewPanelSerializer(PREVIEW_VIEW_TYPE, {
        deserializeWebviewPanel: (panel, state: PreviewState | undefined) => PreviewPanel.revive(this.previewDeps, panel, state),
      }),
    );
    this.register({ dispose: () => PreviewPanel.disposeAll() });
    for (const [id, handler] of Object.entries(COMMANDS) as [CommandId, (typeof COMMANDS)[CommandId]][]) {
      this.register(vscode.commands.registerCommand(id, (...args: unknown[]) => this.run(id, () => handler(this, ...args))));
    }
    // Message Batches a closed window left at Anthropic: a notice offers to collect them.
    void this.run('promptloom startup check', () => this.generation.messageBatches.checkAtStartup());
    vscode.workspace.onDidGrantWorkspaceTrust(() => void this.run('promptloom trust check', () => this.generation.messageBatches.checkAtStartup()), this, this.subscriptions);
  }

  /** Runs a command; an unexpected failure is logged with its stack and shown in one line. */
  private async run<T>(id: string, action: () => T | Promise<T>): Promise<T | undefined> {
    try {
      return await action();
    } catch (error) {
      this.log.error(`command ${id} failed`, error);
      const choice = await vscode.window.showErrorMessage(`Promptloom: ${error instanceof Error ? error.message : String(error)}`, 'Show Log');
      if (choice === 'Show Log') this.log.show();
      return undefined;
    }
  }
}
