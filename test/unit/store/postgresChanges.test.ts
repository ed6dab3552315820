/**
 * Teammates' changes through LISTEN/NOTIFY, against a real PostgreSQL: alice writes, bob's
 * listener hears of it; bursts come as few events; a restarted server is listened to again; and a
 * payload never carries what row-level security hides.
 */
import { strict as assert } from 'node:assert';
import { Client } from 'pg';
import { TeamChanges, parsePayload, type TeamChange, type TeamChangesState } from '../../../src/core/store/postgres/changes';
import { connectTeamDatabase } from '../../../src/core/store/postgres/connection';
import { CHANGES_CHANNEL } from '../../../src/core/store/postgres/migrations';
import { initTeamDatabase } from '../../../src/core/store/postgres/setup';
import { startPostgres, type PostgresServer } from '../../helpers/postgres';

/** Events as they come, and a way to wait for the next one that satisfies a test. */
class Recorder {
  readonly events: TeamChange[] = [];
  readonly states: TeamChangesState[] = [];
  private waiters: { test: () => boolean; resolve: () => void }[] = [];

  readonly onChange = (change: TeamChange): void => {
    this.events.push(change);
    this.check();
  };
  readonly onState = (state: TeamChangesState): void => {
    this.states.push(state);
    this.check();
  };

  /** Resolves once `test` holds (mocha's timeout fails the test if it never does). */
  until(test: () => boolean): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ test, resolve }));
  }

  untilEvent(test: (change: TeamChange) => boolean): Promise<TeamChange> {
    return this.until(() => this.events.some(test)).then(() => this.events.find(test)!);
  }

  private check(): void {
    this.waiters = this.waiters.filter((w) => {
      if (!w.test()) return true;
      w.resolve();
      return false;
    });
  }
}

