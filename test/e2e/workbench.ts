/// <reference lib="dom" />
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Frame, Locator, Page } from 'playwright-core';
import { CACHE, ROOT, VsCodeHost, ensureHost, freePort } from '../../scripts/host';
import { launchBrowser } from '../host/browser';

export const SCREENSHOTS = join(ROOT, 'test-results', 'screenshots');

/** A real VS Code workbench in headless Chromium, with Promptloom loaded on a fixture workspace. */
export class Workbench {
  private constructor(
    readonly host: VsCodeHost,
    readonly browser: BrowserContext,
    readonly page: Page,
    readonly folder: string,
  ) {}

  /**
   * `prepare` runs on the copied workspace before VS Code starts (to seed its database, say);
   * `env` reaches the extension host (ANTHROPIC_BASE_URL of a fake API, say).
   */
  static async open(name: string, prepare?: (folder: string) => Promise<void>, env?: Readonly<Record<string, string>>, options: { untrusted?: boolean } = {}): Promise<Workbench> {
    ensureHost();
    const runDir = join(CACHE, `run-e2e-${name}`);
    rmSync(runDir, { recursive: true, force: true });
    const folder = join(runDir, 'workspace');
    cpSync(join(ROOT, 'test', 'fixtures', 'workspace'), folder, { recursive: true });
    mkdirSync(SCREENSHOTS, { recursive: true });
    await prepare?.(folder);
    const host = await VsCodeHost.start({
      port: await freePort(),
      folder,
      runDir,
      extension: 'installed',
      // Untrusted: VS Code's own trust decision, the folder opened in Restricted Mode without asking.
      settings: { 'workbench.colorTheme': 'Default Dark Modern', ...(options.untrusted ? { 'security.workspace.trust.startupPrompt': 'never', 'security.workspace.trust.emptyWindow': false } : {}) },
      ...(options.untrusted ? { workspaceTrust: true } : {}),
      ...(env ? { env } : {}),
    });
    const browser = await launchBrowser(runDir);
    const page = browser.pages()[0] ?? (await browser.newPage());
    await page.goto(host.url());
    await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 60_000 });
    // Promptloom's contributions are in once its activity bar entry is: commands are in the palette.
    await page.locator('.activitybar .action-item a[aria-label^="Promptloom"]').waitFor({ timeout: 60_000 });
    return new Workbench(host, browser, page, folder);
  }

  async close(): Promise<void> {
    await this.browser.close().catch(() => undefined);
    await this.host.stop();
  }

  /** Opens a file with Quick Open, as a person would. */
  async openFile(name: string, expectText: string): Promise<void> {
    await this.pick(['Control+P'], name, name);
    await this.page.locator('.monaco-editor .view-lines', { hasText: expectText }).first().waitFor();
  }

  /** Runs a command from the command palette by its title. */
  async runCommand(title: string): Promise<void> {
    await this.pick(['F1'], `>${title}`, title);
  }

  /** Picks a colour theme the way a person does: Ctrl+K Ctrl+T, type its name, Enter. */
  async pickTheme(label: string, kind: string): Promise<void> {
    await this.pick(['Control+K', 'Control+T'], label, label);
    await this.waitForTheme(kind);
  }

  /** The text box of the quick input on screen (a command's question). */
  quickInput(): Locator {
    return this.page.locator('.quick-input-widget input');
  }

  /** Waits for the quick input asking `text` (its title or prompt). */
  async waitForStep(text: string): Promise<void> {
    await this.page.locator('.quick-input-widget', { hasText: text }).waitFor({ state: 'visible' });
  }

  /** A notification toast holding `text`. */
  toast(text: string | RegExp): Locator {
    return this.page.locator('.notifications-toasts .notification-list-item', { hasText: text });
  }

  /** Promptloom: Set API Key, answered with `key`, until the editor says it is saved. */
  async setApiKey(key: string): Promise<void> {
    await this.runCommand('Promptloom: Set API Key');
    // The key's own input box, not the palette it replaces.
    await this.waitForStep('secret storage');
    await this.quickInput().fill(key);
    await this.page.keyboard.press('Enter');
    await this.toast('API key saved').waitFor();
  }

  /** Opens a quick input with `keys`, types `text` and takes the row showing `row`. */
  private async pick(keys: readonly string[], text: string, row: string): Promise<void> {
    for (const key of keys) await this.page.keyboard.press(key);
    const input = this.page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible' });
    await input.fill(text);
    // Enter takes the focused row: wait until the filter has put the wanted one there.
    await this.page.locator('.quick-input-list .monaco-list-row.focused', { hasText: row }).waitFor();
    await this.page.keyboard.press('Enter');
  }

  /** The frame of a webview whose document has `selector`. Webviews live in nested iframes. */
  async webviewFrame(selector: string, timeoutMs = 30_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      for (const frame of this.page.frames()) {
        if (await frame.$(selector).catch(() => null)) return frame;
      }
      await this.page.waitForTimeout(100);
    }
    throw new Error(`no webview with ${selector}`);
  }

  async waitForTheme(kind: string): Promise<void> {
    await this.page.waitForFunction((k) => document.querySelector('.monaco-workbench')?.classList.contains(k), kind, { timeout: 30_000 });
  }

  async screenshot(name: string): Promise<string> {
    const path = join(SCREENSHOTS, `${name}.png`);
    await this.page.screenshot({ path });
    return path;
  }
}
