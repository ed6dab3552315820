import * as vscode from 'vscode';
import { parseTemplate, type ParsedTemplate } from '../core/template';
import { Disposable } from './disposable';
import type { Log } from './log';
import { editorWorkspace } from './settings';

export const LANGUAGE_ID = 'promptloom';

/**
 * Parsed templates of open documents, one parse per document version, shared by diagnostics,
 * completion, hover, the outline and the preview.
 */
export class TemplateStore extends Disposable {
  private readonly cache = new Map<string, { version: number; parsed: ParsedTemplate }>();
  private readonly changed = this.register(new vscode.EventEmitter<void>());
  /** Fires when every template must be parsed again (the model table changed). */
  readonly onDidChange = this.changed.event;

  constructor(private readonly log?: Log) {
    super();
    vscode.workspace.onDidCloseTextDocument((doc) => this.cache.delete(doc.uri.toString()), this, this.subscriptions);
    vscode.workspace.onDidChangeConfiguration(
      (e) => {
        // `model:` may name the model table's aliases: a new table changes what is valid.
        if (!e.affectsConfiguration('promptloom.models')) return;
        this.cache.clear();
        this.changed.fire();
      },
      this,
      this.subscriptions,
    );
  }

  get(doc: vscode.TextDocument): ParsedTemplate {
    const key = doc.uri.toString();
    const hit = this.cache.get(key);
    if (hit && hit.version === doc.version) return hit.parsed;
    // Parsed as the CLI parses it: the workspace's model aliases (the core's Workspace).
    const parsed = parseTemplate(doc.getText(), editorWorkspace(doc.uri, this.log).parseOptions(doc.fileName));
    this.cache.set(key, { version: doc.version, parsed });
    return parsed;
  }
}

export function isTemplate(doc: vscode.TextDocument): boolean {
  return doc.languageId === LANGUAGE_ID;
}

export function toRange(t: ParsedTemplate, span: { start: number; end: number }): vscode.Range {
  const { start, end } = t.lines.range(span);
  return new vscode.Range(start.line, start.character, end.line, end.character);
}

export function toOffset(t: ParsedTemplate, position: vscode.Position): number {
  return t.lines.offset({ line: position.line, character: position.character });
}
