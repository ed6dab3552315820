/// <reference lib="dom" />
import { strict as assert } from 'node:assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { createClient } from '../../src/core/generation/claude';
import { realClock } from '../../src/core/generation/engine';
import { recordIntent } from '../../src/core/generation/messageBatchRecords';
import { submit } from '../../src/core/generation/messageBatchSubmission';
import { WorkspaceBatchRepository, Store, WorkspaceTemplateRepository } from '../../src/core/store';
import { FakeMessagesApi } from '../fixtures/fakeMessagesApi';
import { Workbench } from './workbench';

describe('Message Batches in the VS Code workbench (headless Chromium)', () => {
  let wb: Workbench;
  let api: FakeMessagesApi;

  before(async () => {
    // The Message Batch takes 8 s at the fake: long enough to see its progress and press Cancel.
    api = await FakeMessagesApi.start({ apiKey: 'sk-e2e-key', batchProcessingMs: 8_000 });
    const auto = async (folder: string) => {
      mkdirSync(join(folder, '.vscode'), { recursive: true });
      writeFileSync(join(folder, '.vscode', 'settings.json'), JSON.stringify({ 'promptloom.generation.mode': 'auto' }));
    };
    wb = await Workbench.open('message-batches', auto, { ANTHROPIC_BASE_URL: api.url });
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await wb?.screenshot(`failed-${this.currentTest.title.replace(/\W+/g, '-')}`);
  });
  after(async () => {
    await wb?.close();
    await api?.stop();
  });


  /** Generate Batch… on the open template: `count` conversations, every other answer the default, up to its confirmation. */
  const generateBatch = async (count: number) => {
    await wb.runCommand('Promptloom: Generate Batch…');
    await wb.waitForStep('vary which values');
    await wb.page.keyboard.press('Enter');
    await wb.waitForStep('How many conversations');
    await wb.quickInput().fill(String(count));
    await wb.page.keyboard.press('Enter');
    for (const step of ['priority', 'Requests in flight', 'Value of persona']) {
      await wb.waitForStep(step);
      await wb.page.keyboard.press('Enter');
    }
  };

  it('with mode auto, 60 conversations ask: both prices, then Message Batches with progress; Cancel asks before cancelling at Anthropic', async () => {
    await wb.setApiKey('sk-e2e-key');
    await wb.runCommand('Notifications: Clear All Notifications');
    await wb.toast('API key saved').waitFor({ state: 'detached' });
    await wb.page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'generate.prompt' }).click();
    await wb.page.locator('.monaco-editor .view-lines', { hasText: 'Write a conversation with' }).first().waitFor();

    await generateBatch(60);

    const dialog = wb.page.locator('.monaco-dialog-box');
    await dialog.waitFor();
    const text = await dialog.innerText();
    assert.match(text, /Generate 60 conversations in 1 value set\?/);
    const direct = /directly: \$(\d+\.\d+)–\$(\d+\.\d+)/.exec(text);
    const batch = /with Message Batches \(half price\): \$(\d+\.\d+)–\$(\d+\.\d+)/.exec(text);
    assert.ok(direct && batch, text);
    // Half the price, to the cent of the rounding shown.
    assert.ok(Math.abs(Number(batch[2]) - Number(direct[2]) / 2) <= 0.01, text);
    assert.match(text, /prompt caching: /);
    assert.match(text, /Directly: estimated time about/);
    assert.match(text, /With Message Batches: results within 24 hours/);
    assert.equal(api.stats.requests + api.stats.batchCreates, 0, 'nothing is spent before the confirmation');
    await dialog.locator('.monaco-button', { hasText: 'Generate directly' }).waitFor();
    await wb.page.mouse.move(700, 20); // no explorer tooltip in the picture
    await wb.screenshot('message-batches-confirm');
    await dialog.locator('.monaco-button', { hasText: 'Generate with Message Batches' }).click();

    // The progress, from the Message Batch's request counts.
    const progress = wb.toast('Message Batches: Generation fixture × 60');
    await progress.filter({ hasText: /0 of 60 stored, 0 failed, 60 processing · \$0\.0000/ }).waitFor({ timeout: 30_000 });
    await wb.screenshot('message-batches-progress');
    assert.equal(api.stats.batchCreates, 1);

    // Cancel asks first; Keep Running leaves the paid work going, and the progress comes back.
    await progress.hover();
    await progress.locator('.monaco-button, .action-label', { hasText: 'Cancel' }).first().click();
    const ask = wb.page.locator('.monaco-dialog-box', { hasText: 'at Anthropic?' });
    await ask.waitFor();
    assert.match(await ask.innerText(), /already answered are paid for/);
    // Two ways only: no third "Cancel" beside "Cancel at Anthropic".
    assert.deepEqual((await ask.locator('.monaco-button').allInnerTexts()).map((t) => t.trim()).sort(), ['Cancel at Anthropic', 'Keep Running']);
    await wb.screenshot('message-batches-cancel-ask');
    await ask.locator('.monaco-button', { hasText: 'Keep Running' }).click();
    await progress.first().waitFor();
    assert.equal(api.stats.batchCancels, 0);

    const done = wb.toast(/60 of 60 conversations generated through Message Batches at half price/);
    await done.waitFor({ timeout: 60_000 });
    await wb.page.waitForTimeout(300); // the toast's fade-in, for the picture
    await wb.screenshot('message-batches-done');
    assert.equal(api.stats.batchCreates, 1);
    assert.equal(api.stats.requests, 0, 'no direct request');
    const store = await Store.open(wb.folder);
    try {
      assert.equal(Number((await store.get("SELECT count(*) AS n FROM conversations c JOIN templates t ON t.id = c.template_id WHERE t.path = 'generate.prompt'"))!.n), 60);
      assert.equal(Number((await store.get("SELECT count(*) AS n FROM generation_logs WHERE mode = 'batch' AND status = 'succeeded'"))!.n), 60);
    } finally {
      store.close();
    }
  });

  it('Cancel at Anthropic cancels the Message Batch; the cancelled batch says so, and Resume finishes it through Message Batches', async () => {
    await wb.runCommand('Notifications: Clear All Notifications');
    await generateBatch(50);
    const dialog = wb.page.locator('.monaco-dialog-box');
    await dialog.locator('.monaco-button', { hasText: 'Generate with Message Batches' }).click();

    const progress = wb.toast('Message Batches: Generation fixture × 50');
    await progress.filter({ hasText: /50 processing/ }).waitFor({ timeout: 30_000 });
    const creates = api.stats.batchCreates;
    await progress.hover();
    await progress.locator('.monaco-button, .action-label', { hasText: 'Cancel' }).first().click();
    await wb.page.locator('.monaco-dialog-box', { hasText: 'at Anthropic?' }).locator('.monaco-button', { hasText: 'Cancel at Anthropic' }).click();

    const cancelled = wb.toast(/Promptloom: cancelled, 50 of 50 not generated/);
    await cancelled.waitFor({ timeout: 60_000 });
    assert.equal(api.stats.batchCancels, 1);
    await wb.page.waitForTimeout(300); // the toast's fade-in, for the picture
    await wb.screenshot('message-batches-cancelled');
    await cancelled.locator('.monaco-button', { hasText: 'Resume' }).click();
    await wb.toast(/50 of 50 conversations generated through Message Batches/).waitFor({ timeout: 60_000 });
    // The canceled requests went again in one new Message Batch.
    assert.equal(api.stats.batchCreates, creates + 1);
  });
});

