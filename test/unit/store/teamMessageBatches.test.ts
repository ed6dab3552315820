/**
 * Message Batches on the team store (team migration 10), against a real PostgreSQL and the fake
 * Messages API: the tables mirror the workspace's, row-level security keeps a member's Message
 * Batches and their results theirs (raw SQL as two members), the repository answers per member,
 * a result line is taken in once even when two processes collect it at the same moment (the key
 * decides), a teammate's Message Batch in the same Anthropic account is never adopted, and a team
 * run holds its batch's lease across processes.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'pg';
import { realClock, type Clock } from '../../../src/core/generation/engine';
import { createClient } from '../../../src/core/generation/claude';
import { BatchBusyError } from '../../../src/core/generation/batchLease';
import { runTeamMessageBatches, type TeamMessageBatchInput } from '../../../src/core/generation/messageBatches';
import { messageBatchRows, outstanding, recordIntent, uncollectedMessageBatches } from '../../../src/core/generation/messageBatchRecords';
import { reconcile, submit } from '../../../src/core/generation/messageBatchSubmission';
import { Store, WorkspaceBatchRepository, WorkspaceGenerationRepository, WorkspaceTemplateRepository, type GenerationRecord } from '../../../src/core/store';
import { MessageBatchRepository } from '../../../src/core/store/messageBatches';
import { connectTeamDatabase } from '../../../src/core/store/postgres/connection';
import { initTeamDatabase } from '../../../src/core/store/postgres/setup';
import { PG_MIGRATIONS } from '../../../src/core/store/postgres/migrations';
import { TeamDatabase } from '../../../src/core/store/postgres/teamDatabase';
import { Workspace } from '../../../src/core/workspace';
import { FakeMessagesApi } from '../../fixtures/fakeMessagesApi';
import { startPostgres, type PostgresServer } from '../../helpers/postgres';

const KEY = 'sk-test-fake-key';
const TEMPLATE = '---\nname: Batched\ntier: template\n---\nWrite a conversation about bonds.\n';
/** The real polling schedule, its waits shortened. */
const quick: Clock = { now: () => Date.now(), sleep: (ms, signal) => realClock.sleep(Math.min(ms, 25), signal) };
const request = (customId: string) => ({ custom_id: customId, params: { model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user' as const, content: 'Write a conversation about bonds.' }] } });

describe('Message Batches on the team store (a real PostgreSQL)', function () {
  this.timeout(90_000);
  let server: PostgresServer;
  let api: FakeMessagesApi;
  let alice: TeamDatabase;
  let aliceAgain: TeamDatabase;
  let bob: TeamDatabase;
  let aliceSql: Client;
  let bobSql: Client;
  let ownerSql: Client;

  before(async () => {
    server = await startPostgres();
    await server.createTeam('owner-secret', { alice: 'a-secret', bob: 'b-secret' });
    ownerSql = await connectTeamDatabase(server.url('team_owner', 'owner-secret', 'team'));
    await initTeamDatabase(ownerSql);
    await server.admin(['GRANT promptloom_member TO alice, bob']);
    alice = await TeamDatabase.connect(server.url('alice', 'a-secret', 'team'));
    // A second process of Alice's: its own pool, its own sessions.
    aliceAgain = await TeamDatabase.connect(server.url('alice', 'a-secret', 'team'));
    bob = await TeamDatabase.connect(server.url('bob', 'b-secret', 'team'));
    aliceSql = await connectTeamDatabase(server.url('alice', 'a-secret', 'team'));
    bobSql = await connectTeamDatabase(server.url('bob', 'b-secret', 'team'));
    api = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 50 });
  });

  after(async () => {
    for (const db of [alice, aliceAgain, bob]) await db?.close().catch(() => undefined);
    for (const client of [aliceSql, bobSql, ownerSql]) await client?.end().catch(() => undefined);
    await api?.stop();
    server?.dispose();
  });

  /** A template, version and batch of the member `db` connects as (a template everyone may see). */
  async function batchOf(db: TeamDatabase, path: string): Promise<{ templateId: number; versionId: number; batchId: string }> {
    const templates = new WorkspaceTemplateRepository(db);
    const t = await templates.ensure(path, { name: path, tier: 'template' });
    const v = await templates.recordVersion(t.id, `body of ${path}`);
    const b = await new WorkspaceBatchRepository(db).create({ templateId: t.id, versionId: v.id, requested: 3, parameters: {}, model: 'claude-x', settings: { mode: 'batch' } });
    return { templateId: t.id, versionId: v.id, batchId: b.id };
  }

  /** One succeeded result line of `rowId` as the collector records it: its own new conversation id, as a second collector's would be. */
  function resultRecord(ids: { templateId: number; versionId: number; batchId: string }, rowId: string, customId: string, n: number): GenerationRecord {
    return {
      templateId: ids.templateId,
      versionId: ids.versionId,
      batchId: ids.batchId,
      parameters: {},
      model: 'claude-x',
      attempt: 1,
      status: 'succeeded',
      inputTokens: 10,
      outputTokens: 20,
      costUsd: 0.001,
      durationMs: 5,
      mode: 'batch',
      conversation: {
        turns: [
          { role: 'user', content: `question ${n} about bonds and what they pay each year` },
          { role: 'assistant', content: `answer ${n}: a bond pays its coupon, and its price moves with rates` },
        ],
      },
      batchResult: { messageBatchId: rowId, customId, result: 'succeeded' },
    };
  }

  it('the tables mirror the workspace schema column for column, plus created_by; row-level security FORCEd', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'promptloom-mb-schema-'));
    const store = await Store.open(dir);
    try {
      for (const table of ['message_batches', 'message_batch_results']) {
        const local = (await store.all(`PRAGMA table_info(${table})`)).map((c) => String(c.name)).sort();
        const team = (await alice.all("SELECT column_name FROM information_schema.columns WHERE table_schema = 'promptloom' AND table_name = ?", [table])).map((c) => String(c.column_name)).sort();
        assert.deepEqual(team, [...local, 'created_by'].sort(), table);
      }
    } finally {
      store.close();
    }
    const { rows } = await ownerSql.query<{ relname: string; relrowsecurity: boolean; relforcerowsecurity: boolean }>(
      "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname IN ('message_batches', 'message_batch_results') ORDER BY relname",
    );
    assert.deepEqual(rows, [
      { relname: 'message_batch_results', relrowsecurity: true, relforcerowsecurity: true },
      { relname: 'message_batches', relrowsecurity: true, relforcerowsecurity: true },
    ]);
  });

  it("row-level security: a member reads and writes only the Message Batches they submitted, and their results (raw SQL as two members)", async () => {
    const ids = await batchOf(alice, 'rls.prompt');
    const row = await recordIntent(alice, ids.batchId, ['c0-0', 'c0-1'], 1, 0.02, Date.now());
    await new MessageBatchRepository(alice).markSubmitted(row.id, 'msgbatch_alice_rls', Date.now());
    await new WorkspaceGenerationRepository(alice).record(resultRecord(ids, row.id, row.customIds[0]!, 0));

    // Alice sees hers, authored by the server.
    const hers = await aliceSql.query('SELECT id, anthropic_id, created_by FROM message_batches WHERE batch_id = $1', [ids.batchId]);
    assert.deepEqual(hers.rows, [{ id: row.id, anthropic_id: 'msgbatch_alice_rls', created_by: 'alice' }]);
    assert.equal((await aliceSql.query('SELECT created_by FROM message_batch_results WHERE message_batch_id = $1', [row.id])).rows[0]!.created_by, 'alice');
    // Bob reads the batch (team work) but none of its Message Batches or results.
    assert.equal((await bobSql.query('SELECT 1 FROM batches WHERE id = $1', [ids.batchId])).rowCount, 1);
    assert.equal((await bobSql.query('SELECT 1 FROM message_batches')).rowCount, 0);
    assert.equal((await bobSql.query('SELECT 1 FROM message_batch_results')).rowCount, 0);
    assert.equal(await outstanding(bob), 0, "Alice's worst case is not Bob's to hold");
    assert.ok((await outstanding(alice)) >= 0.02);
    assert.deepEqual(await messageBatchRows(bob, ids.batchId), []);
    // Nor does he change them, add a result to them, or write a row in Alice's name.
    assert.equal((await bobSql.query("UPDATE message_batches SET state = 'lost' WHERE id = $1", [row.id])).rowCount, 0);
    await assert.rejects(
      bobSql.query("INSERT INTO message_batch_results (message_batch_id, custom_id, result, created_at) VALUES ($1, $2, 'succeeded', 1)", [row.id, row.customIds[1]]),
      /row-level security/,
    );
    await assert.rejects(new WorkspaceGenerationRepository(bob).record(resultRecord(ids, row.id, row.customIds[1]!, 1)), /row-level security/);
    await assert.rejects(
      bobSql.query("INSERT INTO message_batches (id, batch_id, state, request_count, custom_ids, attempt, worst_case_usd, created_at, created_by) VALUES ('mbforged', $1, 'submitting', 1, '[]', 1, 0, 1, 'alice')", [ids.batchId]),
      /row-level security/,
    );
    await assert.rejects(aliceSql.query("UPDATE message_batches SET created_by = 'bob' WHERE id = $1", [row.id]), /row-level security/);
    // Members are granted no DELETE.
    await assert.rejects(aliceSql.query('DELETE FROM message_batch_results WHERE message_batch_id = $1', [row.id]), /permission denied/);
    // A Message Batch only for a batch the member may see: Bob's private template's batch is not Alice's to use.
    const privateIds = await batchOf(bob, 'private.prompt');
    await new WorkspaceTemplateRepository(bob).setActive(privateIds.templateId, false);
    await assert.rejects(recordIntent(alice, privateIds.batchId, ['c0-0'], 1, 0.01, Date.now()), /row-level security/);
    const row2 = await aliceSql.query('SELECT state FROM message_batches WHERE id = $1', [row.id]);
    assert.deepEqual(row2.rows, [{ state: 'submitted' }]);
  });

  it('a result line read twice, or collected by two processes at the same moment, is stored once (the key decides)', async () => {
    const ids = await batchOf(alice, 'twice.prompt');
    const keys = Array.from({ length: 40 }, (_, i) => `c0-${i}`);
    const row = await recordIntent(alice, ids.batchId, keys, 1, 0.1, Date.now());
    const records = (db: TeamDatabase) => row.customIds.map((customId, i) => ({ db, record: resultRecord(ids, row.id, customId, i) }));
    const first = new WorkspaceGenerationRepository(alice);
    const second = new WorkspaceGenerationRepository(aliceAgain);
    // Two collectors, each storing the same lines in groups of 10 (the run stores 100 at a time), at once.
    const groups = (repo: WorkspaceGenerationRepository, db: TeamDatabase) =>
      (async () => {
        const all = records(db).map((r) => r.record);
        const outcomes = [];
        for (let i = 0; i < all.length; i += 10) outcomes.push(...(await repo.recordMany(all.slice(i, i + 10))));
        return outcomes;
      })();
    const [a, b] = await Promise.all([groups(first, alice), groups(second, aliceAgain)]);
    const stored = [...a, ...b].filter((o) => !o.alreadyStored);
    assert.equal(stored.length, 40, 'each line stored by exactly one collector');
    // Each collector learns the conversation that won, whichever stored it.
    for (let i = 0; i < 40; i++) assert.equal(a[i]!.conversationId, b[i]!.conversationId, `line ${i}`);
    // Read a third time: nothing new.
    const again = await first.recordMany(records(alice).map((r) => r.record));
    assert.ok(again.every((o) => o.alreadyStored));
    const count = async (sql: string) => Number((await alice.get(sql, [ids.batchId]))!.n);
    assert.equal(await count('SELECT count(*) AS n FROM conversations WHERE batch_id = ?'), 40);
    assert.equal(await count('SELECT count(*) AS n FROM generation_logs WHERE batch_id = ?'), 40);
    assert.equal(await count('SELECT count(*) AS n FROM message_batch_results r JOIN message_batches m ON m.id = r.message_batch_id WHERE m.batch_id = ?'), 40);
    assert.equal(await count('SELECT count(*) AS n FROM turns t JOIN conversations c ON c.id = t.conversation_id WHERE c.batch_id = ?'), 80);
  });

  it("a POST that got no answer is never matched to a teammate's Message Batch of the same size in the same account", async () => {
    const client = createClient({ apiKey: KEY, baseURL: api.url, timeoutMs: 5000 });
    api.batchProcessingMs = 60_000;
    try {
      const alices = await batchOf(alice, 'shared-account-a.prompt');
      const hers = await recordIntent(alice, alices.batchId, ['c0-0', 'c0-1', 'c0-2'], 1, 0.01, Date.now());
      const herId = await submit(alice, client, hers, hers.customIds.map(request), quick);
      // Bob's row of the same size, written before a POST whose answer never came: the only
      // running Message Batch of its size in the account is Alice's, which Bob's rows cannot show.
      const bobs = await batchOf(bob, 'shared-account-b.prompt');
      const his = await recordIntent(bob, bobs.batchId, ['c0-0', 'c0-1', 'c0-2'], 1, 0.01, Date.now());
      const creates = api.stats.batchCreates;
      const adopted = await reconcile(bob, client, his, quick, () => his.customIds.map(request));
      assert.notEqual(adopted, herId);
      assert.equal(api.stats.batchCreates, creates + 1, 'sent again, as none of the account is his');
      assert.deepEqual((await messageBatchRows(bob, bobs.batchId)).map((r) => [r.anthropicId, r.state]), [[adopted, 'submitted']]);
      assert.deepEqual((await messageBatchRows(alice, alices.batchId)).map((r) => [r.anthropicId, r.state]), [[herId, 'submitted']]);
    } finally {
      api.batchProcessingMs = 50;
      api.finishBatches();
    }
  });

  it('a team run holds its batch: a second process is refused while it waits, and collects once it has gone', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'promptloom-mb-team-'));
    writeFileSync(join(folder, 't.prompt'), TEMPLATE);
    const workspace = new Workspace(folder, [{ maxAttempts: 3 }]);
    const prepared = workspace.prepareBatch({ file: join(folder, 't.prompt'), text: TEMPLATE, values: new Map(), count: 4 });
    assert.ok(prepared.ok);
    api.batchProcessingMs = 60_000;
    const stop = new AbortController();
    let batchId: string | undefined;
    const input: TeamMessageBatchInput = { ...prepared.input, db: alice, apiKey: KEY, baseURL: api.url, clock: quick, signal: stop.signal, started: (id) => (batchId = id) };
    const retrieves = api.stats.batchRetrieves; // earlier tests polled the same fake
    const running = runTeamMessageBatches(input);
    while (api.stats.batchRetrieves === retrieves) await new Promise((r) => setTimeout(r, 10));
    const batch = (await new WorkspaceBatchRepository(aliceAgain).get(batchId!))!;
    const resume = async () => {
      const { store: _db, ...again } = await workspace.prepareMessageBatchResume(aliceAgain, batch);
      return runTeamMessageBatches({ ...again, db: aliceAgain, apiKey: KEY, baseURL: api.url, clock: quick });
    };
    await assert.rejects(resume(), (error: Error) => error instanceof BatchBusyError && /being run by another process/.test(error.message));
    // Ctrl+C of the first: it stops waiting (the Message Batch goes on), and lets go of the batch.
    stop.abort();
    const first = await running;
    assert.equal(first.summary.stopped, 'detached');
    assert.deepEqual((await uncollectedMessageBatches(alice)).filter((u) => u.batchId === batchId).map((u) => [u.messageBatches, u.anthropicIds]), [[1, first.messageBatches]]);
    api.batchProcessingMs = 50;
    api.finishBatches();
    const creates = api.stats.batchCreates;
    const collected = await resume();
    assert.equal(collected.summary.succeeded, 4);
    assert.equal(api.stats.batchCreates, creates, 'collected, not sent again');
    assert.deepEqual((await uncollectedMessageBatches(alice)).filter((u) => u.batchId === batchId), []);
    assert.equal((await new WorkspaceBatchRepository(alice).get(batchId!))!.status, 'completed');
  });

  it('a run whose lease is lost (its connection ended) sends nothing more, says to resume; a resume finishes the batch', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'promptloom-mb-lost-'));
    const workspace = new Workspace(folder, [{ maxAttempts: 3 }]);
    const prepared = workspace.prepareBatch({ file: join(folder, 't.prompt'), text: TEMPLATE, values: new Map(), count: 3 });
    assert.ok(prepared.ok);
    api.batchProcessingMs = 60_000;
    // One request errs (overloaded): its follow-up would be the run's next submission.
    api.scriptBatch({ kind: 'errored', type: 'overloaded_error' }, { kind: 'ok' }, { kind: 'ok' });
    let batchId: string | undefined;
    const creates = api.stats.batchCreates;
    const running = runTeamMessageBatches({ ...prepared.input, db: alice, apiKey: KEY, baseURL: api.url, clock: quick, started: (id) => (batchId = id) });
    const retrieves = api.stats.batchRetrieves;
    while (api.stats.batchRetrieves === retrieves) await new Promise((r) => setTimeout(r, 10));
    // The session holding the batch's lock ends (as in a server restart, or a network cut).
    await server.admin(["SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted"], 'team');
    api.batchProcessingMs = 50;
    api.finishBatches();
    const outcome = await running;
    assert.equal(outcome.summary.stopped, 'error');
    assert.match(outcome.summary.stopReason ?? '', /the connection holding the batch on the team database was lost; run promptloom resume to go on/);
    assert.equal(outcome.summary.succeeded, 2);
    assert.equal(api.stats.batchCreates, creates + 1, 'no follow-up sent without the lease');
    const batch = (await new WorkspaceBatchRepository(alice).get(batchId!))!;
    const { store: _db, ...again } = await workspace.prepareMessageBatchResume(aliceAgain, batch);
    const resumed = await runTeamMessageBatches({ ...again, db: aliceAgain, apiKey: KEY, baseURL: api.url, clock: quick });
    assert.equal(resumed.summary.succeeded, 1);
    assert.equal(api.stats.batchCreates, creates + 2);
    assert.equal((await new WorkspaceBatchRepository(alice).get(batchId!))!.completed, 3);
  });

  it('a team database its owner has not brought up to date (before migration 10): one line saying so, nothing written', async () => {
    await server.admin(['CREATE DATABASE older OWNER team_owner']);
    const owner = await connectTeamDatabase(server.url('team_owner', 'owner-secret', 'older'));
    try {
      await initTeamDatabase(owner, PG_MIGRATIONS.filter((m) => m.version < 10));
    } finally {
      await owner.end();
    }
    const older = await TeamDatabase.connect(server.url('alice', 'a-secret', 'older'));
    try {
      const folder = mkdtempSync(join(tmpdir(), 'promptloom-mb-older-'));
      const prepared = new Workspace(folder).prepareBatch({ file: join(folder, 't.prompt'), text: TEMPLATE, values: new Map(), count: 2 });
      assert.ok(prepared.ok);
      const creates = api.stats.batchCreates;
      await assert.rejects(runTeamMessageBatches({ ...prepared.input, db: older, apiKey: KEY, baseURL: api.url, clock: quick }), /the team database has schema version 9; Message Batches need 10: its owner runs promptloom db init/);
      assert.equal(api.stats.batchCreates, creates);
      assert.equal(Number((await older.get('SELECT count(*) AS n FROM batches'))!.n), 0);
    } finally {
      await older.close();
    }
  });

  it('with the judge on, the run grades through a judge Message Batch recorded as the member’s (its rows, its judge calls at batch prices)', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'promptloom-mb-judge-'));
    const workspace = new Workspace(folder, [{ judge: 'on' }]);
    const prepared = workspace.prepareBatch({ file: join(folder, 't.prompt'), text: TEMPLATE, values: new Map(), count: 2 });
    assert.ok(prepared.ok);
    const creates = api.stats.batchCreates;
    const outcome = await runTeamMessageBatches({ ...prepared.input, db: alice, apiKey: KEY, baseURL: api.url, clock: quick });
    assert.equal(outcome.summary.succeeded, 2);
    assert.equal(outcome.judge?.judged.length, 2);
    assert.equal(api.stats.batchCreates, creates + 2, 'the generation’s Message Batch, then the judge’s');
    const batchId = outcome.batchId;
    assert.deepEqual(
      (await aliceSql.query("SELECT purpose, state, created_by FROM promptloom.message_batches WHERE batch_id = $1 ORDER BY created_at", [batchId])).rows,
      [{ purpose: 'generation', state: 'collected', created_by: 'alice' }, { purpose: 'judge', state: 'collected', created_by: 'alice' }],
    );
    const calls = (await ownerSql.query('SELECT conversation_id, status, created_by, cost_usd FROM promptloom.judge_calls WHERE batch_id = $1', [batchId])).rows;
    assert.deepEqual(new Set(calls.map((c) => c.conversation_id)), new Set(outcome.conversations));
    assert.ok(calls.every((c) => c.status === 'succeeded' && c.created_by === 'alice' && Number(c.cost_usd) > 0));
    assert.equal((await bob.all('SELECT id FROM judge_calls WHERE batch_id = ?', [batchId])).length, 0, 'Bob reads none of her judge calls');
    // The combined score replaced the scorer's on her conversations (migration 11).
    const scores = (await ownerSql.query('SELECT conversation_id, overall, breakdown FROM promptloom.quality_scores WHERE conversation_id = ANY($1)', [outcome.conversations])).rows;
    for (const j of outcome.judge!.judged) {
      const row = scores.find((r) => r.conversation_id === j.conversationId)!;
      assert.equal(Number(row.overall), j.overall);
      assert.equal((JSON.parse(JSON.stringify(row.breakdown)) as { judge?: { score: number } }).judge?.score, j.judgeScore);
    }
  });
});
