import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { createClient } from '../../src/core/generation/claude';
import { DEFAULT_MODELS, answerCost, realClock } from '../../src/core/generation/engine';
import { recordIntent } from '../../src/core/generation/messageBatchRecords';
import { BATCH_PRICE_FACTOR } from '../../src/core/generation/messageBatches';
import { submit } from '../../src/core/generation/messageBatchSubmission';
import { WorkspaceBatchRepository, Store, WorkspaceTemplateRepository } from '../../src/core/store';
import { databaseFilesOpenedHere, workspaceFile } from './helpers';

interface Outcome {
  mode?: string;
  batchId: string;
  conversations: string[];
  messageBatches?: string[];
  summary: { requested: number; succeeded: number; failed: number; stopped?: string; costUsd: number };
}

const KEY = 'sk-integration-key';
const MODEL = 'claude-sonnet-5-5';

/** The fake's Message Batches, through the real SDK: what was submitted at "Anthropic". */
async function messageBatchesAtTheApi(): Promise<string[]> {
  const client = createClient({ apiKey: KEY, baseURL: process.env.ANTHROPIC_BASE_URL!, timeoutMs: 30_000 });
  const ids: string[] = [];
  for await (const b of client.messages.batches.list({ limit: 100 })) ids.push(b.id);
  return ids;
}

