/**
 * The judge (`promptloom.quality.judge` on) on the team store, as users run it (the built CLI),
 * against the fake Messages API (it answers the rubric tool) and a real PostgreSQL: each stored
 * conversation graded through the engine, its score replaced by the combined one (at most the
 * judge's part, as in a workspace), the judge's calls recorded as the member's and read by them
 * alone, counted in their daily budget; `resume` grading what it generates; a failed grade keeping
 * the conversation with a note; team migration 11's update policy as two members in raw SQL.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scoreConversation, toQualityResult } from '../../src/core/quality';
import { FakeMessagesApi } from '../fixtures/fakeMessagesApi';
import { promptloom, runCli, workspace, type Run } from '../helpers/cli';
import { queryAs, startPostgres, type PostgresServer } from '../helpers/postgres';

const KEY = 'sk-test-fake-key';
const OWNER_PASSWORD = 'Own3r-team-judge-qx';
const ALICE_PASSWORD = 'al1ce-Judges-kz';
const BOB_PASSWORD = 'b0b-Judges-too-wn';
const TEMPLATE = ['---', 'name: Judged check-in', 'tier: scenario', 'system: You write for a careful reader.', '---', 'Write a conversation about <<topic>>.', ''].join('\n');
const JUDGE_MODEL = 'claude-haiku-5-5';

interface Summary {
  succeeded: number;
  failed: number;
  batchId: string;
  conversations: string[];
  judge?: { model: string; judged: number; notJudged: number; costUsd: number };
}

interface Breakdown {
  judge?: { score: number; model: string; criteria: Record<string, number> };
}

function summaryOf(result: Run): Summary {
  const lines = result.stdout.trim().split('\n');
  assert.ok(lines.length > 0 && lines[lines.length - 1]!.startsWith('{'), result.stderr);
  return JSON.parse(lines[lines.length - 1]!) as Summary;
}

describe('the judge on the team database (a real PostgreSQL)', function () {
  this.timeout(120_000);
  let server: PostgresServer;
  let api: FakeMessagesApi;
  let ownerUrl: string;
  let aliceUrl: string;
  let bobUrl: string;
  let ws: string;
  let first: Summary;

  const settings = (extra: Record<string, unknown> = {}) =>
    writeFileSync(join(ws, '.vscode', 'settings.json'), JSON.stringify({ 'promptloom.quality.judge': 'on', 'promptloom.retry.maxAttempts': 1, ...extra }));
  const env = () => ({ ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url });
  const generate = (args: readonly string[], url: string) =>
    runCli(['generate', 'check.prompt', '--param', 'topic=pensions', '--format', 'json', '--base-delay-ms', '10', '--concurrency', '1', '--database-url', url, ...args], ws, env());
  /** Raw SQL as `url`'s role, outside the CLI's queries. */
  const query = queryAs;

  /** Each conversation's stored score and turns, read as the superuser. */
  const scored = async (ids: readonly string[]) => {
    const admin = server.adminUrl('team');
    const rows = await query(admin, 'SELECT c.id, c.status, c.status_reason, c.quality, q.overall, q.breakdown FROM promptloom.conversations c JOIN promptloom.quality_scores q ON q.conversation_id = c.id WHERE c.id = ANY($1)', [ids]);
    const turns = await query(admin, 'SELECT conversation_id, role, content FROM promptloom.turns WHERE conversation_id = ANY($1) ORDER BY conversation_id, position', [ids]);
    return ids.map((id) => {
      const row = rows.find((r) => r.id === id)!;
      const conversation = { turns: turns.filter((t) => t.conversation_id === id).map((t) => ({ role: t.role, content: t.content })) };
      return {
        status: String(row.status),
        statusReason: row.status_reason === null ? null : String(row.status_reason),
        quality: Number(row.quality),
        overall: Number(row.overall),
        breakdown: row.breakdown as Breakdown,
        scorer: toQualityResult(scoreConversation(conversation, 'scenario')).overall,
      };
    });
  };
  const judgeCalls = (url: string, batchId?: string) =>
    query(url, `SELECT conversation_id, batch_id, model, status, cost_usd, created_by FROM promptloom.judge_calls${batchId ? ' WHERE batch_id = $1' : ''} ORDER BY id`, batchId ? [batchId] : []);

  before(async () => {
    server = await startPostgres();
    await server.createTeam(OWNER_PASSWORD, { alice: ALICE_PASSWORD, bob: BOB_PASSWORD });
    ownerUrl = server.url('team_owner', OWNER_PASSWORD, 'team');
    const init = promptloom(['db', 'init', '--database-url', ownerUrl], { env: { PROMPTLOOM_DATABASE_URL: '' } });
    assert.equal(init.code, 0, init.stderr);
    await server.admin(['GRANT promptloom_member TO alice', 'GRANT promptloom_member TO bob']);
    aliceUrl = server.url('alice', ALICE_PASSWORD, 'team');
    bobUrl = server.url('bob', BOB_PASSWORD, 'team');
    // A fixed seed: the cases below need the third conversation to be one the judge rates under
    // the scorer, and by default the fake's answers depend on how many servers the process started.
    api = await FakeMessagesApi.start({ apiKey: KEY, seed: 1_000_003 });
    ws = workspace({ 'check.prompt': TEMPLATE });
    mkdirSync(join(ws, '.vscode'), { recursive: true });
    settings();
    // Three answers (the second repetitive), then three rubric calls: the first fails for good.
    api.script({ kind: 'ok' }, { kind: 'poor' }, { kind: 'ok' }, { kind: 'status', status: 500, type: 'api_error' }, { kind: 'ok' }, { kind: 'ok' });
    const run = await generate(['--count', '3'], aliceUrl);
    assert.equal(run.code, 0, run.stderr);
    first = summaryOf(run);
  });

  after(async () => {
    await api?.stop();
    server?.dispose();
  });

  it('grades each stored conversation: the score is the scorer’s capped by the judge’s part, as in a workspace; a failed grade keeps the conversation with a note', async () => {
    assert.equal(first.succeeded, 3);
    assert.deepEqual({ ...first.judge, costUsd: undefined }, { model: JUDGE_MODEL, judged: 2, notJudged: 1, costUsd: undefined });
    assert.equal(api.stats.judgeRequests.length, 2, 'one rubric call per conversation (the failed one answered no grade)');
    const rows = await scored(first.conversations);
    const judged = rows.filter((r) => r.breakdown.judge);
    assert.equal(judged.length, 2);
    for (const r of judged) {
      assert.equal(r.breakdown.judge!.model, JUDGE_MODEL);
      assert.equal(Object.keys(r.breakdown.judge!.criteria).length, 6);
      assert.equal(r.overall, Math.round(Math.min(r.scorer, r.breakdown.judge!.score) * 10) / 10, 'min(scorer, judge)');
      assert.equal(r.quality, r.overall, 'the copy on conversations follows');
    }
    // The last answer: the scorer rates it above the judge, whose part caps it.
    const capped = rows[2]!;
    assert.ok(capped.breakdown.judge && capped.breakdown.judge.score < capped.scorer, `${capped.breakdown.judge?.score} against ${capped.scorer}`);
    assert.equal(capped.overall, capped.breakdown.judge.score);
    // The repetitive one: graded too, its score the scorer's lower one, flagged.
    assert.ok(rows[1]!.breakdown.judge && rows[1]!.overall < rows[1]!.breakdown.judge.score);
    assert.equal(rows[1]!.status, 'needs_revision');
    // Not graded: stored with the scorer's score alone, and a note.
    const unjudged = rows[0]!;
    assert.equal(unjudged.breakdown.judge, undefined);
    assert.equal(unjudged.overall, unjudged.scorer);
    assert.match(String(unjudged.statusReason), /not judged \(server_error\): the score is the scorer's alone/);
    assert.equal(existsSync(join(ws, '.promptloom')), false, 'nothing written in the workspace folder');
  });

  it("records the judge's calls on the team store as the member's (raw SQL as the owner), apart from generation logs", async () => {
    const calls = await judgeCalls(ownerUrl, first.batchId);
    assert.deepEqual(
      calls.map((c) => [c.status, c.created_by, c.model]),
      [['failed', 'alice', JUDGE_MODEL], ['succeeded', 'alice', JUDGE_MODEL], ['succeeded', 'alice', JUDGE_MODEL]],
    );
    assert.deepEqual(new Set(calls.map((c) => c.conversation_id)), new Set(first.conversations));
    const cost = calls.reduce((n, c) => n + Number(c.cost_usd), 0);
    assert.ok(cost > 0 && Math.abs(cost - first.judge!.costUsd) < 1e-12, `${cost} against ${first.judge!.costUsd}`);
    const logs = await query(ownerUrl, 'SELECT count(*)::int AS n FROM promptloom.generation_logs WHERE batch_id = $1', [first.batchId]);
    assert.deepEqual([...logs], [{ n: 3 }], 'the judge adds no generation log');
  });

  it('resume --database-url grades the conversations it generates (a teammate resuming: their own)', async () => {
    // Two of three answers (the second request fails for good), both graded; Bob's resume adds the third.
    api.script({ kind: 'ok' }, { kind: 'status', status: 500, type: 'api_error' }, { kind: 'ok' });
    const run = summaryOf(await generate(['--count', '3'], aliceUrl));
    assert.deepEqual([run.succeeded, run.judge?.judged], [2, 2]);
    const resumed = await runCli(['resume', '--batch', run.batchId, '--database-url', bobUrl, '--format', 'json'], ws, env());
    assert.equal(resumed.code, 0, resumed.stderr);
    const summary = summaryOf(resumed);
    assert.equal(summary.succeeded, 1);
    assert.deepEqual({ ...summary.judge, costUsd: undefined }, { model: JUDGE_MODEL, judged: 1, notJudged: 0, costUsd: undefined });
    const all = [...run.conversations, ...summary.conversations];
    const rows = await scored(all);
    assert.ok(rows.every((r) => r.breakdown.judge && r.overall === Math.round(Math.min(r.scorer, r.breakdown.judge.score) * 10) / 10));
    const calls = await judgeCalls(ownerUrl, run.batchId);
    assert.deepEqual(calls.map((c) => [c.status, c.created_by]), [['succeeded', 'alice'], ['succeeded', 'alice'], ['succeeded', 'bob']]);
    assert.equal(calls[2]!.conversation_id, summary.conversations[0]);
  });

  it("a member reads only their own judge calls; each member's are theirs", async () => {
    api.script({ kind: 'ok' }, { kind: 'ok' });
    const bobs = summaryOf(await generate(['--count', '1'], bobUrl));
    assert.equal(bobs.judge?.judged, 1);
    const everyone = await judgeCalls(ownerUrl);
    const by = (who: string) => everyone.filter((c) => c.created_by === who).map((c) => c.conversation_id);
    assert.equal(by('bob').length, 2, 'his resume of her batch and his run');
    assert.equal(by('bob')[1], bobs.conversations[0]);
    assert.equal(by('alice').length, 5);
    assert.deepEqual((await judgeCalls(aliceUrl)).map((c) => c.conversation_id), by('alice'));
    assert.deepEqual((await judgeCalls(bobUrl)).map((c) => c.conversation_id), by('bob'));
    // Bob's conversation was graded and its score replaced, by him.
    const [row] = await scored(bobs.conversations);
    assert.equal(row!.breakdown.judge?.model, JUDGE_MODEL);
  });

  it("the daily budget counts the member's own judge calls", async () => {
    const spent = async (table: string, who: string) => Number((await query(ownerUrl, `SELECT coalesce(sum(cost_usd), 0) AS usd FROM promptloom.${table} WHERE created_by = $1`, [who]))[0]!.usd);
    const alice = { generations: await spent('generation_logs', 'alice'), judge: await spent('judge_calls', 'alice') };
    const bob = (await spent('generation_logs', 'bob')) + (await spent('judge_calls', 'bob'));
    // Above Alice's generations alone, below them with her judge calls; Bob's spending under it.
    const daily = alice.generations + alice.judge / 2;
    assert.ok(bob < daily, `${bob} against ${daily}`);
    settings({ 'promptloom.budget.dailyUsd': daily });
    try {
      const requests = api.stats.requests;
      const stopped = await generate(['--count', '1', '--max-tokens', '16'], aliceUrl);
      assert.equal(stopped.code, 1, stopped.stderr);
      assert.match(stopped.stderr, /budget/);
      assert.equal(api.stats.requests, requests, 'nothing was sent');
      api.script({ kind: 'ok' }, { kind: 'ok' });
      assert.equal(summaryOf(await generate(['--count', '1', '--max-tokens', '16'], bobUrl)).succeeded, 1);
    } finally {
      settings();
    }
  });

  it("migration 11: a conversation's author may update its score, another member may not (raw SQL as two members)", async () => {
    const admin = server.adminUrl('team');
    const [alices] = first.conversations;
    const bobs = String((await query(admin, "SELECT id FROM promptloom.conversations WHERE created_by = 'bob' ORDER BY created_at LIMIT 1"))[0]!.id);
    const overall = async (id: string) => Number((await query(admin, 'SELECT overall FROM promptloom.quality_scores WHERE conversation_id = $1', [id]))[0]!.overall);
    const [aliceBefore, bobBefore] = [await overall(alices!), await overall(bobs)];
    // Bob can read Alice's score (a team's conversation), but his update of it touches no row.
    assert.equal((await query(bobUrl, 'SELECT overall FROM promptloom.quality_scores WHERE conversation_id = $1', [alices])).length, 1);
    assert.equal((await query(bobUrl, 'UPDATE promptloom.quality_scores SET overall = 0.5 WHERE conversation_id = $1', [alices])).changed, 0);
    assert.equal(await overall(alices!), aliceBefore);
    // Nor can he move his own score onto her conversation.
    await assert.rejects(query(bobUrl, 'UPDATE promptloom.quality_scores SET conversation_id = $1 WHERE conversation_id = $2', [alices, bobs]), /row-level security|duplicate key/);
    // Each author updates their own (and the copy on the conversation follows).
    assert.equal((await query(aliceUrl, 'UPDATE promptloom.quality_scores SET overall = $1 WHERE conversation_id = $2', [aliceBefore, alices])).changed, 1);
    assert.equal((await query(bobUrl, 'UPDATE promptloom.quality_scores SET overall = 1.5 WHERE conversation_id = $1', [bobs])).changed, 1);
    assert.equal(Number((await query(admin, 'SELECT quality FROM promptloom.conversations WHERE id = $1', [bobs]))[0]!.quality), 1.5);
    await query(bobUrl, 'UPDATE promptloom.quality_scores SET overall = $1 WHERE conversation_id = $2', [bobBefore, bobs]);
    // The policy is there as written, and judge_calls keeps its row-level security.
    const policies = await query(admin, "SELECT policyname, cmd FROM pg_policies WHERE schemaname = 'promptloom' AND tablename IN ('quality_scores', 'judge_calls') ORDER BY tablename, policyname");
    assert.deepEqual(
      policies.map((p) => [p.policyname, p.cmd]),
      [['judge_calls_insert', 'INSERT'], ['judge_calls_read', 'SELECT'], ['quality_scores_insert', 'INSERT'], ['quality_scores_read', 'SELECT'], ['quality_scores_update', 'UPDATE']],
    );
    const rls = await query(admin, "SELECT relrowsecurity FROM pg_class WHERE oid = 'promptloom.judge_calls'::regclass");
    assert.equal(rls[0]!.relrowsecurity, true);
  });
});
