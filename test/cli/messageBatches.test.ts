import { strict as assert } from 'node:assert';
import type { ChildProcess } from 'node:child_process';
import { Store } from '../../src/core/store';
import { FakeMessagesApi } from '../fixtures/fakeMessagesApi';
import { runCli, workspace, type Run } from '../helpers/cli';

const KEY = 'sk-test-fake-key';
const TEMPLATE = ['---', 'name: Check-in', 'tier: scenario', 'system: You write for <<persona>>.', 'variables:', '  persona: { type: dropdown, options: [Anxious Investor, Near Retiree] }', '---', 'Write a conversation with <<persona>>.', ''].join('\n');

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

async function stored(ws: string): Promise<{ conversations: number; logs: number; distinctSlots: number; costUsd: number; modes: string[] }> {
  const store = await Store.open(ws);
  try {
    return {
      conversations: Number((await store.get('SELECT count(*) AS n FROM conversations'))!.n),
      logs: Number((await store.get('SELECT count(*) AS n FROM generation_logs'))!.n),
      distinctSlots: Number((await store.get("SELECT count(DISTINCT substr(custom_id, instr(custom_id, '-') + 1)) AS n FROM message_batch_results WHERE result = 'succeeded'"))!.n),
      costUsd: Number((await store.get('SELECT coalesce(sum(cost_usd), 0) AS s FROM generation_logs'))!.s),
      modes: (await store.all('SELECT DISTINCT mode FROM generation_logs')).map((r) => String(r.mode)),
    };
  } finally {
    store.close();
  }
}

