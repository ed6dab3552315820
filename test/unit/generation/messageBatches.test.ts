import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { realClock, type Clock } from '../../../src/core/generation/engine';
import { countInputTokens, createClient } from '../../../src/core/generation/claude';
import { CACHE_WRITE_MULTIPLIER } from '../../../src/core/generation/promptCache';
import { BATCH_PRICE_FACTOR, cancelBatch, cancelMessageBatches, runMessageBatches, type MessageBatchInput } from '../../../src/core/generation/messageBatches';
import { messageBatchRows, uncollectedMessageBatches } from '../../../src/core/generation/messageBatchRecords';
import { classifyResult } from '../../../src/core/generation/messageBatchResults';
import { runRecordedBatch, type BatchInput } from '../../../src/core/generation/batch';
import { BatchBusyError } from '../../../src/core/generation/batchLease';
import { reconcile, split } from '../../../src/core/generation/messageBatchSubmission';
import { WorkspaceBatchRepository, WorkspaceGenerationRepository, type Store } from '../../../src/core/store';
import { Workspace, openWorkspaceStore } from '../../../src/core/workspace';
import { FakeMessagesApi } from '../../fixtures/fakeMessagesApi';

const KEY = 'sk-test-fake-key';
const TEMPLATE = '---\nname: Batched\ntier: template\n---\nWrite a conversation about bonds.\n';

/** The real polling schedule, its waits shortened: the fake ends a Message Batch in 50 ms. */
const quick: Clock = { now: () => Date.now(), sleep: (ms, signal) => realClock.sleep(Math.min(ms, 25), signal) };

