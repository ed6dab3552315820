/**
 * Team analytics read kept totals (migration 3) instead of every log: against a real PostgreSQL,
 * the view must say exactly what an aggregate over the logs themselves says, whatever way the
 * logs arrived (one by one, many per statement, from concurrent writers, rolled back), including
 * logs written before the migration.
 */
import { strict as assert } from 'node:assert';
import { Client } from 'pg';
import { connectTeamDatabase, inTransaction } from '../../../src/core/store/postgres/connection';
import { PG_MIGRATIONS, TEAM_SCHEMA } from '../../../src/core/store/postgres/migrations';
import { initTeamDatabase } from '../../../src/core/store/postgres/setup';
import { startPostgres, type PostgresServer } from '../../helpers/postgres';

interface Figures {
  template_id: number;
  generations: number;
  succeeded: number;
  failed: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
  avg_duration_ms: number | null;
  authors: number;
  last_generation_at: number | null;
}

/** The figures straight from the logs (the first version of the view), as the superuser sees them. */
const FROM_LOGS = `
  SELECT t.id AS template_id, count(g.id) AS generations,
         count(g.id) FILTER (WHERE g.status = 'succeeded') AS succeeded, count(g.id) FILTER (WHERE g.status = 'failed') AS failed,
         coalesce(sum(g.input_tokens), 0) AS input_tokens, coalesce(sum(g.output_tokens), 0) AS output_tokens,
         coalesce(sum(g.cost_usd), 0) AS cost_usd, avg(g.duration_ms) AS avg_duration_ms,
         count(DISTINCT g.created_by) AS authors, max(g.created_at) AS last_generation_at
    FROM ${TEAM_SCHEMA}.prompt_templates t LEFT JOIN ${TEAM_SCHEMA}.generation_logs g ON g.template_id = t.id
   GROUP BY t.id ORDER BY t.id`;

const FROM_VIEW = `SELECT template_id, generations, succeeded, failed, input_tokens, output_tokens, cost_usd, avg_duration_ms, authors, last_generation_at
                     FROM template_analytics ORDER BY template_id`;

function numbers(rows: Record<string, unknown>[]): Figures[] {
  return rows.map((r) => {
    const n = (k: string) => (r[k] === null ? null : Number(r[k]));
    return {
      template_id: n('template_id')!,
      generations: n('generations')!,
      succeeded: n('succeeded')!,
      failed: n('failed')!,
      input_tokens: n('input_tokens')!,
      output_tokens: n('output_tokens')!,
      // Summed in another order: equal to the last few bits.
      cost_usd: Math.round(n('cost_usd')! * 1e9) / 1e9,
      avg_duration_ms: r.avg_duration_ms === null ? null : Math.round(Number(r.avg_duration_ms) * 1e6) / 1e6,
      authors: n('authors')!,
      last_generation_at: n('last_generation_at'),
    };
  });
}

