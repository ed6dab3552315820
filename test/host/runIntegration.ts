/**
 * `npm run test:integration`: runs the mocha suites of test/integration inside the extension
 * host of a real VS Code (code-server), opened by headless Chromium on a copy of the fixture
 * workspace, and prints their report. Exit code 0 only when every suite passed there.
 */
import { cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CACHE, ROOT, VsCodeHost, ensureHost, freePort } from '../../scripts/host';
import { FakeMessagesApi } from '../fixtures/fakeMessagesApi';
import { launchBrowser } from './browser';

const TIMEOUT_MS = 5 * 60_000;

async function main(): Promise<number> {
  ensureHost();
  const runDir = join(CACHE, 'run-integration');
  rmSync(runDir, { recursive: true, force: true });
  const folder = join(runDir, 'workspace');
  cpSync(join(ROOT, 'test', 'fixtures', 'workspace'), folder, { recursive: true });
  const report = join(runDir, 'report.txt');
  const tests = join(ROOT, 'dist', 'test', 'integration.js');
  if (!existsSync(tests)) throw new Error(`${tests} is missing: run npm run build first`);

  // The generation suites talk to a fake Messages API over real HTTP, through the real SDK.
  const api = await FakeMessagesApi.start({ apiKey: 'sk-integration-key' });
  const host = await VsCodeHost.start({
    port: await freePort(),
    folder,
    runDir,
    extension: 'development',
    // PROMPTLOOM_TEST_GREP=<words> runs only the tests whose title holds them.
    env: { PROMPTLOOM_TEST_REPORT: report, ANTHROPIC_BASE_URL: api.url, ...(process.env.PROMPTLOOM_TEST_GREP ? { PROMPTLOOM_TEST_GREP: process.env.PROMPTLOOM_TEST_GREP } : {}) },
  });
  const browser = await launchBrowser(runDir);
  try {
    const page = browser.pages()[0] ?? (await browser.newPage());
    // The workbench calls this hook when the tests finish (as @vscode/test-web's harness does).
    const exit = new Promise<number>((resolve) => void page.exposeFunction('codeAutomationExit', (code: number) => resolve(code)));
    await page.goto(host.url(tests));
    const code = await Promise.race([exit, new Promise<number>((resolve) => setTimeout(() => resolve(-1), TIMEOUT_MS))]);
    process.stdout.write(existsSync(report) ? readFileSync(report, 'utf8') : 'no report was written\n');
    if (code === -1) process.stdout.write(`timed out after ${TIMEOUT_MS / 1000} s; server log: ${host.logFile}\n`);
    return code === 0 ? 0 : 1;
  } finally {
    await browser.close();
    await host.stop();
    await api.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`integration tests could not run: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
