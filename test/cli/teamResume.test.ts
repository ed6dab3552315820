/**
 * `promptloom resume` and `cancel` on the team database, as users run them (the built CLI), with a
 * slow fake Messages API and a real PostgreSQL: two resumes of one batch split what is missing
 * (slots claimed with FOR UPDATE SKIP LOCKED) while a third process generates another batch; a
 * resume started while the batch's `generate` runs shares the work with it; a generate or resume
 * killed with kill -9 leaves its claims to expire and a later resume finishes them; a cancel stops
 * a running resume from claiming; the slots' row-level security as two members.
 */
import { strict as assert } from 'node:assert';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildProcess } from 'node:child_process';
import { Client } from 'pg';
import { FakeMessagesApi } from '../fixtures/fakeMessagesApi';
import { promptloom, runCli, workspace, type Run } from '../helpers/cli';
import { queryAs, startPostgres, type PostgresServer } from '../helpers/postgres';
import { planKey } from '../../src/core/plan';
import { TEAM_ALIVE_MS } from '../../src/core/generation/batch';

const KEY = 'sk-test-fake-key';
const OWNER_PASSWORD = 'Own3r-team-claims-q';
const ALICE_PASSWORD = 'al1ce-Claims-zx';
const BOB_PASSWORD = 'b0b-Claims-too-kp';
const TEMPLATE = [
  '---',
  'name: Advisor check-in',
  'tier: scenario',
  'variables:',
  '  persona: { type: dropdown, options: [Anxious Investor, Near Retiree, Young Saver] }',
  '  channel: { type: dropdown, options: [phone, chat] }',
  '  topic: { type: text, examples: [bonds, fees] }',
  '---',
  'Write a conversation with <<persona>> over <<channel>> about <<topic>>.',
  '',
].join('\n');
const ONE_VALUE_SET = ['--param', 'persona=Young Saver', '--param', 'channel=chat', '--param', 'topic=gardens'];

interface Summary {
  requested: number;
  succeeded: number;
  batchId: string;
  conversations: string[];
  stopped: string | null;
}

const lastJson = <T>(stdout: string) => JSON.parse(stdout.trim().split('\n').pop()!) as T;

function ok(result: Run): string {
  assert.equal(result.code, 0, result.stderr);
  return result.stdout;
}

