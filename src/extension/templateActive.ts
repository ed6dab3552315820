import * as vscode from 'vscode';
import { setActiveEdit } from '../core/template';
import type { TemplateStore } from './templates';

/**
 * Marks a template active or inactive: the front matter's `active:` written through a
 * WorkspaceEdit (undoable; the rest of the file untouched). A file without unsaved changes is
 * saved, so the Templates view, the CLI and git see it; one with unsaved changes is left for its
 * author to save with them. Returns whether the file changed.
 */
export async function setTemplateActive(templates: TemplateStore, uri: vscode.Uri, active: boolean): Promise<boolean> {
  const document = await vscode.workspace.openTextDocument(uri);
  const parsed = templates.get(document);
  const result = setActiveEdit(parsed, active);
  if (!result.ok) throw new Error(`${parsed.settings.name} cannot be marked ${active ? 'active' : 'inactive'}: ${result.reason}.`);
  if (!result.edit) return false;
  const wasDirty = document.isDirty;
  const edit = new vscode.WorkspaceEdit();
  edit.replace(uri, new vscode.Range(document.positionAt(result.edit.span.start), document.positionAt(result.edit.span.end)), result.edit.newText);
  if (!(await vscode.workspace.applyEdit(edit))) throw new Error(`${parsed.settings.name} could not be edited.`);
  if (!wasDirty) await document.save();
  return true;
}

/** What a caller that does not ask (tests, other extensions) answers for an inactive template. */
export type IfInactive = 'generate' | 'cancel';

/**
 * Before a generation: true when the template is active, or when the person (or `answer`) says
 * to generate from it anyway. An inactive template is one its author took out of rotation, so
 * spending on it deserves a second look.
 */
export async function confirmGenerateInactive(templates: TemplateStore, uri: vscode.Uri, answer?: IfInactive): Promise<boolean> {
  const parsed = templates.get(await vscode.workspace.openTextDocument(uri));
  if (parsed.settings.active) return true;
  if (answer) return answer === 'generate';
  const choice = await vscode.window.showWarningMessage(`${parsed.settings.name} is marked inactive. Generate anyway?`, { modal: true }, 'Generate Anyway');
  return choice === 'Generate Anyway';
}
