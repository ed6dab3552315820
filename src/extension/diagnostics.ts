import * as vscode from 'vscode';
import type { Diagnostic } from '../core/template';
import { Disposable } from './disposable';
import { LANGUAGE_ID, isTemplate, type TemplateStore } from './templates';

const DEBOUNCE_MS = 150;

/**
 * Codes of a tag still being written (`<<` typed, or `<<>>` auto-closed): not reported on the tag
 * under the cursor while it is edited, only once the cursor moves on.
 */
const TYPING_CODES: ReadonlySet<string> = new Set(['PL001', 'PL010']);

/** Core diagnostics for open `.prompt` documents, in one collection, debounced while typing. */
export class TemplateDiagnostics extends Disposable {
  private readonly collection = this.register(vscode.languages.createDiagnosticCollection(LANGUAGE_ID));
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Documents with a diagnostic held back because the cursor is in the tag it concerns. */
  private readonly heldBack = new Set<string>();
  /** Documents changed since their diagnostics were last shown: typing, not just opening. */
  private readonly typing = new Set<string>();
  /** The format reference shipped with the extension; diagnostic codes link to its sections. */
  private readonly formatDoc: vscode.Uri;

  constructor(
    extensionUri: vscode.Uri,
    private readonly templates: TemplateStore,
  ) {
    super();
    this.formatDoc = vscode.Uri.joinPath(extensionUri, 'docs', 'prompt-format.md');
    vscode.workspace.onDidOpenTextDocument((doc) => this.update(doc), this, this.subscriptions);
    vscode.workspace.onDidChangeTextDocument((e) => this.schedule(e.document), this, this.subscriptions);
    vscode.workspace.onDidCloseTextDocument((doc) => this.forget(doc), this, this.subscriptions);
    templates.onDidChange(() => vscode.workspace.textDocuments.forEach((doc) => this.update(doc)), this, this.subscriptions);
    // A tag held back while typed is reported once the cursor leaves it.
    vscode.window.onDidChangeTextEditorSelection(
      (e) => {
        if (this.heldBack.has(e.textEditor.document.uri.toString())) this.update(e.textEditor.document);
      },
      this,
      this.subscriptions,
    );
    this.register({ dispose: () => this.timers.forEach((timer) => clearTimeout(timer)) });
    for (const doc of vscode.workspace.textDocuments) this.update(doc);
  }

  private schedule(doc: vscode.TextDocument): void {
    if (!isTemplate(doc)) return;
    const key = doc.uri.toString();
    this.typing.add(key);
    clearTimeout(this.timers.get(key));
    const version = doc.version;
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        // A newer edit has its own timer; results for an old version are never shown.
        if (!doc.isClosed && doc.version === version) this.update(doc);
      }, DEBOUNCE_MS),
    );
  }

  private update(doc: vscode.TextDocument): void {
    if (!isTemplate(doc)) {
      // A document whose language changed away from promptloom keeps no stale entries.
      if (this.collection.has(doc.uri)) this.collection.delete(doc.uri);
      return;
    }
    const key = doc.uri.toString();
    const editor = vscode.window.activeTextEditor;
    const cursor = this.typing.has(key) && editor?.document === doc && editor.selection.isEmpty ? editor.selection.active : undefined;
    const all = this.templates.get(doc).diagnostics.map((d) => this.toVscode(d));
    const shown = cursor ? all.filter((d) => !(TYPING_CODES.has(codeOf(d)) && d.range.start.line === cursor.line && d.range.start.isBeforeOrEqual(cursor) && cursor.character <= d.range.end.character + 2)) : all;
    if (shown.length < all.length) this.heldBack.add(key);
    else {
      this.heldBack.delete(key);
      this.typing.delete(key);
    }
    this.collection.set(doc.uri, shown);
  }

  private forget(doc: vscode.TextDocument): void {
    const key = doc.uri.toString();
    this.heldBack.delete(key);
    this.typing.delete(key);
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
    this.collection.delete(doc.uri);
  }

  private toVscode(d: Diagnostic): vscode.Diagnostic {
    const range = new vscode.Range(d.range.start.line, d.range.start.character, d.range.end.line, d.range.end.character);
    const diagnostic = new vscode.Diagnostic(range, d.message, SEVERITY[d.severity]);
    diagnostic.source = 'promptloom';
    diagnostic.code = { value: d.code, target: this.formatDoc.with({ fragment: d.code.toLowerCase() }) };
    if (d.code === 'PL003') diagnostic.tags = [vscode.DiagnosticTag.Unnecessary];
    return diagnostic;
  }
}

function codeOf(d: vscode.Diagnostic): string {
  return String(typeof d.code === 'object' ? d.code.value : d.code);
}

const SEVERITY: Readonly<Record<Diagnostic['severity'], vscode.DiagnosticSeverity>> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  info: vscode.DiagnosticSeverity.Information,
};
