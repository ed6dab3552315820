import { strict as assert } from 'node:assert';
import type { ChildProcess } from 'node:child_process';
import { judgeWorstCaseUsd } from '../../src/core/generation/judgeMessageBatches';
import { CACHE_READ_MULTIPLIER, CACHE_WRITE_MULTIPLIER, DEFAULT_MODELS } from '../../src/core/generation/engine';
import { flagReason, scoreConversation, toQualityResult, type Tier } from '../../src/core/quality';
import { JUDGE_TOOL_NAME, judgePart, judgePrompt, readGrade, storedJudgePart, withJudge } from '../../src/core/quality/judge';
import { Store } from '../../src/core/store';
import { FakeMessagesApi, fakeGrade } from '../fixtures/fakeMessagesApi';
import { runCli, workspace, type Run } from '../helpers/cli';
import { progressLine } from '../../src/core/generation/messageBatches';

const KEY = 'sk-test-fake-key';
const TEMPLATE = ['---', 'name: Check-in', 'tier: scenario', 'system: You write for <<persona>>.', 'variables:', '  persona: { type: dropdown, options: [Anxious Investor, Near Retiree] }', '---', 'Write a conversation with <<persona>>.', ''].join('\n');
const JUDGE_ON = JSON.stringify({ 'promptloom.quality.judge': 'on' });
const ARGS = ['generate', 't.prompt', '--param', 'persona=Near Retiree', '--batch-api', '--format', 'json'];

interface Summary {
  succeeded: number;
  batchId: string;
  conversations: string[];
  stopped: string | null;
  messageBatches: string[];
  judge?: { model: string; judged: number; notJudged: number; costUsd: number };
}
const summaryOf = (run: Run): Summary => JSON.parse(run.stdout.trim().split('\n').pop()!) as Summary;

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 5));
}

type JudgeRow = {
  conversation_id: string;
  batch_id: string;
  model: string;
  status: string;
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  cost_usd: number;
};

async function inStore<T>(ws: string, read: (store: Store) => T | Promise<T>): Promise<T> {
  const store = await Store.open(ws);
  try {
    return await read(store);
  } finally {
    store.close();
  }
}

/** The direct price of a judge call's tokens (cache writes 1.25×, reads 0.1×). */
function directPrice(row: JudgeRow): number {
  const model = DEFAULT_MODELS.find((m) => m.id === row.model)!;
  const input = row.input_tokens + row.cache_creation_input_tokens * CACHE_WRITE_MULTIPLIER + row.cache_read_input_tokens * CACHE_READ_MULTIPLIER;
  return (input * model.inputPrice + row.output_tokens * model.outputPrice) / 1_000_000;
}

/**
 * Each conversation's stored score and status against what the direct judge's rule gives for
 * the fake's grade of it: the scorer's report with the judge's part, flagged below the threshold.
 */
async function checkCombined(ws: string, tier: Tier): Promise<{ flagged: string[] }> {
  return inStore(ws, async (store) => {
    const flagged: string[] = [];
    for (const c of (await store.all<{ id: string; status: string; status_reason: string | null; overall: number; breakdown: string }>('SELECT c.id, c.status, c.status_reason, q.overall, q.breakdown FROM conversations c JOIN quality_scores q ON q.conversation_id = c.id'))) {
      const turns = (await store.all('SELECT role, content FROM turns WHERE conversation_id = ? ORDER BY position', [c.id])).map((t) => ({ role: String(t.role) as 'user' | 'assistant', content: String(t.content) }));
      const cost = Number((await store.get("SELECT cost_usd FROM judge_calls WHERE conversation_id = ? AND status = 'succeeded'", [c.id]))!.cost_usd);
      const grade = readGrade(fakeGrade(judgePrompt(turns)), turns.length)!;
      const model = String((await store.get('SELECT model FROM judge_calls WHERE conversation_id = ?', [c.id]))!.model);
      const expected = toQualityResult(withJudge(scoreConversation({ turns }, tier), judgePart(grade, model, cost)));
      assert.equal(Number(c.overall), expected.overall, `conversation ${String(c.id)}'s combined score`);
      assert.ok(storedJudgePart({ breakdown: JSON.parse(String(c.breakdown)) as unknown }), 'the judge’s part is in the breakdown');
      const flag = flagReason(expected, undefined);
      if (flag) {
        flagged.push(String(c.id));
        assert.equal(c.status, 'needs_revision');
        assert.ok(String(c.status_reason).startsWith(flag), `${String(c.status_reason)} starts with ${flag}`);
      } else assert.equal(c.status, 'pending');
    }
    return { flagged };
  });
}

