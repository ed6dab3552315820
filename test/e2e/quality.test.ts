/// <reference lib="dom" />
import { strict as assert } from 'node:assert';
import { flagReason, scoreConversation, toQualityResult } from '../../src/core/quality';
import { WorkspaceGenerationRepository, Store, WorkspaceTemplateRepository, type ReviewStatus } from '../../src/core/store';
import { GOOD, REPETITIVE, TRUNCATED, type Conversation } from '../fixtures/conversations';
import { Workbench } from './workbench';

/** Conversations of quality.prompt as a batch would have stored them: scored, low ones flagged. */
async function seed(folder: string): Promise<void> {
  const store = await Store.open(folder);
  const templates = new WorkspaceTemplateRepository(store);
  const t = await templates.ensure('quality.prompt', { name: 'Quality fixture', tier: 'template' });
  const v = await templates.recordVersion(t.id, 'seeded');
  const generations = new WorkspaceGenerationRepository(store);
  const add = async (c: Conversation, persona: string, review?: ReviewStatus) => {
    const report = scoreConversation(c);
    const reason = flagReason(report, 0.8);
    const { conversationId } = await generations.record({
      templateId: t.id, versionId: v.id, parameters: { persona }, model: 'claude-sonnet-5-5', attempt: 1, status: 'succeeded', inputTokens: 900, outputTokens: 2400, costUsd: 0.04, durationMs: 9000,
      conversation: { turns: c.turns, quality: toQualityResult(report), ...(reason ? { status: 'needs_revision' as const, statusReason: reason } : {}) },
    });
    if (review) await generations.review(conversationId!, review);
  };
  await add(GOOD, 'Near Retiree', 'approved');
  await add(TRUNCATED, 'Anxious Investor');
  await add(REPETITIVE, 'Anxious Investor');
  await add(REPETITIVE, 'Near Retiree');
  await add(GOOD, 'Anxious Investor');
  store.close();
}

/**
 * A reviewer's session: the Conversations view, a transcript with its findings, the quality
 * breakdown panel, keyboard review, and the template's CodeLens and PL011.
 */
