/// <reference lib="dom" />
import { strict as assert } from 'node:assert';
import { WorkspaceGenerationRepository, Store, WorkspaceTemplateRepository } from '../../src/core/store';
import { GOOD } from '../fixtures/conversations';
import { FakeMessagesApi } from '../fixtures/fakeMessagesApi';
import { Workbench } from './workbench';

const HOUR = 3_600_000;

/** Today's work only: three templates generated over the last few hours, a different number of runs each. */
async function seed(folder: string): Promise<void> {
  const store = await Store.open(folder);
  let now = Date.now() - 9 * HOUR;
  const clock = { now: () => now };
  const templates = new WorkspaceTemplateRepository(store, clock);
  const generations = new WorkspaceGenerationRepository(store, clock);
  const plan = [
    { path: 'quality.prompt', name: 'Quality fixture', tier: 'template', runs: 9, level: 6.2 },
    { path: 'history.prompt', name: 'History fixture', tier: 'template', runs: 3, level: 8.8 },
    { path: 'market.prompt', name: 'Market volatility check-in', tier: 'scenario', runs: 14, level: 8.1 },
  ];
  for (const p of plan) {
    const t = await templates.ensure(p.path, { name: p.name, tier: p.tier });
    const version = (await templates.recordVersion(t.id, `seed ${p.path}`)).id;
    for (let k = 0; k < p.runs; k++) {
      now = Date.now() - 8 * HOUR + k * 25 * 60_000;
      const overall = Math.round((p.level + Math.sin(k) * 0.8) * 10) / 10;
      await generations.record({
        templateId: t.id, versionId: version, parameters: { persona: 'Near Retiree' }, model: 'claude-sonnet-5-5', attempt: 1, status: 'succeeded',
        inputTokens: 900, outputTokens: 2400, costUsd: 0.0387, durationMs: 2_000, conversation: { turns: GOOD.turns, quality: { overall, breakdown: {}, recommendations: [] } },
      });
    }
  }
  store.close();
}

