/**
 * `generate --batch-api`, `resume` and `cancel` on the team database, as users run them (the built
 * CLI), against the fake Messages API and a real PostgreSQL: answers stored once each, at batch
 * prices, in the member's name; the crash safety of the workspace (a row before the POST, its id
 * right after, matched in the account's list on resume); a detached run collected by another
 * process; results read twice stored once; the daily budget holding the member's uncollected
 * Message Batches; cancel; and row-level security between two members.
 */
import { strict as assert } from 'node:assert';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CACHE_READ_MULTIPLIER, CACHE_WRITE_MULTIPLIER, DEFAULT_MODELS } from '../../src/core/generation/engine';
import { scoreConversation, toQualityResult } from '../../src/core/quality';
import { FakeMessagesApi } from '../fixtures/fakeMessagesApi';
import { promptloom, runCli, workspace, type Run } from '../helpers/cli';
import { queryAs, startPostgres, type PostgresServer } from '../helpers/postgres';

const KEY = 'sk-test-fake-key';
const OWNER_PASSWORD = 'Own3r-team-mb-zq';
const ALICE_PASSWORD = 'al1ce-Batches-rk';
const BOB_PASSWORD = 'b0b-Batches-tw';
const TEMPLATE = ['---', 'name: Team batched', 'tier: scenario', 'system: You write for <<persona>>.', 'variables:', '  persona: { type: dropdown, options: [Anxious Investor, Near Retiree] }', '---', 'Write a conversation with <<persona>>.', ''].join('\n');

interface Summary {
  requested: number;
  succeeded: number;
  costUsd: number;
  batchId: string;
  conversations: string[];
  stopped: string | null;
  remaining: number;
  mode: string;
  messageBatches: string[];
}
const summaryOf = (run: Run): Summary => JSON.parse(run.stdout.trim().split('\n').pop()!) as Summary;