describe('team database (PostgreSQL): analytics from kept totals', function () {
  this.timeout(60_000);
  let server: PostgresServer;
  const clients: Client[] = [];

  before(async () => {
    server = await startPostgres();
    await server.admin([
      "CREATE ROLE team_owner LOGIN CREATEROLE PASSWORD 'owner-secret'",
      'CREATE DATABASE team OWNER team_owner',
      'CREATE DATABASE older OWNER team_owner',
      "CREATE ROLE alice LOGIN PASSWORD 'alice-secret'",
      "CREATE ROLE bob LOGIN PASSWORD 'bob-secret'",
    ]);
  });

  after(async () => {
    for (const client of clients) await client.end().catch(() => undefined);
    server?.dispose();
  });

  async function connect(role: 'team_owner' | 'alice' | 'bob', database: string): Promise<Client> {
    const password = role === 'team_owner' ? 'owner-secret' : `${role}-secret`;
    const client = await connectTeamDatabase(server.url(role, password, database));
    clients.push(client);
    return client;
  }

  async function fromLogs(database: string): Promise<Figures[]> {
    const admin = new Client({ connectionString: server.adminUrl(database) });
    await admin.connect();
    try {
      return numbers((await admin.query(FROM_LOGS)).rows);
    } finally {
      await admin.end();
    }
  }

  async function templates(as: Client, count: number): Promise<{ id: number; versionId: number }[]> {
    const out: { id: number; versionId: number }[] = [];
    for (let i = 0; i < count; i++) {
      const path = `t-${Math.random().toString(36).slice(2)}.prompt`;
      const t = await as.query<{ id: string }>("INSERT INTO prompt_templates (path, name, tier, created_at) VALUES ($1, $1, 'template', 1) RETURNING id", [path]);
      const id = Number(t.rows[0]!.id);
      const v = await as.query<{ id: string }>("INSERT INTO template_versions (template_id, content_hash, content, created_at) VALUES ($1, 'h', 'body', 1) RETURNING id", [id]);
      out.push({ id, versionId: Number(v.rows[0]!.id) });
    }
    return out;
  }

  /** `count` logs in one statement, spread over `over`, one in four failed; figures vary with `seed`. */
  async function logs(as: Client, over: { id: number; versionId: number }[], count: number, seed: number): Promise<void> {
    const values: unknown[] = [];
    const rows: string[] = [];
    for (let i = 0; i < count; i++) {
      const t = over[(i + seed) % over.length]!;
      const k = seed * 1000 + i;
      const base = values.length;
      values.push(t.id, t.versionId, (k * 37) % 1000, (k * 53) % 3000, ((k * 7) % 100) / 1000 + 0.0001, (k * 11) % 40_000, 1_700_000_000_000 + k);
      rows.push(`($${base + 1}, $${base + 2}, '{}', 'm', 1, '${i % 4 === 0 ? 'failed' : 'succeeded'}', $${base + 3}, $${base + 4}, $${base + 5}, $${base + 6}, $${base + 7})`);
    }
    await as.query(`INSERT INTO generation_logs (template_id, version_id, parameters, model, attempt, status, input_tokens, output_tokens, cost_usd, duration_ms, created_at) VALUES ${rows.join(', ')}`, values);
  }

  it('the view equals an aggregate over the logs, however they were written', async () => {
    const owner = await connect('team_owner', 'team');
    await initTeamDatabase(owner);
    await server.admin(['GRANT promptloom_member TO alice', 'GRANT promptloom_member TO bob']);
    const [alice, alice2, bob, bob2] = [await connect('alice', 'team'), await connect('alice', 'team'), await connect('bob', 'team'), await connect('bob', 'team')];
    const shared = [...(await templates(alice, 3)), ...(await templates(bob, 2))];
    await templates(bob, 1); // no logs: zeros and nulls, as before

    for (let i = 0; i < 5; i++) await logs(alice, shared, 1, i); // one by one
    await logs(bob, shared, 40, 7); // one statement over every template
    // Concurrent writers, two per member, each in transactions of several statements.
    await Promise.all(
      [alice, alice2, bob, bob2].map((client, w) =>
        (async () => {
          for (let n = 0; n < 10; n++) {
            await inTransaction(client, async () => {
              await logs(client, shared, 3, 100 + w * 10 + n);
              await logs(client, shared.slice(0, 2), 2, 500 + w * 10 + n);
            });
          }
        })(),
      ),
    );
    // A statement undone by a savepoint's rollback is not counted; the rest of its transaction is.
    await inTransaction(bob, async () => {
      await logs(bob, shared, 4, 950);
      await bob.query('SAVEPOINT partial');
      await logs(bob, shared, 6, 960);
      await bob.query('ROLLBACK TO SAVEPOINT partial');
    });
    // A pushed log sent twice (ON CONFLICT DO NOTHING, as db push does) is counted once.
    for (let i = 0; i < 2; i++) {
      await alice.query(
        `INSERT INTO generation_logs (template_id, version_id, parameters, model, attempt, status, input_tokens, output_tokens, cost_usd, duration_ms, created_at, push_key)
         VALUES ($1, $2, '{}', 'm', 1, 'succeeded', 7, 8, 0.5, 9, 1800000000000, 'pushed-once') ON CONFLICT (push_key) DO NOTHING`,
        [shared[0]!.id, shared[0]!.versionId],
      );
    }
    // A rolled-back transaction counts for nothing.
    await assert.rejects(
      inTransaction(alice, async () => {
        await logs(alice, shared, 10, 900);
        throw new Error('the batch was cancelled');
      }),
      /cancelled/,
    );

    const expected = await fromLogs('team');
    assert.equal(expected.reduce((sum, r) => sum + r.generations, 0), 5 + 40 + 4 * 10 * 5 + 4 + 1);
    assert.deepEqual(numbers((await owner.query(FROM_VIEW)).rows), expected);
    // A member sees the same figures for every template visible to them (all are active here).
    assert.deepEqual(numbers((await bob.query(FROM_VIEW)).rows), expected);
  });

  it('members cannot read or write the totals themselves', async () => {
    const alice = await connect('alice', 'team');
    await assert.rejects(alice.query('SELECT * FROM generation_totals'), /permission denied/);
    await assert.rejects(alice.query("UPDATE generation_totals SET cost_usd = 0 WHERE created_by = 'bob'"), /permission denied/);
  });

  it('a database with logs from before migration 3 gets their totals when brought up to date', async () => {
    const owner = await connect('team_owner', 'older');
    const before = PG_MIGRATIONS.filter((m) => m.version < 3);
    await initTeamDatabase(owner, before);
    const alice = await connect('alice', 'older');
    const bob = await connect('bob', 'older');
    const shared = [...(await templates(alice, 2)), ...(await templates(bob, 2))];
    await logs(alice, shared, 30, 1);
    await logs(bob, shared, 20, 2);
    const outcome = await initTeamDatabase(owner);
    assert.deepEqual([outcome.from, outcome.to], [before[before.length - 1]!.version, PG_MIGRATIONS[PG_MIGRATIONS.length - 1]!.version]);
    await logs(bob, shared, 5, 3); // and what follows is counted on top
    const expected = await fromLogs('older');
    assert.equal(expected.reduce((sum, r) => sum + r.generations, 0), 55);
    assert.deepEqual(numbers((await alice.query(FROM_VIEW)).rows), expected);
  });
});
