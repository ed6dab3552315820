/**
 * The workspace database's asynchronous transaction (`Database.transaction`): committed and
 * journaled as one frame, rolled back whole when the body throws (in memory and in the journal),
 * serialised with the store's other writes, and never seen half-done by a read outside it.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Store } from '../../../src/core/store/store';

const workspace = () => mkdtempSync(join(tmpdir(), 'promptloom-tx-'));
const paths = async (store: Store) => (await store.all('SELECT path FROM templates ORDER BY id')).map((r) => String(r.path));
const insertTemplate = 'INSERT INTO templates (path, name, tier, created_at) VALUES (?, ?, ?, ?)';

const WRITER = resolve(__dirname, '../../fixtures/store/writer.ts');

describe('workspace store: asynchronous transaction', () => {
  it('processes writing at once, asynchronous transactions beside synchronous writes, lose nothing', async function () {
    this.timeout(60_000);
    const dir = workspace();
    (await Store.open(dir)).close(); // create and migrate first
    const runs = [
      ['p', 'async'],
      ['q', 'async'],
      ['r', 'sync'],
    ].map(([tag, kind]) => spawn(process.execPath, ['--require', 'tsx/cjs', WRITER, dir, tag!, '30', '4096', kind!], { stdio: 'ignore' }));
    await Promise.all(runs.map((child) => new Promise((done) => child.on('exit', done))));
    for (const child of runs) assert.equal(child.exitCode, 0);
    const store = await Store.open(dir);
    const count = async (sql: string) => Number((await store.get(`SELECT count(*) AS n FROM ${sql}`))!.n);
    assert.equal(await count('templates'), 90);
    // Each version belongs to the template its transaction inserted (an id read inside it, not another process's).
    assert.equal(await count("templates t JOIN template_versions v ON v.template_id = t.id AND v.content_hash = 'h' || substr(t.path, 3, instr(t.path, '.') - 3)"), 90);
    store.close();
  });


  it('commits the body, with its reads and inserted ids, durably: a reopen sees it', async () => {
    const dir = workspace();
    let store = await Store.open(dir);
    const before = store.sequence;
    const id = await store.transaction(async (tx) => {
      const inserted = await tx.insert(insertTemplate, ['a.prompt', 'a', 'template', 1]);
      const row = await tx.get('SELECT path FROM templates WHERE id = ?', [inserted]);
      await tx.run('UPDATE templates SET name = ? WHERE id = ?', [`${String(row!.path)}!`, inserted]);
      return inserted;
    });
    assert.equal(store.sequence, before + 1, 'one journal frame');
    store.close();
    store = await Store.open(dir);
    assert.deepEqual(await store.get('SELECT id, name FROM templates'), { id, name: 'a.prompt!' });
    store.close();
  });

  it('rolls back whole when the body throws: nothing in memory, nothing journaled', async () => {
    const dir = workspace();
    let store = await Store.open(dir);
    const before = store.sequence;
    await assert.rejects(
      store.transaction(async (tx) => {
        await tx.insert(insertTemplate, ['a.prompt', 'a', 'template', 1]);
        await tx.run(insertTemplate, ['a.prompt', 'again', 'template', 1]); // path is unique
      }),
      /UNIQUE/,
    );
    await assert.rejects(
      store.transaction(async (tx) => {
        await tx.insert(insertTemplate, ['b.prompt', 'b', 'template', 1]);
        throw new Error('changed my mind');
      }),
      /changed my mind/,
    );
    assert.deepEqual(await paths(store), []);
    assert.equal(store.sequence, before);
    store.close();
    store = await Store.open(dir);
    assert.deepEqual(await paths(store), []);
    // And the store still writes.
    await store.transaction(async (tx) => void (await tx.run(insertTemplate, ['c.prompt', 'c', 'template', 1])));
    assert.deepEqual(await paths(store), ['c.prompt']);
    store.close();
  });

  it('a read outside waits for the body; a write queued meanwhile runs after it', async () => {
    const store = await Store.open(workspace());
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const body = store.transaction(async (tx) => {
      await tx.run(insertTemplate, ['a.prompt', 'a', 'template', 1]);
      await held;
      throw new Error('rolled back');
    });
    await new Promise((r) => setTimeout(r, 20));
    const read = paths(store);
    const write = store.write((tx) => tx.run(insertTemplate, ['b.prompt', 'b', 'template', 1]));
    let readEarly = false;
    void read.then(() => (readEarly = !settled));
    let settled = false;
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(readEarly, false, 'the read waited');
    settled = true;
    release();
    await assert.rejects(body, /rolled back/);
    await write;
    assert.deepEqual(await read, [], 'never saw the uncommitted row');
    assert.deepEqual(await paths(store), ['b.prompt']);
    store.close();
  });

  it('a statement after the body ended is refused', async () => {
    const store = await Store.open(workspace());
    let escaped: ((sql: string) => Promise<unknown>) | undefined;
    await store.transaction(async (tx) => {
      escaped = (sql) => tx.run(sql);
    });
    await assert.rejects(escaped!("UPDATE templates SET name = 'x'"), /transaction is over/);
    store.close();
  });
});
