import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeHolder, StoreBusyError } from '../../../src/core/store/lock';
import { Store } from '../../../src/core/store/store';
import { killed, lockHolder } from '../../helpers/lock';

const workspace = () => mkdtempSync(join(tmpdir(), 'promptloom-lock-'));
const count = async (store: Store) => Number((await store.get<{ n: number }>('SELECT count(*) AS n FROM templates'))!.n);
const add = (store: Store, path: string) => store.write((tx) => tx.run('INSERT INTO templates (path, name, tier, created_at) VALUES (?, ?, ?, ?)', [path, path, 'template', 1]));

const holder = lockHolder;

describe('the workspace lock', () => {
  it('a leftover lock naming a live but unrelated process (a reused pid) stops counting once its heartbeat is old', async () => {
    const dir = workspace();
    const store = await Store.open(dir, { lockTimeoutMs: 2000 });
    const unrelated = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      const lock = join(dir, '.promptloom', 'promptloom.lock');
      writeFileSync(lock, `${unrelated.pid}:left-before-a-reboot`);
      const minuteAgo = new Date(Date.now() - 60_000);
      utimesSync(lock, minuteAgo, minuteAgo);
      await add(store, 'a');
      assert.equal(await count(store), 1);
      assert.ok(!existsSync(lock), 'the leftover was removed, and ours released');
    } finally {
      unrelated.kill('SIGKILL');
      store.close();
    }
  });

  it('a database really busy says which process holds it', async () => {
    const dir = workspace();
    const store = await Store.open(dir, { lockTimeoutMs: 300 });
    const child = await holder(dir);
    try {
      await assert.rejects(add(store, 'a'), (error: unknown) => {
        assert.ok(error instanceof StoreBusyError);
        assert.match(error.message, new RegExp(`busy: process ${child.pid} \\(.*lockHolder\\.ts.*\\) holds .*promptloom\\.lock`));
        return true;
      });
      assert.equal(await count(store), 0);
    } finally {
      await killed(child);
      store.close();
    }
  });

  it('waiting for the lock does not block the thread, and the write goes through once the holder is gone', async () => {
    const dir = workspace();
    const store = await Store.open(dir);
    const child = await holder(dir);
    try {
      let settled = false;
      const writing = add(store, 'a').finally(() => (settled = true));
      // Timers and I/O of this process run while the write waits (the extension host stays responsive).
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(settled, false, 'still waiting for the other process');
      await killed(child); // kill -9: its lock file stays behind, naming a dead pid
      await writing;
      assert.equal(await count(store), 1);
    } finally {
      await killed(child);
      store.close();
    }
  });

  it('a holder that keeps beating is never taken for gone, however long it holds', async () => {
    const dir = workspace();
    // A short staleness, so the wait outlasts it several times over: only the heartbeat keeps the lock.
    const store = await Store.open(dir, { lockTimeoutMs: 2500, lockStaleMs: 600 });
    const child = await holder(dir, 600);
    try {
      await assert.rejects(add(store, 'a'), StoreBusyError);
      assert.match(readFileSync(join(dir, '.promptloom', 'promptloom.lock'), 'utf8'), new RegExp(`^${child.pid}:`), 'the holder still has its lock');
    } finally {
      await killed(child);
      store.close();
    }
  });

  it('writes of one process to one store are queued, each in its own transaction, in order', async () => {
    const store = await Store.open(workspace());
    await Promise.all(['a', 'b', 'c', 'd'].map((path) => add(store, path)));
    assert.deepEqual((await store.all('SELECT path FROM templates ORDER BY id')).map((r) => r.path), ['a', 'b', 'c', 'd']);
    store.close();
  });

  it('close never waits for the lock: another process holding it leaves the journal to keep the writes', async () => {
    const dir = workspace();
    const store = await Store.open(dir);
    await add(store, 'a');
    const child = await holder(dir);
    try {
      store.close();
      assert.match(readFileSync(join(dir, '.promptloom', 'promptloom.lock'), 'utf8'), new RegExp(`^${child.pid}:`));
    } finally {
      await killed(child);
    }
    const again = await Store.open(dir);
    assert.equal(await count(again), 1);
    again.close();
  });

  it('names a holder without the password its command line may carry', () => {
    const said = describeHolder({ pid: 42, command: 'node dist/cli.js db push --database-url postgresql://alice:s3cr%40t@db.example:5432/team' });
    assert.equal(said, 'process 42 (node dist/cli.js db push --database-url postgresql://alice:***@db.example:5432/team)');
    assert.equal(describeHolder({ pid: 9, command: 'cli db status --database-url postgres://bob:p@ss@h/db' }), 'process 9 (cli db status --database-url postgres://bob:***@h/db)');
    assert.equal(describeHolder({ pid: 7, command: 'node cli.js generate a.prompt' }), 'process 7 (node cli.js generate a.prompt)');
  });
});
