/// <reference lib="dom" />
import { strict as assert } from 'node:assert';
import { FakeMessagesApi } from '../fixtures/fakeMessagesApi';
import { Workbench } from './workbench';

/**
 * The Test Template panel says why a run is flagged: a near-duplicate flagged at a high score, a
 * run failed by a defect, each with its reason and findings, and the transcript a click away.
 */
describe('Test Template says why a run is flagged, in the VS Code workbench (headless Chromium)', () => {
  let wb: Workbench;
  let api: FakeMessagesApi;

  before(async () => {
    api = await FakeMessagesApi.start({ apiKey: 'sk-e2e-key' });
    wb = await Workbench.open('template-test-reasons', undefined, { ANTHROPIC_BASE_URL: api.url });
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await wb?.screenshot(`failed-${this.currentTest.title.replace(/\W+/g, '-')}`);
  });
  after(async () => {
    await wb?.close();
    await api?.stop();
  });

  it('shows each flagged run’s reason and findings, opens a finding’s turn, in dark and light themes', async () => {
    await wb.setApiKey('sk-e2e-key');
    await wb.openFile('generate.prompt', 'Write a conversation with');
    // Room for the panel beside the template.
    await wb.runCommand('View: Toggle Primary Side Bar Visibility');
    await wb.page.locator('.part.sidebar').waitFor({ state: 'hidden' });
    // Three runs: a clean one, a near copy of it (flagged whatever it scores), a repetitive one (a defect).
    api.script({ kind: 'ok' }, { kind: 'near-duplicate' }, { kind: 'poor' });
    await wb.runCommand('Promptloom: Test Template');
    await wb.waitForStep('How many test generations');
    await wb.quickInput().fill('3');
    await wb.page.keyboard.press('Enter');
    const frame = await wb.webviewFrame('#criteria', 90_000);
    await frame.locator('#runs > li').nth(2).waitFor();
    await frame.locator('#verdict', { hasText: 'Failed' }).waitFor();
    assert.match(await frame.locator('#verdict .band-word').innerText(), /^3 test generations · 2 flagged for revision · /);
    const runs = frame.locator('#runs > li');
    const texts = await runs.allInnerTexts();

    // The near-duplicate: a score above the threshold, and the words say why it is flagged anyway.
    const dup = runs.filter({ hasText: 'flagged: near-duplicate of' });
    assert.equal(await dup.count(), 1, texts.join('\n---\n'));
    const score = Number(await dup.locator('.run-score').innerText());
    assert.ok(score >= 6, `the near-duplicate scored ${score}`);
    assert.match((await dup.locator('.verdict').innerText()).trim(), /^flagged: near-duplicate of [0-9a-f]{8} \(similarity \d\.\d\d\)$/);
    assert.match(await dup.locator('.finding').first().innerText(), /^turn 1\s+near-duplicate\s+near-duplicate of [0-9a-f]{8}/);
    assert.equal(await dup.locator('.finding').count(), 1, 'what flagged it, not the points it lost');

    // The repetitive run: flagged by its score, its defect first among the findings, with kind, rule and turn.
    const poor = runs.filter({ hasText: /flagged: scored \d\.\d, below 6/ });
    assert.equal(await poor.count(), 1, texts.join('\n---\n'));
    const first = poor.locator('.finding').first();
    assert.match(await first.innerText(), /^turn (\d+)\s+defect · repeated\s+turn \1 \(assistant\) (nearly )?repeats turn \d+/);
    assert.equal(await poor.locator('.finding').count(), 6, 'at most six findings under a run');
    assert.match(await poor.locator('.run-actions').innerText(), /^\d+ more findings in the transcript · Open the transcript$/);

    // The clean run: its status in words, no findings.
    const clean = runs.filter({ hasText: 'pending review' });
    assert.equal(await clean.count(), 1, texts.join('\n---\n'));
    assert.equal(await clean.locator('.finding').count(), 0);

    // The toasts of the generation out of the way (one by one, a toast fading out by itself
    // could not be clicked: Clear All takes them whatever their state).
    await wb.runCommand('Notifications: Clear All Notifications');
    await wb.page.locator('.notifications-toasts .notification-list-item').first().waitFor({ state: 'detached' });
    await wb.screenshot('template-test-reasons-dark');
    await wb.pickTheme('Light Modern', 'vs');
    await frame.waitForFunction(() => document.body.classList.contains('vscode-light'));
    await wb.page.waitForTimeout(300);
    await wb.screenshot('template-test-reasons-light');

    // A finding opens its turn in the run's transcript.
    const turn = Number(/^turn (\d+)/.exec(await first.innerText())![1]);
    await first.locator('button').click();
    const tab = wb.page.locator('.tabs-container .tab.active', { hasText: /Generation fixture [0-9a-f]{8}\.md/ });
    await tab.first().waitFor({ timeout: 15_000 });
    // The cursor is on the first line of that turn: the line beside the active line number.
    const editor = wb.page.locator('.editor-group-container .monaco-editor', { hasText: 'Generation fixture · conversation' }).first();
    const active = editor.locator('.line-numbers.active-line-number');
    await active.waitFor();
    const at = await wb.page.waitForFunction(
      ({ turn }) => {
        const number = document.querySelector('.monaco-editor .line-numbers.active-line-number');
        if (!number) return undefined;
        const y = number.getBoundingClientRect().top;
        const line = Array.from(document.querySelectorAll('.monaco-editor .view-lines .view-line')).find((l) => Math.abs(l.getBoundingClientRect().top - y) < 2);
        // Monaco draws spaces as no-break spaces.
        const text = line?.textContent?.replace(/\u00a0/g, ' ');
        return text?.startsWith(`**Assistant (turn ${turn}):**`) ? text : undefined;
      },
      { turn },
      { timeout: 15_000 },
    );
    assert.match(String(await at.jsonValue()), new RegExp(`^\\*\\*Assistant \\(turn ${turn}\\):\\*\\*`));
    await wb.screenshot('template-test-reasons-transcript');
  });
});
