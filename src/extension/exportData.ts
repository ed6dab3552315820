import * as vscode from 'vscode';
import { exportJsonl, type ExportFilters, type ExportFormat, type ExportStatus } from '../core/export';
import { TemplateRepository } from '../core/store';
import type { WorkspaceDb } from './workspaceDb';

/** What an export writes; commands and tests may give it whole and skip the questions. */
export interface ExportRequest {
  readonly format: ExportFormat;
  readonly status: ExportStatus;
  readonly template?: string;
  readonly minQuality?: number;
  readonly target?: vscode.Uri;
}

const FORMATS: readonly (vscode.QuickPickItem & { value: ExportFormat })[] = [
  { label: 'OpenAI', description: '{ "messages": [system, user, assistant…] }', value: 'openai' },
  { label: 'Anthropic', description: '{ "system", "messages" } strictly alternating', value: 'anthropic' },
  { label: 'ShareGPT', description: '{ "conversations": [{ "from", "value" }] }', value: 'sharegpt' },
];
const STATUSES: readonly (vscode.QuickPickItem & { value: ExportStatus })[] = [
  { label: 'Approved', description: 'reviewed and approved (the usual training set)', value: 'approved' },
  { label: 'All', value: 'all' },
  { label: 'Needs revision', value: 'needs_revision' },
  { label: 'Rejected', value: 'rejected' },
];

/**
 * `Promptloom: Export Training Data…`: the same JSONL as `promptloom export`, with the choices
 * asked in turn and the file chosen in a save dialog.
 */
export async function exportTrainingData(db: WorkspaceDb, given?: ExportRequest): Promise<{ uri: vscode.Uri; count: number } | undefined> {
  const store = await db.getIfExists();
  if (!store) {
    void vscode.window.showInformationMessage('Promptloom: nothing to export yet; generate and approve some conversations first.');
    return undefined;
  }
  const request = given ?? (await ask(db));
  if (!request) return undefined;
  const filters: ExportFilters = {
    status: request.status,
    ...(request.template !== undefined ? { template: request.template } : {}),
    ...(request.minQuality !== undefined ? { minQuality: request.minQuality } : {}),
  };
  const { text, count } = exportJsonl(store, filters, request.format);
  if (count === 0) {
    void vscode.window.showInformationMessage(`Promptloom: no ${request.status === 'all' ? '' : `${request.status.replace('_', ' ')} `}conversations match; nothing was written.`);
    return undefined;
  }
  const folder = db.folder;
  const uri =
    request.target ??
    (await vscode.window.showSaveDialog({
      title: `Export ${count} conversations`,
      filters: { 'JSON Lines': ['jsonl'] },
      ...(folder ? { defaultUri: vscode.Uri.joinPath(folder.uri, `training-${request.format}-${request.status}.jsonl`) } : {}),
    }));
  if (!uri) return undefined;
  await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(text));
  void vscode.window.showInformationMessage(`Promptloom: exported ${count} conversation${count === 1 ? '' : 's'} to ${vscode.workspace.asRelativePath(uri)}.`, 'Open').then((choice) => {
    if (choice === 'Open') void vscode.window.showTextDocument(uri);
  });
  return { uri, count };
}

async function ask(db: WorkspaceDb): Promise<ExportRequest | undefined> {
  const format = await vscode.window.showQuickPick(FORMATS, { title: 'Export training data (1/4): format' });
  if (!format) return undefined;
  const status = await vscode.window.showQuickPick(STATUSES, { title: 'Export training data (2/4): which conversations' });
  if (!status) return undefined;
  const store = await db.getIfExists();
  const templates = store ? new TemplateRepository(store).list() : [];
  const template = await vscode.window.showQuickPick<vscode.QuickPickItem & { value?: string }>(
    [{ label: 'All templates' }, ...templates.map((t) => ({ label: t.name, description: t.path, value: t.path }))],
    { title: 'Export training data (3/4): template' },
  );
  if (!template) return undefined;
  const min = await vscode.window.showInputBox({
    title: 'Export training data (4/4): minimum quality',
    prompt: 'Only conversations scoring at least this (0–10); empty for any',
    validateInput: (v) => (v.trim() === '' || (Number.isFinite(Number(v)) && Number(v) >= 0 && Number(v) <= 10) ? undefined : 'A number from 0 to 10, or nothing.'),
  });
  if (min === undefined) return undefined;
  return {
    format: format.value,
    status: status.value,
    ...(template.value !== undefined ? { template: template.value } : {}),
    ...(min.trim() !== '' ? { minQuality: Number(min) } : {}),
  };
}
