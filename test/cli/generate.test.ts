import { strict as assert } from 'node:assert';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../../src/core/store';
import { FakeMessagesApi } from '../fixtures/fakeMessagesApi';
import { runCli, workspace } from '../helpers/cli';

const KEY = 'sk-test-fake-key';
const TEMPLATE = ['---', 'name: Check-in', 'tier: scenario', 'system: You write for <<persona>>.', 'variables:', '  persona: { type: dropdown, options: [Anxious Investor, Near Retiree] }', '---', 'Write a conversation with <<persona>>.', ''].join('\n');

const run = runCli;

describe('promptloom generate', function () {
  this.timeout(60_000);
  let api: FakeMessagesApi;
  beforeEach(async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY });
  });
  afterEach(() => api.stop());

  it('generates a batch, prints the JSON summary last, and records everything in the workspace database', async () => {
    const ws = workspace({ 'templates/check.prompt': TEMPLATE });
    api.script({ kind: 'status', status: 500, type: 'api_error' });
    const result = await run(['generate', 'templates/check.prompt', '--param', 'persona=Near Retiree', '--count', '5', '--format', 'json', '--base-delay-ms', '10'], ws, {
      ANTHROPIC_API_KEY: KEY,
      ANTHROPIC_BASE_URL: api.url,
    });
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split('\n');
    const summary = JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
    // The contract's keys, in order; additions come after them.
    assert.deepEqual(Object.keys(summary).slice(0, 11), ['requested', 'succeeded', 'failed', 'attempts', 'retries', 'inputTokens', 'outputTokens', 'costUsd', 'durationMs', 'batchId', 'conversations']);
    assert.deepEqual(Object.keys(summary).slice(11), ['stopped', 'remaining', 'failures', 'keptAside', 'unstored', 'coverage', 'cacheWriteTokens', 'cacheReadTokens', 'savedUsd', 'mode', 'messageBatches', 'flagged']);
    assert.equal(summary.mode, 'direct');
    assert.deepEqual(summary.messageBatches, []);
    assert.equal(summary.stopped, null);
    assert.equal(summary.remaining, 0);
    assert.equal(summary.requested, 5);
    assert.equal(summary.succeeded, 5);
    assert.equal(summary.attempts, 6);
    assert.equal(summary.retries, 1);
    assert.equal((summary.conversations as string[]).length, 5);
    assert.doesNotMatch(result.stdout + result.stderr, new RegExp(KEY), 'the key is never printed');

    const store = await Store.open(ws);
    assert.deepEqual(await store.all('SELECT path, name, tier FROM templates'), [{ path: 'templates/check.prompt', name: 'Check-in', tier: 'scenario' }]);
    assert.equal(Number((await store.get('SELECT count(*) AS n FROM conversations WHERE batch_id = ?', [summary.batchId as string]))!.n), 5);
    assert.equal(Number((await store.get('SELECT count(*) AS n FROM turns'))!.n), 50);
    assert.deepEqual(await store.all("SELECT attempt, status, error_type FROM generation_logs WHERE status = 'failed'"), [{ attempt: 1, status: 'failed', error_type: 'server_error' }]);
    assert.equal((await store.get('SELECT status FROM batches'))!.status, 'completed');
    assert.equal((await store.get('SELECT system_prompt FROM conversations LIMIT 1'))!.system_prompt, 'You write for Near Retiree.');
    // `flagged` lists exactly the conversations stored as needing revision, in the order generated.
    const needsRevision = new Set((await store.all("SELECT id FROM conversations WHERE status = 'needs_revision'")).map((r) => String(r.id)));
    assert.deepEqual((summary.flagged as { conversationId: string }[]).map((r) => r.conversationId), (summary.conversations as string[]).filter((id) => needsRevision.has(id)));
    assert.doesNotMatch(JSON.stringify(await store.all('SELECT * FROM generation_logs')) + JSON.stringify(await store.all('SELECT * FROM batches')), new RegExp(KEY));
    store.close();
  });

  it('warns in one stderr line that a template is marked inactive, and generates anyway', async () => {
    const ws = workspace({ 'off.prompt': '---\nname: Retired\nactive: false\n---\nWrite about <<topic>>.\n', 'on.prompt': 'Write about <<topic>>.\n' });
    const env = { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url };
    const off = await run(['generate', 'off.prompt', '--param', 'topic=bonds', '--count', '2', '--format', 'json'], ws, env);
    assert.equal(off.code, 0, off.stderr);
    const warnings = off.stderr.split('\n').filter((l) => /inactive/.test(l));
    assert.deepEqual(warnings, ['promptloom: warning: off.prompt is marked inactive (active: false); generating anyway']);
    assert.equal((JSON.parse(off.stdout.trim().split('\n').pop()!) as { succeeded: number }).succeeded, 2);
    const on = await run(['generate', 'on.prompt', '--param', 'topic=bonds', '--count', '1', '--format', 'json'], ws, env);
    assert.equal(on.code, 0, on.stderr);
    assert.doesNotMatch(on.stderr, /inactive/);
  });

  it('reads .vscode/settings.json (JSON with comments); flags win', async () => {
    const ws = workspace({ 't.prompt': 'Write about <<topic>>.', '.vscode/settings.json': '{\n  // tight budget\n  "promptloom.budget.batchUsd": 0.07,\n  "promptloom.retry.maxAttempts": 2,\n}\n' });
    const env = { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url };
    const stopped = await run(['generate', 't.prompt', '--param', 'topic=bonds', '--count', '4', '--format', 'json', '--concurrency', '1'], ws, env);
    assert.equal(stopped.code, 1, 'the budget stopped the batch');
    assert.match(stopped.stderr, /the batch stopped: .*would cross the budget of \$0\.07/);
    const summary = JSON.parse(stopped.stdout.trim().split('\n').pop()!) as { succeeded: number; costUsd: number };
    assert.ok(summary.succeeded >= 1 && summary.succeeded < 4);
    assert.ok(summary.costUsd <= 0.07);
    const more = await run(['generate', 't.prompt', '--param', 'topic=bonds', '--count', '2', '--format', 'json', '--budget-usd', '5'], ws, env);
    assert.equal(more.code, 0, more.stderr);
  });

  it('exit 1 when conversations fail for good, 2 for usage errors, without stack traces', async () => {
    const ws = workspace({ 't.prompt': TEMPLATE });
    const failed = await run(['generate', 't.prompt', '--param', 'persona=Near Retiree', '--format', 'json'], ws, { ANTHROPIC_API_KEY: 'sk-wrong', ANTHROPIC_BASE_URL: api.url });
    assert.equal(failed.code, 1);
    assert.equal((JSON.parse(failed.stdout.trim()) as { failed: number }).failed, 1);
    assert.doesNotMatch(failed.stdout + failed.stderr, /sk-wrong/);

    const cases: [string[], Record<string, string>, RegExp][] = [
      [['generate', 't.prompt', '--param', 'persona=Near Retiree'], {}, /set ANTHROPIC_API_KEY/],
      [['generate', 't.prompt', '--count', '0'], { ANTHROPIC_API_KEY: KEY }, /--count.*positive whole number/],
      [['generate', 't.prompt', '--count', '20000'], { ANTHROPIC_API_KEY: KEY }, /more than a batch holds \(10000\)/],
      [['generate', 't.prompt', '--retry-strategy', 'random'], { ANTHROPIC_API_KEY: KEY }, /--retry-strategy/],
      [['generate', 't.prompt', '--model', 'gpt-4o', '--param', 'persona=Near Retiree'], { ANTHROPIC_API_KEY: KEY }, /unknown model "gpt-4o"/],
    ];
    for (const [args, env, message] of cases) {
      const r = await run(args, ws, { ...env, ANTHROPIC_BASE_URL: api.url });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+/);
    }
    const invalid = await run(['generate', 't.prompt', '--param', 'persona=Day Trader'], ws, { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url });
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /persona: "Day Trader" is not one of the options/);
    mkdirSync(join(ws, 'x'));
    writeFileSync(join(ws, 'x', 'y'), '');
  });
});

