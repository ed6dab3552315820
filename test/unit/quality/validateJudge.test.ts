import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { GOOD, REPETITIVE, TRUNCATED } from '../../fixtures/conversations';
import { FakeMessagesApi } from '../../fixtures/fakeMessagesApi';

const KEY = 'sk-test-fake-key';
const SCRIPT = resolve(__dirname, '../../../bench/validateQuality.ts');

function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['-r', 'tsx/cjs', SCRIPT, ...args], { cwd: resolve(__dirname, '../../..'), env: { PATH: process.env.PATH, ...env } as NodeJS.ProcessEnv });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => done({ code, stdout, stderr }));
  });
}

describe('npm run validate:quality -- --judge (against the fake Messages API)', function () {
  this.timeout(120_000);

  it('prints the estimated cost first, then the judge’s agreement with the ratings, on --limit dialogues', async () => {
    const api = await FakeMessagesApi.start({ apiKey: KEY });
    try {
      const dir = mkdtempSync(join(tmpdir(), 'promptloom-validate-'));
      const file = join(dir, 'rated.jsonl');
      const rows = [
        { overall: 5, turns: GOOD.turns },
        { overall: 1, turns: REPETITIVE.turns },
        { overall: 3, turns: TRUNCATED.turns },
        { overall: 4, turns: GOOD.turns.slice(0, 8) },
        { overall: 2, turns: REPETITIVE.turns.slice(0, 6) },
      ];
      writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
      const result = await run([file, '--judge', '--limit', '4'], { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url });
      assert.equal(result.code, 0, result.stderr);
      const lines = result.stdout.split('\n');
      assert.match(lines[0]!, /^the judge \(claude-haiku-5-5\) will grade up to 4 dialogues: estimated cost \$\d+\.\d{4}$/);
      assert.match(result.stdout, /judge claude-haiku-5-5: 4 of 4 dialogues graded, \$\d+\.\d{4} spent/);
      assert.match(result.stdout, /judge part +-?\d\.\d{3}/);
      assert.equal(api.stats.judgeRequests.length, 4);

      const noKey = await run([file, '--judge', '--limit', '2'], { ANTHROPIC_BASE_URL: api.url });
      assert.equal(noKey.code, 2);
      assert.match(noKey.stderr, /--judge needs ANTHROPIC_API_KEY/);
      const plain = await run([file], { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url });
      assert.equal(plain.code, 0, plain.stderr);
      assert.equal(api.stats.requests, 4, 'without --judge no call is made');
    } finally {
      await api.stop();
    }
  });
});