describe('resume and cancel on the team database (real PostgreSQL, three processes)', function () {
  this.timeout(180_000);
  let server: PostgresServer;
  let api: FakeMessagesApi;
  let ownerUrl: string;
  let aliceUrl: string;
  let bobUrl: string;
  let ws: string;

  const env = () => ({ ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url });
  /** Raw SQL as `url`'s role, outside the CLI's queries. */
  const query = queryAs;

  const admin = (sql: string, params: unknown[] = []) => query(server.adminUrl('team'), sql, params);
  const count = async (sql: string, params: unknown[] = []) => Number((await admin(sql, params))[0]!.n);
  const conversationsOf = (batchId: string) => count('SELECT count(*) AS n FROM promptloom.conversations WHERE batch_id = $1', [batchId]);
  const resume = (batchId: string, url: string, during?: (child: ChildProcess) => void) =>
    runCli(['resume', '--batch', batchId, '--format', 'json', '--database-url', url], ws, env(), during);
  /** Kills `child` with SIGKILL once the fake API has accepted `n` more requests. */
  const killAfter = (n: number) => (child: ChildProcess) => {
    const start = api.stats.accepted;
    const timer = setInterval(() => {
      if (api.stats.accepted >= start + n) {
        clearInterval(timer);
        child.kill('SIGKILL');
      }
    }, 5);
  };
  /** Slots of the batch still claimed by a live lease and not filled. */
  const heldSlots = (batchId: string) => count('SELECT count(*) AS n FROM promptloom.batch_slots WHERE batch_id = $1 AND conversation_id IS NULL AND claimed_until > clock_timestamp()', [batchId]);
  /** A team batch's `generate` killed with kill -9 after `after` answers: its id (its claims still held). */
  const killedGenerate = async (args: readonly string[], url: string, after: number): Promise<string> => {
    const killed = await runCli(['generate', 't.prompt', '--format', 'json', '--concurrency', '2', '--database-url', url, ...args], ws, env(), killAfter(after));
    assert.equal(killed.code, null, `killed: ${killed.stderr}`);
    await sleep(300); // requests the killed process had on the wire reach the fake before counting
    return String((await admin('SELECT id FROM promptloom.batches ORDER BY created_at DESC LIMIT 1'))[0]!.id);
  };
  /** A team batch interrupted by kill -9 after a few answers, once the claims of its dead `generate` ran out: its id. */
  const interrupted = async (args: readonly string[], url: string, after: number): Promise<string> => {
    const id = await killedGenerate(args, url, after);
    while ((await heldSlots(id)) > 0) await sleep(200);
    return id;
  };

  before(async () => {
    server = await startPostgres();
    await server.createTeam(OWNER_PASSWORD, { alice: ALICE_PASSWORD, bob: BOB_PASSWORD });
    ownerUrl = server.url('team_owner', OWNER_PASSWORD, 'team');
    ok(promptloom(['db', 'init', '--database-url', ownerUrl], { env: { PROMPTLOOM_DATABASE_URL: '' } }));
    await server.admin(['GRANT promptloom_member TO alice', 'GRANT promptloom_member TO bob']);
    aliceUrl = server.url('alice', ALICE_PASSWORD, 'team');
    bobUrl = server.url('bob', BOB_PASSWORD, 'team');
    api = await FakeMessagesApi.start({ apiKey: KEY, latencyMs: 150 });
    ws = workspace({ 't.prompt': TEMPLATE });
  });

  after(async () => {
    await api?.stop();
    server?.dispose();
  });

  it('two resumes of a value-plan batch split its missing slots while a third process generates another batch: exactly the plan, nothing twice', async () => {
    const planned = await interrupted(['--vary', 'persona,channel,topic', '--sample', 'grid', '--count', '2'], aliceUrl, 4);
    const plan = (await admin('SELECT plan, requested FROM promptloom.batches WHERE id = $1', [planned]))[0]! as { plan: { values: Record<string, unknown>; count: number }[]; requested: number };
    assert.equal(plan.requested, 24);
    const before = await conversationsOf(planned);
    assert.ok(before > 0 && before < 24, `interrupted with ${before} stored`);
    const missing = 24 - before;
    const accepted = api.stats.accepted;

    const [byAlice, byBob, other] = await Promise.all([resume(planned, aliceUrl), resume(planned, bobUrl), runCli(['generate', 't.prompt', ...ONE_VALUE_SET, '--count', '6', '--concurrency', '2', '--format', 'json', '--database-url', aliceUrl], ws, env())]);
    const a = lastJson<Summary>(ok(byAlice));
    const b = lastJson<Summary>(ok(byBob));
    const g = lastJson<Summary>(ok(other));

    // Each resume generated a share, the shares disjoint, together exactly what was missing.
    assert.ok(a.succeeded > 0 && b.succeeded > 0, `split: alice ${a.succeeded}, bob ${b.succeeded}`);
    assert.equal(a.succeeded + b.succeeded, missing);
    assert.equal(a.requested, a.succeeded);
    assert.equal(b.requested, b.succeeded);
    assert.equal(new Set([...a.conversations, ...b.conversations]).size, missing);
    // Nothing generated twice: the API answered what was missing and the other batch, no more.
    assert.equal(api.stats.accepted - accepted, missing + 6);
    // The batch holds exactly its plan, cell by cell.
    assert.equal(await conversationsOf(planned), 24);
    const perCell = new Map<string, number>();
    for (const r of await admin('SELECT parameters FROM promptloom.conversations WHERE batch_id = $1', [planned])) {
      const key = planKey(r.parameters as Record<string, unknown>);
      perCell.set(key, (perCell.get(key) ?? 0) + 1);
    }
    for (const cell of plan.plan) assert.equal(perCell.get(planKey(cell.values)), cell.count, JSON.stringify(cell.values));
    // One slot per conversation (created by the batch's generate), each filled once, by whom generated it.
    const slots = await admin('SELECT conversation_id, created_by FROM promptloom.batch_slots WHERE batch_id = $1', [planned]);
    assert.equal(slots.length, 24);
    assert.ok(slots.every((s) => s.created_by === 'alice'));
    assert.equal(new Set(slots.map((s) => s.conversation_id)).size, 24);
    assert.ok(slots.every((s) => s.conversation_id !== null));
    const authors = await admin('SELECT created_by, count(*)::int AS n FROM promptloom.conversations WHERE id = ANY($1) GROUP BY created_by ORDER BY created_by', [slots.map((s) => s.conversation_id)]);
    assert.deepEqual(authors, [{ created_by: 'alice', n: before + a.succeeded }, { created_by: 'bob', n: b.succeeded }]);
    assert.equal((await admin('SELECT status FROM promptloom.batches WHERE id = $1', [planned]))[0]!.status, 'completed');
    // The third process's batch, complete beside them.
    assert.equal(g.succeeded, 6);
    assert.equal(await conversationsOf(g.batchId), 6);
    assert.equal((await admin('SELECT status FROM promptloom.batches WHERE id = $1', [g.batchId]))[0]!.status, 'completed');

    // Resumed again: complete, nothing sent.
    const again = await resume(planned, bobUrl);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /is complete: nothing to resume/);
  });

  it("a resume started from another process while the batch's generate runs takes a disjoint share: together 30, the API asked 30 times, each conversation stored once", async () => {
    const accepted = api.stats.accepted;
    let helper: Promise<Run> | undefined;
    const first = await runCli(['generate', 't.prompt', ...ONE_VALUE_SET, '--count', '30', '--concurrency', '1', '--format', 'json', '--database-url', aliceUrl], ws, env(), () => {
      const timer = setInterval(() => {
        if (api.stats.accepted < accepted + 2) return;
        clearInterval(timer);
        helper = admin('SELECT id FROM promptloom.batches ORDER BY created_at DESC LIMIT 1').then((rows) => resume(String(rows[0]!.id), bobUrl));
      }, 5);
    });
    const g = lastJson<Summary & { coverage: { requested: number; succeeded: number }[] }>(ok(first));
    assert.ok(helper, 'the resume ran');
    const r = lastJson<Summary>(ok(await helper!));
    assert.equal(r.batchId, g.batchId);
    assert.match(first.stderr, new RegExp(`${r.succeeded} of the batch's 30 conversations were claimed by another run of it`));
    // Each took a share, the shares disjoint and together the whole batch.
    assert.ok(g.succeeded > 0 && r.succeeded > 0, `split: generate ${g.succeeded}, resume ${r.succeeded}`);
    assert.equal(g.succeeded + r.succeeded, 30);
    assert.equal(g.requested, g.succeeded);
    assert.equal(r.requested, r.succeeded);
    assert.deepEqual(g.coverage.map((c) => [c.requested, c.succeeded]), [[g.succeeded, g.succeeded]]);
    assert.equal(new Set([...g.conversations, ...r.conversations]).size, 30);
    // Nothing generated twice: the API answered 30 requests, no more.
    assert.equal(api.stats.accepted - accepted, 30);
    assert.equal(await conversationsOf(g.batchId), 30);
    const slots = await admin('SELECT conversation_id FROM promptloom.batch_slots WHERE batch_id = $1', [g.batchId]);
    assert.equal(slots.length, 30);
    assert.equal(new Set(slots.map((s) => s.conversation_id)).size, 30);
    assert.ok(slots.every((s) => s.conversation_id !== null));
    const authors = await admin('SELECT created_by, count(*)::int AS n FROM promptloom.conversations WHERE batch_id = $1 GROUP BY created_by ORDER BY created_by', [g.batchId]);
    assert.deepEqual(authors, [{ created_by: 'alice', n: g.succeeded }, { created_by: 'bob', n: r.succeeded }]);
    assert.equal((await admin('SELECT status FROM promptloom.batches WHERE id = $1', [g.batchId]))[0]!.status, 'completed');
  });

  it('a generate killed with kill -9 leaves its claims until their lease runs out; a resume at once takes only the rest, one after the lease finishes exactly the batch', async () => {
    const batch = await killedGenerate([...ONE_VALUE_SET, '--count', '12'], aliceUrl, 3);
    const before = await conversationsOf(batch);
    assert.ok(before < 12, `killed with ${before} stored`);
    const held = await heldSlots(batch);
    assert.ok(held > 0, 'the killed generate still holds claims');
    // At once: the open slots only, never the dead run's.
    const soon = lastJson<Summary>(ok(await resume(batch, bobUrl)));
    assert.equal(soon.succeeded, 12 - before - held);
    assert.equal(await conversationsOf(batch), 12 - held);
    // After the lease, exactly what the dead run held.
    while ((await heldSlots(batch)) > 0) await sleep(200);
    const last = lastJson<Summary>(ok(await resume(batch, aliceUrl)));
    assert.equal(last.succeeded, held);
    assert.equal(await conversationsOf(batch), 12);
    const slots = await admin('SELECT conversation_id FROM promptloom.batch_slots WHERE batch_id = $1', [batch]);
    assert.equal(slots.length, 12);
    assert.equal(new Set(slots.map((s) => s.conversation_id)).size, 12);
    assert.equal((await admin('SELECT status FROM promptloom.batches WHERE id = $1', [batch]))[0]!.status, 'completed');
  });

  it('cancel stops a running generate: nothing is sent after it, the batch is cancelled, and a resume finishes it exactly', async () => {
    let cancelledAt = 0;
    let cancel: Run | undefined;
    const running = await runCli(['generate', 't.prompt', ...ONE_VALUE_SET, '--count', '16', '--concurrency', '2', '--format', 'json', '--database-url', aliceUrl], ws, env(), () => {
      const start = api.stats.accepted;
      const timer = setInterval(() => {
        if (api.stats.accepted < start + 2) return;
        clearInterval(timer);
        void admin('SELECT id FROM promptloom.batches ORDER BY created_at DESC LIMIT 1')
          .then((rows) => runCli(['cancel', '--batch', String(rows[0]!.id), '--database-url', bobUrl], ws, env()))
          .then((r) => {
            cancel = r;
            cancelledAt = Date.now();
          });
      }, 5);
    });
    const stopped = lastJson<Summary>(running.stdout);
    assert.ok(cancel, 'cancel ran while the generate was running');
    assert.equal(cancel!.code, 0, cancel!.stderr);
    assert.equal(stopped.stopped, 'cancelled', running.stderr);
    assert.ok(api.stats.arrivals.filter((t) => t > cancelledAt).length === 0, 'no request after the cancel');
    const stored = await conversationsOf(stopped.batchId);
    assert.ok(stored < 16, `stopped with ${stored} of 16`);
    assert.equal((await admin('SELECT status FROM promptloom.batches WHERE id = $1', [stopped.batchId]))[0]!.status, 'cancelled');
    // Its claims were given back: a resume finishes the batch at once, exactly.
    assert.equal(lastJson<Summary>(ok(await resume(stopped.batchId, bobUrl))).succeeded, 16 - stored);
    assert.equal(await conversationsOf(stopped.batchId), 16);
  });

  it("Ctrl+C of a generate stops that run only: the resume helping it finishes the batch, each conversation once", async () => {
    let helper: Promise<Run> | undefined;
    const interruptedRun = await runCli(['generate', 't.prompt', ...ONE_VALUE_SET, '--count', '30', '--concurrency', '1', '--format', 'json', '--database-url', aliceUrl], ws, env(), (child) => {
      const start = api.stats.accepted;
      const timer = setInterval(() => {
        if (api.stats.accepted < start + 2) return;
        clearInterval(timer);
        void admin('SELECT id FROM promptloom.batches ORDER BY created_at DESC LIMIT 1').then(async (rows) => {
          const id = String(rows[0]!.id);
          helper = resume(id, bobUrl);
          // Once the helper has stored a conversation, the generate is interrupted.
          while ((await count("SELECT count(*) AS n FROM promptloom.conversations WHERE batch_id = $1 AND created_by = 'bob'", [id])) === 0) await sleep(20);
          child.kill('SIGINT');
        });
      }, 5);
    });
    const g = lastJson<Summary>(interruptedRun.stdout);
    assert.equal(g.stopped, 'cancelled', interruptedRun.stderr);
    assert.ok(helper, 'the resume ran');
    const r = lastJson<Summary>(ok(await helper!));
    assert.equal(r.stopped, null, 'the helper was not stopped');
    assert.equal(g.succeeded + r.succeeded, 30);
    assert.equal(await conversationsOf(g.batchId), 30);
    const slots = await admin('SELECT conversation_id FROM promptloom.batch_slots WHERE batch_id = $1', [g.batchId]);
    assert.equal(new Set(slots.map((s) => s.conversation_id)).size, 30);
    assert.equal((await admin('SELECT status FROM promptloom.batches WHERE id = $1', [g.batchId]))[0]!.status, 'completed');
  });

  it("a resume of a batch whose first run is a generate of a release before claims (running, no slots, a recent sign of life) is refused in one line", async () => {
    const batch = await interrupted([...ONE_VALUE_SET, '--count', '4'], aliceUrl, 1);
    // What such a run left: no slots, and its sign of life (updated_at on the server's clock) every second.
    await admin('DELETE FROM promptloom.batch_slots WHERE batch_id = $1', [batch]);
    await admin("UPDATE promptloom.batches SET status = 'running', updated_at = (extract(epoch from clock_timestamp()) * 1000)::bigint WHERE id = $1", [batch]);
    const sent = api.stats.accepted;
    const refused = await resume(batch, bobUrl);
    assert.equal(refused.code, 2, refused.stderr);
    assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
    assert.match(refused.stderr, /is still being generated by its first run/);
    assert.equal(api.stats.accepted, sent);
    // Once its sign of life is older than TEAM_ALIVE_MS, the run is taken for dead and the batch resumed.
    while (Number((await admin('SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint - updated_at AS age FROM promptloom.batches WHERE id = $1', [batch]))[0]!.age) < TEAM_ALIVE_MS) await sleep(200);
    ok(await resume(batch, bobUrl));
    assert.equal(await conversationsOf(batch), 4);
  });

  it('a resume killed with kill -9 leaves its claims until their lease runs out; a later resume then finishes exactly the batch', async () => {
    const batch = await interrupted([...ONE_VALUE_SET, '--count', '12'], aliceUrl, 2);
    const before = await conversationsOf(batch);
    assert.ok(before < 12);
    const killed = await resume(batch, aliceUrl, killAfter(3));
    assert.equal(killed.code, null, `killed: ${killed.stderr}`);
    await sleep(300);
    const held = await count("SELECT count(*) AS n FROM promptloom.batch_slots WHERE batch_id = $1 AND conversation_id IS NULL AND claimed_until > now()", [batch]);
    assert.ok(held > 0, 'the killed resume still holds claims');

    // At once: another resume takes what is open, never the dead claims (their lease still runs).
    const soon = await resume(batch, bobUrl);
    assert.equal(soon.code, 0, soon.stderr);
    assert.equal(await conversationsOf(batch), 12 - held, 'the held slots were left alone');
    assert.equal(await count('SELECT count(*) AS n FROM promptloom.batch_slots WHERE batch_id = $1 AND conversation_id IS NULL', [batch]), held);

    // Once the lease runs out, the claims are claimable again.
    for (let i = 0; i < 100 && (await count('SELECT count(*) AS n FROM promptloom.batch_slots WHERE batch_id = $1 AND claimed_until > now()', [batch])) > 0; i++) await sleep(200);
    const last = await resume(batch, aliceUrl);
    const s = lastJson<Summary>(ok(last));
    assert.equal(s.succeeded, held);
    assert.equal(await conversationsOf(batch), 12);
    assert.equal(await count('SELECT count(DISTINCT conversation_id) AS n FROM promptloom.batch_slots WHERE batch_id = $1', [batch]), 12);
    assert.equal((await admin('SELECT status FROM promptloom.batches WHERE id = $1', [batch]))[0]!.status, 'completed');
  });

  it('cancel stops a running resume: nothing new is sent after it, and a later resume finishes the batch', async () => {
    const batch = await interrupted([...ONE_VALUE_SET, '--count', '16'], aliceUrl, 2);
    let cancelledAt = 0;
    let cancel: Run | undefined;
    const running = await resume(batch, aliceUrl, () => {
      const start = api.stats.accepted;
      const timer = setInterval(() => {
        if (api.stats.accepted >= start + 2) {
          clearInterval(timer);
          void runCli(['cancel', '--batch', batch, '--database-url', bobUrl], ws, env()).then((r) => {
            cancel = r;
            cancelledAt = Date.now();
          });
        }
      }, 5);
    });
    assert.ok(cancel, 'cancel ran while the resume was running');
    assert.equal(cancel!.code, 0, cancel!.stderr);
    assert.match(cancel!.stdout, new RegExp(`batch ${batch} cancelled`));
    const stopped = lastJson<Summary>(running.stdout);
    assert.equal(stopped.stopped, 'cancelled');
    assert.ok(api.stats.arrivals.filter((t) => t > cancelledAt).length === 0, 'no request after the cancel');
    const stored = await conversationsOf(batch);
    assert.ok(stored < 16, `stopped with ${stored} of 16`);
    assert.equal((await admin('SELECT status FROM promptloom.batches WHERE id = $1', [batch]))[0]!.status, 'cancelled');
    // Its claims were given back: a resume finishes the batch at once, exactly.
    ok(await resume(batch, bobUrl));
    assert.equal(await conversationsOf(batch), 16);
  });

  it("Ctrl+C stops that resume only: the shared batch is not cancelled, and another resume finishes it", async () => {
    const batch = await interrupted([...ONE_VALUE_SET, '--count', '10'], aliceUrl, 1);
    const stopped = await resume(batch, aliceUrl, (child) => {
      const start = api.stats.accepted;
      const timer = setInterval(() => {
        if (api.stats.accepted >= start + 2) {
          clearInterval(timer);
          child.kill('SIGINT');
        }
      }, 5);
    });
    assert.equal(lastJson<Summary>(stopped.stdout).stopped, 'cancelled', stopped.stderr);
    assert.ok((await conversationsOf(batch)) < 10);
    assert.notEqual((await admin('SELECT status FROM promptloom.batches WHERE id = $1', [batch]))[0]!.status, 'cancelled');
    ok(await resume(batch, bobUrl));
    assert.equal(await conversationsOf(batch), 10);
  });

  it('row-level security of the slots, as two members (raw SQL); a member who may not see the batch gets one line', async () => {
    assert.deepEqual(await admin("SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'promptloom.batch_slots'::regclass"), [{ relrowsecurity: true, relforcerowsecurity: true }]);
    const batch = await interrupted([...ONE_VALUE_SET, '--count', '6'], aliceUrl, 1);
    // The batch is on an active template: bob sees its slots, and may claim one.
    ok(await resume(batch, aliceUrl));
    const slotsOf = async (url: string) => Number((await query(url, 'SELECT count(*) AS n FROM promptloom.batch_slots WHERE batch_id = $1', [batch]))[0]!.n);
    const slots = await slotsOf(aliceUrl);
    assert.ok(slots > 0);
    assert.equal(await slotsOf(bobUrl), slots);
    // Another member moves the claim, never the values.
    await assert.rejects(query(bobUrl, `UPDATE promptloom.batch_slots SET slot_values = '{"topic": "other"}' WHERE batch_id = $1`, [batch]), /only its author changes/);
    // Alice makes the template private: the batch and its slots are hers alone.
    await query(aliceUrl, "UPDATE promptloom.prompt_templates SET is_active = false WHERE id = (SELECT template_id FROM promptloom.batches WHERE id = $1)", [batch]);
    assert.equal(await slotsOf(aliceUrl), slots);
    assert.equal(await slotsOf(bobUrl), 0);
    const client = new Client({ connectionString: bobUrl });
    await client.connect();
    try {
      assert.equal((await client.query("UPDATE promptloom.batch_slots SET claimed_by = 'bob' WHERE batch_id = $1", [batch])).rowCount, 0);
      await assert.rejects(client.query('INSERT INTO promptloom.batch_slots (batch_id, slot) VALUES ($1, 999)', [batch]), /row-level security/);
    } finally {
      await client.end();
    }
    const refused = await resume(batch, bobUrl);
    assert.equal(refused.code, 2, refused.stderr);
    assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
    assert.match(refused.stderr, new RegExp(`no batch ${batch} on the team database that you may see`));
    assert.ok(!refused.stderr.includes(BOB_PASSWORD));
  });
});