describe('promptloom resume', function () {
  this.timeout(60_000);
  let api: FakeMessagesApi;
  beforeEach(async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY });
  });
  afterEach(() => api.stop());

  it('finishes an interrupted batch with its own values, without duplicating what was stored', async () => {
    const ws = workspace({ 't.prompt': TEMPLATE });
    const env = { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url };
    // The third request fails for good and on-error stop ends the batch.
    api.script({ kind: 'ok' }, { kind: 'ok' }, { kind: 'status', status: 400, type: 'invalid_request_error' });
    const first = await run(['generate', 't.prompt', '--param', 'persona=Near Retiree', '--count', '6', '--concurrency', '1', '--on-error', 'stop', '--max-attempts', '1', '--format', 'json'], ws, env);
    assert.equal(first.code, 1);
    const interrupted = JSON.parse(first.stdout.trim().split('\n').pop()!) as { batchId: string; succeeded: number };
    assert.equal(interrupted.succeeded, 2);

    const resumed = await run(['resume', '--format', 'json'], ws, env);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, new RegExp(`resuming batch ${interrupted.batchId}: ${6 - interrupted.succeeded} of 6 conversations to go`));
    const summary = JSON.parse(resumed.stdout.trim().split('\n').pop()!) as { batchId: string; succeeded: number; requested: number };
    assert.equal(summary.batchId, interrupted.batchId);
    assert.equal(summary.requested, 6 - interrupted.succeeded);

    const store = await Store.open(ws);
    assert.equal(Number((await store.get('SELECT count(*) AS n FROM conversations WHERE batch_id = ?', [interrupted.batchId]))!.n), 6, 'exactly the batch count');
    assert.equal((await store.get('SELECT status FROM batches WHERE id = ?', [interrupted.batchId]))!.status, 'completed');
    assert.deepEqual(await store.all('SELECT DISTINCT system_prompt FROM conversations'), [{ system_prompt: 'You write for Near Retiree.' }], 'the batch’s own values');
    store.close();

    const nothing = await run(['resume'], ws, env);
    assert.equal(nothing.code, 0);
    assert.match(nothing.stderr, /no unfinished batch to resume/);
    const unknown = await run(['resume', '--batch', 'nope'], ws, env);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no batch nope/);
  });
});

