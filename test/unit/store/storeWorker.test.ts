import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { ReplicaDatabase, WriteNotConfirmedError, startReplicaWorker, type ReplicaLog } from '../../../src/core/store/replica';
import { Store } from '../../../src/core/store/store';

const WRITER = resolve(__dirname, '../../fixtures/store/writer.ts');
const workspace = () => mkdtempSync(join(tmpdir(), 'promptloom-store-worker-'));
const INSERT = 'INSERT INTO templates (path, name, tier, created_at) VALUES (?, ?, ?, ?)';

function recordingLog(): ReplicaLog & { errors: string[] } {
  const errors: string[] = [];
  return { errors, error: (message) => errors.push(message), info: () => undefined };
}

/** What a fresh open of the workspace holds: what was made durable. */
async function pathsOnDisk(dir: string): Promise<string[]> {
  const store = await Store.open(dir);
  try {
    return (await store.all<{ path: string }>('SELECT path FROM templates ORDER BY path')).map((r) => r.path);
  } finally {
    store.close();
  }
}

describe('the workspace Store in a worker thread (writes and transactions)', function () {
  this.timeout(60_000);
  const opened: ReplicaDatabase[] = [];
  const writable = (dir: string, options: Partial<ConstructorParameters<typeof ReplicaDatabase>[0]> = {}): ReplicaDatabase => {
    const db = new ReplicaDatabase({ workspace: dir, writable: true, fallback: () => Store.open(dir), ...options });
    opened.push(db);
    return db;
  };
  afterEach(async () => {
    for (const db of opened.splice(0)) await db.close();
  });

  it('writes, runAll and a transaction through the worker are durable: a reopen sees them', async () => {
    const dir = workspace();
    const db = writable(dir);
    assert.deepEqual(await db.open(), []);
    assert.equal(db.running, true);
    assert.deepEqual(await db.run(INSERT, ['a.prompt', 'a', 'template', 1]), { changes: 1 });
    assert.deepEqual(
      await db.runAll([
        { sql: INSERT, params: ['b.prompt', 'b', 'template', 1] },
        { sql: 'UPDATE templates SET name = ? WHERE path = ?', params: ['B', 'b.prompt'] },
      ]),
      [{ changes: 1 }, { changes: 1 }],
    );
    const value = await db.transaction(async (tx) => {
      const id = await tx.insert(INSERT, ['c.prompt', 'c', 'template', 1]);
      // The body sees its own writes, and decides what to write next.
      const row = await tx.get<{ id: number }>('SELECT id FROM templates WHERE path = ?', ['c.prompt']);
      await tx.run('INSERT INTO template_versions (template_id, content_hash, content, created_at) VALUES (?, ?, ?, ?)', [row!.id, 'h', 'text', 1]);
      return { id, seen: (await tx.all('SELECT path FROM templates')).length };
    });
    assert.equal(value.seen, 3);
    assert.equal((await db.get<{ n: number }>('SELECT count(*) AS n FROM template_versions WHERE template_id = ?', [value.id]))!.n, 1);
    await db.close();
    assert.deepEqual(await pathsOnDisk(dir), ['a.prompt', 'b.prompt', 'c.prompt']);
    assert.equal(db.fallenBack, false);
  });

  it('a transaction whose body throws is rolled back: nothing is left, the error is the body’s, the next write works', async () => {
    const dir = workspace();
    const db = writable(dir);
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.run(INSERT, ['gone.prompt', 'gone', 'template', 1]);
        assert.equal((await tx.all('SELECT * FROM templates')).length, 1);
        throw new Error('changed my mind');
      }),
      /changed my mind/,
    );
    assert.equal((await db.get<{ n: number }>('SELECT count(*) AS n FROM templates'))!.n, 0);
    await db.run(INSERT, ['kept.prompt', 'kept', 'template', 1]);
    await db.close();
    assert.deepEqual(await pathsOnDisk(dir), ['kept.prompt']);
  });

  it('another process’s writes are seen after refresh(), which says whether anything changed', async () => {
    const dir = workspace();
    const db = writable(dir);
    await db.run(INSERT, ['mine.prompt', 'mine', 'template', 1]);
    assert.equal(await db.refresh(), false, 'its own write is no news');
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', WRITER, dir, 'cli', '25'], { stdio: 'ignore' });
    assert.equal(await new Promise((done) => child.on('exit', done)), 0);
    assert.equal((await db.get<{ n: number }>('SELECT count(*) AS n FROM templates'))!.n, 1, 'not caught up before the refresh');
    assert.equal(await db.refresh(), true);
    assert.equal((await db.get<{ n: number }>('SELECT count(*) AS n FROM templates'))!.n, 26);
    assert.equal(await db.refresh(), false);
  });

  it('a worker that dies mid-transaction fails that write (not retried), and the next write works at once', async () => {
    const dir = workspace();
    const log = recordingLog();
    const workers: Worker[] = [];
    // A lock wait shorter than a lock's staleness (8 s): the next write works only if the dead worker's lock is known free.
    const db = writable(dir, { log, storeOptions: { lockTimeoutMs: 3_000 }, startWorker: (data) => (workers.push(startReplicaWorker(data)), workers.at(-1)!) });
    await db.run(INSERT, ['before.prompt', 'before', 'template', 1]);
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.run(INSERT, ['lost.prompt', 'lost', 'template', 1]);
        await workers[0]!.terminate(); // the worker dies holding the lock, the transaction open
        await tx.run(INSERT, ['after-death.prompt', 'x', 'template', 1]);
      }),
      (error) => error instanceof WriteNotConfirmedError,
    );
    assert.match(log.errors.join('\n'), /crashed; starting it again/);
    await db.run(INSERT, ['next.prompt', 'next', 'template', 1]);
    assert.equal(workers.length, 2);
    assert.equal(db.fallenBack, false);
    await db.close();
    assert.deepEqual(await pathsOnDisk(dir), ['before.prompt', 'next.prompt']);
  });

  it('a write in flight when the worker dies is reported as failed, never sent to the next worker', async () => {
    const dir = workspace();
    const log = recordingLog();
    let starts = 0;
    // The first worker dies on its second message (the write), after answering the open.
    const dying = (data: Parameters<typeof startReplicaWorker>[0]) => {
      const worker = startReplicaWorker(data);
      let messages = 0;
      const post = worker.postMessage.bind(worker);
      worker.postMessage = (message: unknown) => (++messages === 2 ? void worker.terminate() : post(message));
      return worker;
    };
    const db = writable(dir, { log, startWorker: (data) => (++starts === 1 ? dying(data) : startReplicaWorker(data)) });
    await db.open();
    await assert.rejects(db.run(INSERT, ['in-flight.prompt', 'x', 'template', 1]), WriteNotConfirmedError);
    await db.run(INSERT, ['next.prompt', 'next', 'template', 1]);
    assert.equal(starts, 2);
    await db.close();
    assert.deepEqual(await pathsOnDisk(dir), ['next.prompt']);
  });

  it('holds the lock against a Store on the calling thread of the same process until it commits', async () => {
    const dir = workspace();
    const db = writable(dir);
    let waiting!: () => void;
    const mainWaits = new Promise<void>((resolve) => (waiting = resolve));
    const main = await Store.open(dir, { onLockWait: () => waiting() });
    let mainWrite: Promise<unknown> | undefined;
    try {
      await db.transaction(async (tx) => {
        await tx.run(INSERT, ['worker.prompt', 'w', 'template', 1]);
        // The calling thread's Store sees the worker's lock as held (same pid, another thread) and waits.
        mainWrite = main.run("INSERT INTO templates (path, name, tier, created_at) SELECT 'main.prompt', (SELECT count(*) FROM templates), 'template', 1");
        await mainWaits;
        await tx.run(INSERT, ['worker2.prompt', 'w2', 'template', 1]);
      });
      await mainWrite;
      // The main thread's write came after the worker's transaction, and saw it whole.
      assert.equal((await main.get<{ name: string }>("SELECT name FROM templates WHERE path = 'main.prompt'"))!.name, '2');
      assert.equal(await db.refresh(), true);
      assert.equal((await db.all('SELECT * FROM templates')).length, 3);
    } finally {
      main.close();
    }
    await db.close();
    assert.deepEqual(await pathsOnDisk(dir), ['main.prompt', 'worker.prompt', 'worker2.prompt']);
  });

  it('a writable worker that cannot start hands reads and writes to a Store opened on this thread only then', async () => {
    const dir = workspace();
    const log = recordingLog();
    let opens = 0;
    const db = writable(dir, {
      log,
      fallback: async () => (opens++, Store.open(dir)),
      startWorker: () => {
        throw new Error('no threads');
      },
    });
    assert.equal(opens, 0);
    await db.run(INSERT, ['a.prompt', 'a', 'template', 1]);
    await db.transaction(async (tx) => void (await tx.insert(INSERT, ['b.prompt', 'b', 'template', 1])));
    assert.equal((await db.all('SELECT * FROM templates')).length, 2);
    assert.equal(opens, 1);
    assert.equal(db.fallenBack, true);
    assert.match(log.errors.join('\n'), /could not start; using it on this thread/);
  });
});
