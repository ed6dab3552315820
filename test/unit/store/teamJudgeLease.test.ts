/**
 * Found in review: on the team store the judge's Message Batches run after the generation's,
 * under the batch's lease, but the judge never looked at it: once the connection holding the
 * lease ended (another process of the member may hold the batch now and grade the same
 * conversations), the judge kept submitting (paying for) judge Message Batches.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { realClock, type Clock } from '../../../src/core/generation/engine';
import { runTeamMessageBatches } from '../../../src/core/generation/messageBatches';
import { TeamDatabase } from '../../../src/core/store/postgres/teamDatabase';
import { Workspace } from '../../../src/core/workspace';
import { FakeMessagesApi } from '../../fixtures/fakeMessagesApi';
import { startPostgres, type PostgresServer } from '../../helpers/postgres';

const KEY = 'sk-test-fake-key';
const TEMPLATE = '---\nname: Batched\ntier: template\n---\nWrite a conversation about bonds.\n';
const quick: Clock = { now: () => Date.now(), sleep: (ms, signal) => realClock.sleep(Math.min(ms, 25), signal) };
const until = async (ok: () => boolean): Promise<void> => {
  while (!ok()) await new Promise((r) => setTimeout(r, 10));
};

describe('the judge on the team store and the batch lease (a real PostgreSQL)', function () {
  this.timeout(90_000);
  let server: PostgresServer;
  let api: FakeMessagesApi;
  let alice: TeamDatabase;

  before(async () => {
    server = await startPostgres();
    await server.startTeam('owner-secret', { alice: 'a-secret' });
    alice = await TeamDatabase.connect(server.url('alice', 'a-secret', 'team'));
    api = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 60_000 });
  });

  after(async () => {
    await alice?.close().catch(() => undefined);
    await api?.stop();
    server?.dispose();
  });

  it('a lease lost while the judge waits: no judge Message Batch is sent after it', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'promptloom-review2-judge-lease-'));
    const workspace = new Workspace(folder, [{ judge: 'on', maxAttempts: 3 }]);
    const prepared = workspace.prepareBatch({ file: join(folder, 't.prompt'), text: TEMPLATE, values: new Map(), count: 3 });
    assert.ok(prepared.ok);
    // The generation's three answers; then the judge's: one grade errs (overloaded), its retry would be the next submission.
    api.scriptBatch({ kind: 'ok' }, { kind: 'ok' }, { kind: 'ok' }, { kind: 'errored', type: 'overloaded_error' }, { kind: 'ok' }, { kind: 'ok' });
    const creates = api.stats.batchCreates;
    const running = runTeamMessageBatches({ ...prepared.input, db: alice, apiKey: KEY, baseURL: api.url, clock: quick });
    await until(() => api.stats.batchCreates === creates + 1);
    api.finishBatches();
    // The judge's Message Batch is submitted and waited for.
    await until(() => api.stats.batchCreates === creates + 2);
    const retrieves = api.stats.batchRetrieves;
    await until(() => api.stats.batchRetrieves > retrieves);
    // The session holding the batch's lock ends (a server restart, a network cut).
    await server.admin(["SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted"], 'team');
    await new Promise((r) => setTimeout(r, 500));
    api.batchProcessingMs = 50;
    api.finishBatches();
    const outcome = await running;
    assert.equal(api.stats.batchCreates, creates + 2, 'no judge Message Batch sent without the lease');
    assert.match(outcome.summary.stopReason ?? '', /lost/);
  });
});
