import { strict as assert } from 'node:assert';
import { appendFileSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { analyticsDatabase } from '../../../bench/analyticsData';
import { computeStats, reviewAgreementByTemplate, templateQuality, versionRows } from '../../../src/core/analytics';
import { coverage } from '../../../src/core/analytics/coverage';
import { appendDurably } from '../../../src/core/store/journal';
import { ConversationReads } from '../../../src/core/store/conversationReads';
import { ReadOnlyStore } from '../../../src/core/store/readOnlyStore';
import { ReplicaDatabase, startReplicaWorker, type ReplicaLog } from '../../../src/core/store/replica';
import { Store } from '../../../src/core/store/store';
import { systemClock } from '../../../src/core/store';
import { dashboardData } from '../../../src/extension/dashboard/dashboardData';

const WRITER = resolve(__dirname, '../../fixtures/store/writer.ts');
const workspace = () => mkdtempSync(join(tmpdir(), 'promptloom-replica-'));

async function addTemplate(store: Store, path: string): Promise<void> {
  await store.write((tx) => tx.run('INSERT INTO templates (path, name, tier, created_at) VALUES (?, ?, ?, ?)', [path, path, 'template', 1]));
}

/** Every file in .promptloom/ with its size and modification time. */
function files(dir: string): Record<string, string> {
  const folder = join(dir, '.promptloom');
  return Object.fromEntries(
    readdirSync(folder)
      .sort()
      .map((name) => {
        const s = statSync(join(folder, name));
        return [name, `${s.size} ${s.mtimeMs}`];
      }),
  );
}

function recordingLog(): ReplicaLog & { errors: string[] } {
  const errors: string[] = [];
  return { errors, error: (message) => errors.push(message), info: () => undefined };
}

describe('read replica of the workspace database (worker thread)', function () {
  this.timeout(60_000);
  const opened: { close(): void }[] = [];
  const open = <T extends { close(): void }>(x: T): T => (opened.push(x), x);
  afterEach(() => {
    for (const x of opened.splice(0)) x.close();
  });

  it('a read issued after a write through the main Store sees it, every time', async () => {
    const dir = workspace();
    const store = open(await Store.open(dir));
    const replica = open(new ReplicaDatabase({ workspace: dir, fallback: store }));
    assert.equal(replica.running, false, 'started lazily');
    assert.equal((await replica.get<{ n: number }>('SELECT count(*) AS n FROM templates'))!.n, 0);
    assert.equal(replica.running, true);
    for (let i = 1; i <= 30; i++) {
      await addTemplate(store, `t${i}.prompt`);
      // Issued right after the write resolved, no wait: the worker reads the journal first.
      assert.equal((await replica.get<{ n: number }>('SELECT count(*) AS n FROM templates'))!.n, i);
    }
    // Across a checkpoint (a new snapshot, a new journal file) too.
    await store.checkpoint();
    await addTemplate(store, 'after.prompt');
    assert.deepEqual(await replica.all('SELECT path FROM templates ORDER BY id'), await store.all('SELECT path FROM templates ORDER BY id'));
    assert.equal(replica.fallenBack, false);
  });

  it('follows another process writing and checkpointing under it: every read whole, never behind an acknowledged write', async () => {
    const dir = workspace();
    const store = open(await Store.open(dir));
    const replica = open(new ReplicaDatabase({ workspace: dir, fallback: store }));
    // A checkpoint every few writes: new snapshots and journals keep replacing the files read.
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', WRITER, dir, 'w', '150', '4096'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let acknowledged = 0;
    child.stdout.on('data', (chunk: Buffer) => (acknowledged += chunk.toString().split('\n').filter((l) => l.startsWith('ok ')).length));
    const exited = new Promise<number | null>((done) => child.on('exit', done));
    let running = true;
    void exited.then(() => (running = false));
    let last = 0;
    let reads = 0;
    while (running) {
      const seen = acknowledged;
      const row = (await replica.get<{ t: number; v: number }>('SELECT (SELECT count(*) FROM templates) AS t, (SELECT count(*) FROM template_versions) AS v'))!;
      assert.equal(row.t, row.v, 'a transaction read whole');
      assert.ok(row.t >= seen, `${row.t} rows read after ${seen} writes were acknowledged`);
      assert.ok(row.t >= last, 'never going back');
      last = row.t;
      reads++;
    }
    assert.equal(await exited, 0);
    assert.equal((await replica.get<{ n: number }>('SELECT count(*) AS n FROM templates'))!.n, 150);
    assert.ok(reads > 10, `${reads} reads`);
    assert.equal(replica.fallenBack, false);
  });

  it('answers the analytics queries with the main Store’s rows', async () => {
    const store = open(await analyticsDatabase({ templates: 30, logs: 3_000, days: 10 }));
    const replica = open(new ReplicaDatabase({ workspace: dirname(store.dir), fallback: store }));
    const data = async (db: Store | ReplicaDatabase) => {
      const { computedAt: _a, computeMs: _b, ...rest } = await dashboardData(db);
      return rest;
    };
    assert.deepEqual(await data(replica), await data(store));
    assert.deepEqual(await computeStats(replica), await computeStats(store));
    assert.deepEqual(await templateQuality(replica, 'templates/t3.prompt', 5), await templateQuality(store, 'templates/t3.prompt', 5));
    assert.deepEqual(await versionRows(replica, 3), await versionRows(store, 3));
    assert.deepEqual(await coverage(replica, 3), await coverage(store, 3));
    assert.deepEqual([...(await reviewAgreementByTemplate(replica))], [...(await reviewAgreementByTemplate(store))]);
    const reads = (db: Store | ReplicaDatabase) => new ConversationReads(db, systemClock).list({ sort: 'score', limit: 50 });
    assert.deepEqual(await reads(replica), await reads(store));
  });

  it('never creates or changes a file in .promptloom/', async () => {
    const dir = workspace();
    const store = await Store.open(dir, { checkpointBytes: 4096 });
    for (let i = 0; i < 5; i++) await addTemplate(store, `t${i}.prompt`);
    store.close(); // folds the journal: a snapshot and a journal both exist
    const main = open(await Store.open(dir));
    await addTemplate(main, 'journaled.prompt');
    // A frame cut short by a crashed writer: only a writer, under the lock, may cut it off.
    appendFileSync(join(dir, '.promptloom', 'promptloom.journal'), Buffer.from('PLJ1\x10\x00'));
    const before = files(dir);
    const replica = open(new ReplicaDatabase({ workspace: dir, fallback: main }));
    await new Promise((resolve) => setTimeout(resolve, 20)); // an mtime written now would differ
    assert.equal((await replica.all('SELECT * FROM templates')).length, 6);
    await replica.get('SELECT count(*) AS n FROM generation_logs');
    // The read-only store itself, in this thread.
    const reader = open(await ReadOnlyStore.open(dir));
    assert.equal(reader.refresh(), false);
    assert.equal(reader.rows('SELECT * FROM templates').length, 6);
    await assert.rejects(reader.run(), /does not write/);
    await replica.close();
    assert.deepEqual(files(dir), before);
  });

  it('a read-only store opened where no database exists creates nothing', async () => {
    const dir = workspace();
    const reader = open(await ReadOnlyStore.open(dir));
    assert.deepEqual(reader.rows('SELECT 1 AS x'), [{ x: 1 }]);
    assert.deepEqual(readdirSync(dir), []);
  });

  it('a journal frame that cannot be applied fails the reads until the main Store sets the journal aside, then follows it', async () => {
    const dir = workspace();
    const store = open(await Store.open(dir));
    await addTemplate(store, 'a.prompt');
    await store.checkpoint();
    await addTemplate(store, 'b.prompt');
    const replica = open(new ReplicaDatabase({ workspace: dir, fallback: store }));
    assert.equal((await replica.all('SELECT * FROM templates')).length, 2);
    const journal = join(dir, '.promptloom', 'promptloom.journal');
    appendDurably(journal, { kind: 'tx', seq: store.sequence + 1, statements: [{ sql: 'INSERT INTO nope VALUES (1)', params: [] }] }, statSync(journal).size);
    await assert.rejects(replica.all('SELECT * FROM templates'), /no such table: nope/);
    await assert.rejects(replica.all('SELECT * FROM templates'), /no such table: nope/);
    await store.refresh(); // the main Store keeps the journal aside and goes back to the snapshot
    assert.ok(store.notices.some((n) => /could not be used/.test(n)));
    assert.deepEqual(await replica.all('SELECT path FROM templates ORDER BY id'), await store.all('SELECT path FROM templates ORDER BY id'));
    assert.equal(replica.fallenBack, false);
  });

  it('a SQL error in the worker rejects the caller’s promise with its message; the worker keeps answering', async () => {
    const dir = workspace();
    const store = open(await Store.open(dir));
    const log = recordingLog();
    const replica = open(new ReplicaDatabase({ workspace: dir, fallback: store, log }));
    await assert.rejects(replica.all('SELECT * FROM no_such_table'), /no such table: no_such_table/);
    await assert.rejects(replica.get('SELEC 1'), /syntax error/);
    assert.deepEqual(await replica.all('SELECT ? AS a, ? AS b', [1, 'x']), [{ a: 1, b: 'x' }]);
    await assert.rejects(replica.run('DELETE FROM templates'), /does not write/);
    assert.deepEqual(log.errors, []);
    assert.equal(replica.fallenBack, false);
  });

  it('a crashed worker is started again once (the read in flight answered), then given up on for the main thread’s store', async () => {
    const dir = workspace();
    const store = open(await Store.open(dir));
    await addTemplate(store, 'a.prompt');
    const log = recordingLog();
    let starts = 0;
    // Workers that die on their first message, the third a real one.
    const crashing = () => new Worker(`require('node:worker_threads').parentPort.on('message', () => process.exit(3));`, { eval: true });
    const replica = open(
      new ReplicaDatabase({
        workspace: dir,
        fallback: store,
        log,
        startWorker: (data) => (++starts <= 2 ? crashing() : startReplicaWorker(data)),
      }),
    );
    assert.deepEqual(await replica.all('SELECT path FROM templates'), [{ path: 'a.prompt' }]);
    assert.equal(starts, 2);
    assert.equal(replica.fallenBack, true);
    assert.equal(log.errors.length, 2);
    assert.match(log.errors[0]!, /crashed; starting it again/);
    assert.match(log.errors[1]!, /crashed again; reading on this thread/);
    await addTemplate(store, 'b.prompt');
    assert.equal((await replica.all('SELECT path FROM templates')).length, 2);
  });

  it('a worker restarted after a crash answers', async () => {
    const dir = workspace();
    const store = open(await Store.open(dir));
    await addTemplate(store, 'a.prompt');
    const log = recordingLog();
    let starts = 0;
    const replica = open(
      new ReplicaDatabase({
        workspace: dir,
        fallback: store,
        log,
        startWorker: (data) => (++starts === 1 ? new Worker(`require('node:worker_threads').parentPort.on('message', () => { throw new Error('boom'); });`, { eval: true }) : startReplicaWorker(data)),
      }),
    );
    assert.deepEqual(await replica.all('SELECT path FROM templates'), [{ path: 'a.prompt' }]);
    assert.equal(replica.fallenBack, false);
    assert.equal(replica.running, true);
    assert.equal(log.errors.length, 1);
  });

  it('a worker that cannot load the database hands the reads to the main thread’s store, logged', async () => {
    const dir = workspace();
    const store = open(await Store.open(dir));
    await addTemplate(store, 'a.prompt');
    const log = recordingLog();
    const replica = open(new ReplicaDatabase({ workspace: join(dir, 'elsewhere\0'), fallback: store, log }));
    assert.deepEqual(await replica.all('SELECT path FROM templates'), [{ path: 'a.prompt' }]);
    assert.equal(replica.fallenBack, true);
    assert.match(log.errors.join('\n'), /could not load it/);
    const unstartable = open(new ReplicaDatabase({ workspace: dir, fallback: store, log, startWorker: () => { throw new Error('no threads'); } }));
    assert.deepEqual(await unstartable.all('SELECT path FROM templates'), [{ path: 'a.prompt' }]);
    assert.match(log.errors.at(-1)!, /could not start/);
  });
});