/** Resolves when `condition` holds, looking every 5 ms (no fixed sleeps: the machine may be slow). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 5));
}

function ok(result: Run): Run {
  assert.equal(result.code, 0, result.stderr);
  return result;
}

describe('Message Batches on the team database (real PostgreSQL, fake Messages API)', function () {
  this.timeout(120_000);
  let server: PostgresServer;
  let api: FakeMessagesApi;
  let aliceUrl: string;
  let bobUrl: string;
  let ws: string;

  const env = (extra: Record<string, string> = {}) => ({ ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url, ...extra });
  const generate = (args: readonly string[], url: string, during?: (child: ChildProcess) => void) =>
    runCli(['generate', 't.prompt', '--param', 'persona=Near Retiree', '--format', 'json', '--database-url', url, ...args], ws, env(), during);
  const resume = (batchId: string, url: string) => runCli(['resume', '--batch', batchId, '--format', 'json', '--database-url', url], ws, env());
  /** Raw SQL as `url`'s role, outside the CLI's queries. */
  const query = queryAs;

  const admin = (sql: string, params: unknown[] = []) => query(server.adminUrl('team'), sql, params);
  const count = async (sql: string, params: unknown[] = []) => Number((await admin(sql, params))[0]!.n);
  /** What the team database holds of a batch, read as the superuser (past row-level security). */
  const stored = async (batchId: string) => ({
    conversations: await count('SELECT count(*) AS n FROM promptloom.conversations WHERE batch_id = $1', [batchId]),
    logs: await count('SELECT count(*) AS n FROM promptloom.generation_logs WHERE batch_id = $1', [batchId]),
    results: await count('SELECT count(*) AS n FROM promptloom.message_batch_results r JOIN promptloom.message_batches m ON m.id = r.message_batch_id WHERE m.batch_id = $1', [batchId]),
    distinctSlots: await count(
      "SELECT count(DISTINCT substr(r.custom_id, strpos(r.custom_id, '-') + 1)) AS n FROM promptloom.message_batch_results r JOIN promptloom.message_batches m ON m.id = r.message_batch_id WHERE m.batch_id = $1 AND r.result = 'succeeded'",
      [batchId],
    ),
  });
  const onlyBatch = async () => String((await admin('SELECT id FROM promptloom.batches ORDER BY created_at DESC LIMIT 1'))[0]!.id);

  before(async () => {
    server = await startPostgres();
    await server.createTeam(OWNER_PASSWORD, { alice: ALICE_PASSWORD, bob: BOB_PASSWORD });
    ok(promptloom(['db', 'init', '--database-url', server.url('team_owner', OWNER_PASSWORD, 'team')], { env: { PROMPTLOOM_DATABASE_URL: '' } }));
    await server.admin(['GRANT promptloom_member TO alice', 'GRANT promptloom_member TO bob']);
    aliceUrl = server.url('alice', ALICE_PASSWORD, 'team');
    bobUrl = server.url('bob', BOB_PASSWORD, 'team');
    ws = workspace({ 't.prompt': TEMPLATE });
  });

  afterEach(async () => api?.stop());
  after(() => server?.dispose());

  it('20 conversations through a Message Batch: each stored once in the member’s name, at batch prices, the JSON naming the mode and the Message Batch', async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 300 });
    const run = ok(await generate(['--count', '20', '--batch-api'], aliceUrl));
    const summary = summaryOf(run);
    assert.equal(summary.mode, 'batch');
    assert.equal(summary.succeeded, 20);
    assert.equal(summary.conversations.length, 20);
    assert.deepEqual(summary.messageBatches, [api.messageBatches[0]!.id]);
    assert.equal(api.stats.batchCreates, 1);
    assert.equal(api.stats.requests, 0, 'no direct Messages call');
    assert.deepEqual(await stored(summary.batchId), { conversations: 20, logs: 20, results: 20, distinctSlots: 20 });
    const ids = (await admin('SELECT id FROM promptloom.conversations WHERE batch_id = $1', [summary.batchId])).map((r) => r.id);
    assert.deepEqual(new Set(ids), new Set(summary.conversations));
    const logs = await admin('SELECT DISTINCT mode, created_by FROM promptloom.generation_logs WHERE batch_id = $1', [summary.batchId]);
    assert.deepEqual(logs, [{ mode: 'batch', created_by: 'alice' }]);
    const cost = Number((await admin('SELECT sum(cost_usd) AS usd FROM promptloom.generation_logs WHERE batch_id = $1', [summary.batchId]))[0]!.usd);
    assert.ok(Math.abs(cost - summary.costUsd) < 1e-6, `${cost} stored, ${summary.costUsd} reported`);
    assert.deepEqual(await admin('SELECT state, anthropic_id, request_count, created_by FROM promptloom.message_batches WHERE batch_id = $1', [summary.batchId]), [
      { state: 'collected', anthropic_id: summary.messageBatches[0], request_count: 20, created_by: 'alice' },
    ]);
    assert.deepEqual(await admin('SELECT DISTINCT r.created_by FROM promptloom.message_batch_results r JOIN promptloom.message_batches m ON m.id = r.message_batch_id WHERE m.batch_id = $1', [summary.batchId]), [{ created_by: 'alice' }]);
    assert.deepEqual(await admin('SELECT status FROM promptloom.batches WHERE id = $1', [summary.batchId]), [{ status: 'completed' }]);
    assert.equal(existsSync(join(ws, '.promptloom')), false, 'nothing written in the folder');
    assert.doesNotMatch(run.stdout + run.stderr, new RegExp(`${KEY}|${ALICE_PASSWORD}`));
    // The same request sent directly (the fake counts the same tokens for it) costs twice as much.
    const direct = summaryOf(ok(await generate(['--count', '1'], aliceUrl)));
    assert.equal(direct.mode, 'direct');
    assert.ok(Math.abs(summary.costUsd / 20 - direct.costUsd / 2) < 1e-9, `${summary.costUsd / 20} is half of ${direct.costUsd}`);
  });

  it('kill -9 right after submission, then resume --database-url: no second submission, every conversation stored once', async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 1500 });
    // The first poll comes after the id is recorded: kill there.
    const killed = await generate(['--count', '30', '--batch-api'], aliceUrl, (child) => {
      void until(() => api.stats.batchRetrieves >= 1).then(() => child.kill('SIGKILL'));
    });
    assert.equal(killed.code, null, 'killed');
    const batchId = await onlyBatch();
    assert.equal((await stored(batchId)).conversations, 0);
    assert.deepEqual(await admin('SELECT state, anthropic_id FROM promptloom.message_batches WHERE batch_id = $1', [batchId]), [{ state: 'submitted', anthropic_id: api.messageBatches[0]!.id }]);
    const resumed = ok(await resume(batchId, aliceUrl));
    assert.match(resumed.stderr, /through Message Batches on the team database: 30 of 30 conversations to go/);
    const summary = summaryOf(resumed);
    assert.equal(summary.succeeded, 30);
    assert.deepEqual(summary.messageBatches, [api.messageBatches[0]!.id]);
    assert.equal(api.stats.batchCreates, 1, 'never a second Message Batch for submitted work');
    assert.equal(api.stats.batchLists, 0, 'the id was recorded: nothing to look for');
    assert.deepEqual(await stored(batchId), { conversations: 30, logs: 30, results: 30, distinctSlots: 30 });
  });

  it('a crash between the POST and recording its id: resume finds it in the account’s list by its custom ids, submits nothing again', async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 200 });
    let child: ChildProcess | undefined;
    // The batch exists at the API; the client dies before the answer (and its id) reaches it.
    api.onBatchCreated = async () => {
      const exited = new Promise((r) => child!.once('exit', r));
      child!.kill('SIGKILL');
      await exited;
    };
    const killed = await generate(['--count', '12', '--batch-api'], aliceUrl, (c) => (child = c));
    assert.equal(killed.code, null, 'killed');
    api.onBatchCreated = undefined;
    const batchId = await onlyBatch();
    assert.deepEqual(await admin('SELECT state, anthropic_id, request_count FROM promptloom.message_batches WHERE batch_id = $1', [batchId]), [{ state: 'submitting', anthropic_id: null, request_count: 12 }], 'recorded before the POST');
    const resumed = ok(await resume(batchId, aliceUrl));
    assert.equal(api.stats.batchCreates, 1, 'matched, not submitted again');
    assert.ok(api.stats.batchLists >= 1, 'the account’s list was searched');
    assert.deepEqual(summaryOf(resumed).messageBatches, [api.messageBatches[0]!.id]);
    assert.deepEqual(await stored(batchId), { conversations: 12, logs: 12, results: 12, distinctSlots: 12 });
  });

  it('--detach, then resume by another process (the URL from the environment) collects it; Bob may neither resume it nor read its Message Batches', async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 200 });
    const detached = ok(await runCli(['generate', 't.prompt', '--param', 'persona=Near Retiree', '--count', '8', '--batch-api', '--detach', '--database-url', aliceUrl], ws, env()));
    assert.deepEqual(detached.stdout.trim().split('\n'), api.messageBatches.map((b) => b.id));
    assert.match(detached.stderr, /collect with: promptloom resume --batch \S+ and the same --database-url/);
    const batchId = await onlyBatch();
    assert.equal((await stored(batchId)).conversations, 0);
    // Row-level security, raw SQL as the two members: the Message Batch is Alice's alone.
    assert.equal((await query(aliceUrl, 'SELECT id FROM promptloom.message_batches WHERE batch_id = $1', [batchId])).length, 1);
    assert.equal((await query(bobUrl, 'SELECT id FROM promptloom.batches WHERE id = $1', [batchId])).length, 1, 'the batch is team work');
    assert.equal((await query(bobUrl, 'SELECT id FROM promptloom.message_batches')).length, 0);
    assert.equal((await query(bobUrl, 'SELECT 1 FROM promptloom.message_batch_results')).length, 0);
    const bobs = await resume(batchId, bobUrl);
    assert.equal(bobs.code, 2, bobs.stderr);
    assert.equal(bobs.stderr.trim().split('\n').length, 1, bobs.stderr);
    assert.match(bobs.stderr, /was sent through Message Batches by alice: its Message Batches are theirs/);
    assert.equal(api.stats.batchRetrieves, 0, 'Bob’s resume asked nothing of the API');

    const resumed = ok(await runCli(['resume', '--batch', batchId, '--format', 'json'], ws, env({ PROMPTLOOM_DATABASE_URL: aliceUrl })));
    assert.equal(summaryOf(resumed).succeeded, 8);
    assert.equal(api.stats.batchCreates, 1);
    assert.deepEqual(await stored(batchId), { conversations: 8, logs: 8, results: 8, distinctSlots: 8 });
    const nothing = ok(await resume(batchId, aliceUrl));
    assert.match(nothing.stderr, /is complete: nothing to resume/);
    assert.equal(existsSync(join(ws, '.promptloom')), false);
  });

  it('results read again (a run that died after storing them, before marking its Message Batch collected) are stored once', async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 100 });
    const first = summaryOf(ok(await generate(['--count', '6', '--batch-api'], aliceUrl)));
    const before = await stored(first.batchId);
    assert.deepEqual(before, { conversations: 6, logs: 6, results: 6, distinctSlots: 6 });
    // As the database stood had the process died there: every result in, the row still 'submitted'.
    await admin("UPDATE promptloom.message_batches SET state = 'submitted', ended_at = NULL WHERE batch_id = $1", [first.batchId]);
    await admin("UPDATE promptloom.batches SET status = 'running' WHERE id = $1", [first.batchId]);
    const again = summaryOf(ok(await resume(first.batchId, aliceUrl)));
    assert.equal(again.succeeded, 0, 'nothing new');
    assert.deepEqual(again.messageBatches, first.messageBatches);
    assert.equal(api.stats.batchCreates, 1);
    assert.deepEqual(await stored(first.batchId), before);
    assert.deepEqual(await admin('SELECT state FROM promptloom.message_batches WHERE batch_id = $1', [first.batchId]), [{ state: 'collected' }]);
    assert.deepEqual(await admin('SELECT status FROM promptloom.batches WHERE id = $1', [first.batchId]), [{ status: 'completed' }]);
  });

  it('a second process while a run waits on the batch: one line, exit 2; cancel --database-url cancels its Message Batch, the run stops, resume finishes it', async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 60_000 });
    const generating = generate(['--count', '5', '--batch-api'], aliceUrl);
    await until(() => api.stats.batchRetrieves >= 1);
    const batchId = await onlyBatch();
    const busy = await resume(batchId, aliceUrl);
    assert.equal(busy.code, 2, busy.stderr);
    assert.match(busy.stderr.trim().split('\n').pop()!, /^promptloom: batch \S+ is being run by another process .*: wait for it to finish, or stop it with promptloom cancel --batch \S+$/);
    const cancel = ok(await runCli(['cancel', '--batch', batchId, '--format', 'json', '--database-url', aliceUrl], ws, env()));
    assert.deepEqual((JSON.parse(cancel.stdout) as { messageBatches: string[] }).messageBatches, [api.messageBatches[0]!.id]);
    const run = await generating;
    assert.equal(run.code, 1, run.stderr);
    const summary = summaryOf(run);
    assert.equal(summary.stopped, 'cancelled');
    assert.equal(summary.remaining, 5);
    assert.match(run.stderr, /finish with: promptloom resume --batch \S+ and the same --database-url/);
    assert.equal(api.stats.batchCancels, 1);
    api.batchProcessingMs = 50;
    const resumed = summaryOf(ok(await resume(batchId, aliceUrl)));
    assert.equal(resumed.succeeded, 5);
    assert.equal(api.stats.batchCreates, 2, 'the canceled requests sent again, once');
    assert.deepEqual(await stored(batchId), { conversations: 5, logs: 10, results: 10, distinctSlots: 5 }, "five canceled lines and their five answers");
  });

  it('the daily budget holds the member’s Message Batches not yet collected: a second one is not submitted; another member’s budget is their own', async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 60_000 });
    mkdirSync(join(ws, '.vscode'), { recursive: true });
    // A budget far off: worst cases are then counted by the API, the same for every run below.
    writeFileSync(join(ws, '.vscode', 'settings.json'), JSON.stringify({ 'promptloom.budget.dailyUsd': 1000 }));
    ok(await generate(['--count', '4', '--batch-api', '--detach', '--max-tokens', '500'], aliceUrl));
    const held = Number((await admin("SELECT sum(worst_case_usd) AS usd FROM promptloom.message_batches WHERE created_by = 'alice' AND state = 'submitted'"))[0]!.usd);
    assert.ok(held > 0);
    const spent = async (who: string) => Number((await admin('SELECT coalesce(sum(cost_usd), 0) AS usd FROM promptloom.generation_logs WHERE created_by = $1', [who]))[0]!.usd);
    // Room for what Alice spent and holds, and a tenth of it again: not one request of a second one like it.
    const daily = (await spent('alice')) + held * 1.1;
    assert.ok((await spent('bob')) + held < daily, 'Bob’s room');
    writeFileSync(join(ws, '.vscode', 'settings.json'), JSON.stringify({ 'promptloom.budget.dailyUsd': daily }));
    try {
      const creates = api.stats.batchCreates;
      const refused = await generate(['--count', '4', '--batch-api', '--detach', '--max-tokens', '500'], aliceUrl);
      assert.equal(refused.code, 1, refused.stderr);
      assert.match(refused.stderr, /would cross the budget of \$[\d.]+ .*held by Message Batches not yet collected\): 4 not submitted/);
      assert.equal(api.stats.batchCreates, creates, 'nothing submitted');
      const bobs = await generate(['--count', '4', '--batch-api', '--detach', '--max-tokens', '500'], bobUrl);
      assert.equal(bobs.code, 0, bobs.stderr);
      assert.equal(api.stats.batchCreates, creates + 1);
    } finally {
      writeFileSync(join(ws, '.vscode', 'settings.json'), '{}');
    }
  });

  describe('with the judge on (promptloom.quality.judge): its grades go through a Message Batch too', () => {
    beforeEach(() => {
      mkdirSync(join(ws, '.vscode'), { recursive: true });
      writeFileSync(join(ws, '.vscode', 'settings.json'), JSON.stringify({ 'promptloom.quality.judge': 'on' }));
    });
    afterEach(() => writeFileSync(join(ws, '.vscode', 'settings.json'), '{}'));

    /** The batch's judge calls (as the superuser) and each conversation's stored score against min(scorer, judge). */
    const judgedOnce = async (batchId: string, conversations: readonly string[]) => {
      const calls = await admin('SELECT * FROM promptloom.judge_calls WHERE batch_id = $1 ORDER BY id', [batchId]);
      assert.deepEqual(calls.map((c) => c.conversation_id).sort(), [...conversations].sort(), 'each conversation graded once');
      for (const c of calls) {
        assert.deepEqual([c.status, c.created_by], ['succeeded', 'alice']);
        // Batch prices: half what the same tokens cost directly (cache writes 1.25×, reads 0.1×).
        const model = DEFAULT_MODELS.find((m) => m.id === c.model)!;
        const input = Number(c.input_tokens) + Number(c.cache_creation_input_tokens) * CACHE_WRITE_MULTIPLIER + Number(c.cache_read_input_tokens) * CACHE_READ_MULTIPLIER;
        const direct = (input * model.inputPrice + Number(c.output_tokens) * model.outputPrice) / 1_000_000;
        assert.ok(Number(c.cost_usd) > 0 && Math.abs(Number(c.cost_usd) - direct / 2) < 1e-12, `${String(c.cost_usd)} is half of ${direct}`);
      }
      const scores = await admin('SELECT c.id, c.quality, q.overall, q.breakdown FROM promptloom.conversations c JOIN promptloom.quality_scores q ON q.conversation_id = c.id WHERE c.batch_id = $1', [batchId]);
      const turns = await admin('SELECT conversation_id, role, content FROM promptloom.turns t JOIN promptloom.conversations c ON c.id = t.conversation_id WHERE c.batch_id = $1 ORDER BY conversation_id, position', [batchId]);
      assert.equal(scores.length, conversations.length);
      for (const row of scores) {
        const scorer = toQualityResult(scoreConversation({ turns: turns.filter((t) => t.conversation_id === row.id).map((t) => ({ role: t.role as 'user' | 'assistant', content: String(t.content) })) }, 'scenario')).overall;
        const judge = (row.breakdown as { judge?: { score: number } }).judge;
        assert.ok(judge, `conversation ${String(row.id)} carries the judge's part`);
        assert.equal(Number(row.overall), Math.round(Math.min(scorer, judge.score) * 10) / 10, 'min(scorer, judge)');
        assert.equal(Number(row.quality), Number(row.overall), 'the copy on conversations follows');
      }
      return calls;
    };

    it('generate --batch-api --database-url: every conversation graded once through a judge Message Batch, scores min(scorer, judge), the judge calls the member’s at batch prices', async () => {
      api = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 100 });
      api.scriptBatch({ kind: 'ok' }, { kind: 'poor' });
      const run = ok(await generate(['--count', '5', '--batch-api'], aliceUrl));
      const summary = summaryOf(run) as Summary & { judge?: { judged: number; notJudged: number; costUsd: number } };
      assert.equal(summary.succeeded, 5);
      assert.deepEqual([summary.judge?.judged, summary.judge?.notJudged], [5, 0]);
      assert.equal(api.stats.batchCreates, 2, 'the generation’s Message Batch, then the judge’s');
      assert.equal(api.stats.requests, 0, 'no direct call: the judge too went through a Message Batch');
      assert.equal(api.stats.judgeRequests.length, 5);
      assert.deepEqual(summary.messageBatches, api.messageBatches.map((b) => b.id));
      const calls = await judgedOnce(summary.batchId, summary.conversations);
      assert.ok(Math.abs(calls.reduce((n, c) => n + Number(c.cost_usd), 0) - summary.judge!.costUsd) < 1e-9);
      assert.deepEqual(await query(aliceUrl, 'SELECT purpose, state, created_by FROM promptloom.message_batches WHERE batch_id = $1 ORDER BY created_at', [summary.batchId]), [
        { purpose: 'generation', state: 'collected', created_by: 'alice' },
        { purpose: 'judge', state: 'collected', created_by: 'alice' },
      ]);
      assert.equal(await count('SELECT count(*) AS n FROM promptloom.generation_logs WHERE batch_id = $1', [summary.batchId]), 5, 'the judge adds no generation log');
      assert.deepEqual(await admin('SELECT status FROM promptloom.batches WHERE id = $1', [summary.batchId]), [{ status: 'completed' }]);
      assert.equal(existsSync(join(ws, '.promptloom')), false, 'nothing written in the folder');
    });

    it('kill -9 while the judge’s Message Batch runs, then resume --database-url: its grades collected once, nothing submitted again', async () => {
      api = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 100 });
      let retrievesAtJudge = Number.POSITIVE_INFINITY;
      api.onBatchCreated = () => {
        if (api.stats.batchCreates === 2) retrievesAtJudge = api.stats.batchRetrieves;
        else api.batchProcessingMs = 1500; // the judge's (the next) runs long enough to be killed in
      };
      // The judge's first poll comes after its id is recorded: kill there.
      const killed = await generate(['--count', '6', '--batch-api'], aliceUrl, (child) => {
        void until(() => api.stats.batchRetrieves > retrievesAtJudge).then(() => child.kill('SIGKILL'));
      });
      assert.equal(killed.code, null, 'killed');
      api.onBatchCreated = undefined;
      assert.equal(api.stats.batchCreates, 2);
      const batchId = await onlyBatch();
      assert.equal(await count('SELECT count(*) AS n FROM promptloom.judge_calls WHERE batch_id = $1', [batchId]), 0, 'nothing graded yet');
      assert.deepEqual(await query(aliceUrl, "SELECT state, request_count, anthropic_id FROM promptloom.message_batches WHERE batch_id = $1 AND purpose = 'judge'", [batchId]), [
        { state: 'submitted', request_count: 6, anthropic_id: api.messageBatches[1]!.id },
      ]);

      const summary = summaryOf(ok(await resume(batchId, aliceUrl))) as Summary & { judge?: { judged: number } };
      assert.equal(api.stats.batchCreates, 2, 'the judge’s Message Batch is collected, never submitted again');
      assert.equal(summary.judge?.judged, 6);
      assert.equal(api.stats.judgeRequests.length, 6, 'each conversation graded once at the API');
      const conversations = (await admin('SELECT id FROM promptloom.conversations WHERE batch_id = $1', [batchId])).map((r) => String(r.id));
      await judgedOnce(batchId, conversations);
      assert.deepEqual(await admin('SELECT status FROM promptloom.batches WHERE id = $1', [batchId]), [{ status: 'completed' }]);
      // Once more: nothing left, nothing sent.
      const again = ok(await resume(batchId, aliceUrl));
      assert.match(again.stderr, /is complete: nothing to resume/);
      assert.equal(api.stats.batchCreates, 2);
      assert.equal(await count('SELECT count(*) AS n FROM promptloom.judge_calls WHERE batch_id = $1', [batchId]), 6);
    });
  });
});