describe('Message Batches from the editor (fake Messages API over HTTP)', function () {
  this.timeout(120_000);
  const folder = () => vscode.workspace.workspaceFolders![0]!.uri.fsPath;
  const uri = () => workspaceFile('generate.prompt');
  const config = () => vscode.workspace.getConfiguration('promptloom');

  before(async () => {
    await vscode.commands.executeCommand('promptloom.setApiKey', KEY);
  });

  it('Generate Batch with promptloom.generation.mode batch stores every conversation through one Message Batch, at half price', async () => {
    await config().update('generation.mode', 'batch', vscode.ConfigurationTarget.Workspace);
    try {
      const before = await messageBatchesAtTheApi();
      const outcome = await vscode.commands.executeCommand<Outcome>('promptloom.generateBatch', uri(), { count: 5, values: { persona: 'Near Retiree' } });
      assert.equal(outcome.mode, 'batch');
      assert.equal(outcome.summary.succeeded, 5);
      assert.equal(outcome.summary.failed, 0);
      // One Message Batch was created at the API, and it is the one the outcome names.
      const created = (await messageBatchesAtTheApi()).filter((id) => !before.includes(id));
      assert.deepEqual(created, outcome.messageBatches);
      assert.equal(created.length, 1);

      const store = await Store.open(folder());
      try {
        assert.equal(Number((await store.get('SELECT count(*) AS n FROM conversations WHERE batch_id = ?', [outcome.batchId]))!.n), 5);
        const logs = (await store.all<{ mode: string; cost_usd: number; input_tokens: number; output_tokens: number; cache_creation_input_tokens: number; cache_read_input_tokens: number }>(
          "SELECT mode, cost_usd, input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens FROM generation_logs WHERE batch_id = ? AND status = 'succeeded'",
          [outcome.batchId],
        ));
        assert.equal(logs.length, 5);
        const model = DEFAULT_MODELS.find((m) => m.id === MODEL)!;
        for (const log of logs) {
          assert.equal(log.mode, 'batch');
          const direct = answerCost(model, { inputTokens: log.input_tokens, outputTokens: log.output_tokens, cacheCreationInputTokens: log.cache_creation_input_tokens, cacheReadInputTokens: log.cache_read_input_tokens });
          assert.ok(direct > 0);
          assert.ok(Math.abs(log.cost_usd - direct * BATCH_PRICE_FACTOR) < 1e-9, `${log.cost_usd} is half of ${direct}`);
        }
        assert.ok(Math.abs(outcome.summary.costUsd - logs.reduce((s, l) => s + l.cost_usd, 0)) < 1e-9);
        // Scored as on the direct path.
        assert.equal(Number((await store.get('SELECT count(*) AS n FROM conversations WHERE batch_id = ? AND quality IS NOT NULL', [outcome.batchId]))!.n), 5);
        assert.equal((await store.get("SELECT count(*) AS n FROM message_batches WHERE batch_id = ? AND state <> 'collected'", [outcome.batchId]))!.n, 0);
        assert.equal((await store.get('SELECT status FROM batches WHERE id = ?', [outcome.batchId]))!.status, 'completed');
      } finally {
        store.close();
      }
    } finally {
      await config().update('generation.mode', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  it('the start-up check finds a Message Batch a closed window left at Anthropic, and Collect stores its results once', async () => {
    // What a window closed while waiting leaves: a batch, and its Message Batch submitted and
    // recorded (by the core's own functions) but not collected.
    const writer = await Store.open(folder());
    const templates = new WorkspaceTemplateRepository(writer);
    const template = await templates.ensure('generate.prompt', { name: 'Generation fixture', tier: 'template' });
    const version = await templates.recordVersion(template.id, readFileSync(uri().fsPath, 'utf8'));
    const batch = await new WorkspaceBatchRepository(writer).create({ templateId: template.id, versionId: version.id, requested: 3, parameters: { persona: 'Anxious Investor' }, model: MODEL, settings: { mode: 'batch' } });
    await new WorkspaceBatchRepository(writer).setStatus(batch.id, 'running');
    const row = await recordIntent(writer, batch.id, ['c0-0', 'c0-1', 'c0-2'], 1, 0.5, Date.now());
    const client = createClient({ apiKey: KEY, baseURL: process.env.ANTHROPIC_BASE_URL!, timeoutMs: 30_000 });
    const requests = row.customIds.map((custom_id) => ({ custom_id, params: { model: MODEL, max_tokens: 1024, messages: [{ role: 'user' as const, content: 'Write a conversation.' }] } }));
    const anthropicId = await submit(writer, client, row, requests, realClock);
    const before = await messageBatchesAtTheApi();

    try {
      const check = await vscode.commands.executeCommand<{ found: number; outcomes: Outcome[] }>('promptloom.internal.checkMessageBatches', 'Collect');
      assert.equal(check.found, 1);
      assert.equal(check.outcomes.length, 1);
      const outcome = check.outcomes[0]!;
      assert.equal(outcome.batchId, batch.id);
      assert.deepEqual(outcome.messageBatches, [anthropicId]);
      assert.equal(outcome.summary.succeeded, 3);

      const counts = async () => {
        await writer.refresh();
        return {
          conversations: Number((await writer.get('SELECT count(*) AS n FROM conversations WHERE batch_id = ?', [batch.id]))!.n),
          logs: Number((await writer.get('SELECT count(*) AS n FROM generation_logs WHERE batch_id = ?', [batch.id]))!.n),
          results: Number((await writer.get('SELECT count(*) AS n FROM message_batch_results WHERE message_batch_id = ?', [row.id]))!.n),
        };
      };
      assert.deepEqual(await counts(), { conversations: 3, logs: 3, results: 3 });
      assert.equal((await writer.get('SELECT state FROM message_batches WHERE id = ?', [row.id]))!.state, 'collected');
      assert.equal((await writer.get('SELECT status FROM batches WHERE id = ?', [batch.id]))!.status, 'completed');

      // Once collected, nothing is left to find, and collecting again stores nothing twice.
      assert.deepEqual(await vscode.commands.executeCommand('promptloom.internal.checkMessageBatches', 'Collect'), { found: 0, outcomes: [] });
      assert.deepEqual(await vscode.commands.executeCommand('promptloom.collectMessageBatches'), []);
      assert.deepEqual(await counts(), { conversations: 3, logs: 3, results: 3 });
      // Nothing was submitted again.
      assert.deepEqual(await messageBatchesAtTheApi(), before);
    } finally {
      writer.close();
    }
  });

  it("a Generate Batch, a Message Batches run and Collect open no file of the database on the extension host's thread: its Store is in the worker", async () => {
    // A Message Batch a closed window left at Anthropic, made by the test's own Store before the watch.
    const writer = await Store.open(folder());
    let left: { batchId: string; anthropicId: string };
    try {
      const templates = new WorkspaceTemplateRepository(writer);
      const template = await templates.ensure('generate.prompt', { name: 'Generation fixture', tier: 'template' });
      const version = await templates.recordVersion(template.id, readFileSync(uri().fsPath, 'utf8'));
      const batch = await new WorkspaceBatchRepository(writer).create({ templateId: template.id, versionId: version.id, requested: 2, parameters: { persona: 'Anxious Investor' }, model: MODEL, settings: { mode: 'batch' } });
      await new WorkspaceBatchRepository(writer).setStatus(batch.id, 'running');
      const row = await recordIntent(writer, batch.id, ['c0-0', 'c0-1'], 1, 0.5, Date.now());
      const client = createClient({ apiKey: KEY, baseURL: process.env.ANTHROPIC_BASE_URL!, timeoutMs: 30_000 });
      const requests = row.customIds.map((custom_id) => ({ custom_id, params: { model: MODEL, max_tokens: 1024, messages: [{ role: 'user' as const, content: 'Write a conversation.' }] } }));
      left = { batchId: batch.id, anthropicId: await submit(writer, client, row, requests, realClock) };
    } finally {
      writer.close();
    }

    const { value, opened } = await databaseFilesOpenedHere(async () => {
      const direct = await vscode.commands.executeCommand<Outcome>('promptloom.generateBatch', uri(), { count: 2, values: { persona: 'Near Retiree' } });
      await config().update('generation.mode', 'batch', vscode.ConfigurationTarget.Workspace);
      let batched: Outcome;
      try {
        batched = await vscode.commands.executeCommand<Outcome>('promptloom.generateBatch', uri(), { count: 2, values: { persona: 'Near Retiree' } });
      } finally {
        await config().update('generation.mode', undefined, vscode.ConfigurationTarget.Workspace);
      }
      const check = await vscode.commands.executeCommand<{ found: number; outcomes: Outcome[] }>('promptloom.internal.checkMessageBatches', 'Collect');
      return { direct, batched, check };
    });
    // Each ran, and stored through the worker.
    assert.equal(value.direct.mode, undefined);
    assert.equal(value.direct.summary.succeeded, 2);
    assert.equal(value.batched.mode, 'batch');
    assert.equal(value.batched.summary.succeeded, 2);
    assert.equal(value.check.found, 1);
    assert.deepEqual(value.check.outcomes.map((o) => [o.batchId, o.messageBatches, o.summary.succeeded]), [[left.batchId, [left.anthropicId], 2]]);
    assert.deepEqual([...new Set(opened.map((path) => basename(path)))], [], 'files of the database opened on the extension host thread');

    // The watch sees a Store opened on this thread, and the rows are there.
    const probe = await databaseFilesOpenedHere(async () => {
      const store = await Store.open(folder());
      try {
        return await Promise.all([value.direct.batchId, value.batched.batchId, left.batchId].map(async (id) => Number((await store.get('SELECT count(*) AS n FROM conversations WHERE batch_id = ?', [id]))!.n)));
      } finally {
        store.close();
      }
    });
    assert.ok(probe.opened.length > 0, 'a Store opened here is seen');
    assert.deepEqual(probe.value, [2, 2, 2]);
  });
});
