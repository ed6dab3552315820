/**
 * `promptloom generate --database-url` as users run it (the built CLI), against the fake Messages
 * API and a real PostgreSQL: every row a workspace gets (template and version, batch, each
 * attempt's log, conversations, turns, scores, signatures and the near-duplicate link) lands in
 * the team database, authored by the member the URL names, and nothing is written in the
 * workspace folder.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeMessagesApi } from '../fixtures/fakeMessagesApi';
import { promptloom, runCli, workspace, type Run } from '../helpers/cli';
import { queryAs, startPostgres, type PostgresServer } from '../helpers/postgres';

const KEY = 'sk-test-fake-key';
const OWNER_PASSWORD = 'Own3r-team-gen-pv';
const ALICE_PASSWORD = 'al1ce-Generates-mw';
const BOB_PASSWORD = 'b0b-Watches-rt';
const TEMPLATE = ['---', 'name: Team check-in', 'tier: scenario', 'system: You write for a careful reader.', '---', 'Write a conversation about <<topic>>.', ''].join('\n');

interface Summary {
  requested: number;
  succeeded: number;
  attempts: number;
  batchId: string;
  conversations: string[];
  flagged: { conversationId: string; verdict: string }[];
}

function ok(result: Run): string {
  assert.equal(result.code, 0, result.stderr);
  return result.stdout;
}

function summaryOf(result: Run): Summary {
  const lines = ok(result).trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as Summary;
}

describe('generate on the team database (a real PostgreSQL)', function () {
  this.timeout(120_000);
  let server: PostgresServer;
  let api: FakeMessagesApi;
  let ownerUrl: string;
  let aliceUrl: string;
  let bobUrl: string;
  let ws: string;
  let first: Summary;

  const generate = (args: readonly string[], url: string | undefined, env: Record<string, string> = {}) =>
    runCli(['generate', 'check.prompt', '--param', 'topic=pensions', '--format', 'json', '--base-delay-ms', '10', '--concurrency', '1', ...(url ? ['--database-url', url] : []), ...args], ws, {
      ANTHROPIC_API_KEY: KEY,
      ANTHROPIC_BASE_URL: api.url,
      ...env,
    });
  /** Raw SQL as `url`'s role, outside the CLI's queries. */
  const query = queryAs;


  before(async () => {
    server = await startPostgres();
    await server.createTeam(OWNER_PASSWORD, { alice: ALICE_PASSWORD, bob: BOB_PASSWORD });
    ownerUrl = server.url('team_owner', OWNER_PASSWORD, 'team');
    ok(promptloom(['db', 'init', '--database-url', ownerUrl], { env: { PROMPTLOOM_DATABASE_URL: '' } }));
    await server.admin(['GRANT promptloom_member TO alice', 'GRANT promptloom_member TO bob']);
    aliceUrl = server.url('alice', ALICE_PASSWORD, 'team');
    bobUrl = server.url('bob', BOB_PASSWORD, 'team');
    api = await FakeMessagesApi.start({ apiKey: KEY });
    ws = workspace({ 'check.prompt': TEMPLATE });
    // A server error (retried: a failed attempt's log), two answers, then a near copy of the second.
    api.script({ kind: 'status', status: 500, type: 'api_error' }, { kind: 'ok' }, { kind: 'ok' }, { kind: 'near-duplicate' });
    first = summaryOf(await generate(['--count', '3'], aliceUrl));
  });

  after(async () => {
    await api?.stop();
    server?.dispose();
  });

  it("stores the run's rows in the team database, authored by the member (raw SQL as the owner)", async () => {
    assert.equal(first.succeeded, 3);
    assert.equal(first.attempts, 4);
    const logs = await query(ownerUrl, 'SELECT created_by, status, batch_id, cost_usd FROM promptloom.generation_logs ORDER BY id');
    assert.deepEqual(
      logs.map((l) => [l.created_by, l.status, l.batch_id]),
      [['alice', 'failed', first.batchId], ['alice', 'succeeded', first.batchId], ['alice', 'succeeded', first.batchId], ['alice', 'succeeded', first.batchId]],
    );
    assert.ok(logs.slice(1).every((l) => Number(l.cost_usd) > 0), 'each answer has its cost');
    // The superuser reads past row-level security: every part of every conversation is there.
    const admin = server.adminUrl('team');
    const conversations = await query(admin, 'SELECT id, created_by, near_duplicate_of, status, quality FROM promptloom.conversations ORDER BY created_at, id');
    assert.deepEqual(new Set(conversations.map((c) => c.id)), new Set(first.conversations));
    assert.ok(conversations.every((c) => c.created_by === 'alice' && c.quality !== null));
    for (const [table, n] of [['turns', 10 * 3], ['quality_scores', 3], ['conversation_signatures', 3]] as const) {
      assert.equal(Number((await query(admin, `SELECT count(*) AS n FROM promptloom.${table}`))[0]!.n), n, table);
    }
    assert.deepEqual(await query(admin, 'SELECT path, name, tier, is_active, version, created_by FROM promptloom.prompt_templates'), [
      { path: 'check.prompt', name: 'Team check-in', tier: 'scenario', is_active: true, version: 1, created_by: 'alice' },
    ]);
    assert.deepEqual(await query(admin, 'SELECT status, requested, created_by FROM promptloom.batches'), [{ status: 'completed', requested: 3, created_by: 'alice' }]);
  });

  it('links the near-duplicate answer to the conversation it repeats, and flags it', async () => {
    const [, second, third] = first.conversations;
    const rows = await query(server.adminUrl('team'), 'SELECT near_duplicate_of, similarity, status, status_reason FROM promptloom.conversations WHERE id = $1', [third]);
    assert.equal(rows[0]!.near_duplicate_of, second);
    assert.ok(Number(rows[0]!.similarity) >= 0.8);
    assert.equal(rows[0]!.status, 'needs_revision');
    assert.match(String(rows[0]!.status_reason), new RegExp(`near-duplicate of ${second!.slice(0, 8)}`));
    assert.deepEqual(first.flagged.map((f) => f.conversationId), [third]);
  });

  it('writes nothing in the workspace folder', () => {
    assert.equal(existsSync(join(ws, '.promptloom')), false);
  });

  it("another member sees the conversations (shared), not the author's logs; stats counts them for the author", async () => {
    const bobs = JSON.parse(ok(promptloom(['conversations', '--format', 'json', '--database-url', bobUrl], { env: { PROMPTLOOM_DATABASE_URL: '' } }))) as { id: string }[];
    assert.deepEqual(new Set(bobs.map((c) => c.id)), new Set(first.conversations));
    assert.equal(Number((await query(bobUrl, 'SELECT count(*) AS n FROM promptloom.generation_logs'))[0]!.n), 0);
    assert.equal(Number((await query(aliceUrl, 'SELECT count(*) AS n FROM promptloom.generation_logs'))[0]!.n), 4);
    const stats = JSON.parse(ok(promptloom(['stats', '--format', 'json'], { env: { PROMPTLOOM_DATABASE_URL: aliceUrl } }))) as {
      templates: { file: string; usageCount: number; succeeded: number; failed: number }[];
      totals: { conversations: number; generations: number };
    };
    assert.deepEqual(stats.templates.map((t) => [t.file, t.usageCount, t.succeeded, t.failed]), [['check.prompt', 4, 3, 1]]);
    assert.equal(stats.totals.conversations, 3);
    assert.equal(stats.totals.generations, 4);
  });

  it("a second run (from the environment's URL) reuses the member's template; another member's run gets their own", async () => {
    api.script({ kind: 'ok' });
    const again = summaryOf(await generate(['--count', '1'], undefined, { PROMPTLOOM_DATABASE_URL: aliceUrl }));
    assert.equal(again.succeeded, 1);
    api.script({ kind: 'ok' });
    const bobs = summaryOf(await generate(['--count', '1'], bobUrl));
    assert.equal(bobs.succeeded, 1);
    const templates = await query(server.adminUrl('team'), 'SELECT created_by, version FROM promptloom.prompt_templates ORDER BY id');
    assert.deepEqual(templates, [{ created_by: 'alice', version: 1 }, { created_by: 'bob', version: 1 }]);
    const batches = await query(server.adminUrl('team'), 'SELECT created_by, count(*)::int AS n FROM promptloom.batches GROUP BY created_by ORDER BY created_by');
    assert.deepEqual(batches, [{ created_by: 'alice', n: 2 }, { created_by: 'bob', n: 1 }]);
    assert.equal(existsSync(join(ws, '.promptloom')), false);
  });

  it('the daily budget counts what the member spent on the team store', async () => {
    // Alice has spent more today than Bob (four answers to his one): a daily budget halfway
    // between stops Alice's run before it sends anything, and lets Bob's through (a small
    // max_tokens keeps a request's worst case under his headroom).
    const spent = async (who: string) => Number((await query(ownerUrl, 'SELECT sum(cost_usd) AS usd FROM promptloom.generation_logs WHERE created_by = $1', [who]))[0]!.usd);
    const [alices, bobs] = [await spent('alice'), await spent('bob')];
    assert.ok(alices > 2 * bobs, `${alices} against ${bobs}`);
    mkdirSync(join(ws, '.vscode'), { recursive: true });
    writeFileSync(join(ws, '.vscode', 'settings.json'), JSON.stringify({ 'promptloom.budget.dailyUsd': (alices + bobs) / 2 }));
    try {
      const requests = api.stats.requests;
      const alice = await generate(['--count', '1', '--max-tokens', '16'], aliceUrl);
      assert.equal(alice.code, 1, alice.stderr);
      assert.match(alice.stderr, /budget/);
      assert.equal(api.stats.requests, requests, 'nothing was sent');
      api.script({ kind: 'ok' });
      assert.equal(summaryOf(await generate(['--count', '1', '--max-tokens', '16'], bobUrl)).succeeded, 1);
    } finally {
      writeFileSync(join(ws, '.vscode', 'settings.json'), '{}');
    }
  });

  it('--dry-run estimates from the member\'s past answers on the team store, sending nothing', async () => {
    const requests = api.stats.requests;
    const result = await generate(['--count', '2', '--dry-run'], aliceUrl);
    const plan = JSON.parse(ok(result).trim().split('\n').pop()!) as { conversations: number; estimate: { costUsd: { low: number; high: number } } };
    assert.equal(plan.conversations, 2);
    // The low end counts past output tokens: above what input alone would cost (0 output tokens).
    const cold = await runCli(['generate', 'check.prompt', '--param', 'topic=pensions', '--format', 'json', '--count', '2', '--dry-run'], ws, { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url });
    const coldPlan = JSON.parse(ok(cold).trim().split('\n').pop()!) as typeof plan;
    assert.ok(plan.estimate.costUsd.low > coldPlan.estimate.costUsd.low, `${plan.estimate.costUsd.low} against ${coldPlan.estimate.costUsd.low}`);
    assert.equal(api.stats.requests, requests);
    assert.equal(existsSync(join(ws, '.promptloom')), false);
  });

  it('a wrong password: one line, exit 2, nothing sent and nothing written', async () => {
    const requests = api.stats.requests;
    const result = await generate(['--count', '1'], server.url('alice', 'n0t-Her-Password', 'team'));
    assert.equal(result.code, 2);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, /password authentication failed/);
    assert.ok(!result.stderr.includes('n0t-Her-Password'));
    assert.equal(api.stats.requests, requests);
    assert.equal(existsSync(join(ws, '.promptloom')), false);
  });

  it('resume and cancel work on the team database chosen by the environment (no workspace database is looked for or created)', async () => {
    for (const command of ['resume', 'cancel']) {
      const result = await runCli([command, '--batch', 'b-nowhere'], ws, { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url, PROMPTLOOM_DATABASE_URL: aliceUrl });
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.match(result.stderr, /no batch b-nowhere on the team database that you may see/);
      assert.ok(!result.stderr.includes(ALICE_PASSWORD));
    }
    assert.equal(existsSync(join(ws, '.promptloom')), false);
  });

  // Last: it restarts the server.
  it('a server restart in the middle of a run loses nothing: records are tried until it is back', async () => {
    const admin = server.adminUrl('team');
    const stored = async () => Number((await query(admin, 'SELECT count(*) AS n FROM promptloom.conversations'))[0]!.n);
    const before = await stored();
    api.script(...Array.from({ length: 4 }, () => ({ kind: 'slow' as const, ms: 300 })));
    const running = generate(['--count', '4'], aliceUrl);
    while ((await stored()) === before) await new Promise((r) => setTimeout(r, 50));
    // Down for a while (the next answers arrive meanwhile and cannot be stored), then up again.
    server.stopServer();
    await new Promise((r) => setTimeout(r, 1500));
    server.startServer();
    const summary = summaryOf(await running);
    assert.equal(summary.succeeded, 4);
    const rows = await query(admin, 'SELECT count(*)::int AS n FROM promptloom.conversations WHERE batch_id = $1', [summary.batchId]);
    assert.deepEqual(rows, [{ n: 4 }]);
    assert.deepEqual(await query(admin, 'SELECT status FROM promptloom.batches WHERE id = $1', [summary.batchId]), [{ status: 'completed' }]);
  });
});