describe('Message Batches left at Anthropic by a closed window (headless Chromium)', () => {
  let wb: Workbench;
  let api: FakeMessagesApi;
  let batchId = '';

  before(async () => {
    api = await FakeMessagesApi.start({ apiKey: 'sk-e2e-key', batchProcessingMs: 2_000 });
    // What a window closed while waiting leaves behind: a Message Batch submitted and recorded, not collected.
    const leftRunning = async (folder: string) => {
      const store = await Store.open(folder);
      try {
        const templates = new WorkspaceTemplateRepository(store);
        const template = await templates.ensure('generate.prompt', { name: 'Generation fixture', tier: 'scenario' });
        const version = await templates.recordVersion(template.id, readFileSync(join(folder, 'generate.prompt'), 'utf8'));
        const batch = await new WorkspaceBatchRepository(store).create({ templateId: template.id, versionId: version.id, requested: 3, parameters: { persona: 'Near Retiree' }, model: 'claude-sonnet-5-5', settings: { mode: 'batch' } });
        batchId = batch.id;
        await new WorkspaceBatchRepository(store).setStatus(batch.id, 'running');
        const row = await recordIntent(store, batch.id, ['c0-0', 'c0-1', 'c0-2'], 1, 0.5, Date.now());
        const client = createClient({ apiKey: 'sk-e2e-key', baseURL: api.url, timeoutMs: 30_000 });
        await submit(store, client, row, row.customIds.map((custom_id) => ({ custom_id, params: { model: 'claude-sonnet-5-5', max_tokens: 1024, messages: [{ role: 'user' as const, content: 'Write a conversation.' }] } })), realClock);
      } finally {
        store.close();
      }
    };
    // The key from the environment: the start-up check needs one before anyone sets it.
    wb = await Workbench.open('message-batches-reattach', leftRunning, { ANTHROPIC_BASE_URL: api.url, ANTHROPIC_API_KEY: 'sk-e2e-key' });
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await wb?.screenshot(`failed-${this.currentTest.title.replace(/\W+/g, '-')}`);
  });
  after(async () => {
    await wb?.close();
    await api?.stop();
  });


  it('at start-up a notice names the Message Batch still at Anthropic; Collect stores its conversations once', async () => {
    const notice = wb.toast('1 Message Batch is still at Anthropic');
    await notice.waitFor({ timeout: 60_000 });
    await wb.page.waitForTimeout(300); // the toast's fade-in, for the picture
    await wb.screenshot('message-batches-startup-notice');
    // The queue lists it from the database (this window never submitted it), and Cancel Batch offers it.
    await wb.runCommand('Promptloom: Show Generation Queue');
    const row = wb.page.locator('.quick-input-list .monaco-list-row', { hasText: 'generate.prompt × 3' });
    await row.waitFor();
    assert.match(await row.innerText(), /1 Message Batch at Anthropic, not collected yet/);
    await wb.screenshot('message-batches-queue');
    await wb.page.keyboard.press('Escape');
    await wb.runCommand('Promptloom: Cancel Batch');
    await wb.page.locator('.quick-input-widget', { hasText: 'Cancel which batch?' }).locator('.monaco-list-row', { hasText: 'generate.prompt × 3' }).waitFor();
    await wb.page.keyboard.press('Escape');
    assert.equal(api.stats.batchCancels, 0);
    await notice.locator('.monaco-button', { hasText: 'Collect' }).click();
    await wb.toast(/collected 3 conversations from Message Batches/).waitFor({ timeout: 60_000 });
    assert.equal(api.stats.batchCreates, 1, 'collected, not submitted again');
    const store = await Store.open(wb.folder);
    try {
      assert.equal(Number((await store.get('SELECT count(*) AS n FROM conversations WHERE batch_id = ?', [batchId]))!.n), 3);
      assert.equal((await store.get("SELECT count(*) AS n FROM message_batches WHERE state <> 'collected'"))!.n, 0);
    } finally {
      store.close();
    }
  });
});
