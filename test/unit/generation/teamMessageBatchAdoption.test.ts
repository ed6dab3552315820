/**
 * Found in review: on the team store a teammate's adoption on a guess (reconcile's "lone running
 * one") took the unique anthropic_id of a Message Batch that was someone else's; the true owner's
 * reconcile then met the unique key, passed over its own Message Batch and submitted the same work
 * again (paid twice, the first Message Batch's answers collected by no one). The team store now
 * never guesses: its candidates are waited for until their results tell.
 */
import { strict as assert } from 'node:assert';
import type { Clock } from '../../../src/core/generation/engine';
import { realClock } from '../../../src/core/generation/engine';
import { createClient } from '../../../src/core/generation/claude';
import { messageBatchRows, recordIntent } from '../../../src/core/generation/messageBatchRecords';
import { reconcile } from '../../../src/core/generation/messageBatchSubmission';
import { WorkspaceBatchRepository, WorkspaceTemplateRepository } from '../../../src/core/store';
import { TeamDatabase } from '../../../src/core/store/postgres/teamDatabase';
import { FakeMessagesApi } from '../../fixtures/fakeMessagesApi';
import { startPostgres, type PostgresServer } from '../../helpers/postgres';

const KEY = 'sk-test-fake-key';
const quick: Clock = { now: () => Date.now(), sleep: (ms, signal) => realClock.sleep(Math.min(ms, 25), signal) };
async function waitUntil(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((r) => setTimeout(r, 20));
}

const request = (customId: string) => ({ custom_id: customId, params: { model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user' as const, content: 'Write a conversation about bonds.' }] } });

describe('Message Batches adoption across members sharing an Anthropic account (real PostgreSQL)', function () {
  this.timeout(90_000);
  let server: PostgresServer;
  let api: FakeMessagesApi;
  let alice: TeamDatabase;
  let bob: TeamDatabase;

  before(async () => {
    server = await startPostgres();
    await server.startTeam('owner-secret', { alice: 'a-secret', bob: 'b-secret' });
    alice = await TeamDatabase.connect(server.url('alice', 'a-secret', 'team'));
    bob = await TeamDatabase.connect(server.url('bob', 'b-secret', 'team'));
    api = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 60_000 });
  });

  after(async () => {
    for (const db of [alice, bob]) await db?.close().catch(() => undefined);
    await api?.stop();
    server?.dispose();
  });

  async function batchOf(db: TeamDatabase, path: string): Promise<string> {
    const templates = new WorkspaceTemplateRepository(db);
    const t = await templates.ensure(path, { name: path, tier: 'template' });
    const v = await templates.recordVersion(t.id, `body of ${path}`);
    return (await new WorkspaceBatchRepository(db).create({ templateId: t.id, versionId: v.id, requested: 3, parameters: {}, model: 'claude-x', settings: { mode: 'batch' } })).id;
  }

  it("a teammate's reconcile never takes a running Message Batch on a guess: Alice's is matched to her row, not submitted again", async () => {
    const client = createClient({ apiKey: KEY, baseURL: api.url, timeoutMs: 5000 });
    // Alice: the row written, the POST answered, the process killed before the id was recorded.
    const hers = await recordIntent(alice, await batchOf(alice, 'race-a.prompt'), ['a0-0', 'a0-1', 'a0-2'], 1, 0.01, Date.now());
    const created = await client.messages.batches.create({ requests: hers.customIds.map(request) });
    // Bob (same Anthropic account): a row of the same size whose POST never got an answer. His
    // resume sees one running Message Batch of that size that no row of his claims: Alice's.
    const his = await recordIntent(bob, await batchOf(bob, 'race-b.prompt'), ['b0-0', 'b0-1', 'b0-2'], 1, 0.01, Date.now());
    const bobs = reconcile(bob, client, his, quick);
    // It waits for the candidate's results rather than taking it while it runs.
    await Promise.race([waitUntil(() => api.stats.batchRetrieves > 0), bobs]);
    assert.equal((await bob.get('SELECT anthropic_id FROM message_batches WHERE id = ?', [his.id]))!.anthropic_id, null, 'Bob took a Message Batch on a guess');
    api.finishBatches();
    assert.equal(await bobs, undefined, "Alice's Message Batch is not Bob's");
    const creates = api.stats.batchCreates;
    const adopted = await reconcile(alice, client, hers, quick, () => hers.customIds.map(request));
    assert.equal(adopted, created.id, "Alice's row should be matched to her own Message Batch");
    assert.equal(api.stats.batchCreates, creates, 'nothing should be submitted (paid) again');
    assert.deepEqual((await messageBatchRows(alice, (await alice.get('SELECT batch_id FROM message_batches WHERE id = ?', [hers.id]))!.batch_id as string)).map((r) => r.anthropicId), [created.id]);
  });
});
