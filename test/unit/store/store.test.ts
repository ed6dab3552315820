import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { appendDurably } from '../../../src/core/store/journal';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MIGRATIONS, SCHEMA_VERSION } from '../../../src/core/store/schema';
import { Store } from '../../../src/core/store/store';
import { StoreBusyError } from '../../../src/core/store/lock';

const WRITER = resolve(__dirname, '../../fixtures/store/writer.ts');
const workspace = () => mkdtempSync(join(tmpdir(), 'promptloom-store-'));
const count = async (store: Store, table = 'templates') => Number((await store.get<{ n: number }>(`SELECT count(*) AS n FROM ${table}`))!.n);

async function addTemplate(store: Store, path: string): Promise<void> {
  await store.write((tx) => tx.run('INSERT INTO templates (path, name, tier, created_at) VALUES (?, ?, ?, ?)', [path, path, 'template', 1]));
}

/** Runs the writer fixture as a separate process. */
function writer(dir: string, tag: string, n: number, checkpointBytes?: number) {
  return spawn(process.execPath, ['--require', 'tsx/cjs', WRITER, dir, tag, String(n), ...(checkpointBytes ? [String(checkpointBytes)] : [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

describe('workspace store', () => {
  it('creates .promptloom/ with the current schema', async () => {
    const dir = workspace();
    const store = await Store.open(dir);
    assert.equal(await store.schemaVersion(), SCHEMA_VERSION);
    assert.ok(existsSync(join(dir, '.promptloom', 'promptloom.journal')));
    for (const table of ['templates', 'template_versions', 'batches', 'generation_logs', 'conversations', 'turns', 'quality_scores', 'reviews']) {
      assert.equal(await count(store, table), 0, table);
    }
    store.close();
  });

  it('a write is durable when it returns: a reopen sees it, before and after a checkpoint', async () => {
    const dir = workspace();
    let store = await Store.open(dir);
    await addTemplate(store, 'a.prompt');
    // No close: as if the process died right after the write returned.
    store = await Store.open(dir);
    assert.equal(await count(store), 1);
    await store.checkpoint();
    await addTemplate(store, 'b.prompt');
    store.close();
    store = await Store.open(dir);
    assert.deepEqual((await store.all('SELECT path FROM templates ORDER BY id')).map((r) => r.path), ['a.prompt', 'b.prompt']);
    assert.deepEqual(store.notices, []);
    store.close();
  });

  it('a transaction that throws writes nothing', async () => {
    const dir = workspace();
    const store = await Store.open(dir);
    const journal = statSync(store.journalPath).size;
    await assert.rejects(
      store.write((tx) => {
        tx.run('INSERT INTO templates (path, name, tier, created_at) VALUES (?, ?, ?, ?)', ['x', 'x', 'template', 1]);
        throw new Error('changed my mind');
      }),
    /changed my mind/);
    assert.equal(await count(store), 0);
    assert.equal(statSync(store.journalPath).size, journal);
    store.close();
  });

  it('closing folds the journal into promptloom.db, a plain SQLite file', async () => {
    const dir = workspace();
    const store = await Store.open(dir);
    await addTemplate(store, 'a');
    store.close();
    const bytes = readFileSync(join(dir, '.promptloom', 'promptloom.db'));
    assert.equal(bytes.subarray(0, 16).toString('latin1'), 'SQLite format 3\0');
    assert.ok(statSync(join(dir, '.promptloom', 'promptloom.journal')).size < 200, 'only the header is left');
  });

  it('a crash between writing the snapshot and restarting the journal loses and repeats nothing', async () => {
    const dir = workspace();
    const store = await Store.open(dir);
    await addTemplate(store, 'a');
    await addTemplate(store, 'b');
    // The first half of a checkpoint only, then the process dies.
    (store as unknown as { writeSnapshot(): void }).writeSnapshot();
    const other = await Store.open(dir);
    assert.deepEqual(other.notices, []);
    assert.deepEqual((await other.all('SELECT path FROM templates ORDER BY id')).map((r) => r.path), ['a', 'b']);
    await addTemplate(other, 'c');
    other.close();
    const again = await Store.open(dir);
    assert.equal(await count(again), 3);
    again.close();
  });

  it('checkpoints by itself when the journal grows, and stays consistent', async () => {
    const dir = workspace();
    const store = await Store.open(dir, { checkpointBytes: 2048 });
    for (let i = 0; i < 60; i++) await addTemplate(store, `t${i}`);
    assert.ok(statSync(store.snapshotPath).size > 0, 'a snapshot was written');
    assert.ok(statSync(store.journalPath).size <= 2048 + 1024, 'the journal was restarted');
    store.close();
    const again = await Store.open(dir);
    assert.equal(await count(again), 60);
    again.close();
  });

  it('drops a torn last write and keeps everything before it', async () => {
    const dir = workspace();
    let store = await Store.open(dir);
    await addTemplate(store, 'kept.prompt');
    const good = statSync(store.journalPath).size;
    await addTemplate(store, 'torn.prompt');
    // A crash: the process dies without closing (closing would fold the journal into the file).
    truncateSync(join(dir, '.promptloom', 'promptloom.journal'), statSync(join(dir, '.promptloom', 'promptloom.journal')).size - 7);
    store = await Store.open(dir);
    assert.deepEqual((await store.all('SELECT path FROM templates')).map((r) => r.path), ['kept.prompt']);
    assert.match(store.notices.join(), /incomplete and was dropped/);
    assert.equal(statSync(store.journalPath).size, good, 'the torn bytes were cut off');
    await addTemplate(store, 'after.prompt');
    store.close();
    store = await Store.open(dir);
    assert.deepEqual((await store.all('SELECT path FROM templates ORDER BY id')).map((r) => r.path), ['kept.prompt', 'after.prompt']);
    store.close();
  });

  it('garbage appended to the journal is cut off too', async () => {
    const dir = workspace();
    let store = await Store.open(dir);
    await addTemplate(store, 'a');
    store.close();
    appendFileSync(join(dir, '.promptloom', 'promptloom.journal'), Buffer.from('PLJ1\xff\xff\xff\x7fgarbage', 'latin1'));
    store = await Store.open(dir);
    assert.equal(await count(store), 1);
    await addTemplate(store, 'b');
    assert.equal(await count(store), 2);
    store.close();
  });

  describe('a damaged database file', () => {
    it('is kept aside, reported, and rebuilt from a journal that starts at the beginning', async () => {
      const dir = workspace();
      let store = await Store.open(dir);
      await addTemplate(store, 'a'); // and the process dies before any checkpoint
      writeFileSync(join(dir, '.promptloom', 'promptloom.db'), 'this is not SQLite at all');
      store = await Store.open(dir);
      assert.match(store.notices.join(), /damaged \(not an SQLite file\); it was kept as .*promptloom\.db\.damaged-\d+/);
      assert.equal(await count(store), 1, 'the journal still held every transaction');
      assert.ok(readdirSync(join(dir, '.promptloom')).some((f) => f.startsWith('promptloom.db.damaged-')));
      store.close();
    });

    it('after a checkpoint: both files are kept aside and a fresh database starts, without crashing', async () => {
      const dir = workspace();
      let store = await Store.open(dir);
      await addTemplate(store, 'a');
      await store.checkpoint();
      await addTemplate(store, 'b');
      store.close();
      const db = join(dir, '.promptloom', 'promptloom.db');
      const bytes = readFileSync(db);
      bytes.fill(0x5a, 100, 4000); // scribble over the middle: the header still says SQLite
      writeFileSync(db, bytes);
      store = await Store.open(dir);
      assert.ok(store.notices.length >= 1, 'reported');
      assert.equal(await store.schemaVersion(), SCHEMA_VERSION);
      await addTemplate(store, 'fresh');
      assert.equal(await count(store), 1);
      store.close();
    });
  });

  it('opens a database made by an older release and migrates it', async () => {
    const dir = workspace();
    let store = await Store.open(dir, { migrations: MIGRATIONS.slice(0, 1) });
    assert.equal(await store.schemaVersion(), 1);
    await addTemplate(store, 'old.prompt');
    await assert.rejects(store.get('SELECT count(*) FROM conversations'), /no such table/);
    await store.checkpoint();
    store.close();
    store = await Store.open(dir);
    assert.equal(await store.schemaVersion(), SCHEMA_VERSION);
    assert.equal(await count(store), 1);
    assert.equal(await count(store, 'conversations'), 0);
    store.close();
  });

  it('migration 8: a log of a request cut off by a cancel becomes `cancelled`; new ones can be recorded so', async () => {
    const dir = workspace();
    let store = await Store.open(dir, { migrations: MIGRATIONS.filter((m) => m.version <= 5) });
    const insert = "INSERT INTO generation_logs (template_id, version_id, parameters, model, attempt, status, error_type, created_at) VALUES (1, 1, '{}', 'm', 1, ?, ?, 1)";
    await store.write((tx) => {
      tx.run("INSERT INTO templates (id, path, name, tier, created_at) VALUES (1, 'a.prompt', 'A', 'template', 1)");
      tx.run("INSERT INTO template_versions (id, template_id, content_hash, content, created_at) VALUES (1, 1, 'h', 'x', 1)");
      tx.run(insert, ['failed', 'cancelled']);
      tx.run(insert, ['failed', 'overloaded']);
      tx.run(insert, ['succeeded', null]);
    });
    await assert.rejects(store.write((tx) => tx.run(insert, ['cancelled', 'cancelled'])), /CHECK constraint/);
    store.close();
    store = await Store.open(dir);
    assert.deepEqual(await store.all('SELECT status, error_type FROM generation_logs ORDER BY id'), [
      { status: 'cancelled', error_type: 'cancelled' },
      { status: 'failed', error_type: 'overloaded' },
      { status: 'succeeded', error_type: null },
    ]);
    await store.write((tx) => tx.run(insert, ['cancelled', 'cancelled']));
    await assert.rejects(store.write((tx) => tx.run(insert, ['lost', null])), /CHECK constraint/);
    // The indexes came back with the table.
    assert.deepEqual((await store.all("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'generation_logs' ORDER BY name")).map((r) => r.name), ['generation_logs_by_batch', 'generation_logs_by_template']);
    store.close();
  });

  it('applies every migration a database lacks, even one numbered below the highest it has', async () => {
    const dir = workspace();
    // As when one branch's migration 9 landed before another branch's 7: the database has 9, not 7.
    const base = [...MIGRATIONS.filter((m) => m.version <= 5), { version: 9, description: 'a migration merged first', sql: ['CREATE TABLE merged_first (x INTEGER)'] }];
    const late = { version: 7, description: 'a migration merged later', sql: ['CREATE TABLE merged_later (x INTEGER)'] };
    let store = await Store.open(dir, { migrations: base });
    await assert.rejects(store.get('SELECT count(*) FROM merged_later'), /no such table/);
    store.close();
    store = await Store.open(dir, { migrations: [...base, late] });
    assert.equal(Number((await store.get('SELECT count(*) AS n FROM merged_later'))!.n), 0);
    assert.ok((await store.all('SELECT version FROM schema_version')).some((r) => r.version === 7));
    store.close();
    // Opened again: nothing is applied twice.
    store = await Store.open(dir, { migrations: [...base, late] });
    assert.equal(Number((await store.get('SELECT count(*) AS n FROM schema_version WHERE version = 7'))!.n), 1);
    store.close();
  });

  it('a migration that rebuilds a table never runs after a later one (it would drop what that one added)', async () => {
    const dir = workspace();
    const later = { version: 9, description: 'adds a column', sql: ['ALTER TABLE generation_logs ADD COLUMN later_note TEXT'] };
    const store = await Store.open(dir, { migrations: [...MIGRATIONS.filter((m) => m.version < 8), later] });
    store.close();
    await assert.rejects(Store.open(dir, { migrations: [...MIGRATIONS, later] }), /migration 8 rebuilds generation_logs and cannot run after migration 9/);
    // Nothing was applied: the column added by 9 is still there.
    const again = await Store.open(dir, { migrations: [...MIGRATIONS.filter((m) => m.version < 8), later] });
    assert.ok((await again.all("SELECT name FROM pragma_table_info('generation_logs')")).some((r) => r.name === 'later_note'));
    again.close();
  });

  it('migration 8 rebuilds generation_logs keeping every column and index, and marks old cancelled attempts', async () => {
    const dir = workspace();
    let store = await Store.open(dir, { migrations: MIGRATIONS.filter((m) => m.version < 8) });
    const columns = async () => (await store.all("SELECT name FROM pragma_table_info('generation_logs') ORDER BY cid")).map((r) => String(r.name));
    const indexes = async () => (await store.all("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'generation_logs' ORDER BY name")).map((r) => String(r.name));
    const before = { columns: await columns(), indexes: await indexes() };
    await store.write((tx) => {
      tx.run("INSERT INTO templates (id, path, name, tier, created_at) VALUES (1, 'a.prompt', 'A', 'template', 1)");
      tx.run("INSERT INTO template_versions (id, template_id, content_hash, content, created_at) VALUES (1, 1, 'h', 'x', 1)");
      tx.run(`INSERT INTO generation_logs (template_id, version_id, parameters, model, attempt, status, error_type, created_at, cache_read_input_tokens, saved_usd)
              VALUES (1, 1, '{}', 'm', 1, 'failed', 'cancelled', 1, 0, 0), (1, 1, '{}', 'm', 1, 'succeeded', NULL, 2, 1500, 0.004)`);
    });
    store.close();
    store = await Store.open(dir);
    assert.deepEqual(await columns(), before.columns);
    assert.deepEqual(await indexes(), before.indexes);
    assert.deepEqual(await store.all('SELECT status, cache_read_input_tokens AS r, saved_usd AS s FROM generation_logs ORDER BY created_at'), [
      { status: 'cancelled', r: 0, s: 0 },
      { status: 'succeeded', r: 1500, s: 0.004 },
    ]);
    store.close();
  });

  it('migration 3 copies each conversation’s score and last review onto it', async () => {
    const dir = workspace();
    let store = await Store.open(dir, { migrations: MIGRATIONS.slice(0, 2) });
    await store.write((tx) => {
      tx.run("INSERT INTO templates (id, path, name, tier, created_at) VALUES (1, 'a.prompt', 'A', 'template', 1)");
      tx.run("INSERT INTO template_versions (id, template_id, content_hash, content, created_at) VALUES (1, 1, 'h', 'x', 1)");
      for (const id of ['c1', 'c2']) tx.run("INSERT INTO conversations (id, template_id, version_id, parameters, created_at) VALUES (?, 1, 1, '{}', 1)", [id]);
      tx.run("INSERT INTO quality_scores (conversation_id, overall, breakdown, recommendations, created_at) VALUES ('c1', 7.5, '{}', '[]', 2)");
      tx.run("INSERT INTO reviews (conversation_id, status, created_at) VALUES ('c1', 'rejected', 3), ('c1', 'approved', 9)");
    });
    store.close();
    store = await Store.open(dir);
    assert.deepEqual(await store.all('SELECT id, quality, reviewed_at FROM conversations ORDER BY id'), [
      { id: 'c1', quality: 7.5, reviewed_at: 9 },
      { id: 'c2', quality: null, reviewed_at: null },
    ]);
    // From now on triggers keep them in step, whoever writes the score or the review.
    await store.write((tx) => {
      tx.run("INSERT INTO quality_scores (conversation_id, overall, breakdown, recommendations, created_at) VALUES ('c2', 4.5, '{}', '[]', 10)");
      tx.run("INSERT INTO reviews (conversation_id, status, created_at) VALUES ('c2', 'approved', 12), ('c1', 'rejected', 5)");
      tx.run("UPDATE quality_scores SET overall = 8 WHERE conversation_id = 'c1'");
    });
    assert.deepEqual(await store.all('SELECT id, quality, reviewed_at FROM conversations ORDER BY id'), [
      { id: 'c1', quality: 8, reviewed_at: 9 },
      { id: 'c2', quality: 4.5, reviewed_at: 12 },
    ]);
    store.close();
  });

  it('refuses values the journal cannot carry exactly, and asynchronous transactions', async () => {
    const store = await Store.open(workspace());
    const before = store.sequence;
    await assert.rejects(store.write((tx) => tx.run('INSERT INTO templates (path, name, tier, created_at) VALUES (?, ?, ?, ?)', ['p', 'n', 'template', Infinity])), /finite numbers/);
    await assert.rejects(store.write((async () => undefined) as never), /must be synchronous/);
    assert.equal(store.sequence, before);
    assert.equal(await count(store), 0);
    store.close();
  });

  it('damage in the middle of the journal is reported as damage, with a copy kept', async () => {
    const dir2 = workspace();
    const store = await Store.open(dir2);
    for (const name of ['a', 'b', 'c', 'd']) await addTemplate(store, name);
    const j2 = join(dir2, '.promptloom', 'promptloom.journal');
    const data = readFileSync(j2);
    const frames: number[] = [];
    for (let i = data.indexOf('PLJ1'); i >= 0; i = data.indexOf('PLJ1', i + 1)) frames.push(i);
    const at = frames[frames.length - 3]! + 20; // inside the frame of 'b'
    data[at] = data[at]! ^ 0xff;
    writeFileSync(j2, data);
    const reopened = await Store.open(dir2);
    assert.deepEqual((await reopened.all('SELECT path FROM templates ORDER BY id')).map((r) => r.path), ['a']);
    assert.match(reopened.notices.join(), /journal was damaged after transaction \d+; later transactions could not be read\. A copy was kept/);
    assert.ok(readdirSync(join(dir2, '.promptloom')).some((f) => f.startsWith('promptloom.journal.damaged-')));
    reopened.close();
  });

  it('odd files in .promptloom/ are moved aside or reported, never a crash', async () => {
    const asFile = workspace();
    writeFileSync(join(asFile, '.promptloom'), 'a file where the folder should be');
    await assert.rejects(Store.open(asFile), /cannot keep the workspace database in .*\.promptloom: a file of that name is in the way/);

    const dbDir = workspace();
    mkdirSync(join(dbDir, '.promptloom', 'promptloom.db'), { recursive: true });
    let store = await Store.open(dbDir);
    assert.match(store.notices.join(), /damaged/);
    await addTemplate(store, 'ok');
    store.close();

    const journalDir = workspace();
    mkdirSync(join(journalDir, '.promptloom', 'promptloom.journal'), { recursive: true });
    store = await Store.open(journalDir);
    assert.match(store.notices.join(), /journal could not be used/);
    await addTemplate(store, 'ok');
    assert.equal(await count(store), 1);
    store.close();
  });

  it('a transaction nobody can replay is set aside without losing the other writers’ data', async () => {
    const dir = workspace();
    const a = await Store.open(dir);
    const b = await Store.open(dir);
    await addTemplate(a, 'a1');
    await a.checkpoint();
    // A frame that fails on replay (as a buggy or older writer could leave).
    const journal = join(dir, '.promptloom', 'promptloom.journal');
    appendDurably(journal, { kind: 'tx', seq: a.sequence + 1, statements: [{ sql: 'INSERT INTO no_such_table VALUES (1)', params: [] }] }, statSync(journal).size);
    await b.refresh();
    assert.match(b.notices.join(), /journal could not be used/);
    await addTemplate(b, 'b1');
    await a.refresh();
    assert.deepEqual((await a.all('SELECT path FROM templates ORDER BY id')).map((r) => r.path), ['a1', 'b1']);
    const c = await Store.open(dir);
    assert.deepEqual((await c.all('SELECT path FROM templates ORDER BY id')).map((r) => r.path), ['a1', 'b1']);
    for (const s of [a, b, c]) s.close();
  });

  it('takes over a lock that carries its own pid (an earlier process with the same pid) or was never written', async () => {
    const dir = workspace();
    const store = await Store.open(dir, { lockTimeoutMs: 3000 });
    const lock = join(dir, '.promptloom', 'promptloom.lock');
    writeFileSync(lock, `${process.pid}:leftover`);
    await addTemplate(store, 'a');
    writeFileSync(lock, '');
    const old = new Date(Date.now() - 10_000);
    utimesSync(lock, old, old);
    await addTemplate(store, 'b');
    assert.equal(await count(store), 2);
    store.close();
  });

  it('two stores on one workspace (two windows) see each other’s writes', async () => {
    const dir = workspace();
    const a = await Store.open(dir);
    const b = await Store.open(dir);
    await addTemplate(a, 'from-a');
    assert.equal(await count(b), 0, 'not yet refreshed');
    assert.equal(await b.refresh(), true);
    assert.equal(await count(b), 1);
    await addTemplate(b, 'from-b'); // catches up with a first
    assert.equal(await a.refresh(), true);
    assert.deepEqual((await a.all('SELECT path FROM templates ORDER BY id')).map((r) => r.path), ['from-a', 'from-b']);
    assert.equal(await a.refresh(), false, 'nothing new');
    await b.checkpoint();
    await addTemplate(b, 'after-checkpoint');
    await a.refresh();
    assert.equal(await count(a), 3);
    a.close();
    b.close();
  });

  it('takes over a lock left by a process that died', async () => {
    const dir = workspace();
    const store = await Store.open(dir);
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(join(dir, '.promptloom', 'promptloom.lock'), dead.stdout);
    await addTemplate(store, 'a');
    assert.equal(await count(store), 1);
    assert.ok(!existsSync(join(dir, '.promptloom', 'promptloom.lock')));
    store.close();
  });

  it('says the database is busy when a live process keeps the lock', async () => {
    const dir = workspace();
    const store = await Store.open(dir, { lockTimeoutMs: 200 });
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)']);
    try {
      writeFileSync(join(dir, '.promptloom', 'promptloom.lock'), String(holder.pid));
      await assert.rejects(addTemplate(store, 'a'), (e: unknown) => e instanceof StoreBusyError && /busy/.test(e.message));
    } finally {
      holder.kill('SIGKILL');
    }
    store.close();
  });

  it('three processes writing at once lose nothing', async function () {
    this.timeout(60_000);
    const dir = workspace();
    (await Store.open(dir)).close(); // create and migrate first
    const runs = ['p', 'q', 'r'].map((tag) => writer(dir, tag, 40, 4096));
    await Promise.all(runs.map((child) => new Promise((done) => child.on('exit', done))));
    for (const child of runs) assert.equal(child.exitCode, 0);
    const store = await Store.open(dir);
    assert.equal(await count(store), 120);
    assert.equal(await count(store, 'template_versions'), 120);
    // Each version belongs to the template written in the same transaction.
    assert.equal(await count(store, "templates t JOIN template_versions v ON v.template_id = t.id AND v.content_hash = 'h' || substr(t.path, 3, instr(t.path, '.') - 3)"), 120);
    store.close();
  });

  it('kill -9 at any moment loses nothing that was acknowledged and corrupts nothing', async function () {
    this.timeout(120_000);
    for (let round = 0; round < 6; round++) {
      const dir = workspace();
      (await Store.open(dir)).close();
      // Small checkpoints, so some kills land while a snapshot is being written.
      const child = writer(dir, 'k', 100_000, round % 2 === 0 ? 8 * 1024 : 64 * 1024);
      const acknowledged: string[] = [];
      let buffered = '';
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        for (const line of lines) if (line.startsWith('ok ')) acknowledged.push(line.slice(3));
      });
      // Kill once the writer is going (however slowly the machine starts it), at a moment that
      // differs each round: after a number of acknowledged writes, then a little later still.
      const going = 20 + round * 40;
      while (acknowledged.length < going && child.exitCode === null) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, (round * 37) % 60));
      child.kill('SIGKILL');
      await new Promise((done) => child.on('exit', done));
      assert.ok(acknowledged.length > 10, `the writer got going (round ${round})`);
      const store = await Store.open(dir);
      const stored = new Set((await store.all('SELECT path FROM templates')).map((r) => String(r.path).replace('.prompt', '')));
      const lost = acknowledged.filter((id) => !stored.has(id));
      assert.deepEqual(lost, [], `round ${round}: acknowledged writes survive`);
      assert.ok(stored.size <= acknowledged.length + 1, 'at most the write in flight is extra');
      assert.equal((await store.get<{ integrity_check: string }>('PRAGMA integrity_check'))?.integrity_check, 'ok');
      assert.deepEqual(store.notices.filter((n) => /damaged|could not be used/.test(n)), [], 'no file was damaged');
      await addTemplate(store, 'after-crash');
      store.close();
    }
  });
});
