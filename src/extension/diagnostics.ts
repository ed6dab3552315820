import * as vscode from 'vscode';
import { parseTemplate, type Diagnostic } from '../core/template';

export const LANGUAGE_ID = 'promptloom';
const DEBOUNCE_MS = 150;

/** Core diagnostics for open `.prompt` documents, in one collection, debounced while typing. */
export class TemplateDiagnostics implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection(LANGUAGE_ID);
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly disposables: vscode.Disposable[] = [this.collection];

  /** The format reference shipped with the extension; diagnostic codes link to its sections. */
  private readonly formatDoc: vscode.Uri;

  constructor(extensionUri: vscode.Uri) {
    this.formatDoc = vscode.Uri.joinPath(extensionUri, 'docs', 'prompt-format.md');
    vscode.workspace.onDidOpenTextDocument((doc) => this.update(doc), this, this.disposables);
    vscode.workspace.onDidChangeTextDocument((e) => this.schedule(e.document), this, this.disposables);
    vscode.workspace.onDidCloseTextDocument((doc) => this.forget(doc), this, this.disposables);
    for (const doc of vscode.workspace.textDocuments) this.update(doc);
  }

  private schedule(doc: vscode.TextDocument): void {
    if (doc.languageId !== LANGUAGE_ID) return;
    const key = doc.uri.toString();
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
    if (doc.languageId !== LANGUAGE_ID) return;
    const parsed = parseTemplate(doc.getText(), { fileName: doc.fileName });
    this.collection.set(doc.uri, parsed.diagnostics.map((d) => toVscode(d, this.formatDoc)));
  }

  private forget(doc: vscode.TextDocument): void {
    const key = doc.uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
    this.collection.delete(doc.uri);
  }

  dispose(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

const SEVERITY: Readonly<Record<Diagnostic['severity'], vscode.DiagnosticSeverity>> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  info: vscode.DiagnosticSeverity.Information,
};

function toVscode(d: Diagnostic, formatDoc: vscode.Uri): vscode.Diagnostic {
  const range = new vscode.Range(d.range.start.line, d.range.start.character, d.range.end.line, d.range.end.character);
  const diagnostic = new vscode.Diagnostic(range, d.message, SEVERITY[d.severity]);
  diagnostic.source = 'promptloom';
  diagnostic.code = { value: d.code, target: formatDoc.with({ fragment: d.code.toLowerCase() }) };
  return diagnostic;
}
