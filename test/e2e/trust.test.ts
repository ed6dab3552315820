/// <reference lib="dom" />
import { strict as assert } from 'node:assert';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeMessagesApi } from '../fixtures/fakeMessagesApi';
import { Workbench } from './workbench';

/**
 * A cloned repository opened in Restricted Mode: Promptloom checks and previews templates, but
 * opens no database (creates no `.promptloom/`) and calls no API, whatever the repository says.
 */
const SHIPPED = 'not an SQLite file, shipped by the repository';

describe('an untrusted workspace in the workbench (headless Chromium)', () => {
  let wb: Workbench;
  let api: FakeMessagesApi;

  before(async () => {
    api = await FakeMessagesApi.start({ apiKey: 'sk-untrusted' });
    wb = await Workbench.open(
      'untrusted',
      async (folder) => {
        // The repository names its own API address: nothing may be sent there (or anywhere).
        mkdirSync(join(folder, '.vscode'), { recursive: true });
        writeFileSync(join(folder, '.vscode', 'settings.json'), JSON.stringify({ 'promptloom.apiBaseUrl': api.url }));
        // And ships a database of its own: opening it would write (a journal, a lock, a damaged
        // file moved aside). In Restricted Mode it is not even read.
        mkdirSync(join(folder, '.promptloom'));
        writeFileSync(join(folder, '.promptloom', 'promptloom.db'), SHIPPED);
      },
      { ANTHROPIC_API_KEY: 'sk-untrusted' },
      { untrusted: true },
    );
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await wb?.screenshot(`failed-${this.currentTest.title.replace(/\W+/g, '-')}`);
  });
  after(async () => {
    await wb?.close();
    await api?.stop();
  });

  it('opens in Restricted Mode, checks templates, and neither opens nor writes the repository’s database', async () => {
    await wb.page.locator('#status\\.workspaceTrust, [id="status.workspaceTrust"]').first().waitFor({ timeout: 30_000 });
    await wb.openFile('broken.prompt', 'variables');
    // Diagnostics still work (limited support): the Problems count in the status bar is not zero.
    await wb.page.locator('#status\\.problems').filter({ hasNotText: /^\s*0\s+0/ }).first().waitFor({ timeout: 30_000 });
    // The Promptloom view asks for the database; it must not be opened or created.
    await wb.page.locator('.activitybar .action-item a[aria-label^="Promptloom"]').click();
    // The view says why it is empty, and how to trust the folder.
    await wb.page.locator('.welcome-view-content', { hasText: 'Restricted Mode: Promptloom checks and previews templates' }).first().waitFor();
    await wb.page.locator('.welcome-view-content a, .welcome-view-content .monaco-button', { hasText: 'Manage Workspace Trust' }).first().waitFor();
    // The Templates view lists the templates (read from their files), without the database's figures.
    const templates = wb.page.locator('.pane', { has: wb.page.locator('.pane-header', { hasText: 'Templates' }) }).locator('.monaco-list-row');
    const files = readdirSync(wb.folder).filter((f) => f.endsWith('.prompt')).length;
    await templates.nth(files - 1).waitFor({ timeout: 30_000 });
    assert.equal(await templates.count(), files);
    assert.match(await templates.filter({ hasText: 'Generation fixture' }).innerText(), /scenario/);
    for (const text of await templates.allInnerTexts()) assert.doesNotMatch(text, /runs|quality|approved/, text);
    assert.deepEqual(readdirSync(join(wb.folder, '.promptloom')), ['promptloom.db'], 'nothing written beside the shipped database');
    assert.equal(readFileSync(join(wb.folder, '.promptloom', 'promptloom.db'), 'utf8'), SHIPPED, 'and it is untouched');
    await wb.screenshot('untrusted-workspace');
  });

  it('offers no generation: Generate Batch is not runnable', async () => {
    await wb.page.keyboard.press('F1');
    const input = wb.page.locator('.quick-input-widget input');
    await input.fill('>Promptloom: Generate Batch');
    await wb.page.waitForTimeout(1_000);
    const rows = await wb.page.locator('.quick-input-list .monaco-list-row', { hasText: 'Generate Batch' }).count();
    await wb.page.keyboard.press('Escape');
    assert.equal(rows, 0, 'the command is disabled until the workspace is trusted');
    assert.equal(api.stats.requests + api.stats.countTokens, 0);
    assert.deepEqual(readdirSync(join(wb.folder, '.promptloom')), ['promptloom.db']);
  });
});
