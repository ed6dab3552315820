/**
 * The team database's `Database` handle: `?` placeholders numbered outside quoted text, values
 * read as the workspace database gives them (bigint and numeric as numbers, JSON as its text),
 * `runAll` all or none, and a refused connection said without the password. Against a real
 * PostgreSQL, except the pure placeholder conversion.
 */
import { strict as assert } from 'node:assert';
import { TeamDatabaseError } from '../../../src/core/store/postgres/connection';
import { numberedPlaceholders, TeamDatabase } from '../../../src/core/store/postgres/teamDatabase';
import { startPostgres, type PostgresServer } from '../../helpers/postgres';

describe('team database handle: placeholders', () => {
  it('numbers each ? in order', () => {
    assert.equal(numberedPlaceholders('SELECT * FROM t WHERE a = ? AND b IN (?, ?) LIMIT ?'), 'SELECT * FROM t WHERE a = $1 AND b IN ($2, $3) LIMIT $4');
  });

  it("leaves a ? inside quoted text or a quoted name alone, doubled quotes included", () => {
    assert.equal(numberedPlaceholders(`SELECT '?', "odd?name", 'it''s ? here', ? FROM t WHERE x = ?`), `SELECT '?', "odd?name", 'it''s ? here', $1 FROM t WHERE x = $2`);
  });

  it('leaves a statement without placeholders as it is', () => {
    const sql = "SELECT count(*) FILTER (WHERE status = 'failed') FROM generation_logs";
    assert.equal(numberedPlaceholders(sql), sql);
  });
});

