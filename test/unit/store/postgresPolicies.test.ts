/**
 * The team database's schema and row-level security, against a real PostgreSQL: every policy is
 * checked with raw SQL as two members, alice and bob, each connected as their own role.
 */
import { strict as assert } from 'node:assert';
import type { Client } from 'pg';
import { connectTeamDatabase } from '../../../src/core/store/postgres/connection';
import { PG_MIGRATIONS, TEAM_SCHEMA_VERSION } from '../../../src/core/store/postgres/migrations';
import { initTeamDatabase, teamStatus } from '../../../src/core/store/postgres/setup';
import { startPostgres, type PostgresServer } from '../../helpers/postgres';

describe('team database (PostgreSQL): schema and row-level security', function () {
  this.timeout(60_000);
  let server: PostgresServer;
  let owner: Client;
  let alice: Client;
  let bob: Client;

  before(async () => {
    server = await startPostgres();
    // As the README tells an admin: an owner who may create roles, the team database, members.
    await server.admin([
      "CREATE ROLE team_owner LOGIN CREATEROLE PASSWORD 'owner-secret'",
      'CREATE DATABASE team OWNER team_owner',
      "CREATE ROLE alice LOGIN PASSWORD 'alice-secret'",
      "CREATE ROLE bob LOGIN PASSWORD 'bob-secret'",
      "CREATE ROLE carol LOGIN PASSWORD 'carol-secret'", // not a member
    ]);
    owner = await connectTeamDatabase(server.url('team_owner', 'owner-secret', 'team'));
    await initTeamDatabase(owner);
    await server.admin(['GRANT promptloom_member TO alice', 'GRANT promptloom_member TO bob']);
    alice = await connectTeamDatabase(server.url('alice', 'alice-secret', 'team'));
    bob = await connectTeamDatabase(server.url('bob', 'bob-secret', 'team'));
  });

  after(async () => {
    for (const client of [owner, alice, bob]) await client?.end().catch(() => undefined);
    server?.dispose();
  });

  /** A template of `as`'s with one version: their ids. */
  async function template(as: Client, path: string, active = true): Promise<{ id: number; versionId: number }> {
    const t = await as.query<{ id: string }>("INSERT INTO prompt_templates (path, name, tier, is_active, created_at) VALUES ($1, $1, 'template', $2, 1) RETURNING id", [path, active]);
    const id = Number(t.rows[0]!.id);
    const v = await as.query<{ id: string }>("INSERT INTO template_versions (template_id, content_hash, content, created_at) VALUES ($1, $2, 'body', 1) RETURNING id", [id, `hash-${path}`]);
    return { id, versionId: Number(v.rows[0]!.id) };
  }

  async function log(as: Client, t: { id: number; versionId: number }, cost: number, parameters = '{"secret":"payload"}'): Promise<void> {
    await as.query("INSERT INTO generation_logs (template_id, version_id, parameters, model, attempt, status, input_tokens, output_tokens, cost_usd, created_at) VALUES ($1, $2, $3, 'm', 1, 'succeeded', 10, 20, $4, 1)", [
      t.id,
      t.versionId,
      parameters,
      cost,
    ]);
  }

  async function refused(work: Promise<unknown>, pattern: RegExp): Promise<void> {
    await assert.rejects(work, (error: Error) => {
      assert.match(error.message, pattern);
      return true;
    });
  }

  it('db init made every migration; running it again changes nothing', async () => {
    const again = await initTeamDatabase(owner);
    assert.deepEqual(again, { from: TEAM_SCHEMA_VERSION, to: TEAM_SCHEMA_VERSION, roleCreated: false });
    const { rows } = await owner.query<{ version: number }>('SELECT version FROM schema_version ORDER BY version');
    assert.deepEqual(rows.map((r) => r.version), PG_MIGRATIONS.map((m) => m.version));
    const status = await teamStatus(alice);
    assert.equal(status.member, 'alice');
    assert.equal(status.isMember, true);
    assert.equal(status.schemaVersion, TEAM_SCHEMA_VERSION);
  });

  it('created_by comes from the server; a client naming another member is refused', async () => {
    const t = await template(alice, 'authored.prompt');
    const { rows } = await alice.query<{ created_by: string; version: number }>('SELECT created_by, version FROM prompt_templates WHERE id = $1', [t.id]);
    assert.deepEqual(rows[0], { created_by: 'alice', version: 1 });
    await refused(alice.query("INSERT INTO prompt_templates (path, name, tier, created_at, created_by) VALUES ('x.prompt', 'x', 'template', 1, 'bob')"), /row-level security/);
    await refused(
      alice.query("INSERT INTO generation_logs (template_id, version_id, parameters, model, attempt, status, created_at, created_by) VALUES ($1, $2, '{}', 'm', 1, 'failed', 1, 'bob')", [t.id, t.versionId]),
      /row-level security/,
    );
    await refused(alice.query("UPDATE prompt_templates SET created_by = 'bob' WHERE id = $1", [t.id]), /row-level security|created_by/);
  });

  it("templates: a member reads active ones and their own, not another's inactive ones", async () => {
    const bobsActive = await template(bob, 'bob-active.prompt');
    const bobsInactive = await template(bob, 'bob-inactive.prompt', false);
    const alicesInactive = await template(alice, 'alice-inactive.prompt', false);
    const seen = async (as: Client) => (await as.query<{ path: string }>('SELECT path FROM prompt_templates ORDER BY path')).rows.map((r) => r.path);
    const byAlice = await seen(alice);
    assert.ok(byAlice.includes('bob-active.prompt'));
    assert.ok(byAlice.includes('alice-inactive.prompt'));
    assert.ok(!byAlice.includes('bob-inactive.prompt'));
    assert.ok((await seen(bob)).includes('bob-inactive.prompt'));
    assert.ok(!(await seen(bob)).includes('alice-inactive.prompt'));
    // Versions follow their template.
    const versions = (await alice.query<{ template_id: string }>('SELECT template_id FROM template_versions')).rows.map((r) => Number(r.template_id));
    assert.ok(versions.includes(bobsActive.id) && versions.includes(alicesInactive.id));
    assert.ok(!versions.includes(bobsInactive.id));
  });

  it("templates: a member writes only their own (no update, delete or new version of another's)", async () => {
    const bobs = await template(bob, 'bob-owned.prompt');
    const update = await alice.query("UPDATE prompt_templates SET name = 'taken' WHERE id = $1", [bobs.id]);
    assert.equal(update.rowCount, 0);
    const remove = await alice.query('DELETE FROM prompt_templates WHERE id = $1', [bobs.id]);
    assert.equal(remove.rowCount, 0);
    assert.equal((await bob.query<{ name: string }>('SELECT name FROM prompt_templates WHERE id = $1', [bobs.id])).rows[0]!.name, 'bob-owned.prompt');
    await refused(alice.query("INSERT INTO template_versions (template_id, content_hash, content, created_at) VALUES ($1, 'h2', 'mine now', 1)", [bobs.id]), /row-level security|permission denied/);
    // Bob's own update works, and his second version is numbered 2.
    assert.equal((await bob.query("UPDATE prompt_templates SET name = 'renamed' WHERE id = $1", [bobs.id])).rowCount, 1);
    await bob.query("INSERT INTO template_versions (template_id, content_hash, content, created_at) VALUES ($1, 'second', 'v2', 2)", [bobs.id]);
    assert.equal((await bob.query<{ version: number }>('SELECT version FROM prompt_templates WHERE id = $1', [bobs.id])).rows[0]!.version, 2);
  });

  it('generation logs are read by their author only', async () => {
    const bobs = await template(bob, 'bob-logs.prompt');
    await log(bob, bobs, 0.5);
    await log(alice, bobs, 0.25, '{"mine":true}');
    const own = async (as: Client) => (await as.query<{ created_by: string; parameters: unknown }>('SELECT created_by, parameters FROM generation_logs WHERE template_id = $1', [bobs.id])).rows;
    assert.deepEqual(await own(alice), [{ created_by: 'alice', parameters: { mine: true } }]);
    assert.deepEqual(await own(bob), [{ created_by: 'bob', parameters: { secret: 'payload' } }]);
    // Judge calls (what grading cost) likewise.
    await bob.query("INSERT INTO judge_calls (model, attempt, status, cost_usd, created_at) VALUES ('judge', 1, 'succeeded', 0.3, 1)");
    assert.equal((await alice.query('SELECT 1 FROM judge_calls').then((r) => r.rowCount)), 0);
    assert.equal((await bob.query('SELECT 1 FROM judge_calls').then((r) => r.rowCount)), 1);
    // Nor may alice change or remove bob's rows (no such right at all).
    await refused(alice.query('UPDATE generation_logs SET cost_usd = 0'), /permission denied/);
    await refused(alice.query('DELETE FROM generation_logs'), /permission denied/);
  });

  it('team analytics: aggregates of everyone’s logs per visible template, never a log row', async () => {
    const bobs = await template(bob, 'bob-analytics.prompt');
    const hidden = await template(bob, 'bob-analytics-inactive.prompt', false);
    await log(bob, bobs, 0.5);
    await log(bob, bobs, 1.5);
    await log(alice, bobs, 1);
    await log(bob, hidden, 9);
    const { rows, fields } = await alice.query<Record<string, unknown>>('SELECT * FROM template_analytics WHERE template_id IN ($1, $2)', [bobs.id, hidden.id]);
    assert.equal(rows.length, 1, 'one row per visible template; none for an inactive template of another');
    const row = rows[0]!;
    assert.equal(Number(row.generations), 3);
    assert.equal(Number(row.cost_usd), 3);
    assert.equal(Number(row.authors), 2);
    assert.equal(Number(row.input_tokens), 30);
    // No column carries a request's values or any single log's identity.
    const columns = fields.map((f) => f.name);
    for (const column of ['parameters', 'conversation_id', 'batch_id', 'id']) assert.ok(!columns.includes(column), column);
    // Alice reaching the logs themselves still sees only hers.
    assert.equal((await alice.query('SELECT 1 FROM generation_logs WHERE template_id = $1', [bobs.id])).rowCount, 1);
  });

  it('conversations and reviews are shared: both members read them and review', async () => {
    const bobs = await template(bob, 'bob-conversation.prompt');
    await bob.query("INSERT INTO conversations (id, template_id, version_id, parameters, created_at) VALUES ('conv-shared', $1, $2, '{}', 1)", [bobs.id, bobs.versionId]);
    await bob.query("INSERT INTO turns (conversation_id, position, role, content) VALUES ('conv-shared', 0, 'user', 'hi'), ('conv-shared', 1, 'assistant', 'hello')");
    await bob.query("INSERT INTO quality_scores (conversation_id, overall, breakdown, recommendations, created_at) VALUES ('conv-shared', 7.5, '{}', '[]', 1)");
    assert.equal((await alice.query('SELECT 1 FROM turns WHERE conversation_id = $1', ['conv-shared'])).rowCount, 2);
    // Alice reviews bob's conversation; bob sees her review and the status it set.
    await alice.query("INSERT INTO reviews (conversation_id, status, note, created_at) VALUES ('conv-shared', 'approved', 'good', 5)");
    assert.equal((await alice.query("UPDATE conversations SET status = 'approved' WHERE id = 'conv-shared'")).rowCount, 1);
    const seen = await bob.query<{ status: string; quality: number; reviewed_at: string; created_by: string }>("SELECT status, quality, reviewed_at, created_by FROM conversations WHERE id = 'conv-shared'");
    assert.deepEqual({ ...seen.rows[0], reviewed_at: Number(seen.rows[0]!.reviewed_at) }, { status: 'approved', quality: 7.5, reviewed_at: 5, created_by: 'bob' });
    const reviews = await bob.query<{ created_by: string; note: string }>("SELECT created_by, note FROM reviews WHERE conversation_id = 'conv-shared'");
    assert.deepEqual(reviews.rows, [{ created_by: 'alice', note: 'good' }]);
    // Bob reviews too.
    await bob.query("INSERT INTO reviews (conversation_id, status, created_at) VALUES ('conv-shared', 'needs_revision', 6)");
    assert.equal((await alice.query("SELECT 1 FROM reviews WHERE conversation_id = 'conv-shared'")).rowCount, 2);
    // Shared is not ownerless: the author stays bob, reviews are in one's own name, and only
    // the author adds a conversation's turns.
    await refused(alice.query("UPDATE conversations SET created_by = 'alice' WHERE id = 'conv-shared'"), /created_by/);
    await refused(alice.query("INSERT INTO reviews (conversation_id, status, created_at, created_by) VALUES ('conv-shared', 'rejected', 7, 'bob')"), /row-level security/);
    await refused(alice.query("INSERT INTO turns (conversation_id, position, role, content) VALUES ('conv-shared', 2, 'user', 'injected')"), /row-level security/);
  });

  it("shared is not editable: another member moves a conversation's or batch's status, never its content", async () => {
    const bobs = await template(bob, 'bob-content.prompt');
    await bob.query("INSERT INTO batches (id, template_id, version_id, requested, parameters, model, settings, status, created_at, updated_at) VALUES ('batch-content', $1, $2, 3, '{}', 'm', '{\"concurrency\":2}', 'running', 1, 1)", [bobs.id, bobs.versionId]);
    await bob.query("INSERT INTO conversations (id, template_id, version_id, batch_id, parameters, system_prompt, created_at) VALUES ('conv-content', $1, $2, 'batch-content', '{\"n\":1}', 'be kind', 1)", [bobs.id, bobs.versionId]);
    await bob.query("INSERT INTO quality_scores (conversation_id, overall, breakdown, recommendations, created_at) VALUES ('conv-content', 4, '{}', '[]', 1)");
    // What review and resume do is allowed to everyone.
    assert.equal((await alice.query("UPDATE conversations SET status = 'rejected', status_reason = 'off topic' WHERE id = 'conv-content'")).rowCount, 1);
    await alice.query("INSERT INTO reviews (conversation_id, status, created_at) VALUES ('conv-content', 'rejected', 9)");
    assert.equal((await alice.query("UPDATE batches SET status = 'cancelled', updated_at = 2 WHERE id = 'batch-content'")).rowCount, 1);
    // Bob's training data and settings are his to change alone.
    for (const change of ["system_prompt = 'be rude'", 'quality = 10', '"parameters" = \'{"n":2}\'', 'near_duplicate_of = NULL, similarity = 0.1']) {
      await refused(alice.query(`UPDATE conversations SET ${change} WHERE id = 'conv-content'`), /author/);
    }
    await refused(alice.query("UPDATE batches SET settings = '{\"concurrency\":50}' WHERE id = 'batch-content'"), /author/);
    const seen = await bob.query<{ system_prompt: string; quality: number; status: string }>("SELECT system_prompt, quality, status FROM conversations WHERE id = 'conv-content'");
    assert.deepEqual(seen.rows, [{ system_prompt: 'be kind', quality: 4, status: 'rejected' }]);
    // The author still may.
    assert.equal((await bob.query("UPDATE conversations SET near_duplicate_of = 'conv-shared', similarity = 0.9 WHERE id = 'conv-content'")).rowCount, 1);
  });

  it("a teammate's inactive template keeps its batches, conversations, turns and reviews to its author", async () => {
    const hidden = await template(bob, 'bob-private.prompt', false);
    await bob.query("INSERT INTO batches (id, template_id, version_id, requested, parameters, model, settings, status, created_at, updated_at) VALUES ('batch-private', $1, $2, 1, '{\"client\":\"secret plan\"}', 'm', '{}', 'running', 1, 1)", [hidden.id, hidden.versionId]);
    await bob.query("INSERT INTO conversations (id, template_id, version_id, batch_id, parameters, system_prompt, created_at) VALUES ('conv-private', $1, $2, 'batch-private', '{}', 'the private instructions', 1)", [hidden.id, hidden.versionId]);
    await bob.query("INSERT INTO turns (conversation_id, position, role, content) VALUES ('conv-private', 0, 'user', 'hi')");
    await bob.query("INSERT INTO quality_scores (conversation_id, overall, breakdown, recommendations, created_at) VALUES ('conv-private', 6, '{}', '[]', 1)");
    await bob.query("INSERT INTO reviews (conversation_id, status, created_at) VALUES ('conv-private', 'approved', 2)");
    for (const [table, key] of [['batches', 'id'], ['conversations', 'id'], ['turns', 'conversation_id'], ['quality_scores', 'conversation_id'], ['reviews', 'conversation_id']] as const) {
      const id = table === 'batches' ? 'batch-private' : 'conv-private';
      assert.equal((await bob.query(`SELECT 1 FROM ${table} WHERE ${key} = $1`, [id])).rowCount, 1, `bob reads his own ${table}`);
      assert.equal((await alice.query(`SELECT 1 FROM ${table} WHERE ${key} = $1`, [id])).rowCount, 0, `alice does not read ${table} of bob's inactive template`);
    }
    // Nor does she add a review to it, knowing its id (team migration 9).
    await assert.rejects(alice.query("INSERT INTO reviews (conversation_id, status, created_at) VALUES ('conv-private', 'rejected', 3)"), /row-level security/);
    // Made active, it is team work again.
    await bob.query('UPDATE prompt_templates SET is_active = true WHERE id = $1', [hidden.id]);
    await alice.query("INSERT INTO reviews (conversation_id, status, created_at) VALUES ('conv-private', 'approved', 4)");
    assert.equal((await alice.query("SELECT system_prompt FROM conversations WHERE id = 'conv-private'")).rowCount, 1);
  });

  it('a role without promptloom_member reads nothing', async () => {
    const carol = await connectTeamDatabase(server.url('carol', 'carol-secret', 'team'));
    try {
      for (const table of ['prompt_templates', 'generation_logs', 'conversations', 'template_analytics']) {
        await refused(carol.query(`SELECT * FROM promptloom.${table}`), /permission denied/);
      }
      const status = await teamStatus(carol);
      assert.deepEqual({ member: status.member, isMember: status.isMember, schemaVersion: status.schemaVersion }, { member: 'carol', isMember: false, schemaVersion: 0 });
    } finally {
      await carol.end();
    }
  });
});
