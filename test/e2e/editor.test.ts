/// <reference lib="dom" />
import { strict as assert } from 'node:assert';
import { Workbench } from './workbench';

/**
 * A person's session in the real workbench: open a template, read the Problems panel, see the
 * colours, open the preview from the command palette, fill the form, read the prompt.
 */
describe('Promptloom in the VS Code workbench (headless Chromium)', () => {
  let wb: Workbench;

  before(async () => {
    wb = await Workbench.open('editor');
  });
  afterEach(async function () {
    // A failure leaves a picture of what the workbench showed.
    if (this.currentTest?.state === 'failed') await wb?.screenshot(`failed-${this.currentTest.title.replace(/\W+/g, '-')}`);
  });
  after(async () => {
    await wb?.close();
  });

  it('starts in the dark theme set in the user settings', async () => {
    await wb.waitForTheme('vs-dark');
  });

  it('opens a .prompt file as a Promptloom Template', async () => {
    await wb.openFile('market.prompt', 'Market volatility check-in');
    const mode = await wb.page.locator('#status\\.editor\\.mode').innerText({ timeout: 15_000 });
    assert.equal(mode.trim(), 'Promptloom Template');
  });

  it('colours placeholders, block keywords and YAML keys apart from text', async () => {
    // Lines are first shown plain and coloured once the grammar has tokenized them: wait for that.
    const colourOf = (lineText: string, token: string) =>
      wb.page
        .locator('.monaco-editor .view-line', { hasText: lineText })
        .first()
        .locator('span > span', { hasText: token })
        .first()
        .evaluate((node) => getComputedStyle(node).color);
    const differs = async (token: [line: string, text: string], plain: [line: string, text: string]): Promise<void> => {
      const deadline = Date.now() + 20_000;
      let last = '';
      while (Date.now() < deadline) {
        const [a, b] = await Promise.all([colourOf(...token), colourOf(...plain)]);
        if (a !== b) return;
        last = `${a} = ${b}`;
        await wb.page.waitForTimeout(100);
      }
      assert.fail(`${token[1]} is not coloured apart from ${plain[1]} (${last})`);
    };
    const plainText: [string, string] = ['Discuss tax-loss harvesting.', 'Discuss'];
    await differs(['has <<amount>> invested', 'amount'], plainText);
    await differs(['<<#if taxes>>', 'if'], plainText);
    await differs(['tier: scenario', 'tier'], plainText);
    await wb.screenshot('editor-dark');
  });

  it('lists the template’s problems in the Problems panel', async () => {
    await wb.openFile('broken.prompt', 'Broken on purpose');
    await wb.page.keyboard.press('Control+Shift+M');
    const rows = wb.page.locator('.markers-panel .monaco-list-row');
    await rows.filter({ hasText: 'persna' }).first().waitFor({ timeout: 30_000 });
    const text = (await rows.allInnerTexts()).join('\n');
    assert.match(text, /temprature.*did you mean `temperature`/s);
    assert.match(text, /`persna` is not declared/);
    assert.match(text, /\{\{persona\}\}/);
    assert.match(text, /PL007/);
    assert.match(text, /PL002/);
    await wb.screenshot('problems');
    await wb.page.keyboard.press('Control+Shift+M');
  });

  it('previews the template from the command palette and renders what is typed', async () => {
    await wb.openFile('market.prompt', 'Market volatility check-in');
    await wb.runCommand('Promptloom: Preview Template');
    await wb.page.locator('.tab', { hasText: 'Preview market.prompt' }).waitFor({ timeout: 30_000 });
    const frame = await wb.webviewFrame('#prompt');
    // Missing required values are flagged on their fields.
    await frame.locator('#field-persona-error', { hasText: 'required' }).waitFor();
    // …and the empty required dropdown says so, rather than showing a first option it does not hold.
    await frame.locator('#field-persona', { hasText: '(choose one)' }).waitFor({ timeout: 5_000 });

    // The prompt shows at once: defaults applied, each missing value a marked chip in its place.
    const prompt = frame.locator('#prompt');
    await prompt.locator('.missing[data-variable="amount"]').waitFor();
    assert.equal(await prompt.textContent(), 'persona has amount invested, 10 years from retirement.\nDo not discuss taxes.\n');
    assert.equal(await frame.locator('#system').textContent(), 'You advise persona calmly.');
    assert.equal(await frame.locator('#system .missing[data-variable="persona"]').count(), 1, 'the system prompt marks it too');
    // A chip stands apart from the text around it: its own border and background.
    const chip = await prompt.locator('.missing[data-variable="persona"]').evaluate((node) => {
      const style = getComputedStyle(node);
      return { border: style.borderTopStyle, background: style.backgroundColor, pre: getComputedStyle(node.parentElement!).backgroundColor };
    });
    assert.equal(chip.border, 'dashed');
    assert.notEqual(chip.background, chip.pre);
    assert.match((await frame.locator('#status').textContent()) ?? '', /^2 values are missing or invalid/);
    await wb.screenshot('preview-placeholders');

    // "Fill sample values": persona takes its first option, amount (no examples, no help) its name.
    await frame.locator('#fill-samples').click();
    await frame.locator('#fill-note', { hasText: 'Filled with samples: persona (its first option), amount (its name).' }).waitFor({ timeout: 5_000 });
    await prompt.filter({ hasText: 'Anxious Investor has amount invested' }).waitFor();
    assert.equal(await prompt.textContent(), 'Anxious Investor has amount invested, 10 years from retirement.\nDo not discuss taxes.\n');
    assert.equal(await prompt.locator('.missing').count(), 0);
    assert.equal(await frame.locator('#field-amount input').inputValue(), 'amount');
    assert.match((await frame.locator('#status').textContent()) ?? '', /^Rendered in \d+\.\d ms$/);
    await wb.screenshot('preview-filled');

    // Paste values as JSON, then type one more into its field.
    await frame.locator('details.json summary').click();
    await frame.locator('#json textarea').fill('{"persona": "Anxious Investor", "years": 7, "yeers": 8}');
    await frame.locator('#apply-json').click();
    // A key the template does not have is reported, not silently dropped; and so is the field the
    // paste emptied (amount had its sample).
    await frame.locator('#json-note', { hasText: 'Not variables of this template, not used: yeers.' }).waitFor({ timeout: 5_000 });
    assert.equal(await frame.locator('#json-note').textContent(), 'Not variables of this template, not used: yeers. Emptied, not in the pasted values: amount.');
    await prompt.locator('.missing[data-variable="amount"]').waitFor();
    await frame.locator('#field-amount input').fill('$250,000 in a 401(k)');
    await prompt.filter({ hasText: '$250,000 in a 401(k) invested' }).waitFor();
    assert.equal(
      await prompt.textContent(),
      'Anxious Investor has $250,000 in a 401(k) invested, 7 years from retirement.\nDo not discuss taxes.\n',
    );
    assert.equal(await frame.locator('#system').textContent(), 'You advise Anxious Investor calmly.');
    assert.match((await frame.locator('#status').textContent()) ?? '', /^Rendered in \d+\.\d ms$/);

    // Ticking the checkbox switches the block.
    await frame.locator('#field-taxes').click();
    await prompt.filter({ hasText: 'Discuss tax-loss harvesting.' }).waitFor();
    await frame.locator('details.json summary').click(); // fold the JSON box again for the picture
    await wb.screenshot('preview-dark');
  });

  it('shows an out-of-range value inline, on its field', async () => {
    const frame = await wb.webviewFrame('#prompt');
    await frame.locator('#field-years input').fill('75');
    const error = frame.locator('#field-years-error');
    await error.filter({ hasText: 'above the maximum 60' }).waitFor();
    assert.equal(await error.textContent(), 'years 75 is above the maximum 60');
    // The prompt stays, the invalid value marked in its place.
    await frame.locator('#prompt .missing[data-variable="years"]').waitFor();
    assert.match((await frame.locator('#prompt').textContent()) ?? '', /^Anxious Investor has \$250,000 in a 401\(k\) invested, years years from retirement\./);
    await frame.locator('#field-years input').fill('7');
    await frame.locator('#prompt', { hasText: '7 years' }).waitFor();
  });

  it('comes back after a reload with the values entered', async () => {
    // Reload the way VS Code does (it saves the layout first; a bare browser reload may not).
    const navigated = wb.page.waitForEvent('framenavigated', { predicate: (f) => f === wb.page.mainFrame(), timeout: 60_000 });
    await wb.runCommand('Developer: Reload Window');
    await navigated;
    await wb.page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 60_000 });
    const frame = await wb.webviewFrame('#field-amount');
    await frame.locator('#prompt', { hasText: 'Anxious Investor has $250,000 in a 401(k) invested, 7 years' }).waitFor({ timeout: 30_000 });
    assert.equal(await frame.locator('#field-amount input').inputValue(), '$250,000 in a 401(k)');
  });

  it('reads well in light and high-contrast themes, missing-value chips included', async () => {
    // Empty one field, so the pictures show a chip too.
    const first = await wb.webviewFrame('#prompt');
    await first.locator('#field-amount input').fill('');
    await first.locator('#prompt .missing[data-variable="amount"]').waitFor();
    for (const [theme, kind, bodyClass, name] of [
      ['Light Modern', 'vs', 'vscode-light', 'preview-light'],
      ['Dark High Contrast', 'hc-black', 'vscode-high-contrast', 'preview-high-contrast'],
    ] as const) {
      await wb.pickTheme(theme, kind);
      const frame = await wb.webviewFrame('#prompt');
      // The webview follows: VS Code sets its body class and theme variables.
      await frame.waitForFunction((c) => document.body.classList.contains(c), bodyClass);
      const colours = await frame.locator('#prompt').evaluate((node) => ({ fg: getComputedStyle(node).color, bg: getComputedStyle(document.body).backgroundColor }));
      assert.notEqual(colours.fg, colours.bg);
      const chip = await frame.locator('#prompt .missing').evaluate((node) => ({ fg: getComputedStyle(node).color, bg: getComputedStyle(node).backgroundColor, border: getComputedStyle(node).borderTopColor }));
      assert.notEqual(chip.fg, chip.bg, `${theme}: the chip's text shows on its background`);
      assert.notEqual(chip.border, colours.bg, `${theme}: the chip's border shows on the page`);
      await frame.locator('#prompt').scrollIntoViewIfNeeded(); // the picture shows the chip
      await wb.page.waitForTimeout(300); // let the theme transition finish before the picture
      await wb.screenshot(name);
    }
  });
});
