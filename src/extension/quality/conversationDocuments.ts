import * as vscode from 'vscode';
import { isTier, scoreConversation, tierOf, toQualityResult, type QualityReport, type QualityResult, type Range } from '../../core/quality';
import type { ConversationDetails } from '../../core/store';
import { Disposable } from '../disposable';
import { concerns, type StoreSource } from '../storeSource';
import { judgeFindings, storedJudgePart } from '../../core/quality/judge';
import { nearDuplicateFinding, transcript } from './transcript';

export const CONVERSATION_SCHEME = 'promptloom-conversation';

/** A stored conversation with its score: the one stored at generation, and the findings behind it. */
export interface ScoredConversation {
  readonly details: ConversationDetails;
  readonly result: QualityResult;
  readonly report: QualityReport;
}

/** Loads a conversation and scores it; undefined when the database or the id is not there. */
export async function loadConversation(source: StoreSource, id: string): Promise<ScoredConversation | undefined> {
  const handle = await source.read();
  const details = handle && (await handle.conversations.details(id));
  if (!details) return undefined;
  // The score shown is the one stored with the conversation, so the editor agrees with stats and
  // export. Findings are recomputed (they are not stored) against the tier it was scored for,
  // which its stored length targets tell, even if the template's tier changed since.
  const stored = details.quality && isBreakdown(details.quality.breakdown) ? details.quality : undefined;
  const tier = (stored && tierOf(stored.breakdown as QualityResult['breakdown'])) ?? (isTier(details.tier) ? details.tier : 'template');
  const report = scoreConversation({ turns: details.turns }, tier);
  const result: QualityResult = stored
    ? { overall: stored.overall, breakdown: stored.breakdown as QualityResult['breakdown'], recommendations: [...stored.recommendations] }
    : toQualityResult(report);
  return { details, result, report };
}

/** A stored breakdown as this release reads it, down to the fields the views use. */
function isBreakdown(x: unknown): x is QualityResult['breakdown'] {
  const b = x as Partial<Record<string, Record<string, unknown>>> | null;
  const n = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  const range = (v: unknown) => typeof v === 'object' && v !== null && n((v as Range).min) && n((v as Range).max);
  if (typeof b !== 'object' || b === null) return false;
  const { turnCount, length, structure, confidence } = b;
  return (
    !!turnCount && n(turnCount.score) && n(turnCount.actual) && range(turnCount.target) &&
    !!length && n(length.score) && typeof length.actual === 'object' && length.actual !== null &&
    typeof length.target === 'object' && length.target !== null && range((length.target as Record<string, unknown>).user) && range((length.target as Record<string, unknown>).assistant) &&
    !!structure && n(structure.score) && typeof structure.valid === 'boolean' && Array.isArray(structure.issues) &&
    !!confidence && n(confidence.score) && typeof confidence.level === 'string'
  );
}

/**
 * Conversations as read-only Markdown documents (`promptloom-conversation:` URIs), with the
 * scorer's findings as diagnostics on the turns they concern and review actions as CodeLenses.
 * Documents follow the database: a review or a write elsewhere re-renders them.
 */
export class ConversationDocuments extends Disposable implements vscode.TextDocumentContentProvider, vscode.CodeLensProvider {
  private readonly changed = this.register(new vscode.EventEmitter<vscode.Uri>());
  readonly onDidChange = this.changed.event;
  private readonly lensesChanged = this.register(new vscode.EventEmitter<void>());
  readonly onDidChangeCodeLenses = this.lensesChanged.event;
  private readonly diagnostics = this.register(vscode.languages.createDiagnosticCollection('promptloom-conversations'));
  /**
   * Findings for the text last rendered, set once the document holds that text: diagnostics set
   * before VS Code applies new content would be moved by the edit onto the wrong lines.
   */
  private readonly rendered = new Map<string, { text: string; diagnostics: vscode.Diagnostic[] }>();