describe('team database (PostgreSQL): change notifications', function () {
  this.timeout(60_000);
  let server: PostgresServer;
  let alice: Client;
  let bobUrl: string;
  const listeners: TeamChanges[] = [];

  before(async () => {
    server = await startPostgres();
    await server.admin([
      "CREATE ROLE team_owner LOGIN CREATEROLE PASSWORD 'owner-secret'",
      'CREATE DATABASE team OWNER team_owner',
      "CREATE ROLE alice LOGIN PASSWORD 'alice-secret'",
      "CREATE ROLE bob LOGIN PASSWORD 'bob-secret'",
    ]);
    const owner = await connectTeamDatabase(server.url('team_owner', 'owner-secret', 'team'));
    await initTeamDatabase(owner);
    await owner.end();
    await server.admin(['GRANT promptloom_member TO alice', 'GRANT promptloom_member TO bob']);
    alice = await connectTeamDatabase(server.url('alice', 'alice-secret', 'team'));
    bobUrl = server.url('bob', 'bob-secret', 'team');
  });

  after(async () => {
    for (const l of listeners) await l.close();
    await alice?.end().catch(() => undefined);
    server?.dispose();
  });

  async function listen(recorder: Recorder, debounceMs = 200): Promise<TeamChanges> {
    const changes = await TeamChanges.listen(bobUrl, recorder.onChange, { debounceMs, reconnectDelayMs: 100, onState: recorder.onState });
    listeners.push(changes);
    return changes;
  }

  let paths = 0;
  async function template(active = true): Promise<{ id: number; versionId: number }> {
    const path = `t${++paths}.prompt`;
    const t = await alice.query<{ id: string }>("INSERT INTO prompt_templates (path, name, tier, is_active, created_at) VALUES ($1, $1, 'template', $2, 1) RETURNING id", [path, active]);
    const id = Number(t.rows[0]!.id);
    const v = await alice.query<{ id: string }>("INSERT INTO template_versions (template_id, content_hash, content, created_at) VALUES ($1, 'h', 'body', 1) RETURNING id", [id]);
    return { id, versionId: Number(v.rows[0]!.id) };
  }

  let conversations = 0;
  async function conversation(t: { id: number; versionId: number }): Promise<string> {
    const id = `conv-${++conversations}`;
    await alice.query("INSERT INTO conversations (id, template_id, version_id, parameters, created_at) VALUES ($1, $2, $3, '{}', 1)", [id, t.id, t.versionId]);
    return id;
  }

  async function log(t: { id: number; versionId: number }): Promise<void> {
    await alice.query(
      `INSERT INTO generation_logs (template_id, version_id, parameters, model, attempt, status, input_tokens, output_tokens, cost_usd, created_at)
       VALUES ($1, $2, '{"secret":"request values"}', 'claude-x', 1, 'succeeded', 123, 456, 0.789, 1)`,
      [t.id, t.versionId],
    );
  }

  it("alice reviews a conversation: bob's listener hears of it, naming the template and the conversation", async () => {
    const t = await template();
    const id = await conversation(t);
    const bob = new Recorder();
    await listen(bob);
    await alice.query("INSERT INTO reviews (conversation_id, status, created_at) VALUES ($1, 'approved', 2)", [id]);
    const event = await bob.untilEvent((e) => e.tables.has('reviews'));
    assert.ok(event.templateIds.has(t.id), `template ${t.id} in ${[...event.templateIds].join(', ')}`);
    assert.ok(event.conversationIds.has(id));
    assert.equal(event.everything, false);
    // The review's trigger updated the conversation (reviewed_at): announced too, same template.
    assert.ok(bob.events.some((e) => e.tables.has('conversations') && e.templateIds.has(t.id)));
  });

  it('a burst of 50 inserts comes as a few events, not 50, and none is lost', async () => {
    const debounceMs = 300;
    const [a, b] = [await template(), await template()];
    const ids = [await conversation(a), await conversation(b)];
    const bob = new Recorder();
    await listen(bob, debounceMs);
    const t0 = performance.now();
    for (let i = 0; i < 50; i++) await alice.query("INSERT INTO reviews (conversation_id, status, created_at) VALUES ($1, 'needs_revision', $2)", [ids[i % 2], 10 + i]);
    const burstMs = performance.now() - t0;
    // Each event's window opens at its first notification and lasts debounceMs, so a burst
    // lasting burstMs fits in at most this many windows, however slow the machine is today.
    const bound = Math.ceil(burstMs / debounceMs) + 1;
    await bob.until(() => bob.events.some((e) => e.templateIds.has(a.id)) && bob.events.some((e) => e.templateIds.has(b.id)));
    const count = await alice.query<{ n: string }>('SELECT count(*) AS n FROM reviews WHERE status = $1', ['needs_revision']);
    assert.equal(Number(count.rows[0]!.n), 50);
    await new Promise((resolve) => setTimeout(resolve, debounceMs * 2)); // the last window closes
    assert.ok(bob.events.length <= Math.min(bound, 49), `${bob.events.length} events for a burst of ${burstMs.toFixed(0)} ms (at most ${bound})`);
    const all = new Set(bob.events.flatMap((e) => [...e.conversationIds]));
    assert.deepEqual([...all].sort(), [...ids].sort());
  });

  it('the server restarts: the listener reconnects, says anything may have changed, and hears what follows', async () => {
    const t = await template();
    const bob = new Recorder();
    await listen(bob);
    await alice.end();
    server.restart();
    alice = await connectTeamDatabase(server.url('alice', 'alice-secret', 'team'));
    await bob.until(() => bob.states.includes('reconnecting') && bob.states.lastIndexOf('connected') > bob.states.indexOf('reconnecting'));
    const resync = await bob.untilEvent((e) => e.everything);
    assert.equal(resync.everything, true);
    const id = await conversation(t);
    const event = await bob.untilEvent((e) => e.conversationIds.has(id));
    assert.ok(event.tables.has('conversations') && event.templateIds.has(t.id));
  });

  it('a generation log is announced by its template alone: no cost, tokens, author or request values', async () => {
    const active = await template();
    const inactive = await template(false);
    const raw = await connectTeamDatabase(bobUrl);
    const payloads: string[] = [];
    raw.on('notification', (m) => payloads.push(m.payload ?? ''));
    await raw.query(`LISTEN ${CHANGES_CHANNEL}`);
    const bob = new Recorder();
    await listen(bob);
    try {
      await log(active);
      await log(inactive);
      await bob.untilEvent((e) => e.tables.has('generation_logs') && e.templateIds.has(active.id));
      await new Promise<void>((resolve) => {
        const poll = () => (payloads.length >= 2 ? resolve() : setTimeout(poll, 20));
        poll();
      });
      const parsed = payloads.map((p) => JSON.parse(p) as Record<string, unknown>);
      for (const p of parsed) assert.deepEqual(Object.keys(p).sort(), ['table', 'template']);
      // Bob cannot see alice's inactive template: its id is not announced to him.
      assert.deepEqual(parsed, [
        { table: 'generation_logs', template: active.id },
        { table: 'generation_logs', template: null },
      ]);
      for (const p of payloads) assert.doesNotMatch(p, /alice|0\.789|123|456|secret|request values|claude-x/);
      assert.ok(!bob.events.some((e) => e.templateIds.has(inactive.id)));
    } finally {
      await raw.end();
    }
  });

  it('close() ends the connection; nothing is emitted after it', async () => {
    const t = await template();
    const bob = new Recorder();
    const changes = await listen(bob, 50);
    const listening = async () => {
      const admin = new Client({ connectionString: server.adminUrl('team') });
      await admin.connect();
      try {
        const { rows } = await admin.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE usename = 'bob' AND query = $1", [`LISTEN ${CHANGES_CHANNEL}`]);
        return Number(rows[0]!.n);
      } finally {
        await admin.end();
      }
    };
    const before = await listening();
    assert.ok(before >= 1);
    await changes.close();
    assert.equal(await listening(), before - 1);
    assert.equal(bob.states[bob.states.length - 1], 'closed');
    await conversation(t);
    // A second listener, still open, hears the insert: by then the closed one would have too.
    const witness = new Recorder();
    await listen(witness, 50);
    const id = await conversation(t);
    await witness.untilEvent((e) => e.conversationIds.has(id));
    assert.ok(!bob.events.some((e) => e.templateIds.has(t.id)));
  });

  it('payloads that are not a trigger’s are ignored (anyone may NOTIFY on any channel)', () => {
    assert.equal(parsePayload(undefined), undefined);
    assert.equal(parsePayload('not json'), undefined);
    assert.equal(parsePayload('{"template": 3}'), undefined);
    assert.deepEqual(parsePayload('{"table":"reviews","template":3,"conversation":"c1"}'), { table: 'reviews', template: 3, conversation: 'c1' });
    assert.deepEqual(parsePayload('{"table":"generation_logs","template":null}'), { table: 'generation_logs' });
  });
});
