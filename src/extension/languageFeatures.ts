import * as vscode from 'vscode';
import {
  completionsAt,
  definitionAt,
  fixesFor,
  hoverAt,
  outline,
  renameTargetAt,
  renameVariable,
  type Completion,
  type OutlineItem,
  type ParsedTemplate,
  type TextEdit,
} from '../core/template';
import { Disposable } from './disposable';
import { LANGUAGE_ID, toOffset, toRange, type TemplateStore } from './templates';

const SELECTOR: vscode.DocumentSelector = { language: LANGUAGE_ID };

/**
 * Completion, hover, definition, rename, outline and quick fixes: thin adapters from the pure
 * functions of core/template/language to VS Code's provider interfaces.
 */
export class LanguageFeatures extends Disposable {
  constructor(private readonly templates: TemplateStore) {
    super();
    const l = vscode.languages;
    this.register(l.registerCompletionItemProvider(SELECTOR, { provideCompletionItems: (doc, pos) => this.complete(doc, pos) }, '<', '#', '/', ':'));
    this.register(l.registerHoverProvider(SELECTOR, { provideHover: (doc, pos) => this.hover(doc, pos) }));
    this.register(l.registerDefinitionProvider(SELECTOR, { provideDefinition: (doc, pos) => this.definition(doc, pos) }));
    this.register(
      l.registerRenameProvider(SELECTOR, {
        prepareRename: (doc, pos) => this.prepareRename(doc, pos),
        provideRenameEdits: (doc, pos, newName) => this.rename(doc, pos, newName),
      }),
    );
    this.register(l.registerDocumentSymbolProvider(SELECTOR, { provideDocumentSymbols: (doc) => this.symbols(doc) }, { label: 'Promptloom' }));
    this.register(
      l.registerCodeActionsProvider(SELECTOR, { provideCodeActions: (doc, _range, context) => this.codeActions(doc, context) }, {
        providedCodeActionKinds: [vscode.CodeActionKind.QuickFix],
      }),
    );
  }

  private complete(doc: vscode.TextDocument, pos: vscode.Position): vscode.CompletionItem[] {
    const t = this.templates.get(doc);
    return completionsAt(t, toOffset(t, pos)).map((c) => toCompletionItem(t, c));
  }

  private hover(doc: vscode.TextDocument, pos: vscode.Position): vscode.Hover | undefined {
    const t = this.templates.get(doc);
    const hover = hoverAt(t, toOffset(t, pos));
    return hover && new vscode.Hover(new vscode.MarkdownString(hover.markdown), toRange(t, hover.span));
  }

  private definition(doc: vscode.TextDocument, pos: vscode.Position): vscode.Location | undefined {
    const t = this.templates.get(doc);
    const span = definitionAt(t, toOffset(t, pos));
    return span && new vscode.Location(doc.uri, toRange(t, span));
  }

  private prepareRename(doc: vscode.TextDocument, pos: vscode.Position): { range: vscode.Range; placeholder: string } {
    const t = this.templates.get(doc);
    const target = renameTargetAt(t, toOffset(t, pos));
    if (!target) throw new Error('Only variables can be renamed here.');
    return { range: toRange(t, target.span), placeholder: target.name };
  }

  private rename(doc: vscode.TextDocument, pos: vscode.Position, newName: string): vscode.WorkspaceEdit {
    const t = this.templates.get(doc);
    const target = renameTargetAt(t, toOffset(t, pos));
    if (!target) throw new Error('Only variables can be renamed here.');
    const result = renameVariable(t, target.name, newName);
    if (!result.ok) throw new Error(result.reason);
    return toWorkspaceEdit(doc.uri, t, result.edits);
  }

  private symbols(doc: vscode.TextDocument): vscode.DocumentSymbol[] {
    const t = this.templates.get(doc);
    const convert = (item: OutlineItem): vscode.DocumentSymbol => {
      const symbol = new vscode.DocumentSymbol(item.name, item.detail, SYMBOL_KIND[item.kind], toRange(t, item.span), toRange(t, item.selectionSpan));
      symbol.children = item.children.map(convert);
      return symbol;
    };
    return outline(t).map(convert);
  }

  private codeActions(doc: vscode.TextDocument, context: vscode.CodeActionContext): vscode.CodeAction[] {
    const t = this.templates.get(doc);
    const actions: vscode.CodeAction[] = [];
    for (const diagnostic of context.diagnostics) {
      if (diagnostic.source !== 'promptloom') continue;
      const code = typeof diagnostic.code === 'object' ? diagnostic.code.value : diagnostic.code;
      // Match the core diagnostic by code and range: it carries the data the fix needs.
      const core = t.diagnostics.find((d) => d.code === code && sameRange(d.range, diagnostic.range));
      if (!core) continue;
      for (const fix of fixesFor(t, core)) {
        const action = new vscode.CodeAction(fix.title, vscode.CodeActionKind.QuickFix);
        action.diagnostics = [diagnostic];
        action.isPreferred = fix.preferred;
        action.edit = toWorkspaceEdit(doc.uri, t, fix.edits);
        actions.push(action);
      }
    }
    return actions;
  }
}

const SYMBOL_KIND: Readonly<Record<OutlineItem['kind'], vscode.SymbolKind>> = {
  setting: vscode.SymbolKind.Property,
  variable: vscode.SymbolKind.Variable,
  block: vscode.SymbolKind.Struct,
};

const COMPLETION_KIND: Readonly<Record<Completion['kind'], vscode.CompletionItemKind>> = {
  variable: vscode.CompletionItemKind.Variable,
  keyword: vscode.CompletionItemKind.Keyword,
  key: vscode.CompletionItemKind.Property,
  value: vscode.CompletionItemKind.EnumMember,
};

function toCompletionItem(t: ParsedTemplate, c: Completion): vscode.CompletionItem {
  const item = new vscode.CompletionItem(c.label, COMPLETION_KIND[c.kind]);
  item.range = toRange(t, c.replace);
  if (c.detail) item.detail = c.detail;
  if (c.documentation) item.documentation = new vscode.MarkdownString(c.documentation);
  if (c.insertText) item.insertText = c.insertText.includes('$') ? new vscode.SnippetString(c.insertText) : c.insertText;
  if (c.sortText) item.sortText = c.sortText;
  return item;
}

function sameRange(a: ParsedTemplate['diagnostics'][number]['range'], b: vscode.Range): boolean {
  return a.start.line === b.start.line && a.start.character === b.start.character && a.end.line === b.end.line && a.end.character === b.end.character;
}

function toWorkspaceEdit(uri: vscode.Uri, t: ParsedTemplate, edits: readonly TextEdit[]): vscode.WorkspaceEdit {
  const edit = new vscode.WorkspaceEdit();
  for (const e of edits) edit.replace(uri, toRange(t, e.span), e.newText);
  return edit;
}
