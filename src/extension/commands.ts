import * as vscode from 'vscode';
import type { Ctx } from './ctx';
import { PreviewPanel } from './preview/previewPanel';
import { isTemplate } from './templates';

/** Every command id, in one place; `package.json` contributes the same ids. */
export const enum CommandId {
  PreviewTemplate = 'promptloom.previewTemplate',
  ShowTemplateHistory = 'promptloom.showTemplateHistory',
  DeleteTemplate = 'promptloom.deleteTemplate',
  // Internal (hidden from the palette): the steps of the history flow, callable with arguments.
  TemplateVersions = 'promptloom.internal.templateVersions',
  CompareTemplateVersions = 'promptloom.internal.compareTemplateVersions',
  RestoreTemplateVersion = 'promptloom.internal.restoreTemplateVersion',
}

type Handler = (ctx: Ctx, ...args: unknown[]) => unknown;

/** The command table: each id with its handler. */
export const COMMANDS: Readonly<Record<CommandId, Handler>> = {
  [CommandId.PreviewTemplate]: previewTemplate,
  [CommandId.ShowTemplateHistory]: async (ctx, resource) => {
    const uri = await templateUri(resource, 'see its history');
    if (uri) await ctx.history.show(uri);
  },
  [CommandId.DeleteTemplate]: async (ctx, resource, answer) => {
    const uri = await templateUri(resource, 'delete it');
    // A scripted answer (tests, other extensions) skips the dialog.
    if (uri) return ctx.history.delete(uri, typeof answer === 'string' ? async () => answer : undefined);
    return undefined;
  },
  [CommandId.TemplateVersions]: async (ctx, resource) => (await ctx.history.versions(resource as vscode.Uri))?.versions ?? [],
  [CommandId.CompareTemplateVersions]: (ctx, resource, a, b) => ctx.history.compare(resource as vscode.Uri, a as number, b as number | undefined),
  [CommandId.RestoreTemplateVersion]: (ctx, resource, id) => ctx.history.restore(resource as vscode.Uri, id as number),
};

/** The template a command is about: the one given, or the active editor's; says why when none. */
async function templateUri(resource: unknown, purpose: string): Promise<vscode.Uri | undefined> {
  const uri = resource instanceof vscode.Uri ? resource : vscode.window.activeTextEditor?.document.uri;
  const document = uri && (await vscode.workspace.openTextDocument(uri));
  if (!document || !isTemplate(document)) {
    void vscode.window.showInformationMessage(`Open a .prompt template to ${purpose}.`);
    return undefined;
  }
  return document.uri;
}

/**
 * Opens (or reveals) the live preview of a template: the one given (editor title button,
 * explorer) or the active editor's. Returns a handle on the panel, for scripts and tests.
 */
async function previewTemplate(ctx: Ctx, resource?: unknown): Promise<PreviewHandle | undefined> {
  const uri = await templateUri(resource, 'preview it');
  if (!uri) return undefined;
  const document = await vscode.workspace.openTextDocument(uri);
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
