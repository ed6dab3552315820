/// <reference lib="dom" />
import { strict as assert } from 'node:assert';
import { readdirSync } from 'node:fs';
import { WorkspaceGenerationRepository, Store, WorkspaceTemplateRepository } from '../../src/core/store';
import { GOOD } from '../fixtures/conversations';
import { FakeMessagesApi } from '../fixtures/fakeMessagesApi';
import { Workbench } from './workbench';

const DAY = 86_400_000;

/** Four templates with two weeks of generations, each at its own level of quality. */
async function seed(folder: string): Promise<void> {
  const store = await Store.open(folder);
  // Each day's generations at noon (and a few minutes after), so a run near midnight does not
  // spread one day's over two.
  const noon = new Date();
  noon.setHours(12, 0, 0, 0);
  let now = noon.getTime() - 14 * DAY;
  const clock = { now: () => now };
  const templates = new WorkspaceTemplateRepository(store, clock);
  const generations = new WorkspaceGenerationRepository(store, clock);
  const plan = [
    { path: 'market.prompt', name: 'Market volatility check-in', tier: 'scenario', level: 8.6 },
    { path: 'generate.prompt', name: 'Generation fixture', tier: 'scenario', level: 7.1 },
    { path: 'quality.prompt', name: 'Quality fixture', tier: 'template', level: 5.4 },
    { path: 'history.prompt', name: 'History fixture', tier: 'template', level: 8.9 },
  ];
  const rows: ((typeof plan)[number] & { id: number; version: number })[] = [];
  for (const p of plan) {
    const t = await templates.ensure(p.path, { name: p.name, tier: p.tier });
    rows.push({ ...p, id: t.id, version: (await templates.recordVersion(t.id, `seed ${p.path}`)).id });
  }
  for (let day = 0; day < 14; day++) {
    for (const [i, t] of rows.entries()) {
      for (let k = 0; k < 2 + ((day + i) % 3); k++) {
        now = noon.getTime() - (14 - day) * DAY + (i * 4 + k) * 60_000;
        const failed = (day + k + i) % 9 === 0;
        const overall = Math.max(0, Math.min(10, Math.round((t.level + Math.sin(day + k + i) * 1.2 + (day - 7) * 0.05) * 10) / 10));
        const { conversationId } = await generations.record({
          templateId: t.id, versionId: t.version, parameters: { persona: 'Near Retiree' }, model: 'claude-sonnet-5-5', attempt: 1,
          status: failed ? 'failed' : 'succeeded', ...(failed ? { errorType: 'overloaded' } : {}), inputTokens: 900, outputTokens: 2400, costUsd: 0.0387, durationMs: 14_000 + k * 900,
          ...(failed ? {} : { conversation: { turns: GOOD.turns, quality: { overall, breakdown: {}, recommendations: [] } } }),
        });
        if (conversationId && (day + k) % 3 !== 1) await generations.review(conversationId, overall >= 7 ? 'approved' : 'rejected');
      }
    }
  }
  store.close();
}

