/// <reference lib="dom" />
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkspaceGenerationRepository, Store, WorkspaceTemplateRepository } from '../../src/core/store';
import { GOOD } from '../fixtures/conversations';
import { Workbench } from './workbench';

/** Three templates with generations at their own level of quality and reviews; strict.prompt marked inactive. */
async function seed(folder: string): Promise<void> {
  const store = await Store.open(folder);
  const templates = new WorkspaceTemplateRepository(store);
  const generations = new WorkspaceGenerationRepository(store);
  const plan = [
    { path: 'market.prompt', name: 'Market volatility check-in', tier: 'scenario', scores: [8.4, 8.8, 8.6, 9.0, 8.2, 8.6], approve: 4, reject: 1 },
    { path: 'generate.prompt', name: 'Generation fixture', tier: 'scenario', scores: [7.0, 7.4, 6.9], approve: 1, reject: 1 },
    { path: 'quality.prompt', name: 'Quality fixture', tier: 'template', scores: [5.2, 5.6], approve: 0, reject: 2 },
  ];
  for (const p of plan) {
    const t = await templates.ensure(p.path, { name: p.name, tier: p.tier });
    const v = await templates.recordVersion(t.id, `seed ${p.path}`);
    for (const [i, overall] of p.scores.entries()) {
      const { conversationId } = await generations.record({
        templateId: t.id, versionId: v.id, parameters: { persona: 'Near Retiree' }, model: 'claude-sonnet-5-5', attempt: 1, status: 'succeeded',
        inputTokens: 900, outputTokens: 2400, costUsd: 0.04, durationMs: 9000, conversation: { turns: GOOD.turns, quality: { overall, breakdown: {}, recommendations: [] } },
      });
      if (i < p.approve) await generations.review(conversationId!, 'approved');
      else if (i < p.approve + p.reject) await generations.review(conversationId!, 'rejected');
    }
  }
  store.close();
  const strict = join(folder, 'strict.prompt');
  writeFileSync(strict, readFileSync(strict, 'utf8').replace('tier: scenario\n', 'tier: scenario\nactive: false\n'));
}

