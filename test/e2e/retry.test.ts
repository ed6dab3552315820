/// <reference lib="dom" />
import { strict as assert } from 'node:assert';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Frame } from 'playwright-core';
import { Workbench } from './workbench';

/** The workspace's retry settings, which the panel starts from. */
async function settings(folder: string): Promise<void> {
  mkdirSync(join(folder, '.vscode'), { recursive: true });
  writeFileSync(
    join(folder, '.vscode', 'settings.json'),
    JSON.stringify({ 'promptloom.retry.strategy': 'linear', 'promptloom.retry.maxAttempts': 4, 'promptloom.retry.baseDelayMs': 2000, 'promptloom.retry.maxDelayMs': 10000 }, null, 2),
  );
}

const percentOf = (text: string) => Number(/([\d.]+)%/.exec(text)?.[1]);

describe('Simulate Retry Strategy in the VS Code workbench (headless Chromium)', () => {
  let wb: Workbench;
  let frame: Frame;
  const figure = (key: string) => frame.locator(`[data-figure="${key}"] dd`);

  before(async () => {
    wb = await Workbench.open('retry', settings);
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await wb?.screenshot(`failed-${this.currentTest.title.replace(/\W+/g, '-')}`);
  });
  after(async () => {
    await wb?.close();
  });

  it('opens from the palette with the workspace’s retry settings, one run and the distribution', async () => {
    await wb.runCommand('Promptloom: Simulate Retry Strategy');
    frame = await wb.webviewFrame('#failure-rate');
    await frame.locator('#figures').waitFor({ timeout: 30_000 });
    assert.equal(await frame.locator('#strategy').inputValue(), 'linear');
    assert.equal(await frame.locator('#max-attempts').inputValue(), '4');
    assert.equal(await frame.locator('#base-delay').inputValue(), '2000');
    assert.equal(await frame.locator('#max-delay').inputValue(), '10000');
    assert.match(await frame.locator('#source').innerText(), /workspace’s retry settings/);
    assert.equal(await frame.locator('#failure-rate-shown').innerText(), '30%');
    // 1 − 0.3⁴ of 1,000 simulated runs succeed, within sampling noise.
    assert.ok(Math.abs(percentOf(await figure('success-rate').innerText()) - 99.2) < 2, await figure('success-rate').innerText());
    assert.ok(await frame.locator('#histogram canvas').count() > 0, 'the histogram is drawn');
    assert.ok((await frame.locator('#timeline li').count()) >= 1);
  });

  it('moving the failure-rate slider changes the figures; the waits are the linear strategy’s', async () => {
    const before = { p95: await figure('p95').innerText(), chart: await frame.locator('#histogram').getAttribute('aria-label') };
    await frame.locator('#failure-rate').focus();
    for (let i = 0; i < 40; i++) await wb.page.keyboard.press('ArrowRight');
    await frame.locator('#failure-rate-shown', { hasText: '70%' }).waitFor();
    // The figures drawn are the answer to 70% (answers to the steps on the way are not drawn).
    await frame.locator('#results[data-failure-rate="0.7"]').waitFor({ timeout: 15_000 });
    // 1 − 0.7⁴ ≈ 76%; more attempts on average and longer waits than at 30%.
    const rate = percentOf(await figure('success-rate').innerText());
    assert.ok(Math.abs(rate - 76) < 5, String(rate));
    assert.notEqual(await figure('p95').innerText(), before.p95);
    assert.notEqual(await frame.locator('#histogram').getAttribute('aria-label'), before.chart);
    // Linear from 2 s: every wait in a run is 2, 4 or 6 s.
    // A run that succeeds at once has no wait to show: draw again until one has.
    for (let tries = 0; tries < 10 && (await frame.locator('#timeline .delay').count()) === 0; tries++) {
      const seed = Number(await frame.locator('#results').getAttribute('data-seed'));
      await frame.locator('#draw-again').click();
      await frame.locator(`#results[data-seed="${seed + 1}"]`).waitFor();
    }
    assert.ok((await frame.locator('#timeline .delay').count()) > 0, 'a run with waits');
    const waits = await frame.locator('#timeline .delay').allInnerTexts();
    for (const w of waits) assert.match(w, /^then waits [246]\.00 s$/);
    await wb.screenshot('retry-simulation');
  });

  it('editing a field simulates with it, leaving the settings alone', async () => {
    const before = percentOf(await figure('success-rate').innerText());
    await frame.locator('#max-attempts').fill('8');
    await frame.locator('#source', { hasText: 'simulation only' }).waitFor();
    await frame.locator('#results[data-max-attempts="8"]').waitFor({ timeout: 15_000 });
    // 1 − 0.7⁸ ≈ 94%.
    const rate = percentOf(await figure('success-rate').innerText());
    assert.ok(rate > before && Math.abs(rate - 94.2) < 3, `${before} → ${rate}`);
    await frame.locator('#max-attempts').fill('0');
    assert.match(await frame.locator('.problem').innerText(), /Max attempts: a whole number from 1 to 100/);
    await frame.locator('#reset').click();
    assert.equal(await frame.locator('#max-attempts').inputValue(), '4');
    assert.match(await frame.locator('.problem').innerText(), /^$/);
  });

  it('saves the fields as the workspace’s retry settings', async () => {
    await frame.locator('#max-attempts').fill('6');
    await frame.locator('#source', { hasText: 'simulation only' }).waitFor();
    await frame.locator('#save').click();
    // The panel hears the change: the fields are the settings again.
    await frame.locator('#source', { hasText: 'workspace’s retry settings' }).waitFor({ timeout: 15_000 });
    const saved = JSON.parse(readFileSync(join(wb.folder, '.vscode', 'settings.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(saved['promptloom.retry.maxAttempts'], 6);
    assert.equal(saved['promptloom.retry.strategy'], 'linear');
  });
});
