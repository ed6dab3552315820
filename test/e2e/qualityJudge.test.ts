/// <reference lib="dom" />
import { strict as assert } from 'node:assert';
import { flagReason, scoreConversation, toQualityResult } from '../../src/core/quality';
import { judgePart, withJudge } from '../../src/core/quality/judge';
import { WorkspaceGenerationRepository, Store, WorkspaceTemplateRepository } from '../../src/core/store';
import { GOOD } from '../fixtures/conversations';
import { Workbench } from './workbench';

/** GOOD, with the adviser restating the client's expenses wrongly in turn 10 (a contradiction). */
function contradicted() {
  const turns = GOOD.turns.map((t) => ({ ...t }));
  turns[8] = { role: 'user', content: 'My expenses are closer to $50,000 a year, so maybe I need a bit more cash saved up.' };
  turns[9] = {
    role: 'assistant',
    content: 'With your expenses at $45,000 a year, your thirty thousand already covers more than six months. If you want a full year of cushion, you could add to savings gradually from your income rather than selling stocks now. That way the extra cash builds up without turning this month’s paper loss into a real one.',
  };
  return { turns };
}

/** One conversation as a batch with the judge on would have stored it: scored, graded, flagged. */
async function seed(folder: string): Promise<void> {
  const store = await Store.open(folder);
  const templates = new WorkspaceTemplateRepository(store);
  const t = await templates.ensure('judged.prompt', { name: 'Judged fixture', tier: 'template' });
  const v = await templates.recordVersion(t.id, 'seeded');
  const conversation = contradicted();
  // Claude's grade as the judge would return it, combined by the documented rule (the lower wins).
  const part = judgePart(
    {
      criteria: { answersQuestion: 5, consistency: 1, specificity: 4, staysInRole: 5, noRepetition: 5, naturalClose: 5 },
      overall: 4,
      turnsAtFault: [{ turn: 10, reason: 'gives the client’s expenses as $45,000; they said $50,000' }],
      reason: 'turn 10 misstates the yearly expenses the client gave',
    },
    'claude-haiku-5-5',
    0.0012,
  );
  const report = withJudge(scoreConversation(conversation), part);
  const reason = flagReason(report, undefined);
  await new WorkspaceGenerationRepository(store).record({
    templateId: t.id, versionId: v.id, parameters: { persona: 'Near Retiree' }, model: 'claude-sonnet-5-5', attempt: 1, status: 'succeeded', inputTokens: 900, outputTokens: 2400, costUsd: 0.04, durationMs: 9000,
    conversation: { turns: conversation.turns, quality: toQualityResult(report), ...(reason ? { status: 'needs_revision' as const, statusReason: reason } : {}) },
  });
  store.close();
}

/** The new findings where a reviewer sees them: a defect on its turn, and the judge's part. */
describe('Defect findings and the judge in the workbench (headless Chromium)', () => {
  let wb: Workbench;

  before(async () => {
    wb = await Workbench.open('quality-judge', seed);
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await wb?.screenshot(`failed-${this.currentTest.title.replace(/\W+/g, '-')}`);
  });
  after(async () => {
    await wb?.close();
  });

  it('shows the contradiction as a diagnostic on its turn of the transcript', async () => {
    await wb.page.locator('.activitybar .action-item a[aria-label^="Promptloom"]').click();
    // In the Conversations view (the Templates view lists "Judged fixture" too).
    const pane = wb.page.locator('.pane', { has: wb.page.locator('.pane-header', { hasText: 'Conversations' }) });
    const row = pane.locator('.monaco-list-row', { hasText: 'Judged fixture' });
    await row.first().waitFor({ timeout: 30_000 });
    assert.match(await row.first().innerText(), /needs revision/);
    await row.first().click();
    await wb.page.locator('.monaco-editor .view-lines', { hasText: 'Assistant (turn 2)' }).first().waitFor({ timeout: 30_000 });
    // The Problems panel lists the finding on its turn; choosing it reveals turn 10 and its squiggle.
    await wb.page.keyboard.press('Control+Shift+M');
    const marker = wb.page.locator('.markers-panel .monaco-list-row', { hasText: 'contradicts the user' });
    await marker.first().waitFor({ timeout: 15_000 });
    assert.match(await wb.page.locator('.markers-panel').innerText(), /turn 10 \(assistant\) contradicts the user: gives \$45,000 where they said \$50,000/);
    // The judge's turn at fault is a finding on the same turn.
    assert.match(await wb.page.locator('.markers-panel').innerText(), /the judge: gives the client’s expenses as \$45,000; they said \$50,000/);
    await marker.first().click();
    await wb.page.locator('.monaco-editor .view-lines', { hasText: 'Assistant (turn 10)' }).first().waitFor({ timeout: 15_000 });
    await wb.page.locator('.monaco-editor .squiggly-warning, .monaco-editor .squiggly-error').first().waitFor({ timeout: 15_000 });
    await wb.screenshot('transcript-defect');
  });

  it('shows the judge’s part beside the defect in the breakdown panel', async () => {
    // Back to the top of the transcript, where its CodeLenses are.
    await wb.page.locator('.monaco-editor .view-lines', { hasText: 'Assistant (turn 10)' }).first().click();
    await wb.page.keyboard.press('Control+Home');
    // Close the Problems panel, so the breakdown shows its recommendations too.
    await wb.page.keyboard.press('Control+J');
    await wb.page.locator('.markers-panel').waitFor({ state: 'hidden', timeout: 15_000 });
    await wb.page.locator('.codelens-decoration a', { hasText: 'breakdown' }).click();
    const frame = await wb.webviewFrame('.parts');
    const meters = frame.locator('.part[role="meter"]');
    assert.equal(await meters.count(), 5);
    const judge = frame.locator('[data-part="judge"]');
    assert.match((await judge.getAttribute('aria-label')) ?? '', /^Judge, caps the overall score: claude-haiku-5-5, 4\/10: turn 10 misstates the yearly expenses the client gave$/);
    assert.ok(await judge.evaluate((n) => n.classList.contains('band-low')));
    // The defect comes first among the recommendations: it set the score, below the judge's part.
    const body = await frame.locator('body').innerText();
    assert.match(body, /turn 10 \(assistant\) contradicts the user: gives \$45,000 where they said \$50,000/);
    await wb.screenshot('quality-panel-judge');
  });
});