describe('Analytics dashboard and template tests in the VS Code workbench (headless Chromium)', () => {
  let wb: Workbench;
  let api: FakeMessagesApi;

  before(async () => {
    api = await FakeMessagesApi.start({ apiKey: 'sk-e2e-key' });
    wb = await Workbench.open('dashboard', seed, { ANTHROPIC_BASE_URL: api.url });
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await wb?.screenshot(`failed-${this.currentTest.title.replace(/\W+/g, '-')}`);
  });
  after(async () => {
    await wb?.close();
    await api?.stop();
  });

  it('shows the templates, charts and top performers', async () => {
    await wb.runCommand('Promptloom: Show Analytics Dashboard');
    const frame = await wb.webviewFrame('#templates');
    assert.equal(await frame.locator('#templates tbody tr:not(.unrun)').count(), 4);
    // The workspace's other templates were never generated from: listed last, with no runs.
    const others = readdirSync(wb.folder).filter((f) => f.endsWith('.prompt')).length - 4;
    const unrun = frame.locator('#templates tbody tr.unrun');
    assert.ok(others > 0);
    assert.equal(await unrun.count(), others);
    assert.deepEqual(new Set(await unrun.locator('td:nth-child(3)').allInnerTexts()), new Set(['no runs']));
    // uPlot draws on canvas: one per chart, with a summary for screen readers.
    await frame.locator('#quality-chart canvas').waitFor();
    await frame.locator('#volume-chart canvas').waitFor();
    assert.match((await frame.locator('#quality-chart').getAttribute('aria-label')) ?? '', /^Average quality per day over 14 days; latest \d\.\d on \d{4}-\d\d-\d\d; time axis [A-Z][a-z]{2} \d{1,2} to [A-Z][a-z]{2} \d{1,2}$/);
    const top = await frame.locator('.recommendations').innerText();
    assert.match(top, /History fixture leads the template tier: 8\.\d average/);
    assert.match(top, /Market volatility check-in leads the scenario tier/);
  });

  it('sorts the table by any column, from the keyboard too', async () => {
    const frame = await wb.webviewFrame('#templates');
    const firstName = () => frame.locator('#templates tbody tr').first().locator('td').first().innerText();
    // Default: best average quality first.
    assert.equal(await firstName(), 'History fixture');
    await frame.locator('th button[data-sort="avgQuality"]').focus();
    await wb.page.keyboard.press('Enter');
    await frame.locator('th[aria-sort="ascending"] button[data-sort="avgQuality"]').waitFor();
    assert.equal(await firstName(), 'Quality fixture');
    await frame.locator('th button[data-sort="name"]').click();
    assert.equal(await firstName(), 'Generation fixture');
    await frame.locator('th button[data-sort="avgQuality"]').click();
    await frame.locator('th[aria-sort="descending"] button[data-sort="avgQuality"]').waitFor();
  });

  it('shows how well each template’s score agrees with its reviewers, with a suggested threshold', async () => {
    const frame = await wb.webviewFrame('#agreement-section');
    const table = frame.locator('#agreement-section table');
    await table.waitFor();
    const text = await table.innerText();
    assert.match(text, /Market volatility check-in/);
    assert.match(await table.locator('thead').innerText(), /AUC/);
    await table.scrollIntoViewIfNeeded();
    await wb.page.waitForTimeout(300);
    await wb.screenshot('dashboard-agreement');
  });

  it('compares two templates side by side', async () => {
    const frame = await wb.webviewFrame('#templates');
    const values = await frame.locator('#compare-a option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    await frame.locator('#compare-a').selectOption(values[0]!);
    await frame.locator('#compare-b').selectOption(values[3]!);
    await frame.locator('#compare-go').click();
    const table = frame.locator('#comparison-table');
    await table.waitFor();
    assert.match(await table.locator('thead').innerText(), /History fixture.*Quality fixture/s);
    await frame.locator('#compare-chart canvas').waitFor();
    await frame.locator('#templates').evaluate(() => window.scrollTo(0, 0));
    await wb.page.waitForTimeout(300);
    await wb.screenshot('dashboard-dark');
  });

  it('reads well in the light theme', async () => {
    await wb.pickTheme('Light Modern', 'vs');
    const frame = await wb.webviewFrame('#templates');
    await frame.waitForFunction(() => document.body.classList.contains('vscode-light'));
    await wb.page.waitForTimeout(500);
    await wb.screenshot('dashboard-light');
  });

  it('tests a template from the palette and shows the verdict, criterion by criterion', async () => {
    await wb.setApiKey('sk-e2e-key');
    // Open the template from the Explorer: a click takes focus out of the dashboard's webview,
    // where the workbench's own shortcuts (Ctrl+P) do not always arrive.
    await wb.page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'generate.prompt' }).click();
    await wb.page.locator('.monaco-editor .view-lines', { hasText: 'Write a conversation with' }).first().waitFor();
    await wb.runCommand('Promptloom: Test Template');
    // How many runs: the default, 3.
    await wb.page.locator('.quick-input-widget', { hasText: 'How many test generations' }).waitFor({ state: 'visible' });
    assert.equal(await wb.page.locator('.quick-input-widget input').inputValue(), '3');
    await wb.page.keyboard.press('Enter');
    const frame = await wb.webviewFrame('#criteria', 90_000);
    await frame.locator('#verdict', { hasText: 'Passed' }).waitFor();
    assert.equal(await frame.locator('#runs li').count(), 3);
    const criteria = await frame.locator('#criteria li').allInnerTexts();
    assert.ok(criteria.some((c) => /not worse than the baseline/.test(c)), 'seeded history is the baseline');
    assert.ok(criteria.every((c) => c.startsWith('✓')), criteria.join('\n'));
    await wb.screenshot('template-test');
  });
});
