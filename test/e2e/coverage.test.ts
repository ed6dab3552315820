/// <reference lib="dom" />
import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkspaceBatchRepository, WorkspaceGenerationRepository, Store, WorkspaceTemplateRepository } from '../../src/core/store';
import { GOOD } from '../fixtures/conversations';
import { FakeMessagesApi } from '../fixtures/fakeMessagesApi';
import { Workbench } from './workbench';

const TEMPLATE = [
  '---',
  'name: Coverage fixture',
  'personas: [Anxious Investor, Near Retiree, Young Saver]',
  'variables:',
  '  persona: { type: text }',
  '  channel: { type: dropdown, options: [phone, chat, email] }',
  '  topic: { type: text }',
  '---',
  'Write a conversation with <<persona>> over <<channel>> about <<topic>>.',
  '',
].join('\n');

const PERSONAS = ['Anxious Investor', 'Near Retiree', 'Young Saver'];
const CHANNELS = ['phone', 'chat', 'email'];
/** Approved conversations per persona (rows) and channel (columns); null: never planned. */
const APPROVED: (number | null)[][] = [
  [4, 3, 1],
  [2, 0, 4],
  [4, 1, null],
];

/** One plan of 4 per cell over persona × channel (but Young Saver by email), reviewed unevenly. */
async function seed(folder: string): Promise<void> {
  writeFileSync(join(folder, 'coverage.prompt'), TEMPLATE);
  const store = await Store.open(folder);
  const templates = new WorkspaceTemplateRepository(store);
  const t = await templates.ensure('coverage.prompt', { name: 'Coverage fixture', tier: 'template' });
  const version = (await templates.recordVersion(t.id, TEMPLATE)).id;
  const cells = PERSONAS.flatMap((persona, r) => CHANNELS.flatMap((channel, k) => (APPROVED[r]![k] === null ? [] : [{ values: { persona, channel, topic: 'bonds' }, count: 4 }])));
  const batch = await new WorkspaceBatchRepository(store).create({ templateId: t.id, versionId: version, requested: 32, parameters: cells[0]!.values, model: 'claude-sonnet-5-5', settings: {}, plan: cells });
  const generations = new WorkspaceGenerationRepository(store);
  for (const cell of cells) {
    const approved = APPROVED[PERSONAS.indexOf(cell.values.persona)]![CHANNELS.indexOf(cell.values.channel)]!;
    for (let i = 0; i < 4; i++) {
      const { conversationId } = await generations.record({
        templateId: t.id, versionId: version, batchId: batch.id, parameters: cell.values, model: 'claude-sonnet-5-5', attempt: 1, status: 'succeeded',
        inputTokens: 900, outputTokens: 2400, costUsd: 0.0387, durationMs: 14_000, conversation: { turns: GOOD.turns },
      });
      // The rest are rejected, bar one left pending.
      if (i < approved) await generations.review(conversationId!, 'approved');
      else if (i < 3) await generations.review(conversationId!, 'rejected');
    }
  }
  store.close();
}

describe('coverage on the dashboard in the workbench (headless Chromium)', () => {
  let wb: Workbench;
  let api: FakeMessagesApi;

  before(async () => {
    api = await FakeMessagesApi.start({ apiKey: 'sk-e2e-key' });
    wb = await Workbench.open('coverage', seed, { ANTHROPIC_BASE_URL: api.url });
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await wb?.screenshot(`failed-${this.currentTest.title.replace(/\W+/g, '-')}`);
  });
  after(async () => {
    await wb?.close();
    await api?.stop();
  });

  it('shows a heatmap table of approved / requested per persona and channel, the gaps in words', async () => {
    await wb.setApiKey('sk-e2e-key');

    await wb.runCommand('Promptloom: Show Analytics Dashboard');
    const frame = await wb.webviewFrame('#coverage-section table.heatmap');
    const block = frame.locator('article.coverage', { hasText: 'Coverage fixture' });
    assert.equal(await block.locator('.coverage-head .status').innerText(), 'persona × channel: 5 of 8 value sets under 4 approved, 13 conversations lacking');
    const table = block.locator('table.heatmap');
    assert.match(await table.locator('caption').innerText(), /^Approved \/ requested conversations per persona \(rows\) and channel \(columns\); target 4 approved each$/);
    assert.deepEqual(await table.locator('thead th[scope="col"]').allInnerTexts(), ['persona ↓ · channel →', ...CHANNELS]);
    assert.deepEqual(await table.locator('tbody th[scope="row"]').allInnerTexts(), PERSONAS);
    const rows = await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => `${td.className}: ${(td as HTMLElement).innerText.replace(/\s+/g, ' ')}`)));
    assert.deepEqual(rows, [
      ['heat full: 4 / 4', 'heat high: 3 / 4 needs 1', 'heat low: 1 / 4 needs 3'],
      ['heat mid: 2 / 4 needs 2', 'heat empty: 0 / 4 needs 4', 'heat full: 4 / 4'],
      ['heat full: 4 / 4', 'heat low: 1 / 4 needs 3', 'heat unplanned: —'],
    ]);
    // Colour repeats the text: a full cell and an empty one do not share a background.
    const background = (selector: string) => table.locator(selector).first().evaluate((e) => getComputedStyle(e).backgroundColor);
    assert.notEqual(await background('td.heat.full'), await background('td.heat.empty'));
    await frame.locator('#coverage-section').evaluate((e) => e.scrollIntoView({ block: 'start' }));
    await wb.page.waitForTimeout(300);
    await wb.screenshot('coverage-heatmap');
  });

  it('Fill gaps shows the value sets and the cost before spending, then generates what the gaps lack', async () => {
    const frame = await wb.webviewFrame('#coverage-section table.heatmap');
    await frame.locator('article.coverage', { hasText: 'Coverage fixture' }).locator('[data-fill]').click();
    const dialog = wb.page.locator('.monaco-dialog-box');
    await dialog.waitFor();
    const text = await dialog.innerText();
    assert.match(text, /Generate 13 conversations in 5 value sets\?/);
    for (const line of ['4 × persona Near Retiree, channel chat', '3 × persona Anxious Investor, channel email', '3 × persona Young Saver, channel chat', '2 × persona Near Retiree, channel phone', '1 × persona Anxious Investor, channel chat']) {
      assert.ok(text.includes(line), `${line} in\n${text}`);
    }
    assert.match(text, /Estimated cost \$\d+\.\d+–\$\d+\.\d+ with claude-sonnet-5-5/);
    assert.equal(api.stats.requests, 0, 'nothing is spent before the confirmation');
    await wb.screenshot('coverage-fill-confirm');
    await dialog.locator('.monaco-button', { hasText: 'Generate' }).click();
    await wb.page.locator('.notifications-toasts', { hasText: '13 of 13 conversations generated' }).waitFor({ timeout: 60_000 });
    assert.equal(api.stats.accepted, 13);
    // The new conversations are asked for and generated, not yet approved: the heatmap says so.
    const cell = frame.locator('table.heatmap tbody tr').nth(1).locator('td').nth(1);
    await cell.filter({ hasText: '0 / 8' }).waitFor();
    assert.equal((await cell.innerText()).replace(/\s+/g, ' '), '0 / 8 needs 4');
  });
});
