import { strict as assert } from 'node:assert';
import * as vscode from 'vscode';
import { WorkspaceBatchRepository, WorkspaceGenerationRepository, Store, WorkspaceTemplateRepository } from '../../src/core/store';
import { waitFor, workspaceFile } from './helpers';

interface Outcome {
  batchId: string;
  conversations: string[];
  summary: { requested: number; succeeded: number; failed: number; stopped?: string; costUsd: number };
}

describe('generation from the editor (fake Messages API over HTTP)', function () {
  this.timeout(120_000);
  const uri = () => workspaceFile('generate.prompt');

  before(async () => {
    await vscode.commands.executeCommand('promptloom.setApiKey', 'sk-integration-key');
  });

  it('Run Test Generation stores one conversation and opens its transcript', async () => {
    const outcome = await vscode.commands.executeCommand<Outcome>('promptloom.runTestGeneration', uri(), { persona: 'Near Retiree' });
    assert.equal(outcome.summary.succeeded, 1);
    assert.equal(outcome.conversations.length, 1);
    const editor = await waitFor('transcript', () => (vscode.window.activeTextEditor?.document.uri.scheme === 'promptloom-conversation' ? vscode.window.activeTextEditor : undefined));
    assert.match(editor.document.getText(), /^# Generation fixture · conversation /);
    assert.match(editor.document.getText(), /^\*\*User \(turn 1\):\*\* My portfolio dropped twelve percent/m);
    assert.match(editor.document.getText(), /^Quality: \d+\.\d \/ 10/m);
    const store = await Store.open(vscode.workspace.workspaceFolders![0]!.uri.fsPath);
    const row = await store.get('SELECT c.system_prompt, b.status FROM conversations c JOIN batches b ON b.id = c.batch_id WHERE c.id = ?', [outcome.conversations[0]!]);
    assert.deepEqual(row, { system_prompt: 'You write conversations with Near Retiree.', status: 'completed' });
    store.close();
  });

  it('Generate Batch runs a batch with progress and records it', async () => {
    const outcome = await vscode.commands.executeCommand<Outcome>('promptloom.generateBatch', uri(), { count: 6, priority: 'high', concurrency: 2, values: { persona: 'Anxious Investor' } });
    assert.equal(outcome.summary.succeeded, 6);
    assert.ok(outcome.summary.costUsd > 0);
    const store = await Store.open(vscode.workspace.workspaceFolders![0]!.uri.fsPath);
    assert.equal(Number((await store.get('SELECT count(*) AS n FROM conversations WHERE batch_id = ?', [outcome.batchId]))!.n), 6);
    store.close();
  });

  it('Resume Batch finishes an interrupted batch with its own values, generating only what is missing', async () => {
    const folder = vscode.workspace.workspaceFolders![0]!.uri.fsPath;
    const writer = await Store.open(folder);
    const template = (await new WorkspaceTemplateRepository(writer).byPath('generate.prompt'))!;
    const version = (await new WorkspaceTemplateRepository(writer).versions(template.id)).pop()!;
    // A batch of 4 that stopped after one conversation (as after a crash).
    const batch = await new WorkspaceBatchRepository(writer).create({ templateId: template.id, versionId: version.id, requested: 4, parameters: { persona: 'Anxious Investor' }, model: 'claude-sonnet-5-5', settings: { concurrency: 2 } });
    await new WorkspaceBatchRepository(writer).setStatus(batch.id, 'running');
    await new WorkspaceGenerationRepository(writer).record({ templateId: template.id, versionId: version.id, batchId: batch.id, parameters: { persona: 'Anxious Investor' }, model: 'claude-sonnet-5-5', attempt: 1, status: 'succeeded', inputTokens: 1, outputTokens: 1, costUsd: 0, durationMs: 1, conversation: { turns: [{ role: 'user', content: 'q' }] } });

    const outcome = await vscode.commands.executeCommand<Outcome>('promptloom.resumeBatch', batch.id);
    assert.equal(outcome.batchId, batch.id);
    assert.equal(outcome.summary.requested, 3);
    assert.equal(outcome.summary.succeeded, 3);
    await writer.refresh();
    assert.equal(Number((await writer.get('SELECT count(*) AS n FROM conversations WHERE batch_id = ?', [batch.id]))!.n), 4);
    assert.equal((await writer.get('SELECT status FROM batches WHERE id = ?', [batch.id]))!.status, 'completed');
    writer.close();
  });

  it('a rejected key stops the batch at the first answer', async () => {
    await vscode.commands.executeCommand('promptloom.setApiKey', 'sk-rejected-key');
    try {
      const outcome = await vscode.commands.executeCommand<Outcome & { summary: { fatal?: { type: string }; remaining: number } }>('promptloom.generateBatch', uri(), { count: 12, concurrency: 1, values: { persona: 'Near Retiree' } });
      assert.equal(outcome.summary.stopped, 'fatal');
      assert.equal(outcome.summary.fatal?.type, 'authentication');
      assert.equal(outcome.summary.failed, 1);
      assert.equal(outcome.summary.remaining, 11);
    } finally {
      await vscode.commands.executeCommand('promptloom.setApiKey', 'sk-integration-key');
    }
  });

  it('the queue view lists a running batch and cancels the one picked', async () => {
    // More than the default 50-per-minute limit lets through: the batch waits for room.
    const folder = vscode.workspace.workspaceFolders![0]!.uri.fsPath;
    const conversations = async () => {
      const store = await Store.open(folder);
      try {
        return Number((await store.get('SELECT count(*) AS n FROM conversations'))!.n);
      } finally {
        store.close();
      }
    };
    const before = await conversations();
    const running = vscode.commands.executeCommand<Outcome>('promptloom.generateBatch', uri(), { count: 60, concurrency: 3, values: { persona: 'Near Retiree' } });
    // Running once its first conversation is stored: then it is the queue's only (first) item.
    await waitFor('the batch storing conversations', async () => ((await conversations()) > before ? true : undefined), 30_000);
    const shown = vscode.commands.executeCommand('promptloom.showQueue');
    let closed = false;
    void shown.then(() => (closed = true));
    // The pick shows when the queue is read; accept as soon as it is there (until it closes).
    while (!closed) {
      await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
      await new Promise((r) => setTimeout(r, 100));
    }
    const outcome = await running;
    assert.equal(outcome.summary.stopped, 'cancelled');
    assert.ok(outcome.summary.succeeded < 60);
  });

  it('Cancel Batch stops a running batch: nothing new starts', async () => {
    // 60 requests: more than the default 50-per-minute limit lets through at once.
    const running = vscode.commands.executeCommand<Outcome>('promptloom.generateBatch', uri(), { count: 60, concurrency: 3, values: { persona: 'Anxious Investor' } });
    await waitFor('a batch running', async () => ((await vscode.commands.executeCommand<number>('promptloom.cancelBatch')) > 0 ? true : undefined), 30_000);
    const outcome = await running;
    assert.equal(outcome.summary.stopped, 'cancelled');
    assert.ok(outcome.summary.succeeded < 60);
    const store = await Store.open(vscode.workspace.workspaceFolders![0]!.uri.fsPath);
    assert.equal((await store.get('SELECT status FROM batches WHERE id = ?', [outcome.batchId]))!.status, 'cancelled');
    store.close();
  });

  it('a model alias of promptloom.models is known to the diagnostics and to Generate, as in the CLI', async () => {
    const config = vscode.workspace.getConfiguration('promptloom');
    const aliasUri = workspaceFile('alias.prompt');
    await vscode.workspace.fs.writeFile(aliasUri, new TextEncoder().encode('---\nname: Alias\nmodel: fast\n---\nWrite a conversation about bonds.\n'));
    await config.update('models', [{ id: 'claude-haiku-5-5', alias: 'fast', inputPrice: 1, outputPrice: 5 }], vscode.ConfigurationTarget.Workspace);
    try {
      const doc = await vscode.workspace.openTextDocument(aliasUri);
      await vscode.window.showTextDocument(doc);
      await waitFor('the template checked with the workspace’s model table', () => (vscode.languages.getDiagnostics(aliasUri).some((d) => String((d.code as { value?: string } | undefined)?.value) === 'PL006') ? undefined : true));
      assert.deepEqual(vscode.languages.getDiagnostics(aliasUri).filter((d) => d.severity === vscode.DiagnosticSeverity.Error), []);
      const outcome = await vscode.commands.executeCommand<Outcome>('promptloom.generateBatch', aliasUri, { count: 1, values: {} });
      assert.equal(outcome.summary.succeeded, 1);
      const store = await Store.open(vscode.workspace.workspaceFolders![0]!.uri.fsPath);
      assert.equal((await store.get('SELECT model FROM batches WHERE id = ?', [outcome.batchId]))!.model, 'claude-haiku-5-5');
      store.close();
    } finally {
      await config.update('models', undefined, vscode.ConfigurationTarget.Workspace);
    }
    // Without the table's alias, the same template is wrong again: the diagnostics follow the setting.
    await waitFor('PL006 back', () => (vscode.languages.getDiagnostics(aliasUri).some((d) => String((d.code as { value?: string } | undefined)?.value) === 'PL006') ? true : undefined));
  });


});
