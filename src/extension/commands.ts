import * as vscode from 'vscode';
import type { Ctx } from './ctx';
import { PreviewPanel } from './preview/previewPanel';
import { isTemplate } from './templates';

/** Every command id, in one place; `package.json` contributes the same ids. */
export const enum CommandId {
  PreviewTemplate = 'promptloom.previewTemplate',
}

type Handler = (ctx: Ctx, ...args: unknown[]) => unknown;

/** The command table: each id with its handler. */
export const COMMANDS: Readonly<Record<CommandId, Handler>> = {
  [CommandId.PreviewTemplate]: previewTemplate,
};

/**
 * Opens (or reveals) the live preview of a template: the one given (editor title button,
 * explorer) or the active editor's. Returns a handle on the panel, for scripts and tests.
 */
async function previewTemplate(ctx: Ctx, resource?: unknown): Promise<PreviewHandle | undefined> {
  const uri = resource instanceof vscode.Uri ? resource : vscode.window.activeTextEditor?.document.uri;
  const document = uri && (await vscode.workspace.openTextDocument(uri));
  if (!document || !isTemplate(document)) {
    void vscode.window.showInformationMessage('Open a .prompt template to preview it.');
    return undefined;
  }
  const panel = PreviewPanel.createOrShow(ctx.previewDeps, document);
  return {
    uri: document.uri,
    rendered: () => panel.lastRendered,
    setValues: (values) => panel.setValues(values),
    visible: () => !panel.isDisposed && panel.panel.visible,
  };
}

export interface PreviewHandle {
  readonly uri: vscode.Uri;
  readonly rendered: () => PreviewPanel['lastRendered'];
  readonly setValues: PreviewPanel['setValues'];
  readonly visible: () => boolean;
}
