/// <reference lib="dom" />
import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeMessagesApi } from '../fixtures/fakeMessagesApi';
import { Workbench } from './workbench';

const TEMPLATE = [
  '---',
  'name: Plan fixture',
  'personas: [Anxious Investor, Near Retiree, Young Saver]',
  'variables:',
  '  persona: { type: text }',
  '  channel: { type: dropdown, options: [phone, chat] }',
  '  topic: { type: text }',
  '---',
  'Write a conversation with <<persona>> over <<channel>> about <<topic>>.',
  '',
].join('\n');

/** Generate Batch… with a value plan, as a person does it: palette, pickers, the confirmation. */
describe('a value plan in the workbench (headless Chromium)', () => {
  let wb: Workbench;
  let api: FakeMessagesApi;

  before(async () => {
    api = await FakeMessagesApi.start({ apiKey: 'sk-e2e-key' });
    wb = await Workbench.open(
      'plan',
      async (folder) => {
        writeFileSync(join(folder, 'plan.prompt'), TEMPLATE);
      },
      { ANTHROPIC_BASE_URL: api.url },
    );
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await wb?.screenshot(`failed-${this.currentTest.title.replace(/\W+/g, '-')}`);
  });
  after(async () => {
    await wb?.close();
    await api?.stop();
  });


  it('chooses the values to vary, sees each variable’s values, and confirms the value sets and cost before spending', async () => {
    await wb.setApiKey('sk-e2e-key');
    await wb.openFile('plan.prompt', 'Write a conversation with');

    await wb.runCommand('Promptloom: Generate Batch…');
    await wb.waitForStep('vary which values');
    // Each variable with what it would take; a text variable without examples says why it cannot vary.
    await wb.page.locator('.quick-input-list .monaco-list-row', { hasText: '3 values: Anxious Investor, Near Retiree, Young Saver' }).waitFor();
    await wb.page.locator('.quick-input-list .monaco-list-row', { hasText: 'nothing to vary over' }).waitFor();
    for (const name of ['persona', 'channel']) await wb.page.locator('.quick-input-list .monaco-list-row', { hasText: new RegExp(`^\\s*${name}`) }).click();
    await wb.page.locator('.quick-input-widget', { hasText: '2 Selected' }).waitFor();
    await wb.screenshot('plan-vary');
    await wb.page.keyboard.press('Enter');
    await wb.waitForStep('how to spread');
    await wb.page.keyboard.press('Enter'); // balanced
    await wb.waitForStep('How many conversations');
    await wb.quickInput().fill('12');
    await wb.page.keyboard.press('Enter');
    await wb.waitForStep('priority');
    await wb.page.keyboard.press('Enter');
    await wb.waitForStep('Requests in flight');
    await wb.page.keyboard.press('Enter');
    // The topic, which is not varied, is asked for once.
    await wb.waitForStep('Value of topic');
    await wb.quickInput().fill('bonds');
    await wb.page.keyboard.press('Enter');

    const dialog = wb.page.locator('.monaco-dialog-box');
    await dialog.waitFor();
    const text = await dialog.innerText();
    assert.match(text, /Generate 12 conversations in 6 value sets\?/);
    assert.match(text, /2 × persona Anxious Investor, channel phone/);
    assert.match(text, /Estimated cost \$\d+\.\d+–\$\d+\.\d+ with claude-sonnet-5-5/);
    assert.equal(api.stats.requests, 0, 'nothing is spent before the confirmation');
    await wb.screenshot('plan-confirm');
    await dialog.locator('.monaco-button', { hasText: 'Generate' }).click();
    await wb.page.locator('.notifications-toasts', { hasText: '12 of 12 conversations generated' }).waitFor({ timeout: 60_000 });
    assert.equal(api.stats.accepted, 12);
  });

  it('the settings show no error on their defaults', async () => {
    await wb.runCommand('Preferences: Open Settings (UI)');
    const search = wb.page.locator('.settings-editor .suggest-input-container .monaco-editor textarea, .settings-editor .search-container textarea').first();
    await search.waitFor();
    // A section at a time: the settings list is virtual, so one search for all of them would
    // render only those in view.
    const errors: string[] = [];
    for (const [query, title] of [
      ['promptloom.limits', 'Requests Per Window'],
      ['promptloom.retry', 'Max Attempts'],
      ['promptloom.budget', 'Batch Usd'],
      ['promptloom.quality', 'Near Duplicate Threshold'],
      ['promptloom.generation', 'Mode'],
      ['promptloom.review', 'Advance After Verdict'],
      ['promptloom.concurrency', 'Concurrency'],
      ['promptloom.timeoutMs', 'Timeout Ms'],
      ['promptloom.maxTokens', 'Max Tokens'],
    ] as const) {
      await search.fill(query);
      await wb.page.locator('.settings-editor .setting-item-title', { hasText: title }).first().waitFor();
      if (query === 'promptloom.limits') await wb.screenshot('settings-defaults');
      errors.push(...(await wb.page.locator('.settings-editor .setting-item-validation-message').allInnerTexts()).filter((text) => text.trim() !== '').map((text) => `${query}: ${text}`));
    }
    assert.deepEqual(errors, []);
  });
});