describe('Message Batches (core, against the fake API over HTTP)', function () {
  this.timeout(60_000);
  let api: FakeMessagesApi;
  let folder: string;
  let store: Store;
  let workspace: Workspace;
  beforeEach(async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 50 });
    folder = mkdtempSync(join(tmpdir(), 'promptloom-mbatch-'));
    writeFileSync(join(folder, 't.prompt'), TEMPLATE);
    ({ store } = await openWorkspaceStore(folder));
    workspace = new Workspace(folder, [{ maxAttempts: 3 }]);
  });
  afterEach(async () => {
    store.close();
    await api.stop();
  });

  const input = (count: number, extra: Partial<MessageBatchInput> = {}): MessageBatchInput => {
    const prepared = workspace.prepareBatch({ file: join(folder, 't.prompt'), text: TEMPLATE, values: new Map(), count });
    assert.ok(prepared.ok);
    return { ...prepared.input, store, apiKey: KEY, baseURL: api.url, clock: quick, ...extra };
  };
  /** The same prepared batch for the direct path (whose `started` hands over the engine too). */
  const direct = ({ started: _started, ...rest }: MessageBatchInput): BatchInput => rest;
  const count = async (sql: string, params: (string | number)[] = []) => Number((await store.get(sql, params))!.n);

  it('200 conversations, split at the request limit: each stored once, at batch prices, recorded as batch', async () => {
    const outcome = await runMessageBatches(input(200, { limits: { requests: 80, bytes: 256 * 1024 * 1024 } }));
    assert.equal(outcome.summary.succeeded, 200);
    assert.equal(outcome.summary.remaining, 0);
    assert.equal(api.stats.batchCreates, 3, '80 + 80 + 40');
    assert.deepEqual(api.messageBatches.map((b) => b.customIds.length), [80, 80, 40]);
    assert.equal(outcome.messageBatches.length, 3);
    for (const b of api.messageBatches) for (const id of b.customIds) assert.match(id, /^[a-zA-Z0-9_-]{1,64}$/);
    assert.equal(await count('SELECT count(*) AS n FROM conversations WHERE batch_id = ?', [outcome.batchId]), 200);
    assert.equal(await count("SELECT count(*) AS n FROM generation_logs WHERE mode = 'batch' AND status = 'succeeded'"), 200);
    // Sonnet: $3 in, $15 out per million tokens; half in a Message Batch.
    for (const log of await store.all<{ input_tokens: number; output_tokens: number; cost_usd: number }>('SELECT input_tokens, output_tokens, cost_usd FROM generation_logs')) {
      const full = (log.input_tokens * 3 + log.output_tokens * 15) / 1_000_000;
      assert.ok(Math.abs(log.cost_usd - full * BATCH_PRICE_FACTOR) < 1e-12, `${log.cost_usd} is half of ${full}`);
    }
    const total = Number((await store.get('SELECT sum(cost_usd) AS s FROM generation_logs'))!.s);
    assert.ok(Math.abs(outcome.summary.costUsd - total) < 1e-9);
    assert.equal((await new WorkspaceBatchRepository(store).get(outcome.batchId))!.status, 'completed');
    assert.ok(outcome.quality.average !== null);
  });

  it('splits at 256 MB as well: by the size of the JSON', () => {
    const chunks = split([40, 40, 40, 40, 40], (n) => n, { requests: 100, bytes: 150 });
    assert.deepEqual(chunks.map((c) => c.length), [2, 2, 1]);
  });

  it('errored (overloaded, api_error) and expired results are resubmitted in a follow-up Message Batch; an invalid request fails for good', async () => {
    api.scriptBatch({ kind: 'errored', type: 'overloaded_error' }, { kind: 'ok' }, { kind: 'expired' }, { kind: 'errored', type: 'api_error' }, { kind: 'errored', type: 'invalid_request_error', message: 'bad' }, { kind: 'ok' });
    const outcome = await runMessageBatches(input(6));
    assert.equal(api.stats.batchCreates, 2);
    assert.equal(api.messageBatches[1]!.customIds.length, 3, 'the overloaded, the expired and the api_error one');
    assert.equal(outcome.summary.succeeded, 5);
    assert.equal(outcome.summary.failed, 1);
    assert.deepEqual(outcome.summary.failures, [{ type: 'invalid_request', count: 1 }]);
    assert.equal(outcome.summary.retries, 3);
    assert.deepEqual(
      (await store.all("SELECT error_type FROM generation_logs WHERE status = 'failed' ORDER BY error_type")).map((r) => r.error_type),
      ['expired', 'invalid_request', 'overloaded', 'server_error'],
    );
    assert.equal((await new WorkspaceBatchRepository(store).get(outcome.batchId))!.status, 'failed');
    // A resume tries the slot that failed for good afresh, as the direct path's resume does.
    const resumed = await runMessageBatches({ ...(await workspace.prepareMessageBatchResume(store, (await new WorkspaceBatchRepository(store).get(outcome.batchId))!)), apiKey: KEY, baseURL: api.url, clock: quick });
    assert.equal(resumed.summary.requested, 1);
    assert.equal(resumed.summary.succeeded, 1);
    assert.equal(await count('SELECT count(*) AS n FROM conversations'), 6);
    assert.equal((await new WorkspaceBatchRepository(store).get(outcome.batchId))!.status, 'completed');
  });

  it('retries stop at the attempt limit', async () => {
    workspace = new Workspace(folder, [{ maxAttempts: 2 }]);
    api.scriptBatch({ kind: 'expired' }, { kind: 'expired' });
    const outcome = await runMessageBatches(input(1));
    assert.equal(api.stats.batchCreates, 2);
    assert.equal(outcome.summary.succeeded, 0);
    assert.equal(outcome.summary.failed, 1);
  });

  it('a low credit balance stops and says so; resume sends those requests again', async () => {
    api.scriptBatch({ kind: 'errored', type: 'invalid_request_error', message: 'Your credit balance is too low to access the Anthropic API.' }, { kind: 'ok' });
    const outcome = await runMessageBatches(input(2));
    assert.equal(outcome.summary.stopped, 'fatal');
    assert.match(outcome.summary.stopReason!, /credit balance is too low/);
    assert.equal(api.stats.batchCreates, 1, 'no follow-up');
    const resumed = await runMessageBatches({ ...(await workspace.prepareMessageBatchResume(store, (await new WorkspaceBatchRepository(store).get(outcome.batchId))!)), apiKey: KEY, baseURL: api.url, clock: quick });
    assert.equal(resumed.summary.succeeded, 1);
    assert.equal(await count('SELECT count(*) AS n FROM conversations'), 2);
  });

  it('a Message Batch is submitted only as far as its worst case fits the batch budget; the daily budget counts what was spent today', async () => {
    workspace = new Workspace(folder, [{ maxTokens: 1000, budgetUsd: 0.02 }]);
    // $15 per million output tokens, halved: 1,000 tokens out cost $0.0075 at most, input a little more: two fit in $0.02.
    const outcome = await runMessageBatches(input(5));
    assert.equal(outcome.summary.stopped, 'budget');
    assert.match(outcome.summary.stopReason!, /would cross the budget of \$0\.02 .*3 not submitted/);
    assert.deepEqual(api.messageBatches.map((b) => b.customIds.length), [2]);
    assert.equal(outcome.summary.succeeded, 2);
    assert.ok(outcome.summary.costUsd <= 0.02);

    // A daily budget already spent: nothing is submitted.
    workspace = new Workspace(folder, [{ maxTokens: 1000, dailyBudgetUsd: outcome.summary.costUsd + 0.001 }]);
    const daily = await runMessageBatches(input(5));
    assert.equal(daily.summary.stopped, 'budget');
    assert.equal(api.stats.batchCreates, 1);
  });

  it('the batch budget holds across resumes: what earlier runs of the batch spent counts', async () => {
    workspace = new Workspace(folder, [{ maxTokens: 1000, budgetUsd: 0.02 }]);
    const outcome = await runMessageBatches(input(5));
    assert.equal(outcome.summary.stopped, 'budget');
    const resumed = await runMessageBatches({ ...(await workspace.prepareMessageBatchResume(store, (await new WorkspaceBatchRepository(store).get(outcome.batchId))!)), apiKey: KEY, baseURL: api.url, clock: quick });
    assert.equal(resumed.summary.stopped, 'budget');
    const spent = Number((await store.get('SELECT sum(cost_usd) AS s FROM generation_logs WHERE batch_id = ?', [outcome.batchId]))!.s);
    assert.ok(spent <= 0.02, `the batch spent $${spent} of its $0.02 budget`);
    assert.equal(api.stats.batchCreates, 1, 'nothing more submitted');
  });

  it('the batch budget holds across resumes of a direct batch too', async () => {
    workspace = new Workspace(folder, [{ maxTokens: 1000, budgetUsd: 0.04, concurrency: 1 }]);
    const first = await runRecordedBatch(direct(input(5)));
    assert.equal(first.summary.stopped, 'budget');
    const prepared = await workspace.prepareResume(store, first.batchId);
    const resumed = await runRecordedBatch({ ...prepared!, store, apiKey: KEY, baseURL: api.url });
    assert.equal(resumed.summary.stopped, 'budget');
    const spent = Number((await store.get('SELECT sum(cost_usd) AS s FROM generation_logs WHERE batch_id = ?', [first.batchId]))!.s);
    assert.ok(spent <= 0.04, `the batch spent $${spent} of its $0.04 budget`);
  });

  it('a detached Message Batch holds its worst case against the daily budget until it is collected', async () => {
    workspace = new Workspace(folder, [{ maxTokens: 1000, dailyBudgetUsd: 0.02 }]);
    const first = await runMessageBatches(input(2, { detach: true }));
    assert.equal(first.summary.stopped, 'detached');
    const held = Number((await store.get('SELECT worst_case_usd AS usd FROM message_batches'))!.usd);
    assert.ok(held > 0.015 && held <= 0.02, `two requests' worst case: ${held}`);
    const second = await runMessageBatches(input(2));
    assert.equal(second.summary.stopped, 'budget');
    assert.match(second.summary.stopReason!, /held by Message Batches not yet collected/);
    assert.equal(api.stats.batchCreates, 1, 'nothing more submitted while the first is out');
  });

  it('a detached Message Batch holds its worst case against the daily budget of a direct run too', async () => {
    workspace = new Workspace(folder, [{ maxTokens: 1000, dailyBudgetUsd: 0.02 }]);
    const first = await runMessageBatches(input(2, { detach: true }));
    assert.equal(first.summary.stopped, 'detached');
    const directRun = await runRecordedBatch(direct(input(2)));
    assert.equal(directRun.summary.stopped, 'budget');
    assert.equal(api.stats.requests, 0, 'no direct request while the Message Batch holds the daily budget');
  });

  it('a cached prefix is held at the cache-write price: requests of a Message Batch run side by side, and each may write it', async () => {
    const system = 'Stable instructions for every conversation. '.repeat(200);
    const text = `---\nname: Cached\ntier: template\nsystem: "${system}"\n---\nWrite a conversation about bonds.\n`;
    writeFileSync(join(folder, 'c.prompt'), text);
    workspace = new Workspace(folder, [{ maxTokens: 1000, dailyBudgetUsd: 10 }]);
    const prepared = workspace.prepareBatch({ file: join(folder, 'c.prompt'), text, values: new Map(), count: 2 });
    assert.ok(prepared.ok);
    await runMessageBatches({ ...prepared.input, store, apiKey: KEY, baseURL: api.url, clock: quick, detach: true });
    const held = Number((await store.get('SELECT worst_case_usd AS usd FROM message_batches'))!.usd);
    const client = createClient({ apiKey: KEY, baseURL: api.url, timeoutMs: 5000 });
    const tokens = await countInputTokens(client, { model: prepared.input.model.id, prompt: prepared.input.rendered.prompt, system: prepared.input.rendered.system!, maxTokens: 1000 });
    const model = prepared.input.model;
    const worst = (2 * (tokens * CACHE_WRITE_MULTIPLIER * model.inputPrice + 1000 * model.outputPrice) * BATCH_PRICE_FACTOR) / 1e6;
    assert.ok(held >= worst - 1e-12, `held $${held}, worst case $${worst}`);
  });

  it('a rejected key: one line saying so, nothing submitted', async () => {
    const outcome = await runMessageBatches({ ...input(3), apiKey: 'sk-wrong' });
    assert.equal(outcome.summary.stopped, 'fatal');
    assert.match(outcome.summary.stopReason!, /the API key was rejected/);
    assert.equal(api.stats.batchCreates, 0);
    assert.equal((await new WorkspaceBatchRepository(store).get(outcome.batchId))!.status, 'failed');
    // What was recorded before the POST is marked lost: a resume submits those slots again.
    assert.deepEqual((await store.all('SELECT state FROM message_batches')).map((r) => r.state), ['lost']);
    const resumed = await runMessageBatches({ ...(await workspace.prepareMessageBatchResume(store, (await new WorkspaceBatchRepository(store).get(outcome.batchId))!)), apiKey: KEY, baseURL: api.url, clock: quick });
    assert.equal(resumed.summary.succeeded, 3);
  });

  it('detach, cancel, then one resume: the canceled results are taken in and those requests sent again', async () => {
    api.batchProcessingMs = 60_000;
    const detached = await runMessageBatches(input(4, { detach: true }));
    const batches = new WorkspaceBatchRepository(store);
    assert.deepEqual(await cancelMessageBatches(store, createClient({ apiKey: KEY, baseURL: api.url, timeoutMs: 5000 }), detached.batchId), detached.messageBatches);
    await batches.setStatus(detached.batchId, 'cancelled'); // as promptloom cancel does
    api.batchProcessingMs = 50;
    const resumed = await runMessageBatches({ ...(await workspace.prepareMessageBatchResume(store, (await batches.get(detached.batchId))!)), apiKey: KEY, baseURL: api.url, clock: quick });
    assert.equal(resumed.summary.succeeded, 4);
    assert.equal(api.stats.batchCreates, 2);
    assert.equal(resumed.messageBatches.length, 2, 'the canceled one collected, the new one');
    assert.equal((await batches.get(detached.batchId))!.status, 'completed');
  });

  it('cancelling twice (the CLI, then a run that sees it; or Cancel pressed again) asks the API once', async () => {
    api.batchProcessingMs = 60_000;
    const detached = await runMessageBatches(input(3, { detach: true }));
    const client = createClient({ apiKey: KEY, baseURL: api.url, timeoutMs: 5000 });
    assert.deepEqual(await cancelMessageBatches(store, client, detached.batchId), detached.messageBatches);
    assert.deepEqual(await cancelMessageBatches(store, client, detached.batchId), detached.messageBatches, 'canceling still');
    assert.equal(api.stats.batchCancels, 1);
  });

  it('the editor\'s Collect of a cancelled batch (finishCancelled: false) takes the canceled results in and sends nothing again', async () => {
    api.batchProcessingMs = 60_000;
    let told: string | undefined;
    const detached = await runMessageBatches(input(4, { detach: true, started: (id) => (told = id) }));
    assert.equal(told, detached.batchId);
    const batches = new WorkspaceBatchRepository(store);
    // Listed as still at Anthropic: the editor's start-up notice and queue read this.
    assert.deepEqual(
      (await uncollectedMessageBatches(store)).map((b) => ({ batchId: b.batchId, templatePath: b.templatePath, requested: b.requested, messageBatches: b.messageBatches, anthropicIds: b.anthropicIds })),
      [{ batchId: detached.batchId, templatePath: 't.prompt', requested: 4, messageBatches: 1, anthropicIds: detached.messageBatches }],
    );
    let clients = 0;
    const client = () => (clients++, createClient({ apiKey: KEY, baseURL: api.url, timeoutMs: 5000 }));
    assert.deepEqual(await cancelBatch(store, (await batches.get(detached.batchId))!, client), detached.messageBatches);
    assert.equal((await batches.get(detached.batchId))!.status, 'cancelled');
    api.batchProcessingMs = 50;
    const collected = await runMessageBatches({ ...(await workspace.prepareMessageBatchResume(store, (await batches.get(detached.batchId))!)), apiKey: KEY, baseURL: api.url, clock: quick, finishCancelled: false });
    assert.equal(collected.summary.stopped, 'cancelled');
    assert.equal(collected.summary.succeeded, 0);
    assert.equal(collected.summary.remaining, 4);
    assert.equal(api.stats.batchCreates, 1, 'nothing sent again');
    assert.equal((await batches.get(detached.batchId))!.status, 'cancelled');
    assert.deepEqual(await uncollectedMessageBatches(store), []);
    // Nothing left at Anthropic: cancelling again makes no client and changes nothing.
    assert.deepEqual(await cancelBatch(store, (await batches.get(detached.batchId))!, client), []);
    assert.equal(clients, 1);
  });

  it('a cancel stops only the requests not processed yet: those answered before it are stored once, the canceled ones left to resume, which sends exactly those', async () => {
    api.batchProcessingMs = 60_000;
    const detached = await runMessageBatches(input(5, { detach: true }));
    // Two of the five are answered (and paid for) before the cancel.
    api.processRequests(2);
    const batches = new WorkspaceBatchRepository(store);
    const client = () => createClient({ apiKey: KEY, baseURL: api.url, timeoutMs: 5000 });
    assert.deepEqual(await cancelBatch(store, (await batches.get(detached.batchId))!, client), detached.messageBatches);
    api.batchProcessingMs = 50;
    // The editor's Collect (the shared core): the two answers stored, nothing sent again.
    const resumeOf = async (extra: Partial<MessageBatchInput> = {}) => runMessageBatches({ ...(await workspace.prepareMessageBatchResume(store, (await batches.get(detached.batchId))!)), apiKey: KEY, baseURL: api.url, clock: quick, ...extra });
    const collected = await resumeOf({ finishCancelled: false });
    // At Anthropic: canceling, then ended, its counts saying which requests were canceled.
    const ended = await client().messages.batches.retrieve(detached.messageBatches[0]!);
    assert.equal(ended.processing_status, 'ended');
    assert.deepEqual(ended.request_counts, { processing: 0, succeeded: 2, errored: 0, canceled: 3, expired: 0 });
    assert.equal(collected.summary.stopped, 'cancelled');
    assert.equal(collected.summary.succeeded, 2);
    assert.equal(collected.summary.remaining, 3);
    assert.equal(collected.conversations.length, 2);
    assert.equal(await count('SELECT count(*) AS n FROM conversations WHERE batch_id = ?', [detached.batchId]), 2);
    assert.equal(api.stats.batchCreates, 1);
    // Collecting again stores and counts nothing twice.
    const again = await resumeOf({ finishCancelled: false });
    assert.equal(again.summary.succeeded, 0);
    assert.equal(await count('SELECT count(*) AS n FROM conversations'), 2);
    // resume finishes the batch: exactly the three canceled requests are sent again.
    const resumed = await resumeOf();
    assert.equal(resumed.summary.requested, 3);
    assert.equal(resumed.summary.succeeded, 3);
    assert.equal(api.stats.batchCreates, 2);
    assert.equal(api.stats.batchRequests, 5 + 3);
    assert.equal(await count('SELECT count(*) AS n FROM conversations'), 5);
    assert.equal(await count("SELECT count(DISTINCT substr(custom_id, instr(custom_id, '-') + 1)) AS n FROM message_batch_results WHERE result = 'succeeded'"), 5);
    assert.equal((await batches.get(detached.batchId))!.status, 'completed');
  });

  it('the error type is read at result.error.error.type', () => {
    const errored = (type: string, message = 'x') => ({ type: 'errored' as const, error: { type: 'error' as const, error: { type, message }, request_id: null } }) as never;
    assert.deepEqual(classifyResult(errored('overloaded_error')), { kind: 'retry', errorType: 'overloaded' });
    assert.deepEqual(classifyResult(errored('api_error')), { kind: 'retry', errorType: 'server_error' });
    assert.deepEqual(classifyResult(errored('invalid_request_error')), { kind: 'final', errorType: 'invalid_request' });
    assert.deepEqual(classifyResult(errored('invalid_request_error', 'Your credit balance is too low')), { kind: 'credit' });
    assert.deepEqual(classifyResult({ type: 'expired' }), { kind: 'retry', errorType: 'expired' });
  });

  it('detach, then resume: collects without a second submission; results read twice are stored once', async () => {
    const detached = await runMessageBatches(input(10, { detach: true }));
    assert.equal(detached.summary.stopped, 'detached');
    assert.equal(detached.messageBatches.length, 1);
    assert.equal(await count('SELECT count(*) AS n FROM conversations'), 0);
    const batch = async () => (await new WorkspaceBatchRepository(store).get(detached.batchId))!;
    assert.equal((await batch()).status, 'running');
    const resume = async () => runMessageBatches({ ...(await workspace.prepareMessageBatchResume(store, await batch())), apiKey: KEY, baseURL: api.url, clock: quick });
    const collected = await resume();
    assert.equal(collected.summary.succeeded, 10);
    assert.deepEqual(collected.messageBatches, detached.messageBatches);
    // As if the process died before marking the Message Batch collected: read again, nothing added.
    await store.write((tx) => tx.run("UPDATE message_batches SET state = 'submitted'"));
    const again = await resume();
    assert.equal(again.summary.succeeded, 0);
    assert.equal(api.stats.batchCreates, 1);
    assert.equal(await count('SELECT count(*) AS n FROM conversations'), 10);
    assert.equal(await count('SELECT count(*) AS n FROM generation_logs'), 10);
    assert.equal((await batch()).status, 'completed');
  });

  it('a row left "submitting" (the POST answered, the id never recorded) is matched in the account’s list, not submitted again', async () => {
    // Someone else's Message Batch of another size in the same account, made first.
    const other = await runMessageBatches(input(3, { detach: true }));
    const detached = await runMessageBatches(input(4, { detach: true }));
    await store.write((tx) => tx.run("UPDATE message_batches SET anthropic_id = NULL, state = 'submitting', submitted_at = NULL WHERE batch_id = ?", [detached.batchId]));
    const batch = (await new WorkspaceBatchRepository(store).get(detached.batchId))!;
    const resumed = await runMessageBatches({ ...(await workspace.prepareMessageBatchResume(store, batch)), apiKey: KEY, baseURL: api.url, clock: quick });
    assert.equal(api.stats.batchCreates, 2, 'no second submission');
    assert.ok(api.stats.batchLists >= 1);
    assert.deepEqual(resumed.messageBatches, detached.messageBatches);
    assert.equal(resumed.summary.succeeded, 4);
    assert.equal(await count('SELECT count(*) AS n FROM conversations WHERE batch_id = ?', [detached.batchId]), 4);
    assert.notDeepEqual(other.messageBatches, detached.messageBatches);
  });

  it('a row left "submitting" whose Message Batch still runs: the only candidate of its size is adopted, its results checked by custom id', async () => {
    const slow = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 1500 });
    try {
      const detached = await runMessageBatches({ ...input(6, { detach: true }), baseURL: slow.url });
      await store.write((tx) => tx.run("UPDATE message_batches SET anthropic_id = NULL, state = 'submitting', submitted_at = NULL"));
      assert.equal(slow.messageBatches[0]!.status, 'in_progress');
      const resumed = await runMessageBatches({ ...(await workspace.prepareMessageBatchResume(store, (await new WorkspaceBatchRepository(store).get(detached.batchId))!)), apiKey: KEY, baseURL: slow.url, clock: quick });
      assert.equal(slow.stats.batchCreates, 1);
      assert.equal(resumed.summary.succeeded, 6);
      assert.deepEqual(resumed.messageBatches, detached.messageBatches);
    } finally {
      await slow.stop();
    }
  });

  it('several running Message Batches of the row’s size: waited for, and told apart by their custom ids', async () => {
    api.batchProcessingMs = 300;
    const detached = await runMessageBatches(input(3, { detach: true }));
    await store.write((tx) => tx.run("UPDATE message_batches SET anthropic_id = NULL, state = 'submitting', submitted_at = NULL"));
    // Someone else's Message Batch of the same size, in the same account, made after ours.
    const client = createClient({ apiKey: KEY, baseURL: api.url, timeoutMs: 5000 });
    const params = { model: 'claude-sonnet-5-5', max_tokens: 10, messages: [{ role: 'user' as const, content: 'hi' }] };
    await client.messages.batches.create({ requests: ['x0', 'x1', 'x2'].map((custom_id) => ({ custom_id, params })) });
    const resumed = await runMessageBatches({ ...(await workspace.prepareMessageBatchResume(store, (await new WorkspaceBatchRepository(store).get(detached.batchId))!)), apiKey: KEY, baseURL: api.url, clock: quick });
    assert.deepEqual(resumed.messageBatches, detached.messageBatches, 'ours, not the other');
    assert.equal(api.stats.batchCreates, 2, 'nothing submitted again');
    assert.equal(resumed.summary.succeeded, 3);
  });

  it('the only running candidate turns out to be someone else’s: the account is searched again, then the row’s requests sent', async () => {
    // The create POST never gets through (the connection drops): the row stays 'submitting'.
    api.onBatchCreateReceived = () => false;
    const failed = await runMessageBatches(input(3));
    api.onBatchCreateReceived = undefined;
    assert.equal(failed.summary.stopped, 'fatal');
    assert.deepEqual((await store.all('SELECT state FROM message_batches')).map((r) => r.state), ['submitting']);
    const client = createClient({ apiKey: KEY, baseURL: api.url, timeoutMs: 5000 });
    const params = { model: 'claude-sonnet-5-5', max_tokens: 10, messages: [{ role: 'user' as const, content: 'hi' }] };
    api.batchProcessingMs = 300;
    const other = await client.messages.batches.create({ requests: ['x0', 'x1', 'x2'].map((custom_id) => ({ custom_id, params })) });
    api.batchProcessingMs = 50;
    const resumed = await runMessageBatches({ ...(await workspace.prepareMessageBatchResume(store, (await new WorkspaceBatchRepository(store).get(failed.batchId))!)), apiKey: KEY, baseURL: api.url, clock: quick });
    assert.equal(resumed.summary.succeeded, 3);
    assert.equal(api.stats.batchCreates, 2, 'the other one and ours');
    assert.deepEqual((await store.all('SELECT state FROM message_batches ORDER BY created_at')).map((r) => r.state), ['collected'], 'the same row (and custom ids), sent once nothing of its own was found');
    assert.deepEqual(resumed.messageBatches, [other.id, api.messageBatches[1]!.id], 'adopted, found foreign, then ours sent');
    assert.equal(await count('SELECT count(*) AS n FROM conversations'), 3, 'nothing of the other batch stored');
  });

  it('our POST timed out and its Message Batch was made only after the adoption of someone else’s: ours is found then, not sent again', async () => {
    workspace = new Workspace(folder, [{ maxAttempts: 3, timeoutMs: 300 }]);
    const client = createClient({ apiKey: KEY, baseURL: api.url, timeoutMs: 5000 });
    const params = { model: 'claude-sonnet-5-5', max_tokens: 10, messages: [{ role: 'user' as const, content: 'hi' }] };
    api.batchProcessingMs = 1_500;
    const other = await client.messages.batches.create({ requests: ['x0', 'x1', 'x2'].map((custom_id) => ({ custom_id, params })) });
    api.batchProcessingMs = 100;
    // The server takes our POST in, but makes the Message Batch only after the client gave up on it.
    api.onBatchCreateReceived = async () => {
      api.onBatchCreateReceived = undefined;
      await new Promise((r) => setTimeout(r, 600));
      return true;
    };
    const outcome = await runMessageBatches(input(3));
    assert.equal(api.stats.batchCreates, 2, 'the other one and ours: ours never sent twice');
    assert.equal(outcome.summary.succeeded, 3);
    assert.ok(outcome.messageBatches.includes(other.id) && outcome.messageBatches.includes(api.messageBatches[1]!.id));
    assert.equal(await count('SELECT count(*) AS n FROM conversations'), 3);
    assert.deepEqual((await store.all('SELECT state FROM message_batches')).map((r) => r.state), ['collected']);
  });

  it('results that could not be stored (nor kept aside) are read again by resume, not paid for again', async () => {
    const generations = WorkspaceGenerationRepository.prototype as unknown as Record<'record' | 'recordMany', unknown>;
    const { record, recordMany } = generations;
    const refuse = () => Promise.reject(new Error('disk full'));
    generations.record = refuse;
    generations.recordMany = refuse;
    // Nor can it be kept aside: a file where the side folder would be.
    writeFileSync(join(folder, '.promptloom', 'unstored'), '');
    let outcome;
    try {
      outcome = await runMessageBatches(input(2));
    } finally {
      generations.record = record;
      generations.recordMany = recordMany;
      rmSync(join(folder, '.promptloom', 'unstored'));
    }
    assert.equal(outcome.summary.stopped, 'error');
    assert.match(outcome.summary.stopReason!, /run promptloom resume to take the results in again/);
    const resumed = await runMessageBatches({ ...(await workspace.prepareMessageBatchResume(store, (await new WorkspaceBatchRepository(store).get(outcome.batchId))!)), apiKey: KEY, baseURL: api.url, clock: quick });
    assert.equal(resumed.summary.succeeded, 2);
    assert.equal(api.stats.batchCreates, 1, 'taken in from the Message Batch already paid for, not submitted again');
  });

  it('a resume while another run of the batch still works is refused: nothing is submitted or generated twice', async () => {
    let refusedMb: unknown;
    let refusedDirect: unknown;
    api.onBatchCreateReceived = async () => {
      api.onBatchCreateReceived = undefined;
      // `promptloom resume` in another terminal, while this run's create POST is on its way.
      const { store: other } = await openWorkspaceStore(folder);
      try {
        const batch = (await new WorkspaceBatchRepository(other).unfinished())[0]!;
        refusedMb = await runMessageBatches({ ...(await workspace.prepareMessageBatchResume(other, batch)), apiKey: KEY, baseURL: api.url, clock: quick }).catch((e: unknown) => e);
        refusedDirect = await runRecordedBatch({ ...(await workspace.prepareResume(other, batch.id))!, store: other, apiKey: KEY, baseURL: api.url }).catch((e: unknown) => e);
      } finally {
        other.close();
      }
      return true;
    };
    const outcome = await runMessageBatches(input(4));
    assert.ok(refusedMb instanceof BatchBusyError && refusedDirect instanceof BatchBusyError, String(refusedMb));
    assert.match((refusedMb as Error).message, /^batch \S+ is being run by process \d+.*: wait for it to finish, or stop it with promptloom cancel --batch /);
    assert.equal(outcome.summary.succeeded, 4);
    assert.equal(api.stats.batchCreates, 1);
    assert.equal(api.stats.requests, 0);
    // Once it is done, the lease is free again.
    const again = await runMessageBatches({ ...(await workspace.prepareMessageBatchResume(store, (await new WorkspaceBatchRepository(store).get(outcome.batchId))!)), apiKey: KEY, baseURL: api.url, clock: quick });
    assert.equal(again.summary.succeeded, 0);
  });

  it('a direct resume planned before another run stored more is refused (its count is stale)', async () => {
    workspace = new Workspace(folder, [{ maxTokens: 1000, budgetUsd: 0.04, concurrency: 1 }]);
    const first = await runRecordedBatch(direct(input(5)));
    const prepared = (await workspace.prepareResume(store, first.batchId))!;
    // Another process finishes the batch meanwhile.
    const { budgetUsd: _spent, ...unlimited } = prepared.settings;
    const finished = await runRecordedBatch({ ...(await workspace.prepareResume(store, first.batchId))!, settings: unlimited, store, apiKey: KEY, baseURL: api.url });
    assert.equal(finished.summary.remaining, 0);
    const requests = api.stats.requests;
    await assert.rejects(runRecordedBatch({ ...prepared, store, apiKey: KEY, baseURL: api.url }), /stored conversations while this resume was being prepared: run promptloom resume again/);
    assert.equal(api.stats.requests, requests);
  });

  it('the fake lists Message Batches newest first, in pages the SDK follows (after_id), and back (before_id)', async () => {
    const client = createClient({ apiKey: KEY, baseURL: api.url, timeoutMs: 5000 });
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push((await client.messages.batches.create({ requests: [{ custom_id: `r${i}`, params: { model: 'claude-sonnet-5-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] } }] })).id);
    const listed: string[] = [];
    for await (const b of client.messages.batches.list({ limit: 2 })) listed.push(b.id);
    assert.deepEqual(listed, [...made].reverse());
    const before = await client.messages.batches.list({ limit: 2, before_id: made[1]! });
    assert.deepEqual(before.data.map((b) => b.id), [made[3], made[2]]);
    await assert.rejects(client.messages.batches.create({ requests: [{ custom_id: 'has space', params: { model: 'x', max_tokens: 1, messages: [] } }] }), /custom_id/);
  });

  it('a Message Batch adopted on a guess (the only running one of its size) is never canceled: it may be another client\'s', async () => {
    api.batchProcessingMs = 60_000;
    const detached = await runMessageBatches(input(3, { detach: true }));
    // As if our POST had got no answer: the row has no id, the account holds one running batch of its size.
    await store.write((tx) => tx.run("UPDATE message_batches SET anthropic_id = NULL, state = 'submitting', submitted_at = NULL"));
    const client = createClient({ apiKey: KEY, baseURL: api.url, timeoutMs: 5000 });
    const [row] = await messageBatchRows(store, detached.batchId);
    assert.equal(await reconcile(store, client, row!, quick), detached.messageBatches[0], 'adopted: the only candidate');
    const [adopted] = await messageBatchRows(store, detached.batchId);
    assert.deepEqual([adopted!.state, adopted!.confirmed], ['submitted', false]);
    assert.deepEqual(await cancelMessageBatches(store, client, detached.batchId), []);
    assert.equal(api.stats.batchCancels, 0, 'nothing canceled at Anthropic');
    // Its results prove it ours: taken in as usual.
    api.batchProcessingMs = 50;
    api.finishBatches();
    const batch = (await new WorkspaceBatchRepository(store).get(detached.batchId))!;
    const resumed = await runMessageBatches({ ...(await workspace.prepareMessageBatchResume(store, batch)), apiKey: KEY, baseURL: api.url, clock: quick });
    assert.equal(resumed.summary.succeeded, 3);
    assert.equal(api.stats.batchCreates, 1, 'never sent again');
  });

  for (const [skew, offset] of [['behind', -3_600_000], ['ahead of', 3_600_000]] as const) {
    it(`a POST that got no answer, the API's clock an hour ${skew} ours: its Message Batch is found by the API's clock, not sent again`, async () => {
      const skewed = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 50, clockOffsetMs: offset });
      try {
        workspace = new Workspace(folder, [{ maxAttempts: 3, timeoutMs: 300 }]);
        // The Message Batch is made, but its answer comes after the client gave up on it.
        skewed.onBatchCreated = () => new Promise((r) => setTimeout(r, 600));
        const outcome = await runMessageBatches({ ...input(3), baseURL: skewed.url });
        assert.equal(skewed.stats.batchCreates, 1, 'never sent twice');
        assert.ok(skewed.stats.batchLists >= 1, 'searched for');
        assert.equal(outcome.summary.succeeded, 3);
        assert.deepEqual(outcome.messageBatches, [skewed.messageBatches[0]!.id]);
      } finally {
        await skewed.stop();
      }
    });
  }

  it('the API\'s clock an hour ahead of ours: a request\'s duration is read on the API\'s clock alone', async () => {
    const skewed = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 50, clockOffsetMs: 3_600_000 });
    try {
      const outcome = await runMessageBatches({ ...input(2), baseURL: skewed.url });
      assert.equal(outcome.summary.succeeded, 2);
      const durations = (await store.all('SELECT duration_ms AS d FROM generation_logs')).map((r) => Number(r.d));
      assert.equal(durations.length, 2);
      for (const d of durations) assert.ok(d > 0 && d < 60_000, `${d} ms`);
    } finally {
      await skewed.stop();
    }
  });

  it('the API\'s clock an hour ahead of ours: a running Message Batch of the row\'s size made well before the row is not taken for ours', async () => {
    const skewed = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 60_000, clockOffsetMs: 3_600_000 });
    try {
      const client = createClient({ apiKey: KEY, baseURL: skewed.url, timeoutMs: 5000 });
      const params = { model: 'claude-sonnet-5-5', max_tokens: 10, messages: [{ role: 'user' as const, content: 'hi' }] };
      // Our row, whose POST never got through; then someone else's Message Batch of its size,
      // made (as the row's time is moved) half an hour before the row by our clock.
      skewed.onBatchCreateReceived = () => false;
      const failed = await runMessageBatches({ ...input(3), baseURL: skewed.url });
      assert.equal(failed.summary.stopped, 'fatal');
      skewed.onBatchCreateReceived = undefined;
      await client.messages.batches.create({ requests: ['x0', 'x1', 'x2'].map((custom_id) => ({ custom_id, params })) });
      await store.write((tx) => tx.run('UPDATE message_batches SET created_at = ?', [Date.now() + 30 * 60_000]));
      const [row] = await messageBatchRows(store, failed.batchId);
      assert.equal(row!.state, 'submitting');
      assert.equal(await reconcile(store, client, row!, quick), undefined, 'made 30 minutes before our row: not ours');
    } finally {
      await skewed.stop();
    }
  });

  it('a row left "submitting" whose POST never arrived is submitted (once)', async () => {
    const detached = await runMessageBatches(input(4, { detach: true }));
    // The fake forgets it: as if the POST had never reached the server.
    await store.write((tx) => tx.run("UPDATE message_batches SET anthropic_id = NULL, state = 'submitting', submitted_at = NULL, request_count = 4, created_at = ?", [Date.now() + 3_600_000]));
    const batch = (await new WorkspaceBatchRepository(store).get(detached.batchId))!;
    const resumed = await runMessageBatches({ ...(await workspace.prepareMessageBatchResume(store, batch)), apiKey: KEY, baseURL: api.url, clock: quick });
    assert.equal(api.stats.batchCreates, 2);
    assert.equal(resumed.summary.succeeded, 4);
    assert.equal(await count('SELECT count(*) AS n FROM conversations'), 4);
  });

  it('promptloom cancel while the create POST is on its way: the Message Batch it makes is canceled too, and nothing more is sent', async () => {
    api.batchProcessingMs = 2_000;
    // `promptloom cancel` in another process, while this run's POST is in flight: it finds the
    // row 'submitting' (no id to cancel yet) and marks the batch cancelled.
    api.onBatchCreateReceived = async () => {
      api.onBatchCreateReceived = undefined;
      const { store: other } = await openWorkspaceStore(folder);
      try {
        const batchId = String((await other.get('SELECT id FROM batches'))!.id);
        assert.deepEqual(await cancelMessageBatches(other, createClient({ apiKey: KEY, baseURL: api.url, timeoutMs: 5000 }), batchId), []);
        await new WorkspaceBatchRepository(other).setStatus(batchId, 'cancelled');
      } finally {
        other.close();
      }
      return true;
    };
    const started = Date.now();
    const outcome = await runMessageBatches(input(3));
    assert.equal(outcome.summary.stopped, 'cancelled');
    assert.equal(api.stats.batchCancels, 1, 'the run cancels what it submitted once it sees the cancel');
    assert.equal(outcome.summary.succeeded, 0);
    assert.ok(Date.now() - started < 1_500, 'not processed to the end');
    assert.equal((await new WorkspaceBatchRepository(store).get(outcome.batchId))!.status, 'cancelled');
  });

  it('cancel: the canceled requests are not resubmitted by the run that sees the cancel, and are by the next', async () => {
    const slow = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 60_000 });
    try {
      const run = runMessageBatches({ ...input(5), baseURL: slow.url });
      // Cancel once it is submitted (the fake counts creates).
      while (slow.stats.batchCreates === 0) await realClock.sleep(10);
      const batchId = String((await store.get('SELECT id FROM batches'))!.id);
      while (!await store.get("SELECT 1 AS x FROM message_batches WHERE state = 'submitted'")) await new Promise((r) => setTimeout(r, 10));
      const canceled = await cancelMessageBatches(store, createClient({ apiKey: KEY, baseURL: slow.url, timeoutMs: 5000 }), batchId);
      assert.equal(canceled.length, 1);
      const outcome = await run;
      assert.equal(outcome.summary.stopped, 'cancelled');
      assert.equal(outcome.summary.remaining, 5);
      assert.equal(slow.stats.batchCreates, 1);
      assert.equal((await new WorkspaceBatchRepository(store).get(batchId))!.status, 'cancelled');
      assert.equal(await count('SELECT count(*) AS n FROM conversations'), 0);
      // The next run (a resume) sends the canceled requests again, in a new Message Batch (to the quick fake: the slow one would take a minute).
      const resumed = await runMessageBatches({ ...(await workspace.prepareMessageBatchResume(store, (await new WorkspaceBatchRepository(store).get(batchId))!)), apiKey: KEY, baseURL: api.url, clock: quick });
      assert.equal(resumed.summary.succeeded, 5);
      assert.equal(api.stats.batchCreates, 1);
      assert.equal((await new WorkspaceBatchRepository(store).get(batchId))!.status, 'completed');
    } finally {
      await slow.stop();
    }
  });
});
