/**
 * The team database going away in the middle of `generate --database-url` (the built CLI, the fake
 * Messages API answering slowly, a real PostgreSQL stopped and started): paid answers wait in the
 * workspace's `.promptloom/team-spool/` and reach the team database exactly once, whether the
 * server comes back during the run or only before the next one, and even when a replay is cut off
 * between its inserts and the removal of the spool.
 */
import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { FakeMessagesApi } from '../fixtures/fakeMessagesApi';
import { promptloom, runCli, workspace, type Run } from '../helpers/cli';
import { startPostgres, type PostgresServer } from '../helpers/postgres';

const KEY = 'sk-test-spool-key-7q';
const OWNER_PASSWORD = 'Own3r-spool-zx';
const ALICE_PASSWORD = 'al1ce-Spools-kq';
const TEMPLATE = ['---', 'name: Spool check', 'tier: scenario', '---', 'Write a conversation about <<topic>>.', ''].join('\n');

interface Summary {
  requested: number;
  succeeded: number;
  batchId: string;
  conversations: string[];
  spooled?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('generate on the team database while its server is down (the local spool)', function () {
  this.timeout(180_000);
  let server: PostgresServer;
  let api: FakeMessagesApi;
  let aliceUrl: string;
  let admin: string;
  let ws: string;
  const spoolDir = () => join(ws, '.promptloom', 'team-spool');
  const spoolFiles = () => (existsSync(spoolDir()) ? readdirSync(spoolDir()).filter((n) => n.endsWith('.jsonl')) : []);

  const generate = (count: number) =>
    runCli(['generate', 'check.prompt', '--param', 'topic=pensions', '--format', 'json', '--base-delay-ms', '10', '--concurrency', '1', '--count', String(count), '--database-url', aliceUrl], ws, {
      ANTHROPIC_API_KEY: KEY,
      ANTHROPIC_BASE_URL: api.url,
    });
  const query = async (sql: string, params: unknown[] = []) => {
    const client = new Client({ connectionString: admin });
    await client.connect();
    try {
      return (await client.query(sql, params)).rows as Record<string, unknown>[];
    } finally {
      await client.end();
    }
  };
  const conversationCount = async () => Number((await query('SELECT count(*) AS n FROM promptloom.conversations'))[0]!.n);
  /** Every conversation of the batch, once each (ids are the primary key: counted with duplicates of content too). */
  const batchRows = async (batchId: string) => ({
    conversations: Number((await query('SELECT count(*) AS n FROM promptloom.conversations WHERE batch_id = $1', [batchId]))[0]!.n),
    logs: Number((await query("SELECT count(*) AS n FROM promptloom.generation_logs WHERE batch_id = $1 AND status = 'succeeded'", [batchId]))[0]!.n),
    status: (await query('SELECT status FROM promptloom.batches WHERE id = $1', [batchId]))[0]!.status,
  });
  /** Reads the spool while it exists: what it held, for the secrets check. */
  const watchSpool = () => {
    let seen = '';
    let stop = false;
    const done = (async () => {
      while (!stop) {
        for (const name of spoolFiles()) {
          try {
            seen += readFileSync(join(spoolDir(), name), 'utf8');
          } catch {
            // replayed and removed meanwhile
          }
        }
        await sleep(100);
      }
    })();
    return async () => {
      stop = true;
      await done;
      return seen;
    };
  };

  before(async () => {
    server = await startPostgres();
    await server.createTeam(OWNER_PASSWORD, { alice: ALICE_PASSWORD });
    const owner = server.url('team_owner', OWNER_PASSWORD, 'team');
    const init = promptloom(['db', 'init', '--database-url', owner], { env: { PROMPTLOOM_DATABASE_URL: '' } });
    assert.equal(init.code, 0, init.stderr);
    await server.admin(['GRANT promptloom_member TO alice']);
    aliceUrl = server.url('alice', ALICE_PASSWORD, 'team');
    admin = server.adminUrl('team');
    api = await FakeMessagesApi.start({ apiKey: KEY, latencyMs: 400 });
    ws = workspace({ 'check.prompt': TEMPLATE });
  });

  after(async () => {
    await api?.stop();
    server?.dispose();
  });

  it('a server down for 12 s mid-batch (longer than a record was ever tried): the batch goes on, every answer is written once when it is back', async () => {
    const before = await conversationCount();
    const asked = api.stats.accepted;
    const running = generate(20);
    while ((await conversationCount()) === before) await sleep(50);
    server.stopServer();
    const spooled = watchSpool();
    await sleep(12_000);
    // Answers kept arriving while it was down: the batch did not stop, they wait in the spool.
    assert.ok(spoolFiles().length > 0, 'no spool file while the server was down');
    server.startServer();
    const run: Run = await running;
    const held = await spooled();
    assert.equal(run.code, 0, run.stderr);
    const summary = JSON.parse(run.stdout.trim().split('\n').pop()!) as Summary;
    assert.equal(summary.succeeded, 20);
    assert.ok((summary.spooled ?? 0) >= 5, `spooled ${summary.spooled}`);
    assert.match(run.stderr, /kept in \.promptloom\/team-spool\/ while the team database was unreachable, and written when it was back/);
    assert.ok(api.stats.accepted - asked <= 20, `the API was asked ${api.stats.accepted - asked} times for 20`);
    assert.deepEqual(await batchRows(summary.batchId), { conversations: 20, logs: 20, status: 'completed' });
    const ids = (await query('SELECT id FROM promptloom.conversations WHERE batch_id = $1 ORDER BY id', [summary.batchId])).map((r) => r.id);
    assert.deepEqual(ids, [...summary.conversations].sort());
    assert.deepEqual(spoolFiles(), [], 'the spool is emptied once written');
    // The spool held the answers, never a secret.
    assert.match(held, /"conversationId"/);
    assert.ok(!held.includes(ALICE_PASSWORD) && !held.includes(encodeURIComponent(ALICE_PASSWORD)), 'the password is in the spool');
    assert.ok(!held.includes(KEY), 'the API key is in the spool');
  });

  it('a server still down when the run ends: a clear line naming the spool; the next generate writes it once, and again after a replay cut off before the spool was removed', async () => {
    const before = await conversationCount();
    const running = generate(4);
    while ((await conversationCount()) === before) await sleep(50);
    server.stopServer();
    const run = await running;
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /the team database stayed unreachable: 3 paid answers are kept in \S+\.promptloom\/team-spool\/\S+\.jsonl; the next promptloom generate --database-url … in this folder writes them first/);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    const files = spoolFiles();
    assert.equal(files.length, 1);
    const held = readFileSync(join(spoolDir(), files[0]!), 'utf8');
    const lines = held.trim().split('\n').map((l) => JSON.parse(l) as { user: string; record: { batchId: string; conversationId: string } });
    assert.equal(lines.length, 3);
    assert.ok(lines.every((l) => l.user === 'alice'));
    assert.ok(!held.includes(ALICE_PASSWORD) && !held.includes(KEY), 'a secret is in the spool');
    const batchId = lines[0]!.record.batchId;

    server.startServer();
    assert.deepEqual(await batchRows(batchId), { conversations: 1, logs: 1, status: 'running' });
    const next = await generate(1);
    assert.equal(next.code, 0, next.stderr);
    assert.match(next.stderr, /wrote 3 answers an earlier run kept in \.promptloom\/team-spool/);
    assert.deepEqual(await batchRows(batchId), { conversations: 4, logs: 4, status: 'completed' });
    assert.deepEqual(spoolFiles(), []);

    // A replay killed after its inserts and before it removed the spool: the same file again.
    writeFileSync(join(spoolDir(), files[0]!), held);
    const again = await generate(1);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(await batchRows(batchId), { conversations: 4, logs: 4, status: 'completed' });
    assert.deepEqual(spoolFiles(), []);
  });
});
