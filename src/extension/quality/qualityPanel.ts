import * as vscode from 'vscode';
import { flagThreshold, isTier, WEIGHTS, LENGTH_TARGETS, type QualityResult } from '../../core/quality';
import { parseTemplate } from '../../core/template';
import {
  QUALITY_VIEW_TYPE,
  bandOf,
  type PartView,
  type QualityHostMessage,
  type QualityState,
  type QualityView,
  type QualityWebviewMessage,
  type RecommendationView,
  qualityWebviewMessage,
} from '../../shared/qualityProtocol';
import { conversationId, validate } from '../../shared/schema';
import { Disposable } from '../disposable';
import { receiveMessages, type Deliver, type MessageLog } from '../webviewMessages';
import { pageReloader, webviewOptions, webviewPage } from '../webviewPage';
import type { WorkspaceDb } from '../workspaceDb';
import { concerns, type StoreSource } from '../storeSource';
import { storedJudgePart } from '../../core/quality/judge';
import { loadConversation, type ConversationDocuments, type ScoredConversation } from './conversationDocuments';
import type { ConversationsView } from './conversationsView';
import { statusWords } from './transcript';

export interface QualityPanelDeps {
  readonly extensionUri: vscode.Uri;
  /** The workspace folder, where the template files (their thresholds) are. */
  readonly db: WorkspaceDb;
  /** The store the conversations are read from and reviewed in. */
  readonly source: StoreSource;
  readonly documents: ConversationDocuments;
  readonly conversations: ConversationsView;
  readonly log: MessageLog;
}

/**
 * The quality breakdown of one conversation: a bar per part coloured by band, the
 * recommendations (each naming a turn jumps to it) and the review buttons. One panel, reused.
 */
export class QualityPanel extends Disposable {
  private static current: QualityPanel | undefined;
  /** The last view sent to the page, for tests. */
  lastView: QualityView | undefined;
  /** Receives a message as if the webview posted it: checked, then handled (tests use it). */
  readonly deliver: Deliver;

  /** Shows a conversation's breakdown; `preserveFocus` leaves the keyboard where it is (the list). */
  static async show(deps: QualityPanelDeps, id: string, options: { preserveFocus?: boolean } = {}): Promise<QualityPanel> {
    const preserveFocus = options.preserveFocus ?? false;
    const panel =
      QualityPanel.current ??
      new QualityPanel(deps, vscode.window.createWebviewPanel(QUALITY_VIEW_TYPE, 'Quality', { viewColumn: vscode.ViewColumn.Beside, preserveFocus }, webviewOptions(deps.extensionUri)), true);
    panel.panel.reveal(undefined, preserveFocus);
    await panel.load(id);
    return panel;
  }

  /** An open panel shows this conversation instead (the list's selection moved); focus stays put. */
  static async follow(id: string): Promise<void> {
    const panel = QualityPanel.current;
    if (panel && panel.id !== id) await panel.load(id);
  }

  static revive(deps: QualityPanelDeps, panel: vscode.WebviewPanel, state: QualityState | undefined): void {
    panel.webview.options = webviewOptions(deps.extensionUri);
    const revived = new QualityPanel(deps, panel, true);
    // Saved by the page, so checked like its messages.
    if (state?.id && validate(conversationId, state.id).ok) void revived.load(state.id);
  }

  static disposeAll(): void {
    QualityPanel.current?.panel.dispose();
  }

  private id: string | undefined;
  private ready = false;
  /** Counts loads, so a slow one that finishes after a newer one is dropped. */
  private loads = 0;
  private lastSent = '';

  private constructor(
    private readonly deps: QualityPanelDeps,
    readonly panel: vscode.WebviewPanel,
    freshPage: boolean,
  ) {
    super();
    QualityPanel.current = this;
    const page = () => webviewPage(panel.webview, deps.extensionUri, { name: 'quality', title: 'Promptloom quality', loading: 'Loading the conversation…', live: false });
    if (freshPage) panel.webview.html = page();
    panel.iconPath = vscode.Uri.joinPath(deps.extensionUri, 'media', 'quality.svg');
    panel.onDidDispose(() => this.dispose(), this, this.subscriptions);
    this.deliver = receiveMessages(panel.webview, { panel: 'Quality panel', schema: qualityWebviewMessage, log: deps.log, window: vscode.window, handle: (m) => this.receive(m), reload: pageReloader(panel.webview, page) }, this.subscriptions);
    // A review anywhere (tree, CodeLens, CLI) shows here at once.
    // A teammate's change reloads it only when it names this conversation.
    deps.source.onDidChange((change) => this.id && concerns(change, this.id) && void this.load(this.id), this, this.subscriptions);
    this.register({ dispose: () => QualityPanel.current === this && (QualityPanel.current = undefined) });
  }

