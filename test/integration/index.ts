/**
 * Entry point loaded by the real extension host (the `extensionTestsPath` route): runs the
 * mocha suites in there, against the real `vscode` API, and writes a readable report to the
 * file named by PROMPTLOOM_TEST_REPORT for the runner outside to print.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import Mocha from 'mocha';

export async function run(): Promise<void> {
  const reportFile = process.env.PROMPTLOOM_TEST_REPORT;
  const write = (line: string): void => {
    if (reportFile) appendFileSync(reportFile, line + '\n');
  };
  if (reportFile) writeFileSync(reportFile, '');

  const mocha = new Mocha({ ui: 'bdd', timeout: 30_000, color: false, reporter: class {} as never });
  // PROMPTLOOM_TEST_GREP: only the tests whose full title holds it (a suite's name, say).
  if (process.env.PROMPTLOOM_TEST_GREP) mocha.grep(process.env.PROMPTLOOM_TEST_GREP);
  // The suites are bundled into this file; install mocha's globals, then load them.
  mocha.suite.emit('pre-require', globalThis, 'integration', mocha);
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded after the globals exist
  require('./suites');

  await new Promise<void>((resolve, reject) => {
    const runner = mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} tests failed`)) : resolve()));
    let depth = 0;
    runner.on('suite', (suite) => {
      if (suite.title) write(`${'  '.repeat(depth)}${suite.title}`);
      if (suite.title) depth++;
    });
    runner.on('suite end', (suite) => {
      if (suite.title) depth--;
    });
    runner.on('pass', (test) => write(`${'  '.repeat(depth)}✔ ${test.title} (${test.duration ?? 0}ms)`));
    runner.on('fail', (test, error: Error) => {
      write(`${'  '.repeat(depth)}✖ ${test.title}`);
      write(String(error.stack ?? error).replace(/^/gm, `${'  '.repeat(depth + 2)}`));
    });
    runner.on('end', () => {
      const stats = runner.stats!;
      write(`\n  ${stats.passes} passing, in the extension host of VS Code`);
      if (stats.failures > 0) write(`  ${stats.failures} failing`);
    });
  });
}