describe('Quality review in the VS Code workbench (headless Chromium)', () => {
  let wb: Workbench;
  // The Conversations view's rows (the Templates view above it lists "Quality fixture" too).
  const conversationsPane = () => wb.page.locator('.pane', { has: wb.page.locator('.pane-header', { hasText: 'Conversations' }) });
  const rows = () => conversationsPane().locator('.monaco-list-row', { hasText: 'Quality fixture' });

  before(async () => {
    wb = await Workbench.open('quality', seed);
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await wb?.screenshot(`failed-${this.currentTest.title.replace(/\W+/g, '-')}`);
  });
  after(async () => {
    await wb?.close();
  });

  it('lists the conversations in the Promptloom view, newest first, with score and status', async () => {
    await wb.page.locator('.activitybar .action-item a[aria-label^="Promptloom"]').click();
    await rows().nth(4).waitFor({ timeout: 30_000 });
    const texts = await rows().allInnerTexts();
    assert.equal(texts.length, 5);
    assert.match(texts[0]!, /^10\.0\s+Anxious Investor\s*[0-9a-f]{8} · pending review · Quality fixture/);
    assert.match(texts[4]!, /approved/);
    assert.equal((await rows().allInnerTexts()).filter((t) => /needs revision/.test(t)).length, 3);
    const label = await rows().first().getAttribute('aria-label');
    assert.match(label ?? '', /^Quality 10\.0, pending review, Quality fixture, Anxious Investor/);
    await wb.screenshot('conversations-view');
  });

  it('opens a transcript beside the list with findings on its turns, keeping focus in the list', async () => {
    await rows().filter({ hasText: 'Near Retiree' }).filter({ hasText: 'needs revision' }).click();
    await wb.page.locator('.monaco-editor .view-lines', { hasText: 'Assistant (turn 2)' }).first().waitFor({ timeout: 30_000 });
    // Findings are squiggles on the turns they concern, and the review actions are CodeLenses.
    await wb.page.locator('.monaco-editor .squiggly-warning').first().waitFor({ timeout: 15_000 });
    await wb.page.locator('.codelens-decoration', { hasText: 'Approve' }).waitFor();
    assert.ok(await rows().filter({ hasText: 'Near Retiree' }).filter({ hasText: 'needs revision' }).evaluate((row) => row.classList.contains('focused')));
    await wb.screenshot('conversation-transcript');
  });

  it('rejecting from the transcript re-renders it, its findings still on the turns', async () => {
    // A verdict given in the transcript keeps it open (only verdicts in the list move on).
    await wb.page.locator('.codelens-decoration a', { hasText: 'Reject' }).click();
    await rows().filter({ hasText: 'Near Retiree' }).filter({ hasText: 'rejected' }).waitFor({ timeout: 15_000 });
    // The transcript re-renders without its "Reason:" line; the squiggles stay on the turns'
    // text, not on the blank lines the turns moved away from.
    await wb.page.locator('.monaco-editor .view-lines', { hasText: '· rejected' }).first().waitFor({ timeout: 15_000 });
    await wb.page.waitForTimeout(500);
    const placement = await wb.page.locator('.monaco-editor').first().evaluate((editor) => {
      const lines = Array.from(editor.querySelectorAll<HTMLElement>('.view-lines .view-line')).map((l) => ({ top: l.style.top, text: (l.textContent ?? '').replace(/\u00a0/g, ' ').trim() }));
      const squiggles = Array.from(editor.querySelectorAll<HTMLElement>('.view-overlays .squiggly-warning')).map((s) => s.parentElement!.style.top);
      return { squiggles, blank: squiggles.filter((top) => lines.find((l) => l.top === top)?.text === '') };
    });
    assert.ok(placement.squiggles.length > 0);
    assert.deepEqual(placement.blank, [], 'no finding sits on a blank line');
  });

  it('shows the quality breakdown with a labelled meter per part, navigable by keyboard', async () => {
    await wb.page.locator('.codelens-decoration a', { hasText: 'breakdown' }).click();
    const frame = await wb.webviewFrame('.parts');
    const meters = frame.locator('.part[role="meter"]');
    assert.equal(await meters.count(), 4);
    const confidence = frame.locator('[data-part="confidence"]');
    assert.match((await confidence.getAttribute('aria-valuetext')) ?? '', /^\d\.\d of 10, low$/);
    assert.match((await confidence.getAttribute('aria-label')) ?? '', /^Confidence, weight 20 percent: low/);
    assert.ok(await confidence.evaluate((n) => n.classList.contains('band-low')));
    assert.ok(await frame.locator('[data-part="structure"]').evaluate((n) => n.classList.contains('band-good')));
    // The header names the threshold as a threshold, not as a verdict.
    assert.match(await frame.locator('.band-word').innerText(), /· flag threshold \d+\.\d ·/);
    assert.doesNotMatch(await frame.locator('.band-word').innerText(), /flagged below/);
    // Red, yellow and green come from the theme's chart colours and differ.
    const fills = await frame.locator('.part .fill').evaluateAll((nodes) => nodes.map((n) => getComputedStyle(n).backgroundColor));
    assert.notEqual(fills[3], fills[2]);

    // Keyboard: Tab into the parts, arrows through them to the recommendations, Enter opens a turn.
    await meters.first().focus();
    for (let i = 0; i < 4; i++) await wb.page.keyboard.press('ArrowDown');
    const focused = await frame.evaluate(() => document.activeElement?.textContent ?? '');
    assert.match(focused, /^turn 4 \(assistant\) nearly repeats turn 2/);
    await wb.screenshot('quality-panel');
    await wb.page.keyboard.press('Enter');
    await wb.page.locator('.monaco-editor .cursor-line, .monaco-editor .current-line').first().waitFor();
  });

  it('approves from the panel', async () => {
    const frame = await wb.webviewFrame('.parts');
    await frame.locator('vscode-button', { hasText: 'Approve' }).focus();
    await wb.page.keyboard.press('Enter');
    await frame.locator('.band-word', { hasText: 'approved' }).waitFor({ timeout: 15_000 });
    // The page was redrawn; focus stayed on the button, and the change was announced.
    assert.equal(await frame.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.key), 'review-approved');
    assert.equal(await frame.locator('[role="status"]').textContent(), 'Now approved');
  });

  it('reviews the focused row from the keyboard, moves on after a verdict, and the breakdown follows without taking focus', async () => {
    // Newest first: 0 good (pending), 1 approved, 2 and 3 flagged by the scorer, 4 approved.
    const ids = (await rows().allInnerTexts()).map((t) => /([0-9a-f]{8}) · /.exec(t)?.[1] ?? '');
    assert.equal(new Set(ids).size, 5, `five distinct short ids in ${ids.join(', ')}`);
    const row = (i: number) => rows().filter({ hasText: ids[i]! });
    const rowHas = (i: number, cls: string) => wb.page.waitForFunction(([id, c]) => Array.from(document.querySelectorAll('.pane-body .monaco-list-row')).some((r) => r.textContent!.includes(id!) && r.classList.contains(c!)), [ids[i], cls] as const, { timeout: 15_000 });
    const listHasFocus = () => wb.page.evaluate(() => !!document.activeElement?.closest('.pane-body .monaco-list'));
    const panelShows = async (i: number) => {
      // The breakdown's webview may be rebuilt while the transcript beside it switches: a detached
      // frame is looked up again, until the deadline.
      const deadline = Date.now() + 15_000;
      for (;;) {
        const frame = await wb.webviewFrame('.parts');
        try {
          return await frame.locator('h1', { hasText: ids[i]! }).waitFor({ timeout: Math.max(1_000, deadline - Date.now()) });
        } catch (error) {
          if (!/detached/i.test(String(error)) || Date.now() > deadline) throw error;
        }
      }
    };
    // The list catches up with the approval given in the panel.
    await row(1).filter({ hasText: 'approved' }).waitFor({ timeout: 15_000 });
    assert.match(await row(2).innerText(), /needs revision/);
    assert.match(await row(3).innerText(), /needs revision/);

    await row(0).click();
    await rowHas(0, 'selected');
    // q: the breakdown of the focused row, the keyboard left in the list.
    await wb.page.keyboard.press('q');
    await panelShows(0);
    assert.ok(await listHasFocus(), 'q leaves the focus in the list');
    // a approves it (the key after q still works); the next row awaiting a verdict (2) is selected
    // and the breakdown follows it.
    await wb.page.keyboard.press('a');
    await row(0).filter({ hasText: 'approved' }).waitFor({ timeout: 15_000 });
    await rowHas(2, 'selected');
    await panelShows(2);
    // ↓ moves the focus only; r rejects the focused row (3), not the selected one (2).
    await wb.page.keyboard.press('ArrowDown');
    await rowHas(3, 'focused');
    await wb.page.keyboard.press('r');
    await row(3).filter({ hasText: 'rejected' }).waitFor({ timeout: 15_000 });
    // Nothing awaits below 3: back up to 2, skipped by the ↓.
    await rowHas(2, 'selected');
    assert.match(await row(2).innerText(), /needs revision/, 'row 2 was not reviewed');
    assert.match(await row(0).innerText(), /approved/);
    assert.ok(await listHasFocus(), 'the focus is still in the list');
    await panelShows(2);
    await wb.screenshot('review-keyboard');
  });

  it('shows the template’s runs, quality and approvals as a CodeLens, and PL011 below its threshold', async () => {
    await wb.openFile('quality.prompt', 'Quality fixture');
    const lens = wb.page.locator('.codelens-decoration', { hasText: 'runs' });
    await lens.waitFor({ timeout: 30_000 });
    assert.match(await lens.innerText(), /5 runs · quality \d\.\d · \d+% approved of \d reviewed/);
    await wb.page.locator('.monaco-editor .squiggly-warning').first().waitFor({ timeout: 15_000 });
    await wb.page.keyboard.press('Control+Shift+M');
    // The open transcript's findings are listed too: filter to the template's.
    const filter = wb.page.locator('.panel .viewpane-filter input, .panel .viewpane-filter textarea').first();
    await filter.fill('PL011');
    const marker = wb.page.locator('.markers-panel .monaco-list-row', { hasText: 'PL011' });
    await marker.waitFor({ timeout: 15_000 });
    assert.match(await wb.page.locator('.markers-panel').innerText(), /The last 5 conversations average \d\.\d, below this template’s quality_threshold of 8\.0/);
    await wb.screenshot('template-quality');
  });
});