describe('Batches and the dashboard in the VS Code workbench (headless Chromium)', () => {
  let wb: Workbench;
  let api: FakeMessagesApi;

  before(async () => {
    // Answers take 2.5 s, so a batch is still running when it is cancelled.
    api = await FakeMessagesApi.start({ apiKey: 'sk-e2e-key', latencyMs: 2_500 });
    wb = await Workbench.open('batches', seed, { ANTHROPIC_BASE_URL: api.url });
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await wb?.screenshot(`failed-${this.currentTest.title.replace(/\W+/g, '-')}`);
  });
  after(async () => {
    await wb?.close();
    await api?.stop();
  });


  it('one day of data draws that day hour by hour, and Compare starts with the two most-run templates', async () => {
    await wb.runCommand('Promptloom: Show Analytics Dashboard');
    const frame = await wb.webviewFrame('#templates');
    await frame.locator('#quality-chart canvas').waitFor();
    await frame.locator('#volume-chart canvas').waitFor();
    for (const id of ['#quality-chart', '#volume-chart']) {
      const chart = frame.locator(id);
      assert.equal(await chart.getAttribute('data-axis-unit'), 'hour');
      const ticks = ((await chart.getAttribute('data-axis-ticks')) ?? '').split('|');
      // Hours of today (and at most of yesterday evening), never months or years.
      assert.ok(ticks.length >= 3 && ticks.every((t) => /^([A-Z][a-z]{2} \d{1,2} )?\d\d:00$/.test(t)), ticks.join(' '));
      // Its end names its day too when the hours cross midnight (run before 09:00, they do).
      assert.match((await chart.getAttribute('aria-label')) ?? '', /per hour over \d+ hours?.*time axis [A-Z][a-z]{2} \d{1,2} \d\d:00 to ([A-Z][a-z]{2} \d{1,2} )?\d\d:00$/);
    }
    // Market (14 runs) against Quality (9 runs): two different templates.
    const chosen = async (id: string) => frame.locator(`${id} option:checked`).innerText();
    assert.match(await chosen('#compare-a'), /^Market volatility check-in/);
    assert.match(await chosen('#compare-b'), /^Quality fixture/);
    await frame.locator('#compare-go').click();
    await frame.locator('#comparison-table').waitFor();
    assert.match(await frame.locator('#comparison-table thead').innerText(), /Market volatility check-in.*Quality fixture/s);
    await frame.locator('#compare-chart canvas').waitFor();
    assert.equal(await frame.locator('#compare-chart').getAttribute('data-axis-unit'), 'hour');
    await frame.locator('#templates').evaluate(() => window.scrollTo(0, 0));
    await wb.page.waitForTimeout(300); // let the canvases paint before the picture
    await wb.screenshot('dashboard-one-day');
  });

  it('Generate Batch… shows the cost and time first; progress shows an ETA; a cancelled batch says so and Resume finishes it', async () => {
    await wb.setApiKey('sk-e2e-key');
    // Out of the way, so the batch's own notifications are the ones on screen.
    await wb.runCommand('Notifications: Clear All Notifications');
    await wb.toast('API key saved').waitFor({ state: 'detached' });
    await wb.page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'generate.prompt' }).click();
    await wb.page.locator('.monaco-editor .view-lines', { hasText: 'Write a conversation with' }).first().waitFor();

    await wb.runCommand('Promptloom: Generate Batch…');
    await wb.waitForStep('vary which values');
    await wb.page.keyboard.press('Enter'); // vary nothing
    await wb.waitForStep('How many conversations');
    await wb.quickInput().fill('8');
    await wb.page.keyboard.press('Enter');
    await wb.waitForStep('priority');
    await wb.page.keyboard.press('Enter');
    await wb.waitForStep('Requests in flight');
    await wb.quickInput().fill('2');
    await wb.page.keyboard.press('Enter');
    await wb.waitForStep('Value of persona');
    await wb.page.keyboard.press('Enter');

    const dialog = wb.page.locator('.monaco-dialog-box');
    await dialog.waitFor();
    const text = await dialog.innerText();
    assert.match(text, /Generate 8 conversations in 1 value set\?/);
    assert.match(text, /Estimated cost \$\d+\.\d+–\$\d+\.\d+ with claude-sonnet-5-5/);
    // The fixture's system prompt is a line: too short for the prompt cache, and the dialog says so.
    assert.match(text, /prompt caching: off, the shared prefix \(\d+ tokens\) is under the model's minimum of 1024/);
    // No earlier runs of this template: the time is the rate limit's (8 at 50 per minute).
    assert.match(text, /Estimated time about 10 s at 50 requests per 1 min \(2 in flight; the rate limit set the pace\)\./);
    assert.equal(api.stats.requests, 0, 'nothing is spent before the confirmation');
    await wb.screenshot('batch-confirm');
    await dialog.locator('.monaco-button', { hasText: 'Generate' }).click();

    // Once the first answers are in, the progress says how long the rest should take.
    const progress = wb.toast('Generating Generation fixture × 8');
    await progress.filter({ hasText: /2 done, 0 failed, 6 queued · \$\d+\.\d+ · about \d+ (s|min)( \d+ s)? left/ }).waitFor({ timeout: 60_000 });
    await wb.screenshot('batch-progress-eta');
    await progress.hover();
    await progress.locator('.monaco-button, .action-label', { hasText: 'Cancel' }).first().click();

    const cancelled = wb.toast(/Promptloom: cancelled, \d of 8 not generated/);
    await cancelled.waitFor({ timeout: 60_000 });
    const resume = cancelled.locator('.monaco-button', { hasText: 'Resume' });
    await resume.waitFor({ state: 'visible' });
    await wb.page.waitForTimeout(300); // the toast's fade-in, for the picture
    await wb.screenshot('batch-cancelled');
    const store = await Store.open(wb.folder);
    const logs = () => store.all<{ status: string; n: number }>("SELECT g.status, count(*) AS n FROM generation_logs g JOIN templates t ON t.id = g.template_id WHERE t.path = 'generate.prompt' GROUP BY g.status ORDER BY g.status");
    await store.refresh();
    const before = await logs();
    // The requests in flight when it was cancelled are `cancelled`, none `failed`.
    assert.ok(before.some((r) => r.status === 'cancelled' && Number(r.n) >= 1), JSON.stringify(before));
    assert.ok(!before.some((r) => r.status === 'failed'), JSON.stringify(before));
    const succeededBefore = Number(before.find((r) => r.status === 'succeeded')?.n ?? 0);

    await resume.click();
    const left = 8 - succeededBefore;
    await wb.toast(`${left} of ${left} conversations generated`).waitFor({ timeout: 90_000 });
    await store.refresh();
    assert.equal(Number((await store.get("SELECT count(*) AS n FROM conversations c JOIN templates t ON t.id = c.template_id WHERE t.path = 'generate.prompt'"))!.n), 8);
    const cancelledCount = Number((await logs()).find((r) => r.status === 'cancelled')!.n);
    store.close();

    // The dashboard counts them apart: a Cancelled column beside Failed.
    await wb.runCommand('Promptloom: Show Analytics Dashboard');
    const frame = await wb.webviewFrame('#templates');
    const headers = await frame.locator('#templates thead th').allInnerTexts();
    const column = headers.findIndex((h) => h.startsWith('Cancelled'));
    assert.ok(column > 0 && headers[column - 1]!.startsWith('Failed'), headers.join(' | '));
    const row = frame.locator('#templates tbody tr', { hasText: 'Generation fixture' });
    await frame.locator(`#templates tbody tr:has-text("Generation fixture") td:nth-child(${column + 1})`, { hasText: String(cancelledCount) }).waitFor();
    assert.equal((await row.locator('td').nth(column - 1).innerText()).trim(), '0');
    assert.match((await frame.locator('#volume-chart').getAttribute('aria-label')) ?? '', new RegExp(`, 0 failed, ${cancelledCount} cancelled`));
    await frame.locator('#templates').scrollIntoViewIfNeeded();
    await wb.page.waitForTimeout(300);
    await wb.screenshot('dashboard-cancelled');
  });
});
