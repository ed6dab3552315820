import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runRecordedBatch } from '../../../src/core/generation/batch';
import { realClock, type Clock } from '../../../src/core/generation/engine';
import { runMessageBatches } from '../../../src/core/generation/messageBatches';
import { WorkspaceBatchRepository } from '../../../src/core/store';
import { ReplicaDatabase } from '../../../src/core/store/replica';
import { Store } from '../../../src/core/store/store';
import { Workspace } from '../../../src/core/workspace';
import { FakeMessagesApi } from '../../fixtures/fakeMessagesApi';

const KEY = 'sk-test-fake-key';
const TEMPLATE = '---\nname: Worker\ntier: template\n---\nWrite a conversation about bonds.\n';
const quick: Clock = { now: () => Date.now(), sleep: (ms, signal) => realClock.sleep(Math.min(ms, 25), signal) };

/** Another live process holding the database's lock, its heartbeat kept fresh: the database is busy. */
function holdLock(dir: string): { release: () => void } {
  const holder: ChildProcess = spawn('sleep', ['60']);
  const path = join(dir, 'promptloom.lock');
  writeFileSync(path, `${holder.pid}:busy-holder`);
  const beat = setInterval(() => {
    const now = new Date();
    if (existsSync(path)) utimesSync(path, now, now);
  }, 50);
  return {
    release: () => {
      clearInterval(beat);
      unlinkSync(path);
      holder.kill();
    },
  };
}

/**
 * The editor's runs record through its handle on the workspace `Store` in a worker thread (docs/team-store.md §5), not through a
 * `Store` of their own: what the run does beside the rows (answers kept aside, the catch-up, the plan of a resume) goes by the
 * handle's folder and requests.
 */
describe("a run recorded through the workspace's worker handle", function () {
  this.timeout(60_000);
  let api: FakeMessagesApi;
  let folder: string;
  let worker: ReplicaDatabase;
  beforeEach(async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 50 });
    folder = mkdtempSync(join(tmpdir(), 'promptloom-worker-run-'));
    writeFileSync(join(folder, 't.prompt'), TEMPLATE);
    worker = new ReplicaDatabase({ workspace: folder, writable: true, fallback: () => Store.open(folder), storeOptions: { lockTimeoutMs: 200 } });
    await worker.open();
  });
  afterEach(async () => {
    await worker.close();
    await api.stop();
  });

  const prepare = (workspace: Workspace, count: number) => {
    const prepared = workspace.prepareBatch({ file: join(folder, 't.prompt'), text: TEMPLATE, values: new Map(), count });
    assert.ok(prepared.ok);
    return prepared.input;
  };

  it('an answer the database will not take is kept aside in its folder, and the plan of a resume through the handle imports it', async () => {
    let lock: { release: () => void } | undefined;
    let successes = 0;
    const outcome = await runRecordedBatch({
      ...prepare(new Workspace(folder, [{ concurrency: 1 }]), 3),
      store: worker,
      apiKey: KEY,
      baseURL: api.url,
      onAttempt: (a) => {
        if (a.status !== 'succeeded') return;
        successes++;
        // After the first is stored, the database turns busy (the worker's Store cannot take the lock); free again after the second.
        if (successes === 1) lock = holdLock(worker.dir);
        if (successes === 2) lock!.release();
      },
    });
    assert.equal(outcome.summary.succeeded, 3);
    assert.equal(outcome.keptAside, 1);
    assert.equal(worker.fallenBack, false, 'the worker answered throughout');
    const aside = readdirSync(join(folder, '.promptloom', 'unstored'));
    assert.equal(aside.length, 1);
    const stored = async () => Number((await worker.get('SELECT count(*) AS n FROM conversations WHERE batch_id = ?', [outcome.batchId]))!.n);
    assert.equal(await stored(), 2);
    // Resume Batch's plan, through the handle: what was kept aside is imported first, so nothing is left to pay for.
    assert.equal(await new Workspace(folder).prepareResume(worker, outcome.batchId), undefined);
    assert.equal(await stored(), 3);
    assert.deepEqual(readdirSync(join(folder, '.promptloom', 'unstored')), []);
    assert.equal((await new WorkspaceBatchRepository(worker).get(outcome.batchId))!.status, 'completed');
    assert.equal(api.stats.accepted, 3, 'nothing was paid for twice');
  });

  it("Message Batches store through the handle, the judge's Message Batches too", async () => {
    const batched = await runMessageBatches({ ...prepare(new Workspace(folder), 2), store: worker, apiKey: KEY, baseURL: api.url, clock: quick });
    assert.equal(batched.summary.succeeded, 2);
    assert.equal(Number((await worker.get('SELECT count(*) AS n FROM conversations WHERE batch_id = ?', [batched.batchId]))!.n), 2);
    assert.equal((await worker.get("SELECT count(*) AS n FROM message_batches WHERE batch_id = ? AND state <> 'collected'", [batched.batchId]))!.n, 0);

    // With the judge on, the grades go through the same handle (a judge's Message Batch).
    const judged = prepare(new Workspace(folder, [{ judge: 'on' }]), 2);
    const outcome = await runMessageBatches({ ...judged, store: worker, apiKey: KEY, baseURL: api.url, clock: quick });
    assert.equal(outcome.summary.succeeded, 2);
    assert.equal(outcome.judge?.judged.length, 2);
    assert.equal(Number((await worker.get("SELECT count(*) AS n FROM message_batches WHERE batch_id = ? AND purpose = 'judge' AND state = 'collected'", [outcome.batchId]))!.n), 1);
  });
});