describe('quality on generation, and promptloom review', function () {
  this.timeout(60_000);

  it('scores every conversation as it is stored, flags low ones with a reason, and reviews from the terminal', async () => {
    const api = await FakeMessagesApi.start({ apiKey: KEY });
    try {
      const ws = workspace({ 't.prompt': TEMPLATE.replace('tier: scenario', 'tier: template\nquality_threshold: 0.7') });
      const env = { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url };
      api.script({ kind: 'poor' });
      const result = await run(['generate', 't.prompt', '--param', 'persona=Near Retiree', '--count', '3', '--concurrency', '1'], ws, env);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /quality \d\.\d on average, 1 flagged for revision/);

      const store = await Store.open(ws);
      const rows = await store.all('SELECT c.id, c.status, c.status_reason, q.overall, q.breakdown, q.recommendations FROM conversations c JOIN quality_scores q ON q.conversation_id = c.id ORDER BY q.overall');
      store.close();
      assert.equal(rows.length, 3, 'every conversation has a score');
      const [poor, ...good] = rows;
      assert.equal(poor!.status, 'needs_revision');
      assert.match(String(poor!.status_reason), /^scored \d\.\d, below 7: /);
      assert.ok(Number(poor!.overall) < 7);
      assert.ok(JSON.parse(String(poor!.recommendations)).length > 0);
      assert.deepEqual(Object.keys(JSON.parse(String(poor!.breakdown))), ['turnCount', 'length', 'structure', 'confidence']);
      for (const g of good) {
        assert.equal(g.status, 'pending');
        assert.ok(Number(g.overall) >= 7, String(g.overall));
      }

      const id = String(good[0]!.id);
      const approve = await run(['review', id.slice(0, 8), 'approve', '--note', 'reads well', '--workspace', ws], '/', {});
      assert.equal(approve.code, 0, approve.stderr);
      assert.equal(approve.stdout, `conversation ${id}: approved (reads well)\n`);
      assert.equal((await run(['review', String(poor!.id), 'reject'], ws, {})).code, 0);
      const unknown = await run(['review', 'no-such-id', 'approve'], ws, {});
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /no conversation "no-such-id"/);
      const badAction = await run(['review', id, 'maybe'], ws, {});
      assert.equal(badAction.code, 2);
      assert.match(badAction.stderr, /approve, reject, needs-revision/);

      const after = await Store.open(ws);
      assert.deepEqual(await after.all('SELECT status, note FROM reviews ORDER BY id'), [
        { status: 'approved', note: 'reads well' },
        { status: 'rejected', note: null },
      ]);
      assert.equal((await after.get('SELECT status FROM conversations WHERE id = ?', [id]))!.status, 'approved');
      after.close();
      const exported = await run(['export'], ws, {});
      assert.equal(exported.stdout.trim().split('\n').length, 1, 'the approved one exports by default');
    } finally {
      await api.stop();
    }
  });
});