describe('The Templates view in the VS Code workbench (headless Chromium)', () => {
  let wb: Workbench;
  const pane = () => wb.page.locator('.pane', { has: wb.page.locator('.pane-header', { hasText: 'Templates' }) });
  const rows = () => pane().locator('.monaco-list-row');
  const row = (name: string) => rows().filter({ hasText: name });

  before(async () => {
    wb = await Workbench.open('templates', seed);
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await wb?.screenshot(`failed-${this.currentTest.title.replace(/\W+/g, '-')}`);
  });
  after(async () => {
    await wb?.close();
  });

  it('lists every template with tier, runs, average quality and approval rate; never-generated ones with no runs; inactive ones marked', async () => {
    await wb.page.locator('.activitybar .action-item a[aria-label^="Promptloom"]').click();
    await row('Market volatility check-in').waitFor({ timeout: 30_000 });
    const files = readdirSync(wb.folder).filter((f) => f.endsWith('.prompt')).length;
    await rows().nth(files - 1).waitFor();
    assert.equal(await rows().count(), files, 'every template, and nothing else');
    assert.match(await row('Market volatility check-in').innerText(), /scenario · 6 runs · quality 8\.6 · 80% approved/);
    assert.match(await row('Generation fixture').innerText(), /scenario · 3 runs · quality 7\.1 · 50% approved/);
    assert.match(await row('Quality fixture').innerText(), /template · 2 runs · quality 5\.4 · 0% approved/);
    assert.match(await row('History fixture').innerText(), /template · no runs/);
    assert.match(await row('Strict fixture').innerText(), /inactive · scenario · no runs/);
    assert.equal(await pane().locator('.monaco-list-row[aria-label^="Strict fixture, scenario, inactive"]').count(), 1);
  });

  it('offers a template’s actions in its context menu: open, preview, test, generate, history, mark inactive', async () => {
    await row('Generation fixture').click({ button: 'right' });
    const menu = wb.page.locator('.context-view .monaco-menu');
    await menu.locator('.action-label', { hasText: 'Mark Template Inactive' }).waitFor();
    const items = (await menu.locator('.action-label').allInnerTexts()).map((t) => t.trim()).filter((t) => t !== '');
    for (const expected of ['Open Template', 'Preview Template', 'Test Template', 'Run Test Generation', 'Generate Batch…', 'Show Template History', 'Show Template Conversations', 'Mark Template Inactive']) {
      assert.ok(items.includes(expected), `${expected} in ${items.join(', ')}`);
    }
    assert.ok(!items.includes('Mark Template Active'), 'an active template is not offered Mark Active');
    await wb.screenshot('templates-view-context-menu');
    await wb.page.keyboard.press('Escape');
    await menu.waitFor({ state: 'detached' });
  });

  it('sorts by rating from the view’s menu, saying so in its description, and filters to the inactive ones', async () => {
    await wb.runCommand('Promptloom: Sort Templates by Rating (Best Average Quality First)');
    await pane().locator('.pane-header', { hasText: 'by rating' }).waitFor();
    await rows().first().filter({ hasText: 'Market volatility check-in' }).waitFor();
    const names = await rows().locator('.label-name').allInnerTexts();
    assert.deepEqual(names.slice(0, 3), ['Market volatility check-in', 'Generation fixture', 'Quality fixture']);
    // Wide enough to read every figure: drag the sidebar's edge.
    const edge = await wb.page.evaluate(() => {
      const right = document.querySelector('.part.sidebar')!.getBoundingClientRect().right;
      const sash = Array.from(document.querySelectorAll('.monaco-sash.vertical')).map((e) => e.getBoundingClientRect()).find((r) => Math.abs(r.left + r.width / 2 - right) < 4 && r.height > 200);
      return sash && { x: sash.left + sash.width / 2, y: sash.top + sash.height / 2 };
    });
    assert.ok(edge, 'the sidebar has an edge to drag');
    await wb.page.mouse.move(edge.x, edge.y);
    await wb.page.mouse.down();
    await wb.page.mouse.move(edge.x + 360, edge.y, { steps: 8 });
    await wb.page.mouse.up();
    await wb.page.waitForFunction(() => (document.querySelector('.part.sidebar')?.getBoundingClientRect().width ?? 0) > 600);
    await row('History fixture').hover();
    await wb.screenshot('templates-view');

    await wb.runCommand('Promptloom: Filter Templates…');
    await wb.page.locator('.quick-input-widget', { hasText: 'tier' }).waitFor({ state: 'visible' });
    await wb.page.keyboard.press('Enter'); // any tier
    await wb.page.locator('.quick-input-widget', { hasText: 'Inactive only' }).waitFor({ state: 'visible' });
    await wb.page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Inactive only' }).click();
    await pane().locator('.pane-header', { hasText: 'filtered: inactive' }).waitFor();
    await rows().nth(1).waitFor({ state: 'detached' });
    assert.deepEqual(await rows().locator('.label-name').allInnerTexts(), ['Strict fixture']);
    await wb.screenshot('templates-view-filtered');
  });

  it('asks before generating from an inactive template (its row’s Run Test Generation button), and Cancel generates nothing', async () => {
    const strict = row('Strict fixture');
    await strict.hover();
    await strict.locator('.action-label[aria-label="Run Test Generation"]').click();
    const dialog = wb.page.locator('.monaco-dialog-box');
    await dialog.filter({ hasText: 'Strict fixture is marked inactive. Generate anyway?' }).waitFor();
    await wb.screenshot('templates-view-inactive-dialog');
    await dialog.locator('.monaco-button', { hasText: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    // Nothing was asked for next (values, a key): the generation never started.
    assert.equal(await wb.page.locator('.quick-input-widget').filter({ visible: true }).count(), 0);
  });
});
