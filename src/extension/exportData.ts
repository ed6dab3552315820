import * as vscode from 'vscode';
import { DEFAULT_SPLIT_SEED, datasetFileNames, exportDataset, type ExportFilters, type ExportFormat, type ExportStatus } from '../core/export';
import type { StoreHandle, StoreSource } from './storeSource';
import type { WorkspaceDb } from './workspaceDb';

/** What an export writes; commands and tests may give it whole and skip the questions. */
export interface ExportRequest {
  readonly format: ExportFormat;
  readonly status: ExportStatus;
  readonly template?: string;
  readonly minQuality?: number;
  readonly target?: vscode.Uri;
  /** One conversation per near-duplicate group. */
  readonly dedup?: boolean;
  /** Train share of a train/validation split (0 < ratio < 1), and its seed. */
  readonly split?: { readonly ratio: number; readonly seed?: number };
  /** Write a dataset card beside the export. */
  readonly card?: boolean;
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
 * asked in turn and the file chosen in a save dialog. It reads the store the views show (the
 * seam, `StoreSource`): the workspace database, or the team's when the user setting chooses it;
 * there, what the member may read, in one read-only snapshot as `export --database-url` reads
 * (the lines, the near-duplicate groups, the split and the card agree), and the card says so.
 */
export async function exportTrainingData(deps: { db: WorkspaceDb; source: StoreSource }, given?: ExportRequest): Promise<{ uri: vscode.Uri; count: number } | undefined> {
  const { db, source } = deps;
  const handle = await source.read();
  if (!handle) {
    // The team database could not be read: its error was shown (once), and nothing is written.
    if (source.problem === undefined) void vscode.window.showInformationMessage('Promptloom: nothing to export yet; generate and approve some conversations first.');
    return undefined;
  }
  const where = handle.store === 'postgresql' ? ' in the team database' : '';
  const request = given ?? (await ask(handle));
  if (!request) return undefined;
  const filters: ExportFilters = {
    status: request.status,
    ...(request.template !== undefined ? { template: request.template } : {}),
    ...(request.minQuality !== undefined ? { minQuality: request.minQuality } : {}),
  };
  const peek = await handle.snapshot((reader) => exportDataset(reader, filters, request.format, { ...(request.dedup ? { dedup: true } : {}) }));
  const count = peek.all?.count ?? 0;
  if (count === 0) {
    void vscode.window.showInformationMessage(`Promptloom: no ${request.status === 'all' ? '' : `${request.status.replace('_', ' ')} `}conversations match${where}; nothing was written.`);
    return undefined;
  }
  const folder = db.folder;
  const uri =
    request.target ??
    (await vscode.window.showSaveDialog({
      title: `Export ${count} conversations${where}${request.split ? ' (the name of the pair: .train and .validation are added)' : ''}`,
      filters: { 'JSON Lines': ['jsonl'] },
      ...(folder ? { defaultUri: vscode.Uri.joinPath(folder.uri, `training-${request.format}-${request.status}.jsonl`) } : {}),
    }));
  if (!uri) return undefined;
  // Another store chosen while the dialog was open: not written from a store the user did not pick.
  if ((await source.read()) !== handle) {
    void vscode.window.showWarningMessage(`Promptloom: the database changed while exporting (now ${source.label}); nothing was written. Export again.`);
    return undefined;
  }
  const names = datasetFileNames(uri.path);
  const file = (path: string) => uri.with({ path });
  const result = await handle.snapshot((reader) =>
    exportDataset(reader, filters, request.format, {
      ...(request.dedup ? { dedup: true } : {}),
      ...(request.split ? { split: { ratio: request.split.ratio, seed: request.split.seed ?? DEFAULT_SPLIT_SEED } } : {}),
      ...(request.card ? { card: true, names: request.split ? { train: basename(names.train), validation: basename(names.validation) } : { all: basename(uri.path) } } : {}),
    }),
  );
  const written: { uri: vscode.Uri; text: string }[] = result.train && result.validation
    ? [{ uri: file(names.train), text: result.train.text }, { uri: file(names.validation), text: result.validation.text }]
    : [{ uri, text: result.all!.text }];
  if (result.card) written.push({ uri: file(names.card), text: result.card });
  for (const w of written) await vscode.workspace.fs.writeFile(w.uri, new TextEncoder().encode(w.text));
  const exported = (result.train?.count ?? 0) + (result.validation?.count ?? 0) + (result.all?.count ?? 0);
  const parts = [
    result.train && result.validation ? `${result.train.count} train + ${result.validation.count} validation` : `${exported} conversation${exported === 1 ? '' : 's'}`,
    result.removed.length > 0 ? `${result.removed.length} near-duplicate${result.removed.length === 1 ? '' : 's'} left out` : '',
    result.card ? 'with a dataset card' : '',
  ].filter((p) => p !== '');
  void vscode.window.showInformationMessage(`Promptloom: exported ${parts.join(', ')}${handle.store === 'postgresql' ? ' from the team database' : ''} to ${vscode.workspace.asRelativePath(written[0]!.uri)}${written.length > 1 ? ` and ${written.length - 1} more file${written.length > 2 ? 's' : ''}` : ''}.`, 'Open').then((choice) => {
    if (choice === 'Open') void vscode.window.showTextDocument(result.card ? file(names.card) : written[0]!.uri);
  });
  return { uri: written[0]!.uri, count: exported };
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

async function ask(handle: StoreHandle): Promise<ExportRequest | undefined> {
  const format = await vscode.window.showQuickPick(FORMATS, { title: 'Export training data (1/5): format' });
  if (!format) return undefined;
  const status = await vscode.window.showQuickPick(STATUSES, { title: 'Export training data (2/5): which conversations' });
  if (!status) return undefined;
  // A path once (on the team database two members may each have one there; the filter takes both).
  const templates = [...new Map((await handle.templates.list()).map((t) => [t.path, t] as const)).values()];
  const template = await vscode.window.showQuickPick<vscode.QuickPickItem & { value?: string }>(
    [{ label: 'All templates' }, ...templates.map((t) => ({ label: t.name, description: t.path, value: t.path }))],
    { title: 'Export training data (3/5): template' },
  );
  if (!template) return undefined;
  const min = await vscode.window.showInputBox({
    title: 'Export training data (4/5): minimum quality',
    prompt: 'Only conversations scoring at least this (0–10); empty for any',
    validateInput: (v) => (v.trim() === '' || (Number.isFinite(Number(v)) && Number(v) >= 0 && Number(v) <= 10) ? undefined : 'A number from 0 to 10, or nothing.'),
  });
  if (min === undefined) return undefined;
  type Extra = vscode.QuickPickItem & { value: 'dedup' | 'split' | 'card' };
  const extras = await vscode.window.showQuickPick<Extra>(
    [
      { label: 'Leave out near-duplicates', description: 'one conversation per group of near-duplicates: the best scored', value: 'dedup', picked: true },
      { label: 'Split into train and validation', description: 'stratified by the conversations’ values; near-duplicates never on both sides', value: 'split' },
      { label: 'Write a dataset card', description: 'counts, coverage, quality, diversity, the split and the cost, in Markdown beside the export', value: 'card', picked: true },
    ],
    { title: 'Export training data (5/5): as a dataset', canPickMany: true },
  );
  if (!extras) return undefined;
  const chosen = new Set(extras.map((e) => e.value));
  let split: ExportRequest['split'];
  if (chosen.has('split')) {
    const share = await vscode.window.showInputBox({
      title: 'Train share',
      prompt: 'The part of the conversations that goes to training (the rest to validation)',
      value: '0.9',
      validateInput: (v) => (Number(v) > 0 && Number(v) < 1 ? undefined : 'A number between 0 and 1, such as 0.9.'),
    });
    if (share === undefined) return undefined;
    split = { ratio: Number(share) };
  }
  return {
    ...(chosen.has('dedup') ? { dedup: true } : {}),
    ...(split ? { split } : {}),
    ...(chosen.has('card') ? { card: true } : {}),
    format: format.value,
    status: status.value,
    ...(template.value !== undefined ? { template: template.value } : {}),
    ...(min.trim() !== '' ? { minQuality: Number(min) } : {}),
  };
}