describe('why generate flagged a conversation', function () {
  this.timeout(60_000);
  let api: FakeMessagesApi;
  beforeEach(async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY });
  });
  afterEach(() => api.stop());

  interface FlaggedJson {
    conversationId: string;
    overall: number | null;
    flagged: boolean;
    below: boolean;
    verdict: string;
    findings: { turn: number; kind: string; rule?: string; message: string }[];
  }

  // One at a time: a clean conversation, a near copy of it (flagged at a high score), a repetitive one (a defect).
  const args = ['generate', 't.prompt', '--param', 'persona=Near Retiree', '--count', '3', '--concurrency', '1'];

  it('text: each flagged conversation with its reason, and the findings behind it (kind, rule, turn)', async () => {
    const ws = workspace({ 't.prompt': TEMPLATE });
    api.script({ kind: 'ok' }, { kind: 'near-duplicate' }, { kind: 'poor' });
    const result = await run(args, ws, { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url });
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.split('\n');
    const at = lines.findIndex((l) => /^quality \d\.\d on average, 2 flagged for revision$/.test(l));
    assert.ok(at >= 0, result.stdout);
    const store = await Store.open(ws);
    const [clean, copy, poor] = (await store.all('SELECT id FROM conversations ORDER BY created_at, rowid')).map((r) => String(r.id).slice(0, 8));
    store.close();
    // The near copy: a high score, and the line says it is flagged all the same, and why.
    assert.match(lines[at + 1]!, new RegExp(`^  ${copy} (9|10)\\.\\d flagged: near-duplicate of ${clean} \\(similarity \\d\\.\\d\\d\\)$`));
    assert.match(lines[at + 2]!, new RegExp(`^      turn 1 · near-duplicate · near-duplicate of ${clean} `));
    // The repetitive one: its score's reason, its defect first.
    assert.match(lines[at + 3]!, new RegExp(`^  ${poor} \\d\\.\\d flagged: scored \\d\\.\\d, below 6: turn 4 \\(assistant\\) nearly repeats turn 2`));
    assert.equal(lines[at + 4], '      turn 4 · defect repeated · turn 4 (assistant) nearly repeats turn 2');
    assert.match(lines.slice(at + 5, at + 10).join('\n'), /^( {6}turn \d+ · [\w-]+( \w+)? · .+\n?){5}$/);
    assert.match(lines[at + 10]!, /^ {6}and \d+ more findings \(--format json has them all\)$/);
    assert.match(lines[at + 11]!, /^batch /, 'the clean conversation is not listed');
  });

  it('JSON: a flagged key added after the others, each flagged conversation with its verdict and every finding', async () => {
    const ws = workspace({ 't.prompt': TEMPLATE });
    api.script({ kind: 'ok' }, { kind: 'near-duplicate' }, { kind: 'poor' });
    const result = await run([...args, '--format', 'json'], ws, { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url });
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout.trim().split('\n').pop()!) as { conversations: string[]; flagged: FlaggedJson[] };
    assert.deepEqual(Object.keys(summary).slice(-2), ['messageBatches', 'flagged']);
    const [clean, copy, poor] = summary.conversations;
    assert.deepEqual(summary.flagged.map((r) => r.conversationId), [copy, poor], 'in the order generated, the clean one left out');
    const [dup, bad] = summary.flagged as [FlaggedJson, FlaggedJson];
    assert.ok(dup.overall! >= 6 && dup.flagged && !dup.below, JSON.stringify(dup));
    assert.match(dup.verdict, new RegExp(`^flagged: near-duplicate of ${clean!.slice(0, 8)} \\(similarity \\d\\.\\d\\d\\)$`));
    assert.deepEqual(dup.findings, [{ turn: 0, kind: 'near-duplicate', message: dup.verdict.slice('flagged: '.length) }]);
    assert.ok(bad.flagged && bad.below, JSON.stringify(bad));
    assert.deepEqual(bad.findings[0], { turn: 3, kind: 'defect', rule: 'repeated', message: 'turn 4 (assistant) nearly repeats turn 2' });
    assert.ok(bad.findings.length > 6, 'every finding, not the six the text shows');
  });
});

