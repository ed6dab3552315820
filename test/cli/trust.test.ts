import { strict as assert } from 'node:assert';
import { Store } from '../../src/core/store';
import { FakeMessagesApi } from '../fixtures/fakeMessagesApi';
import { runCli, workspace } from '../helpers/cli';
import { killed, lockHolder } from '../helpers/lock';

const KEY = 'sk-test-fake-key';
const TEMPLATE = '---\nname: Trust\ntier: template\n---\nWrite a conversation about bonds.\n';

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

const run = runCli;

const lastJson = (r: Result) => JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;

describe('trust: where the API key goes', function () {
  this.timeout(60_000);
  let api: FakeMessagesApi;
  let evil: FakeMessagesApi;
  beforeEach(async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY });
    evil = await FakeMessagesApi.start({ apiKey: KEY });
  });
  afterEach(async () => {
    await api.stop();
    await evil.stop();
  });

  it('a workspace’s promptloom.apiBaseUrl is ignored (and said so), never stored, and a stored one never used by resume', async () => {
    const ws = workspace({ 't.prompt': TEMPLATE, '.vscode/settings.json': JSON.stringify({ 'promptloom.apiBaseUrl': evil.url }) });
    const generated = await run(['generate', 't.prompt', '--count', '2', '--format', 'json', '--api-base-url', api.url], ws, { ANTHROPIC_API_KEY: KEY });
    assert.equal(generated.code, 0, generated.stderr);
    assert.equal(evil.stats.requests + evil.stats.countTokens, 0, 'the workspace’s address got nothing');
    assert.equal(evil.stats.keysSeen.size, 0, 'and never saw the key');
    assert.equal(api.stats.accepted, 2);
    assert.equal(generated.stderr.match(/ignored promptloom\.apiBaseUrl in \.vscode\/settings\.json/g)?.length, 1, generated.stderr);
    const batchId = lastJson(generated).batchId as string;

    const store = await Store.open(ws);
    const settings = String((await store.get('SELECT settings FROM batches WHERE id = ?', [batchId]))!.settings);
    assert.doesNotMatch(settings, /apiBaseUrl|127\.0\.0\.1/, 'the address is not kept with the batch');
    // A batch as an older release stored it (with an address), left unfinished.
    await store.write((tx) => tx.run("UPDATE batches SET requested = 3, status = 'failed', settings = ? WHERE id = ?", [JSON.stringify({ ...JSON.parse(settings), apiBaseUrl: evil.url }), batchId]));
    store.close();
    const resumed = await run(['resume', '--format', 'json'], ws, { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url });
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(evil.stats.requests, 0, 'resume used the user’s address, not the stored one');
    assert.equal(api.stats.accepted, 3);
  });

  it('plain http is refused before any request unless the host is this machine; a bad address is one line, exit 2', async () => {
    const ws = workspace({ 't.prompt': TEMPLATE });
    for (const [args, env, message] of [
      [['--api-base-url', 'http://example.com'], {}, /refusing to send the API key over plain http to example\.com \(from --api-base-url\)/],
      [[], { ANTHROPIC_BASE_URL: 'http://10.0.0.5:8080' }, /refusing to send the API key over plain http to 10\.0\.0\.5:8080 \(from ANTHROPIC_BASE_URL\)/],
      [[], { ANTHROPIC_BASE_URL: 'not a url' }, /the API address from ANTHROPIC_BASE_URL is not a URL/],
      [['--api-base-url', 'ftp://127.0.0.1/'], {}, /must start with https:\/\//],
      [['--api-base-url', 'https://user:pw@api.example.com'], {}, /holds a user name or password/],
    ] as const) {
      const r = await run(['generate', 't.prompt', ...args], ws, { ANTHROPIC_API_KEY: KEY, ...env });
      assert.equal(r.code, 2, `${args.join(' ')} ${JSON.stringify(env)}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /pw|sk-test/);
    }
    // Loopback over http is fine: localhost, 127.x, [::1].
    const ok = await run(['generate', 't.prompt', '--format', 'json', '--api-base-url', api.url.replace('127.0.0.1', 'localhost')], ws, { ANTHROPIC_API_KEY: KEY });
    assert.equal(ok.code, 0, ok.stderr);
  });
});

describe('trust: failures explained, batches stopped, cancels resumable', function () {
  this.timeout(60_000);
  let api: FakeMessagesApi;
  beforeEach(async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY, latencyMs: 150 });
  });
  afterEach(() => api.stop());

  it('a rejected key stops the batch at the first answer, with the cause and the fix in one line', async () => {
    const ws = workspace({ 't.prompt': TEMPLATE });
    const r = await run(['generate', 't.prompt', '--count', '20', '--concurrency', '1', '--on-error', 'continue'], ws, { ANTHROPIC_API_KEY: 'sk-wrong-key', ANTHROPIC_BASE_URL: api.url });
    assert.equal(r.code, 1);
    assert.equal(api.stats.requests, 1, 'one request, not twenty');
    assert.match(r.stderr, /^promptloom: the API key was rejected \(401 authentication_error\): set ANTHROPIC_API_KEY or run Promptloom: Set API Key$/m);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0]!, /^0 of 20 conversations generated/);
    assert.equal(lines[lines.length - 1], '1 failed: 1 key rejected (401)', 'the summary ends with the failures by cause');
    assert.doesNotMatch(r.stdout + r.stderr, /sk-wrong-key/);
  });

  it('nothing listening at the address: stops at once and names the address', async () => {
    const closed = await FakeMessagesApi.start();
    const url = closed.url;
    await closed.stop();
    const ws = workspace({ 't.prompt': TEMPLATE });
    const r = await run(['generate', 't.prompt', '--count', '5', '--format', 'json'], ws, { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: url });
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`nothing answers at ${url.replace(/[.:/]/g, '\\$&')} \\(connection refused\\)`));
    const summary = lastJson(r);
    assert.equal(summary.stopped, 'fatal');
    assert.ok((summary.attempts as number) <= 3, `at most one request per worker: ${String(summary.attempts)}`);
  });

  it('Ctrl+C: the summary says cancelled and how to resume, and resume finishes exactly the batch', async () => {
    const ws = workspace({ 't.prompt': TEMPLATE });
    const env = { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url };
    const interrupted = await run(['generate', 't.prompt', '--count', '8', '--concurrency', '1'], ws, env, (child) => {
      // Interrupt once two answers have been paid for.
      const timer = setInterval(() => {
        if (api.stats.accepted >= 2) {
          clearInterval(timer);
          child.kill('SIGINT');
        }
      }, 10);
    });
    assert.equal(interrupted.code, 1, interrupted.stderr);
    const batchId = /batch ([0-9a-f-]{36})/.exec(interrupted.stdout)![1]!;
    assert.match(interrupted.stdout, /conversations generated \(cancelled\)/);
    assert.match(interrupted.stderr, new RegExp(`cancelled: \\d of 8 not generated; finish with: promptloom resume --batch ${batchId}`));
    assert.doesNotMatch(interrupted.stdout, /failed/, 'a request cut off by the cancel is not a failure');

    const resumed = await run(['resume', '--format', 'json'], ws, env);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(lastJson(resumed).batchId, batchId);
    const store = await Store.open(ws);
    assert.equal(Number((await store.get('SELECT count(*) AS n FROM conversations WHERE batch_id = ?', [batchId]))!.n), 8);
    assert.equal((await store.get('SELECT status FROM batches WHERE id = ?', [batchId]))!.status, 'completed');
    store.close();
  });
});

describe('trust: the same workspace for every command', function () {
  this.timeout(60_000);
  let api: FakeMessagesApi;
  beforeEach(async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY });
  });
  afterEach(() => api.stop());

  const MODELS = JSON.stringify({ promptloom: { models: [{ id: 'claude-haiku-5-5', alias: 'mine', inputPrice: 1, outputPrice: 5 }] } });
  const ALIASED = '---\nname: Aliased\nmodel: mine\n---\nWrite a conversation about bonds.\n';

  it('a template naming the workspace’s model alias is checked, generated and resumed alike', async () => {
    const ws = workspace({ 't.prompt': ALIASED, '.vscode/settings.json': MODELS });
    const env = { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url };
    assert.equal((await run(['check', 't.prompt'], ws, env)).code, 0, 'check reads the current folder’s model table, as generate does');
    api.script({ kind: 'ok' }, { kind: 'status', status: 400, type: 'invalid_request_error' });
    const first = await run(['generate', 't.prompt', '--count', '4', '--concurrency', '1', '--on-error', 'stop', '--max-attempts', '1', '--format', 'json'], ws, env);
    assert.equal(first.code, 1, first.stderr);
    const resumed = await run(['resume', '--format', 'json'], ws, env);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(lastJson(resumed).succeeded, 3);
  });

  it('Ctrl+C while the batch is still being set up (the database busy) cancels it: nothing is paid for', async () => {
    const ws = workspace({ 't.prompt': TEMPLATE });
    const env = { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url };
    assert.equal((await run(['generate', 't.prompt', '--format', 'json'], ws, env)).code, 0);
    const holder = await lockHolder(ws);
    const cancelled = await run(['generate', 't.prompt', '--count', '4', '--format', 'json'], ws, env, (child) => {
      // The command says it waits for the lock; interrupt it there, then free the database.
      let said = '';
      child.stderr!.on('data', (chunk: Buffer) => {
        if (said.includes('waiting for the workspace database')) return;
        said += chunk.toString();
        if (!said.includes('waiting for the workspace database')) return;
        child.kill('SIGINT');
        void new Promise((r) => setTimeout(r, 300)).then(() => killed(holder));
      });
    });
    await killed(holder);
    assert.equal(cancelled.code, 1, cancelled.stderr);
    assert.equal(lastJson(cancelled).stopped, 'cancelled');
    assert.equal(api.stats.accepted, 1, 'only the first command’s request');
    assert.match(cancelled.stderr, /cancelled: 4 of 4 not generated; finish with: promptloom resume --batch/);
    assert.match(cancelled.stderr, /promptloom: waiting for the workspace database: process \d+ \(.*lockHolder.*\) holds it/, 'the wait is said, with who holds the lock');
  });

  it('a workspace’s model table cannot price requests below the built-in table, so budgets hold', async () => {
    const cheap = JSON.stringify({ 'promptloom.models': [{ id: 'claude-sonnet-5-5', alias: 'sonnet', inputPrice: 1e-300, outputPrice: 1e-300 }] });
    const ws = workspace({ 't.prompt': TEMPLATE, '.vscode/settings.json': cheap });
    const r = await run(['generate', 't.prompt', '--count', '3', '--concurrency', '1', '--budget-usd', '0.0001', '--format', 'json'], ws, { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(lastJson(r).stopped, 'budget');
    assert.equal(api.stats.accepted, 0);
    assert.match(r.stderr, /prices claude-sonnet-5-5 below the built-in model table; costs and budgets use the built-in prices/);
  });
});

describe('trust: numbers in range, from flags and from settings', function () {
  this.timeout(30_000);

  it('out-of-range flags and settings are usage errors naming the flag or the setting, before anything is sent', async () => {
    const api = await FakeMessagesApi.start({ apiKey: KEY });
    try {
      const ws = workspace({ 't.prompt': TEMPLATE });
      const env = { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url };
      for (const [flag, value, message] of [
        ['--timeout-ms', '3000000000', /--timeout-ms.*3000000000.*whole number from 1 to 3,600,000/],
        ['--window-seconds', '3000000', /--window-seconds.*3000000.*at most 86,400/],
        ['--concurrency', '0', /--concurrency.*whole number from 1 to 64/],
        ['--max-attempts', '2.5', /--max-attempts.*whole number from 1 to 100/],
        ['--budget-usd', 'NaN', /--budget-usd/],
      ] as const) {
        const r = await run(['generate', 't.prompt', flag, value], ws, env);
        assert.equal(r.code, 2, `${flag} ${value}: ${r.stderr}`);
        assert.match(r.stderr, message);
      }
      const settings = workspace({ 't.prompt': TEMPLATE, '.vscode/settings.json': '{ "promptloom.timeoutMs": 3000000000 }' });
      const r = await run(['generate', 't.prompt'], settings, env);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /promptloom: \.vscode\/settings\.json: promptloom\.timeoutMs: 3000000000 is not valid: expected a whole number from 1 to 3,600,000/);
      assert.equal(api.stats.requests + api.stats.countTokens, 0);
    } finally {
      await api.stop();
    }
  });
});
