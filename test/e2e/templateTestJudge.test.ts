/// <reference lib="dom" />
import { strict as assert } from 'node:assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeMessagesApi } from '../fixtures/fakeMessagesApi';
import { Workbench } from './workbench';

/** The Test Template panel with promptloom.quality.judge on: the judge's grade under each run. */
describe('Test Template with the judge on, in the VS Code workbench (headless Chromium)', () => {
  let wb: Workbench;
  let api: FakeMessagesApi;

  before(async () => {
    api = await FakeMessagesApi.start({ apiKey: 'sk-e2e-key' });
    wb = await Workbench.open(
      'template-test-judge',
      async (folder) => {
        mkdirSync(join(folder, '.vscode'), { recursive: true });
        writeFileSync(join(folder, '.vscode', 'settings.json'), JSON.stringify({ 'promptloom.quality.judge': 'on' }));
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

  it('shows each run’s judge part, model, grade and reason, as graded over HTTP by the fake Messages API', async () => {
    await wb.setApiKey('sk-e2e-key');
    await wb.openFile('generate.prompt', 'Write a conversation with');
    await wb.runCommand('Promptloom: Test Template');
    await wb.page.locator('.quick-input-widget', { hasText: 'How many test generations' }).waitFor({ state: 'visible' });
    await wb.page.locator('.quick-input-widget input').fill('2');
    await wb.page.keyboard.press('Enter');
    const frame = await wb.webviewFrame('#criteria', 90_000);
    await frame.locator('#runs li').nth(1).waitFor();
    const judged = await frame.locator('#runs .judge').allInnerTexts();
    assert.equal(judged.length, 2, await frame.locator('#runs').innerText());
    for (const line of judged) assert.match(line, /^Judge \d+\.\d claude-[\w.-]+, \d+\/10: answers every question, in role, and closes naturally$/);
    assert.equal(api.stats.judgeRequests.length, 2, 'one judge call per run');
    await wb.screenshot('template-test-judge');
  });
});
