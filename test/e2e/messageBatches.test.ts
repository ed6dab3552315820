/// <reference lib="dom" />
import { strict as assert } from 'node:assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../../src/core/store';
import { FakeMessagesApi } from '../fixtures/fakeMessagesApi';
import { Workbench } from './workbench';

describe('Message Batches in the VS Code workbench (headless Chromium)', () => {
  let wb: Workbench;
  let api: FakeMessagesApi;

  before(async () => {
    // The Message Batch takes 6 s at the fake: long enough to see its progress and press Cancel.
    api = await FakeMessagesApi.start({ apiKey: 'sk-e2e-key', batchProcessingMs: 6_000 });
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

  const input = () => wb.page.locator('.quick-input-widget input');
  const step = (text: string) => wb.page.locator('.quick-input-widget', { hasText: text }).waitFor({ state: 'visible' });
  const toast = (text: string | RegExp) => wb.page.locator('.notifications-toasts .notification-list-item', { hasText: text });

  it('with mode auto, 60 conversations ask: both prices, then Message Batches with progress; Cancel asks before cancelling at Anthropic', async () => {
    await wb.runCommand('Promptloom: Set API Key');
    await step('secret storage');
    await input().fill('sk-e2e-key');
    await wb.page.keyboard.press('Enter');
    await toast('API key saved').waitFor();
    await wb.runCommand('Notifications: Clear All Notifications');
    await toast('API key saved').waitFor({ state: 'detached' });
    await wb.page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'generate.prompt' }).click();
    await wb.page.locator('.monaco-editor .view-lines', { hasText: 'Write a conversation with' }).first().waitFor();

    await wb.runCommand('Promptloom: Generate Batch…');
    await step('vary which values');
    await wb.page.keyboard.press('Enter');
    await step('How many conversations');
    await input().fill('60');
    await wb.page.keyboard.press('Enter');
    await step('priority');
    await wb.page.keyboard.press('Enter');
    await step('Requests in flight');
    await wb.page.keyboard.press('Enter');
    await step('Value of persona');
    await wb.page.keyboard.press('Enter');

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
    const progress = toast('Message Batches: Generation fixture × 60');
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

    const done = toast(/60 of 60 conversations generated through Message Batches at half price/);
    await done.waitFor({ timeout: 60_000 });
    await wb.page.waitForTimeout(300); // the toast's fade-in, for the picture
    await wb.screenshot('message-batches-done');
    assert.equal(api.stats.batchCreates, 1);
    assert.equal(api.stats.requests, 0, 'no direct request');
    const store = await Store.open(wb.folder);
    try {
      assert.equal(Number(store.get("SELECT count(*) AS n FROM conversations c JOIN templates t ON t.id = c.template_id WHERE t.path = 'generate.prompt'")!.n), 60);
      assert.equal(Number(store.get("SELECT count(*) AS n FROM generation_logs WHERE mode = 'batch' AND status = 'succeeded'")!.n), 60);
    } finally {
      store.close();
    }
  });
});