describe('promptloom generate --batch-api with the judge on: the grades go through a Message Batch too', function () {
  this.timeout(90_000);
  let api: FakeMessagesApi;
  const env = () => ({ ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url });
  afterEach(() => api.stop());

  it('one judge Message Batch after the generation’s: rubric cached, custom ids naming the conversations, judge cost at half price, scores combined and flagged as the direct judge does', async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 150 });
    const ws = workspace({ 't.prompt': TEMPLATE, '.vscode/settings.json': JUDGE_ON });
    // The second conversation repeats itself: the judge (and the scorer) mark it down.
    api.scriptBatch({ kind: 'ok' }, { kind: 'poor' });
    const run = await runCli([...ARGS, '--count', '6'], ws, env());
    assert.equal(run.code, 0, run.stderr);
    const summary = summaryOf(run);
    assert.equal(summary.succeeded, 6);
    assert.equal(api.stats.batchCreates, 2, 'generation, then the judge');
    assert.equal(api.stats.requests, 0, 'no direct Messages call: the judge too went through a Message Batch');
    assert.deepEqual(summary.messageBatches, api.messageBatches.map((b) => b.id));
    const judgeBatch = api.messageBatches[1]!;
    assert.deepEqual(judgeBatch.customIds.map((id) => id.slice(id.indexOf('-') + 1)).sort(), [...summary.conversations].sort(), 'one request per conversation, named by it');
    assert.ok(judgeBatch.customIds.every((id) => /^[a-zA-Z0-9_-]{1,64}$/.test(id)));
    assert.equal(api.stats.judgeRequests.length, 6);
    for (const body of api.stats.judgeRequests) {
      assert.equal(body.temperature, 0);
      assert.deepEqual(body.tool_choice, { type: 'tool', name: JUDGE_TOOL_NAME });
      assert.deepEqual((body.tools as { cache_control?: unknown }[])[0]!.cache_control, { type: 'ephemeral' });
      assert.deepEqual((body.system as { cache_control?: unknown }[])[0]!.cache_control, { type: 'ephemeral' });
    }

    const rows = await inStore(ws, async (store) => (await store.all<JudgeRow>('SELECT * FROM judge_calls ORDER BY id')));
    assert.equal(rows.length, 6);
    assert.deepEqual(new Set(rows.map((r) => r.conversation_id)), new Set(summary.conversations));
    assert.ok(rows.every((r) => r.status === 'succeeded' && r.batch_id === summary.batchId));
    // The rubric prefix written once (1.25×) and read by the others (0.1×), all at half the direct price.
    assert.equal(rows.filter((r) => r.cache_creation_input_tokens > 0).length, 1);
    assert.equal(rows.filter((r) => r.cache_read_input_tokens > 0).length, 5);
    for (const r of rows) assert.ok(Math.abs(r.cost_usd - directPrice(r) / 2) < 1e-12, `${r.cost_usd} is half of ${directPrice(r)}`);
    const judgeCost = rows.reduce((s, r) => s + r.cost_usd, 0);
    assert.ok(summary.judge, 'the summary reports the judge');
    assert.equal(summary.judge.judged, 6);
    assert.ok(Math.abs(summary.judge.costUsd - judgeCost) < 1e-9);
    // Judge cost stays out of the generation logs.
    const generationCost = await inStore(ws, async (store) => Number((await store.get('SELECT sum(cost_usd) AS s FROM generation_logs'))!.s));
    assert.ok(generationCost > 0 && Math.abs(generationCost - judgeCost) > 1e-9);

    const { flagged } = await checkCombined(ws, 'scenario');
    assert.equal(flagged.length, 1, 'the repetitive conversation is flagged');
    assert.equal(await inStore(ws, async (store) => String((await store.get('SELECT status FROM batches'))!.status)), 'completed');
  });

  it('kill -9 after the judge’s Message Batch is submitted, then resume: not submitted again, every conversation judged once', async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 100 });
    const ws = workspace({ 't.prompt': TEMPLATE, '.vscode/settings.json': JUDGE_ON });
    let retrievesAtJudge = Number.POSITIVE_INFINITY;
    api.onBatchCreated = () => {
      if (api.stats.batchCreates === 2) {
        retrievesAtJudge = api.stats.batchRetrieves;
      } else api.batchProcessingMs = 1500; // the judge's batch (the next) runs long enough to be killed in
    };
    // The judge's first poll comes after its id is recorded: kill there.
    const killed = await runCli([...ARGS, '--count', '8'], ws, env(), (child) => {
      void until(() => api.stats.batchRetrieves > retrievesAtJudge).then(() => child.kill('SIGKILL'));
    });
    assert.equal(killed.code, null, 'killed');
    api.onBatchCreated = undefined;
    assert.equal(api.stats.batchCreates, 2);
    const before = await inStore(ws, async (store) => ({
      rows: (await store.all("SELECT purpose, state, request_count, anthropic_id FROM message_batches WHERE purpose = 'judge'")),
      judged: Number((await store.get('SELECT count(*) AS n FROM judge_calls'))!.n),
      conversations: Number((await store.get('SELECT count(*) AS n FROM conversations'))!.n),
    }));
    assert.equal(before.conversations, 8);
    assert.equal(before.judged, 0);
    assert.deepEqual(before.rows, [{ purpose: 'judge', state: 'submitted', request_count: 8, anthropic_id: api.messageBatches[1]!.id }], 'recorded before the POST, its id after');

    const resumed = await runCli(['resume', '--format', 'json'], ws, env());
    assert.equal(resumed.code, 0, resumed.stderr);
    const summary = summaryOf(resumed);
    assert.equal(api.stats.batchCreates, 2, 'the judge’s Message Batch is collected, never submitted again');
    assert.equal(api.stats.batchLists, 0, 'its id was recorded: nothing to look for');
    assert.deepEqual(summary.messageBatches, [api.messageBatches[1]!.id]);
    assert.equal(summary.judge?.judged, 8);
    assert.equal(api.stats.judgeRequests.length, 8, 'each conversation graded once at the API');
    const after = await inStore(ws, async (store) => ({
      calls: Number((await store.get('SELECT count(*) AS n FROM judge_calls'))!.n),
      distinct: Number((await store.get('SELECT count(DISTINCT conversation_id) AS n FROM judge_calls'))!.n),
      status: String((await store.get('SELECT status FROM batches'))!.status),
    }));
    assert.deepEqual(after, { calls: 8, distinct: 8, status: 'completed' });
    await checkCombined(ws, 'scenario');
    const again = await runCli(['resume'], ws, env());
    assert.match(again.stderr, /no unfinished batch to resume/);
    assert.equal(api.stats.batchCreates, 2);
  });

  it('Ctrl+C while the judge’s Message Batch runs: never cancelled, the batch left running, and resume collects the grades', async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 50 });
    const ws = workspace({ 't.prompt': TEMPLATE, '.vscode/settings.json': JUDGE_ON });
    let retrievesAtJudge = Number.POSITIVE_INFINITY;
    api.onBatchCreated = () => {
      if (api.stats.batchCreates === 2) retrievesAtJudge = api.stats.batchRetrieves;
      else api.batchProcessingMs = 1200;
    };
    const run = await runCli([...ARGS, '--count', '3'], ws, env(), (child) => {
      void until(() => api.stats.batchRetrieves > retrievesAtJudge).then(() => child.kill('SIGINT'));
    });
    api.onBatchCreated = undefined;
    assert.equal(run.code, 0, run.stderr);
    const summary = summaryOf(run);
    assert.equal(summary.stopped, 'detached');
    assert.deepEqual(summary.messageBatches, api.messageBatches.map((b) => b.id));
    assert.match(run.stderr, /collect with: promptloom resume --batch /);
    assert.equal(api.stats.batchCancels, 0);
    assert.equal(await inStore(ws, async (store) => String((await store.get('SELECT status FROM batches'))!.status)), 'running');
    const resumed = await runCli(['resume', '--format', 'json'], ws, env());
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(summaryOf(resumed).judge?.judged, 3);
    assert.equal(api.stats.batchCreates, 2);
    assert.equal(api.stats.judgeRequests.length, 3);
  });

  it('promptloom cancel while the judge’s Message Batch runs: the grades answered before it are stored, and resume grades only the rest', async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 50 });
    const ws = workspace({ 't.prompt': TEMPLATE, '.vscode/settings.json': JUDGE_ON });
    // The generation's Message Batch ends at once; the judge's runs until cancelled.
    api.onBatchCreated = () => {
      if (api.stats.batchCreates === 1) api.batchProcessingMs = 60_000;
    };
    const generating = runCli([...ARGS, '--count', '3'], ws, env());
    await until(() => api.stats.batchCreates === 2);
    api.onBatchCreated = undefined;
    const judgeBatch = api.messageBatches[1]!.id;
    // One of the three grades is answered (and paid for) before the cancel.
    api.processRequests(1, judgeBatch);
    const cancel = await runCli(['cancel', '--format', 'json'], ws, env());
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.deepEqual((JSON.parse(cancel.stdout) as { messageBatches: string[] }).messageBatches, [judgeBatch]);
    const run = await generating;
    const summary = summaryOf(run);
    assert.equal(summary.stopped, 'cancelled');
    assert.equal(summary.succeeded, 3);
    assert.equal(summary.judge?.judged, 1);
    api.batchProcessingMs = 50;
    const resumed = await runCli(['resume', '--format', 'json'], ws, env());
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(summaryOf(resumed).judge?.judged, 2);
    assert.deepEqual(api.messageBatches.map((b) => b.customIds.length), [3, 3, 2], 'only the two canceled grades are sent again');
    const calls = await inStore(ws, async (store) => ({
      graded: Number((await store.get("SELECT count(DISTINCT conversation_id) AS n FROM judge_calls WHERE status = 'succeeded'"))!.n),
      succeeded: Number((await store.get("SELECT count(*) AS n FROM judge_calls WHERE status = 'succeeded'"))!.n),
      status: String((await store.get('SELECT status FROM batches'))!.status),
    }));
    assert.deepEqual(calls, { graded: 3, succeeded: 3, status: 'completed' });
  });

  it('a crash after recording the judge’s intent, before its POST got through: resume looks for it, then submits it once', async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 100 });
    const ws = workspace({ 't.prompt': TEMPLATE, '.vscode/settings.json': JUDGE_ON });
    let child: ChildProcess | undefined;
    api.onBatchCreateReceived = async () => {
      if (api.stats.batchCreates === 0) return true; // the generation's
      const exited = new Promise((r) => child!.once('exit', r));
      child!.kill('SIGKILL');
      await exited;
      return false;
    };
    const killed = await runCli([...ARGS, '--count', '5'], ws, env(), (c) => (child = c));
    assert.equal(killed.code, null, 'killed');
    api.onBatchCreateReceived = undefined;
    assert.equal(api.stats.batchCreates, 1);
    const resumed = await runCli(['resume', '--format', 'json'], ws, env());
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.ok(api.stats.batchLists >= 1, 'looked for it first');
    assert.equal(api.stats.batchCreates, 2);
    assert.equal(summaryOf(resumed).judge?.judged, 5);
    assert.equal(await inStore(ws, async (store) => Number((await store.get('SELECT count(DISTINCT conversation_id) AS n FROM judge_calls'))!.n)), 5);
  });

  it('--detach leaves the judge to resume, which collects the generation and then grades through a Message Batch', async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 100 });
    const ws = workspace({ 't.prompt': TEMPLATE, '.vscode/settings.json': JUDGE_ON });
    const detached = await runCli([...ARGS, '--count', '4', '--detach'], ws, env());
    assert.equal(detached.code, 0, detached.stderr);
    assert.equal(api.stats.batchCreates, 1);
    assert.equal(api.stats.judgeRequests.length, 0);
    const resumed = await runCli(['resume', '--format', 'json'], ws, env());
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(summaryOf(resumed).judge?.judged, 4);
    assert.equal(api.stats.batchCreates, 2);
    assert.equal(api.stats.requests, 0);
    await checkCombined(ws, 'scenario');
  });

  it('the batch budget: a grade is submitted only when its worst case fits; the others keep the scorer’s score with a note', async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 50 });
    const settings = JSON.stringify({ 'promptloom.quality.judge': 'on', 'promptloom.quality.judgeModel': 'opus' });
    const ws = workspace({ 't.prompt': TEMPLATE, '.vscode/settings.json': settings });
    // Room for the generation's worst case (haiku, 2 × 4,096 out at half price, about $0.02), then for one grade by opus at most.
    const budget = 0.03;
    const run = await runCli([...ARGS, '--count', '2', '--model', 'haiku', '--budget-usd', String(budget)], ws, env());
    const summary = summaryOf(run);
    assert.equal(summary.succeeded, 2, run.stderr);
    assert.match(run.stderr, /the judge: a grade could cost up to \$[\d.]+ at batch prices, which would cross the budget of \$0\.03: 1 not judged/);
    const opus = DEFAULT_MODELS.find((m) => m.alias === 'opus')!;
    const facts = await inStore(ws, async (store) => ({
      generation: Number((await store.get('SELECT sum(cost_usd) AS s FROM generation_logs'))!.s),
      conversations: await Promise.all(
        (await store.all<{ id: string; status_reason: string | null }>('SELECT id, status_reason FROM conversations ORDER BY created_at, id')).map(async (c) => ({
          id: String(c.id),
          reason: String(c.status_reason),
          turns: (await store.all('SELECT role, content FROM turns WHERE conversation_id = ? ORDER BY position', [c.id])).map((t) => ({ role: String(t.role) as 'user' | 'assistant', content: String(t.content) })),
        })),
      ),
      judged: (await store.all("SELECT conversation_id, cost_usd FROM judge_calls WHERE status = 'succeeded'")).map((r) => String(r.conversation_id)),
    }));
    const [first, second] = facts.conversations;
    // The first grade's worst case fits beside what the generation cost; the second's does not.
    assert.ok(facts.generation + judgeWorstCaseUsd(opus, first!.turns) <= budget);
    assert.ok(facts.generation + judgeWorstCaseUsd(opus, first!.turns) + judgeWorstCaseUsd(opus, second!.turns) > budget);
    assert.deepEqual(facts.judged, [first!.id]);
    assert.match(second!.reason, /not judged \(budget\): the score is the scorer's alone/);
    assert.equal(api.stats.batchCreates, 2);
    assert.deepEqual(api.messageBatches[1]!.customIds.map((id) => id.slice(id.indexOf('-') + 1)), [first!.id]);
    assert.equal(summary.judge?.judged, 1);
    assert.equal(summary.judge?.notJudged, 1);
  });

  it('no credit left for the judge’s Message Batch: one line saying so, the batch left unfinished, and resume grades what was not graded', async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 50 });
    const ws = workspace({ 't.prompt': TEMPLATE, '.vscode/settings.json': JUDGE_ON });
    const credit = { kind: 'errored' as const, type: 'invalid_request_error', message: 'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.' };
    // The generation's three requests succeed; of the judge's, the second and third meet an empty account.
    api.scriptBatch({ kind: 'ok' }, { kind: 'ok' }, { kind: 'ok' }, { kind: 'ok' }, credit, credit);
    const run = await runCli([...ARGS, '--count', '3'], ws, env());
    // Every conversation is stored: the exit status is generation's (as with the direct judge).
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /^promptloom: the judge: the account's credit balance is too low .* then run promptloom resume$/m);
    assert.equal(summaryOf(run).judge?.judged, 1);
    assert.equal(await inStore(ws, async (store) => String((await store.get('SELECT status FROM batches'))!.status)), 'failed');
    const resumed = await runCli(['resume', '--format', 'json'], ws, env());
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(summaryOf(resumed).judge?.judged, 2);
    assert.equal(api.stats.batchCreates, 3);
    assert.deepEqual(api.messageBatches.map((b) => b.customIds.length), [3, 3, 2], 'only the two not graded are sent again');
    const calls = await inStore(ws, async (store) => ({
      graded: Number((await store.get("SELECT count(DISTINCT conversation_id) AS n FROM judge_calls WHERE status = 'succeeded'"))!.n),
      succeeded: Number((await store.get("SELECT count(*) AS n FROM judge_calls WHERE status = 'succeeded'"))!.n),
      status: String((await store.get('SELECT status FROM batches'))!.status),
    }));
    assert.deepEqual(calls, { graded: 3, succeeded: 3, status: 'completed' });
    await checkCombined(ws, 'scenario');
  });

  it('--dry-run --batch-api prices the judge at batch prices too', async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY });
    const ws = workspace({ 't.prompt': TEMPLATE, '.vscode/settings.json': JUDGE_ON });
    const dry = async (extra: string[]) =>
      (JSON.parse((await runCli(['generate', 't.prompt', '--param', 'persona=Near Retiree', '--count', '10', '--dry-run', '--format', 'json', ...extra], ws, env())).stdout) as { estimate: { judge: { costUsd: { low: number; high: number } } } }).estimate.judge.costUsd;
    const direct = await dry([]);
    const batch = await dry(['--batch-api']);
    assert.ok(Math.abs(batch.high * 2 - direct.high) < 1e-5 && Math.abs(batch.low * 2 - direct.low) < 1e-5, `${JSON.stringify(batch)} is half of ${JSON.stringify(direct)}`);
    const text = await runCli(['generate', 't.prompt', '--param', 'persona=Near Retiree', '--count', '10', '--dry-run', '--batch-api'], ws, env());
    assert.match(text.stdout, /^judge claude-\S+: 10 calls \(one per conversation\), estimated cost \$[\d.]+–\$[\d.]+ through Message Batches on top$/m);
    assert.equal(api.stats.batchCreates + api.stats.requests, 0, 'nothing sent');
  });

  it('the progress line adds the judge’s grades while its Message Batch runs', () => {
    const base = { total: 6, stored: 6, failed: 0, processing: 0, messageBatches: 2, costUsd: 0.0123 };
    assert.equal(progressLine(base), 'Message Batches: 6 of 6 stored, 0 failed, 0 processing in 2 Message Batches, $0.0123');
    assert.equal(progressLine({ ...base, judge: { graded: 2, total: 6, processing: 4 } }), 'Message Batches: 6 of 6 stored, 0 failed, 0 processing in 2 Message Batches, $0.0123; judge: 2 of 6 graded, 4 processing');
  });
});