describe('promptloom generate --batch-api, resume, cancel (Message Batches)', function () {
  this.timeout(90_000);
  let api: FakeMessagesApi;
  const env = () => ({ ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url });
  afterEach(() => api.stop());

  it('200 conversations through a Message Batch: each stored once, at half price, the summary naming the mode and the Message Batch', async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 300 });
    const ws = workspace({ 't.prompt': TEMPLATE });
    const run = await runCli(['generate', 't.prompt', '--param', 'persona=Near Retiree', '--count', '200', '--batch-api', '--format', 'json'], ws, env());
    assert.equal(run.code, 0, run.stderr);
    const summary = summaryOf(run);
    assert.equal(summary.mode, 'batch');
    assert.equal(summary.succeeded, 200);
    assert.equal(summary.conversations.length, 200);
    assert.equal(summary.messageBatches.length, 1);
    assert.equal(summary.messageBatches[0], api.messageBatches[0]!.id);
    assert.equal(api.stats.batchCreates, 1);
    assert.equal(api.stats.requests, 0, 'no direct Messages call');
    const db = await stored(ws);
    assert.equal(db.conversations, 200);
    assert.deepEqual(db.modes, ['batch']);
    assert.ok(Math.abs(db.costUsd - summary.costUsd) < 1e-6);
    assert.doesNotMatch(run.stdout + run.stderr, new RegExp(KEY));
    // The same request sent directly (the fake counts the same tokens for it) costs twice as much.
    const direct = summaryOf(await runCli(['generate', 't.prompt', '--param', 'persona=Near Retiree', '--count', '1', '--format', 'json'], ws, env()));
    assert.equal(direct.mode, 'direct');
    assert.ok(Math.abs(summary.costUsd / 200 - direct.costUsd / 2) < 1e-9, `${summary.costUsd / 200} is half of ${direct.costUsd}`);
  });

  it('promptloom.generation.mode auto sends plans of 50 or more through Message Batches, smaller ones directly', async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 50 });
    const ws = workspace({ 't.prompt': TEMPLATE, '.vscode/settings.json': '{ "promptloom.generation.mode": "auto" }' });
    const small = summaryOf(await runCli(['generate', 't.prompt', '--param', 'persona=Near Retiree', '--count', '3', '--format', 'json'], ws, env()));
    assert.equal(small.mode, 'direct');
    const large = summaryOf(await runCli(['generate', 't.prompt', '--param', 'persona=Near Retiree', '--count', '50', '--format', 'json'], ws, env()));
    assert.equal(large.mode, 'batch');
    assert.equal(large.succeeded, 50);
  });

  it('--dry-run --batch-api estimates at batch prices, the direct price beside it', async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY });
    const ws = workspace({ 't.prompt': TEMPLATE });
    const args = ['generate', 't.prompt', '--param', 'persona=Near Retiree', '--count', '10', '--dry-run'];
    const batch = JSON.parse((await runCli([...args, '--batch-api', '--format', 'json'], ws, env())).stdout) as { mode: string; estimate: { costUsd: { high: number } }; otherMode: { mode: string; costUsd: { high: number } } };
    assert.equal(batch.mode, 'batch');
    assert.equal(batch.otherMode.mode, 'direct');
    assert.ok(Math.abs(batch.estimate.costUsd.high * 2 - batch.otherMode.costUsd.high) < 1e-5);
    const text = await runCli([...args, '--batch-api'], ws, env());
    assert.match(text.stdout, /estimated cost \$[\d.]+–\$[\d.]+ through Message Batches/);
    assert.match(text.stdout, /^directly: \$[\d.]+–\$[\d.]+$/m);
    assert.equal(api.stats.batchCreates + api.stats.requests, 0, 'nothing sent');
  });

  it('kill -9 right after submission, then resume: no second submission, every conversation stored once', async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 1500 });
    const ws = workspace({ 't.prompt': TEMPLATE });
    // The first poll comes after the id is recorded: kill there.
    const killed = await runCli(['generate', 't.prompt', '--param', 'persona=Near Retiree', '--count', '30', '--batch-api', '--format', 'json'], ws, env(), (child) => {
      void until(() => api.stats.batchRetrieves >= 1).then(() => child.kill('SIGKILL'));
    });
    assert.equal(killed.code, null, 'killed');
    assert.equal((await stored(ws)).conversations, 0);
    const resumed = await runCli(['resume', '--format', 'json'], ws, env());
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /through Message Batches: 30 of 30 conversations to go/);
    const summary = summaryOf(resumed);
    assert.equal(summary.succeeded, 30);
    assert.deepEqual(summary.messageBatches, [api.messageBatches[0]!.id]);
    assert.equal(api.stats.batchCreates, 1, 'never a second Message Batch for submitted work');
    assert.equal(api.stats.batchLists, 0, 'the id was recorded: nothing to look for');
    const db = await stored(ws);
    assert.equal(db.conversations, 30);
    assert.equal(db.distinctSlots, 30);
  });

  it('a crash between the POST and recording its id (killed while the API creates the batch): resume finds it in the list, submits nothing again', async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 200 });
    const ws = workspace({ 't.prompt': TEMPLATE });
    let child: ChildProcess | undefined;
    // The batch exists at the API; the client dies before the answer (and its id) reaches it.
    api.onBatchCreated = async () => {
      const exited = new Promise((r) => child!.once('exit', r));
      child!.kill('SIGKILL');
      await exited;
    };
    const killed = await runCli(['generate', 't.prompt', '--param', 'persona=Near Retiree', '--count', '12', '--batch-api'], ws, env(), (c) => (child = c));
    assert.equal(killed.code, null, 'killed');
    api.onBatchCreated = undefined;
    const before = await Store.open(ws);
    assert.deepEqual(await before.all('SELECT state, anthropic_id, request_count FROM message_batches'), [{ state: 'submitting', anthropic_id: null, request_count: 12 }], 'recorded before the POST');
    before.close();
    const resumed = await runCli(['resume', '--format', 'json'], ws, env());
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(api.stats.batchCreates, 1, 'matched, not submitted again');
    assert.ok(api.stats.batchLists >= 1, 'the account’s list was searched');
    assert.deepEqual(summaryOf(resumed).messageBatches, [api.messageBatches[0]!.id]);
    assert.equal((await stored(ws)).conversations, 12);
  });

  it('a crash after recording the intent, before the POST got through: resume finds nothing in the list and submits once', async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 100 });
    const ws = workspace({ 't.prompt': TEMPLATE });
    let child: ChildProcess | undefined;
    api.onBatchCreateReceived = async () => {
      const exited = new Promise((r) => child!.once('exit', r));
      child!.kill('SIGKILL');
      await exited;
      return false;
    };
    const killed = await runCli(['generate', 't.prompt', '--param', 'persona=Near Retiree', '--count', '7', '--batch-api'], ws, env(), (c) => (child = c));
    assert.equal(killed.code, null, 'killed');
    api.onBatchCreateReceived = undefined;
    assert.equal(api.stats.batchCreates, 0);
    const resumed = await runCli(['resume', '--format', 'json'], ws, env());
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.ok(api.stats.batchLists >= 1, 'looked for it first');
    assert.equal(api.stats.batchCreates, 1);
    assert.equal(summaryOf(resumed).succeeded, 7);
    assert.equal((await stored(ws)).conversations, 7);
  });

  it('--detach prints the Message Batch ids and exits 0; resume collects them', async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 200 });
    const ws = workspace({ 't.prompt': TEMPLATE });
    const detached = await runCli(['generate', 't.prompt', '--param', 'persona=Near Retiree', '--count', '8', '--batch-api', '--detach'], ws, env());
    assert.equal(detached.code, 0, detached.stderr);
    assert.deepEqual(detached.stdout.trim().split('\n'), api.messageBatches.map((b) => b.id));
    assert.match(detached.stderr, /collect with: promptloom resume --batch /);
    assert.equal((await stored(ws)).conversations, 0);
    const resumed = await runCli(['resume', '--format', 'json'], ws, env());
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(summaryOf(resumed).succeeded, 8);
    assert.equal(api.stats.batchCreates, 1);
    assert.equal((await stored(ws)).conversations, 8);
    const nothing = await runCli(['resume'], ws, env());
    assert.match(nothing.stderr, /no unfinished batch to resume/);
  });

  it('--detach with a budget that lets only part be submitted says so and exits 1', async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 200 });
    const ws = workspace({ 't.prompt': TEMPLATE });
    const detached = await runCli(['generate', 't.prompt', '--param', 'persona=Near Retiree', '--count', '5', '--batch-api', '--detach', '--max-tokens', '1000', '--budget-usd', '0.02'], ws, env());
    assert.equal(detached.code, 1, detached.stderr);
    assert.deepEqual(detached.stdout.trim().split('\n'), api.messageBatches.map((b) => b.id));
    assert.match(detached.stderr, /collect with: promptloom resume --batch /);
    assert.match(detached.stderr, /^promptloom: the batch stopped: .*would cross the budget of \$0\.02 .*: 3 not submitted$/m);
  });

  it('Ctrl+C while waiting leaves the Message Batch running (never cancels paid work) and says how to collect it', async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 60_000 });
    const ws = workspace({ 't.prompt': TEMPLATE });
    const run = await runCli(['generate', 't.prompt', '--param', 'persona=Near Retiree', '--count', '3', '--batch-api', '--format', 'json'], ws, env(), (child) => {
      // Polling has begun, so the command's own handler exists.
      void until(() => api.stats.batchRetrieves >= 1).then(() => child.kill('SIGINT'));
    });
    assert.equal(run.code, 0, run.stderr);
    const summary = summaryOf(run);
    assert.equal(summary.stopped, 'detached');
    assert.deepEqual(summary.messageBatches, [api.messageBatches[0]!.id]);
    assert.match(run.stderr, /collect with: promptloom resume --batch /);
    assert.equal(api.stats.batchCancels, 0);
    assert.equal(api.messageBatches[0]!.status, 'in_progress');
  });

  it('errored (overloaded) and expired results are resubmitted in a follow-up Message Batch', async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 100 });
    const ws = workspace({ 't.prompt': TEMPLATE });
    api.scriptBatch({ kind: 'errored', type: 'overloaded_error' }, { kind: 'ok' }, { kind: 'expired' }, { kind: 'ok' });
    const run = await runCli(['generate', 't.prompt', '--param', 'persona=Near Retiree', '--count', '4', '--batch-api', '--format', 'json'], ws, env());
    assert.equal(run.code, 0, run.stderr);
    const summary = summaryOf(run);
    assert.equal(summary.succeeded, 4);
    assert.equal(summary.messageBatches.length, 2);
    assert.deepEqual(api.messageBatches.map((b) => b.customIds.length), [4, 2]);
    const db = await stored(ws);
    assert.equal(db.conversations, 4);
    assert.equal(db.logs, 6, 'four answers and the two failed attempts');
  });

  it('a low credit balance stops the batch with one line saying so', async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 50 });
    const ws = workspace({ 't.prompt': TEMPLATE });
    api.scriptBatch({ kind: 'errored', type: 'invalid_request_error', message: 'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.' });
    const run = await runCli(['generate', 't.prompt', '--param', 'persona=Near Retiree', '--count', '2', '--batch-api'], ws, env());
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^promptloom: the account's credit balance is too low .* then run promptloom resume$/m);
    assert.equal(api.stats.batchCreates, 1);
  });

  it('promptloom cancel cancels the running Message Batch; the generating process stops; resume finishes the batch', async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 60_000 });
    const ws = workspace({ 't.prompt': TEMPLATE });
    const generating = runCli(['generate', 't.prompt', '--param', 'persona=Near Retiree', '--count', '5', '--batch-api', '--format', 'json'], ws, env());
    await until(() => api.stats.batchRetrieves >= 1);
    const cancel = await runCli(['cancel', '--format', 'json'], ws, env());
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.deepEqual((JSON.parse(cancel.stdout) as { messageBatches: string[] }).messageBatches, [api.messageBatches[0]!.id]);
    const run = await generating;
    assert.equal(run.code, 1);
    const summary = summaryOf(run);
    assert.equal(summary.stopped, 'cancelled');
    assert.equal(summary.remaining, 5);
    assert.match(run.stderr, /finish with: promptloom resume --batch /);
    assert.equal(api.stats.batchCancels, 1);
    const fast = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 50 });
    try {
      const resumed = await runCli(['resume', '--format', 'json'], ws, { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: fast.url });
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.equal(summaryOf(resumed).succeeded, 5);
    } finally {
      await fast.stop();
    }
  });

  it('promptloom cancel after some requests were answered: those are stored, once; the canceled rest is left, and resume sends exactly those', async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 60_000 });
    const ws = workspace({ 't.prompt': TEMPLATE });
    const generating = runCli(['generate', 't.prompt', '--param', 'persona=Near Retiree', '--count', '5', '--batch-api', '--format', 'json'], ws, env());
    await until(() => api.stats.batchRetrieves >= 1);
    // Three of the five are processed (and paid for) before the cancel reaches Anthropic.
    api.processRequests(3);
    const cancel = await runCli(['cancel', '--format', 'json'], ws, env());
    assert.equal(cancel.code, 0, cancel.stderr);
    const run = await generating;
    assert.equal(run.code, 1);
    const summary = summaryOf(run);
    assert.equal(summary.stopped, 'cancelled');
    assert.equal(summary.succeeded, 3);
    assert.equal(summary.conversations.length, 3);
    assert.equal(summary.remaining, 2);
    assert.match(run.stderr, /cancelled: 2 of 5 not generated; finish with: promptloom resume --batch /);
    assert.equal((await stored(ws)).conversations, 3);
    api.batchProcessingMs = 50;
    const resumed = await runCli(['resume', '--format', 'json'], ws, env());
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(summaryOf(resumed).requested, 2);
    assert.equal(summaryOf(resumed).succeeded, 2);
    assert.equal(api.stats.batchCreates, 2);
    assert.equal(api.stats.batchRequests, 5 + 2, 'only the canceled requests sent again');
    const after = await stored(ws);
    assert.equal(after.conversations, 5);
    assert.equal(after.distinctSlots, 5);
  });

  it('promptloom cancel stops a direct batch running in another process', async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY, latencyMs: 150 });
    const ws = workspace({ 't.prompt': TEMPLATE });
    const generating = runCli(['generate', 't.prompt', '--param', 'persona=Near Retiree', '--count', '40', '--concurrency', '1', '--format', 'json'], ws, env());
    await until(() => api.stats.accepted >= 2);
    const cancel = await runCli(['cancel'], ws, env());
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.match(cancel.stdout, /^batch \S+ cancelled\n/);
    const run = await generating;
    const summary = summaryOf(run);
    assert.equal(summary.stopped, 'cancelled');
    assert.ok(summary.remaining > 0);
  });

  it('bad input: one line and exit 2', async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY });
    const ws = workspace({ 't.prompt': TEMPLATE });
    const cases: [string[], RegExp][] = [
      [['generate', 't.prompt', '--param', 'persona=Near Retiree', '--detach'], /--detach leaves Message Batches running: use it with --batch-api/],
      [['cancel'], /no running batch in /],
      [['cancel', '--batch', 'nope'], /no batch nope in /],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args, ws, env());
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });
});