  private async load(id: string): Promise<void> {
    this.id = id;
    const load = ++this.loads;
    const loaded = await loadConversation(this.deps.source, id);
    const view = loaded && (await viewOf(this.deps.db, loaded));
    if (this.isDisposed || load !== this.loads) return;
    if (!loaded || !view) return this.post({ type: 'empty', reason: `Conversation ${id} is not in ${this.deps.source.label}.` });
    this.panel.title = `Quality ${view.overall.toFixed(1)} · ${loaded.details.templateName}`;
    this.post({ type: 'show', view });
  }

  private post(message: QualityHostMessage): void {
    if (message.type === 'show') this.lastView = message.view;
    // Writes elsewhere in the database reload the panel; an unchanged view is not sent again.
    const text = JSON.stringify(message);
    if (!this.ready || text === this.lastSent) return;
    this.lastSent = text;
    void this.panel.webview.postMessage(message);
  }

  private async receive(message: QualityWebviewMessage): Promise<void> {
    switch (message.type) {
      case 'ready':
        this.ready = true;
        this.lastSent = '';
        if (this.lastView) this.post({ type: 'show', view: this.lastView });
        else if (this.id) await this.load(this.id);
        break;
      case 'reveal':
        await this.deps.documents.revealTurn(message.id, message.turn);
        break;
      case 'review':
        await this.deps.conversations.review([message.id], message.status);
        break;
    }
  }
}

async function viewOf(db: WorkspaceDb, { details, result }: ScoredConversation): Promise<QualityView> {
  const threshold = await thresholdOf(db, details.templatePath);
  return {
    id: details.id,
    title: `${details.templateName} · ${details.id.slice(0, 8)}`,
    status: statusWords(details.status),
    ...(details.statusReason ? { statusReason: details.statusReason } : {}),
    overall: result.overall,
    band: bandOf(result.overall),
    threshold,
    parts: partsOf(result, isTier(details.tier) ? details.tier : 'template'),
    recommendations: result.recommendations.map(recommendationOf),
  };
}

/** The template's flagging threshold, from its current file when it is still there. */
async function thresholdOf(db: WorkspaceDb, templatePath: string): Promise<number> {
  const folder = db.folder;
  if (!folder) return flagThreshold(undefined);
  try {
    const bytes = await vscode.workspace.fs.readFile(vscode.Uri.joinPath(folder.uri, templatePath));
    return flagThreshold(parseTemplate(new TextDecoder().decode(bytes)).settings.qualityThreshold);
  } catch {
    return flagThreshold(undefined);
  }
}

function partsOf(r: QualityResult, tier: keyof typeof LENGTH_TARGETS): PartView[] {
  const b = r.breakdown;
  const judge = storedJudgePart(r);
  const { user, assistant } = b.length.target ?? LENGTH_TARGETS[tier];
  const part = (key: keyof typeof WEIGHTS, label: string, score: number, detail: string): PartView => ({ key, label, score, weight: WEIGHTS[key], band: bandOf(score), detail });
  return [
    part('turnCount', 'Turn count', b.turnCount.score, `${b.turnCount.actual} turns; target ${b.turnCount.target.min}–${b.turnCount.target.max}`),
    part('length', 'Length', b.length.score, `${b.length.actual.user} words per user turn (${user.min}–${user.max}), ${b.length.actual.assistant} per answer (${assistant.min}–${assistant.max})`),
    part('structure', 'Structure', b.structure.score, b.structure.valid ? 'valid: roles alternate from the user, no empty turns' : b.structure.issues.join('; ')),
    part('confidence', 'Confidence', b.confidence.score, `${b.confidence.level}: coherence and naturalness`),
    // Claude's grade, when the judge is on: not weighted in, it caps the overall (the lower wins).
    ...(judge ? [{ key: 'judge' as const, label: 'Judge', score: judge.score, weight: 0, band: bandOf(judge.score), detail: `${judge.model}, ${judge.overall}/10: ${judge.reason}` }] : []),
  ];
}

function recommendationOf(text: string): RecommendationView {
  const m = /\bturns? (\d+)/.exec(text);
  return m ? { text, turn: Number(m[1]) - 1 } : { text };
}