  constructor(private readonly source: StoreSource) {
    super();
    this.register(vscode.workspace.registerTextDocumentContentProvider(CONVERSATION_SCHEME, this));
    this.register(vscode.languages.registerCodeLensProvider({ scheme: CONVERSATION_SCHEME }, this));
    vscode.workspace.onDidOpenTextDocument((d) => this.showFindings(d), this, this.subscriptions);
    vscode.workspace.onDidChangeTextDocument((e) => this.showFindings(e.document), this, this.subscriptions);
    vscode.workspace.onDidCloseTextDocument(
      (d) => {
        if (d.uri.scheme !== CONVERSATION_SCHEME) return;
        this.diagnostics.delete(d.uri);
        this.rendered.delete(d.uri.toString());
      },
      this,
      this.subscriptions,
    );
    // VS Code keeps a closed editor's document (and so its diagnostics) for minutes: a transcript's
    // findings leave the Problems panel as soon as no tab shows it any more.
    vscode.window.tabGroups.onDidChangeTabs(
      (e) => {
        const open = new Set(vscode.window.tabGroups.all.flatMap((g) => g.tabs).flatMap((t) => (t.input instanceof vscode.TabInputText ? [t.input.uri.toString()] : [])));
        for (const tab of e.closed) {
          if (!(tab.input instanceof vscode.TabInputText) || tab.input.uri.scheme !== CONVERSATION_SCHEME) continue;
          if (!open.has(tab.input.uri.toString())) this.diagnostics.delete(tab.input.uri);
        }
        // Opened again while VS Code still held its document: no open event comes, so show them here.
        for (const tab of e.opened) {
          if (!(tab.input instanceof vscode.TabInputText) || tab.input.uri.scheme !== CONVERSATION_SCHEME) continue;
          const uri = tab.input.uri.toString();
          const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri);
          if (doc) this.showFindings(doc);
        }
      },
      this,
      this.subscriptions,
    );
    source.onDidChange(
      (change) => {
        // A teammate's change re-renders only the transcripts it names.
        const shown = vscode.workspace.textDocuments.filter((doc) => doc.uri.scheme === CONVERSATION_SCHEME);
        const affected = shown.filter((doc) => concerns(change, ConversationDocuments.idOf(doc.uri) ?? ''));
        for (const doc of affected) this.changed.fire(doc.uri);
        if (affected.length > 0) this.lensesChanged.fire();
      },
      this,
      this.subscriptions,
    );
  }

  /** The conversation a transcript shows. */
  static idOf(uri: vscode.Uri): string | undefined {
    if (uri.scheme !== CONVERSATION_SCHEME) return undefined;
    return new URLSearchParams(uri.query).get('id') ?? undefined;
  }

  /** Opens a conversation's transcript beside the current editor. */
  async open(id: string, options: { preserveFocus?: boolean } = {}): Promise<vscode.TextEditor | undefined> {
    const loaded = await loadConversation(this.source, id);
    if (!loaded) {
      void vscode.window.showWarningMessage(`Promptloom: conversation ${id} is not in ${this.source.label}.`);
      return undefined;
    }
    const uri = conversationUri(id, loaded.details.templateName);
    const doc = await vscode.workspace.openTextDocument(uri);
    // Where a transcript is already shown (it takes that one's place, so the breakdown panel beside
    // it stays in view); else beside the editor in use; else in the first group (none left empty).
    const shown = vscode.window.visibleTextEditors.find((e) => e.document.uri.scheme === CONVERSATION_SCHEME && e.viewColumn !== undefined);
    const viewColumn = shown?.viewColumn ?? (vscode.window.activeTextEditor ? vscode.ViewColumn.Beside : vscode.ViewColumn.One);
    return vscode.window.showTextDocument(doc, { preview: true, viewColumn, preserveFocus: options.preserveFocus ?? false });
  }

  /** True when a transcript is on screen (the active tab of some editor group). */
  isShowingTranscript(): boolean {
    return vscode.window.tabGroups.all.some((g) => g.activeTab?.input instanceof vscode.TabInputText && g.activeTab.input.uri.scheme === CONVERSATION_SCHEME);
  }

  /** Reveals a turn in an open (or newly opened) transcript. */
  async revealTurn(id: string, turn: number): Promise<void> {
    const editor = vscode.window.visibleTextEditors.find((e) => ConversationDocuments.idOf(e.document.uri) === id) ?? (await this.open(id));
    if (!editor) return;
    const loaded = await loadConversation(this.source, id);
    const lines = loaded && transcript(loaded.details, loaded.result).turns[turn];
    if (!lines) return;
    const start = new vscode.Position(lines.first, 0);
    const shown = await vscode.window.showTextDocument(editor.document, editor.viewColumn !== undefined ? { viewColumn: editor.viewColumn } : {});
    shown.selection = new vscode.Selection(start, start);
    shown.revealRange(new vscode.Range(start, start), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const id = ConversationDocuments.idOf(uri);
    const loaded = id && (await loadConversation(this.source, id));
    if (!loaded) {
      const text = `Conversation ${id ?? uri.path} is not in ${this.source.label}.`;
      this.rendered.set(uri.toString(), { text, diagnostics: [] });
      return text;
    }
    const shown = transcript(loaded.details, loaded.result);
    // The judge's turns at fault are stored with its part of the score (never recomputed: a grade is paid for).
    const findings = [...loaded.report.findings, ...judgeFindings(storedJudgePart(loaded.result))];
    const diagnostics = findings.flatMap((f) => {
      const lines = shown.turns[f.turn];
      if (!lines) return [];
      const d = new vscode.Diagnostic(new vscode.Range(lines.first, 0, lines.last, Number.MAX_SAFE_INTEGER), f.message, SEVERITY[f.part]);
      d.source = 'promptloom quality';
      d.code = f.part;
      return [d];
    });
    // Not a scorer finding: found against the template's other conversations when it was stored.
    const duplicate = nearDuplicateFinding(loaded.details);
    const first = duplicate && shown.turns[duplicate.turn];
    if (duplicate && first) {
      const d = new vscode.Diagnostic(new vscode.Range(first.first, 0, first.last, Number.MAX_SAFE_INTEGER), duplicate.message, vscode.DiagnosticSeverity.Warning);
      d.source = 'promptloom quality';
      // The code links to the other conversation's transcript (opened by this provider).
      d.code = { value: 'near-duplicate', target: conversationUri(duplicate.otherId, loaded.details.templateName) };
      diagnostics.push(d);
    }
    this.rendered.set(uri.toString(), { text: shown.text, diagnostics });
    // Already showing this text (nothing to apply): the findings can go on now.
    const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    if (open) this.showFindings(open);
    return shown.text;
  }

  private showFindings(doc: vscode.TextDocument): void {
    const rendered = doc.uri.scheme === CONVERSATION_SCHEME ? this.rendered.get(doc.uri.toString()) : undefined;
    if (rendered && doc.getText() === rendered.text) this.diagnostics.set(doc.uri, rendered.diagnostics);
  }

  async provideCodeLenses(document: vscode.TextDocument): Promise<vscode.CodeLens[]> {
    const id = ConversationDocuments.idOf(document.uri);
    const loaded = id && (await loadConversation(this.source, id));
    if (!loaded) return [];
    const top = new vscode.Range(0, 0, 0, 0);
    const lens = (title: string, command: string, tooltip: string) => new vscode.CodeLens(top, { title, command, arguments: [id], tooltip });
    return [
      lens(`$(graph) Quality ${loaded.result.overall.toFixed(1)}: breakdown`, 'promptloom.showQualityBreakdown', 'Show the quality breakdown and recommendations'),
      lens('$(check) Approve', 'promptloom.approveConversation', 'Approve this conversation for export'),
      lens('$(edit) Needs revision', 'promptloom.markNeedsRevision', 'Mark this conversation as needing revision'),
      lens('$(close) Reject', 'promptloom.rejectConversation', 'Reject this conversation'),
    ];
  }
}

/** A transcript's address: the tab shows the template's name and a short id; the full id travels in the query. */
function conversationUri(id: string, templateName: string): vscode.Uri {
  const name = `${templateName.replace(/[\\/]/g, '-')} ${id.slice(0, 8)}.md`;
  return vscode.Uri.from({ scheme: CONVERSATION_SCHEME, path: `/${name}`, query: new URLSearchParams({ id }).toString() });
}

// Broken structure breaks training; the other findings are judgement calls.
const SEVERITY: Readonly<Record<string, vscode.DiagnosticSeverity>> = {
  structure: vscode.DiagnosticSeverity.Error,
  confidence: vscode.DiagnosticSeverity.Warning,
  length: vscode.DiagnosticSeverity.Information,
  turnCount: vscode.DiagnosticSeverity.Information,
  judge: vscode.DiagnosticSeverity.Warning,
};