describe('team database handle (a real PostgreSQL)', function () {
  this.timeout(60_000);
  let server: PostgresServer;
  let db: TeamDatabase;

  before(async () => {
    server = await startPostgres();
    await server.admin(["CREATE ROLE handle_user LOGIN PASSWORD 'h4ndle-Secret'", 'CREATE DATABASE handle OWNER handle_user']);
    db = await TeamDatabase.connect(server.url('handle_user', 'h4ndle-Secret', 'handle'));
    // The team schema is the search path: unqualified names land there.
    await db.run('CREATE SCHEMA promptloom');
    await db.run('CREATE TABLE items (id BIGINT PRIMARY KEY, label TEXT NOT NULL, data JSONB)');
  });

  after(async () => {
    await db?.close();
    server?.dispose();
  });

  it('reads bigint, numeric, and their sums and means as numbers, and JSON as its text', async () => {
    await db.run('INSERT INTO items (id, label, data) VALUES (?, ?, ?), (?, ?, ?)', [1_700_000_000_001, 'a?', '{"tone":"calm","n":1}', 2, "it's", null]);
    const row = await db.get('SELECT count(*) AS n, sum(id) AS total, avg(id) AS mean, max(id) AS latest, 1.25::numeric AS exact FROM items');
    assert.deepEqual(row, { n: 2, total: 1_700_000_000_003, mean: 850_000_000_001.5, latest: 1_700_000_000_001, exact: 1.25 });
    const rows = await db.all("SELECT label, data FROM items WHERE label <> '?' ORDER BY id DESC");
    assert.equal(typeof rows[0]!.data, 'string');
    assert.deepEqual(JSON.parse(String(rows[0]!.data)), { tone: 'calm', n: 1 });
    assert.deepEqual(rows.map((r) => r.label), ['a?', "it's"]);
  });

  it('runAll: all or none', async () => {
    const results = await db.runAll([
      { sql: 'INSERT INTO items (id, label) VALUES (?, ?)', params: [10, 'ten'] },
      { sql: 'UPDATE items SET label = ? WHERE id = ?', params: ['ten!', 10] },
    ]);
    assert.deepEqual(results, [{ changes: 1 }, { changes: 1 }]);
    await assert.rejects(
      db.runAll([
        { sql: 'INSERT INTO items (id, label) VALUES (?, ?)', params: [11, 'eleven'] },
        { sql: 'INSERT INTO items (id, label) VALUES (?, ?)', params: [10, 'again'] },
      ]),
      /duplicate key/,
    );
    assert.equal((await db.get('SELECT count(*) AS n FROM items WHERE id = 11'))!.n, 0);
  });

  it('snapshot: every read sees the database as of the first, whatever others write meanwhile; writes refused', async () => {
    await db.run('INSERT INTO items (id, label) VALUES (?, ?)', [20, 'before']);
    const count = async (reader: Pick<TeamDatabase, 'get'>) => Number((await reader.get('SELECT count(*) AS n FROM items WHERE id BETWEEN ? AND ?', [20, 29]))!.n);
    const seen = await db.snapshot(async (snap) => {
      const first = await count(snap);
      // Another connection of the pool commits a row between two reads of the snapshot.
      await db.run('INSERT INTO items (id, label) VALUES (?, ?)', [21, 'meanwhile']);
      await assert.rejects(snap.run('INSERT INTO items (id, label) VALUES (?, ?)', [22, 'inside']), /only reads/);
      return [first, await count(snap), (await snap.all('SELECT label FROM items WHERE id BETWEEN ? AND ? ORDER BY id', [20, 29])).map((r) => r.label)];
    });
    assert.deepEqual(seen, [1, 1, ['before']]);
    assert.equal(await count(db), 2);
  });

  it('transaction: commits what the body wrote, reads its own writes, and answers an inserted id', async () => {
    await db.run('CREATE TABLE numbered (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, label TEXT NOT NULL UNIQUE)');
    const seen = await db.transaction(async (tx) => {
      const id = await tx.insert('INSERT INTO numbered (label) VALUES (?)', ['first']);
      await tx.run('UPDATE numbered SET label = ? WHERE id = ?', ['first!', id]);
      return { id, row: await tx.get('SELECT label FROM numbered WHERE id = ?', [id]) };
    });
    assert.equal(typeof seen.id, 'number');
    assert.deepEqual(seen.row, { label: 'first!' });
    assert.deepEqual(await db.all('SELECT id, label FROM numbered'), [{ id: seen.id, label: 'first!' }]);
  });

  it('transaction: a body that throws (a statement refused, or its own error) leaves nothing', async () => {
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.insert('INSERT INTO numbered (label) VALUES (?)', ['second']);
        await tx.insert('INSERT INTO numbered (label) VALUES (?)', ['first!']);
      }),
      /duplicate key/,
    );
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.run('INSERT INTO numbered (label) VALUES (?)', ['third']);
        throw new Error('changed my mind');
      }),
      /changed my mind/,
    );
    assert.deepEqual((await db.all('SELECT label FROM numbered ORDER BY id')).map((r) => r.label), ['first!']);
    // Every client went back to the pool usable: the handle still answers.
    assert.equal((await db.get('SELECT count(*) AS n FROM numbered'))!.n, 1);
  });

  it('transaction: runs the body again after a deadlock, and commits once', async () => {
    await db.runAll([
      { sql: 'CREATE TABLE pair (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)' },
      { sql: 'INSERT INTO pair (id, n) VALUES (1, 0), (2, 0)' },
    ]);
    // Two bodies lock the rows in opposite orders, each waiting for the other to have taken its
    // first: the server kills one (40P01), which runs again after the other commits.
    let runs = 0;
    let arrived = 0;
    const bothHoldOne = async () => {
      arrived++;
      while (arrived < 2) await new Promise((r) => setTimeout(r, 5));
    };
    const crossing = (first: number, second: number) =>
      db.transaction(async (tx) => {
        runs++;
        await tx.run('UPDATE pair SET n = n + 1 WHERE id = ?', [first]);
        await bothHoldOne();
        await tx.run('UPDATE pair SET n = n + 1 WHERE id = ?', [second]);
      });
    await Promise.all([crossing(1, 2), crossing(2, 1)]);
    assert.ok(runs >= 3, `${runs} runs`);
    assert.deepEqual((await db.all('SELECT n FROM pair ORDER BY id')).map((r) => r.n), [2, 2]);
  });

  it('a wrong password: a TeamDatabaseError in words, without the password', async () => {
    const error = await TeamDatabase.connect(server.url('handle_user', 'n0t-The-Secret', 'handle')).then(
      () => assert.fail('connected with a wrong password'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof TeamDatabaseError);
    assert.match(error.message, /handle_user@127\.0\.0\.1:\d+\/handle: password authentication failed/);
    assert.ok(!error.message.includes('n0t-The-Secret'));
  });

  it('no password at all (none in the URL, no PGPASSWORD): says so, not the driver\'s SASL message', async () => {
    const saved = process.env.PGPASSWORD;
    delete process.env.PGPASSWORD;
    try {
      const error = await TeamDatabase.connect(`postgresql://handle_user@${server.host}:${server.port}/handle`).then(
        () => assert.fail('connected without a password'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof TeamDatabaseError);
      assert.match(error.message, /^handle_user@127\.0\.0\.1:\d+\/handle: the server asks for a password and none was given/);
    } finally {
      if (saved !== undefined) process.env.PGPASSWORD = saved;
    }
  });
});