describe('promptloom stats and export', function () {
  this.timeout(60_000);

  it('read what generate recorded, in the contract shapes', async () => {
    const api = await FakeMessagesApi.start({ apiKey: KEY });
    try {
      const ws = workspace({ 't.prompt': TEMPLATE });
      const env = { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url };
      assert.equal((await run(['generate', 't.prompt', '--param', 'persona=Near Retiree', '--count', '3', '--format', 'json'], ws, env)).code, 0);

      const stats = await run(['stats', '--format', 'json'], ws, {});
      assert.equal(stats.code, 0, stats.stderr);
      const parsed = JSON.parse(stats.stdout) as { templates: Record<string, unknown>[]; totals: Record<string, number> };
      assert.deepEqual(Object.keys(parsed.templates[0]!), ['name', 'file', 'tier', 'usageCount', 'succeeded', 'failed', 'avgQuality', 'minQuality', 'maxQuality', 'approvalRate', 'avgDurationMs', 'avgCostUsd', 'totalCostUsd', 'trend', 'diversity', 'nearDuplicates', 'reviewAgreement', 'savedUsd', 'cancelled', 'author']);
      assert.deepEqual([parsed.templates[0]!.file, parsed.templates[0]!.succeeded, parsed.templates[0]!.cancelled], ['t.prompt', 3, 0]);
      assert.equal(parsed.totals.conversations, 3);
      const csv = await run(['stats', '--format', 'csv', '--workspace', ws], '/', {});
      assert.match(csv.stdout.split('\n')[0]!, /^name,file,tier,usageCount,/);
      assert.equal(csv.stdout.trim().split('\n').length, 2);

      // Nothing is approved yet: the default export is empty; all of them with --status all.
      const none = await run(['export'], ws, {});
      assert.equal(none.stdout, '');
      for (const format of ['openai', 'anthropic', 'sharegpt']) {
        const all = await run(['export', '--status', 'all', '--format', format], ws, {});
        const lines = all.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
        assert.equal(lines.length, 3, format);
        const key = { openai: 'messages', anthropic: 'messages', sharegpt: 'conversations' }[format]!;
        assert.ok(Array.isArray(lines[0]![key]), format);
        // The generation system prompt is never exported; without training_system: there is no system message.
        assert.doesNotMatch(all.stdout, /You write for|"system"/, format);
        assert.ok(lines.every((l) => !('system' in l)), format);
      }
      const file = join(ws, 'out.jsonl');
      await run(['export', '--status', 'all', '--out', file, '--template', 't.prompt'], ws, {});
      assert.equal(readFileSync(file, 'utf8').trim().split('\n').length, 3);
      const bad = await run(['export', '--min-quality', 'lots'], ws, {});
      assert.equal(bad.code, 2);
    } finally {
      await api.stop();
    }
  });

  it('requests cut off by Ctrl+C are counted as cancelled, not failed (JSON, text and CSV)', async () => {
    // Answers that take a minute: the requests are still in flight when the batch is cancelled.
    const api = await FakeMessagesApi.start({ apiKey: KEY, latencyMs: 60_000 });
    try {
      const ws = workspace({ 't.prompt': TEMPLATE });
      const env = { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url };
      const cancelled = await run(['generate', 't.prompt', '--param', 'persona=Near Retiree', '--count', '5', '--concurrency', '2', '--format', 'json'], ws, env, (child) => {
        void (async () => {
          // Two requests in flight (the server has them: the command's handler exists), then Ctrl+C.
          while (api.stats.accepted < 2) await new Promise((r) => setTimeout(r, 20));
          child.kill('SIGINT');
        })();
      });
      const summary = JSON.parse(cancelled.stdout.trim().split('\n').pop()!) as { stopped: string; failed: number; remaining: number; batchId: string };
      assert.deepEqual([summary.stopped, summary.failed, summary.remaining], ['cancelled', 0, 5], cancelled.stderr);

      const stats = await run(['stats', '--format', 'json'], ws, {});
      assert.equal(stats.code, 0, stats.stderr);
      const t = (JSON.parse(stats.stdout) as { templates: Record<string, unknown>[] }).templates[0]!;
      assert.deepEqual({ usageCount: t.usageCount, succeeded: t.succeeded, failed: t.failed, cancelled: t.cancelled }, { usageCount: 2, succeeded: 0, failed: 0, cancelled: 2 });
      const text = await run(['stats'], ws, {});
      assert.match(text.stdout, /2 generations \(0 ok, 0 failed, 2 cancelled\)/);
      const csv = (await run(['stats', '--format', 'csv'], ws, {})).stdout.trim().split('\n');
      assert.deepEqual(csv[0]!.split(',').slice(-2), ['cancelled', 'author']);
      assert.deepEqual(csv[1]!.split(',').slice(-2), ['2', '']);
    } finally {
      await api.stop();
    }
  });
});
