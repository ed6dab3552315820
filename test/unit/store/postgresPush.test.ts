/**
 * `db push` in the core: a workspace database copied into a real PostgreSQL team database, once
 * however often it runs, resumable after a cut, each member's rows in their own name.
 */
import { strict as assert } from 'node:assert';
import type { Client } from 'pg';
import { WorkspaceGenerationRepository, Store } from '../../../src/core/store';
import { connectTeamDatabase, type Queryable } from '../../../src/core/store/postgres/connection';
import { pushWorkspace, PushRefusedError, type PushCounts } from '../../../src/core/store/postgres/push';
import { recordIntent } from '../../../src/core/generation/messageBatchRecords';
import { MessageBatchRepository } from '../../../src/core/store/messageBatches';
import { initTeamDatabase } from '../../../src/core/store/postgres/setup';
import { startPostgres, type PostgresServer } from '../../helpers/postgres';
import { contentsOf, fillWorkspace, type WorkspaceContents } from '../../helpers/teamWorkspace';

const NOTHING: PushCounts = { templates: 0, versions: 0, batches: 0, conversations: 0, turns: 0, scores: 0, generationLogs: 0, judgeCalls: 0, reviews: 0, messageBatches: 0, messageBatchResults: 0 };

describe('team database (PostgreSQL): db push', function () {
  this.timeout(60_000);
  let server: PostgresServer;
  let alice: Client;
  let bob: Client;

  before(async () => {
    server = await startPostgres();
    await server.admin(["CREATE ROLE team_owner LOGIN CREATEROLE PASSWORD 'owner-secret'", 'CREATE DATABASE team OWNER team_owner', "CREATE ROLE alice LOGIN PASSWORD 'a'", "CREATE ROLE bob LOGIN PASSWORD 'b'"]);
    const owner = await connectTeamDatabase(server.url('team_owner', 'owner-secret', 'team'));
    await initTeamDatabase(owner);
    await owner.end();
    await server.admin(['GRANT promptloom_member TO alice, bob']);
    alice = await connectTeamDatabase(server.url('alice', 'a', 'team'));
    bob = await connectTeamDatabase(server.url('bob', 'b', 'team'));
  });

  after(async () => {
    for (const client of [alice, bob]) await client?.end().catch(() => undefined);
    server?.dispose();
  });

  async function push(dir: string, client: Queryable, chunkSize?: number): Promise<PushCounts> {
    const store = await Store.open(dir);
    try {
      return await pushWorkspace(store, client, chunkSize ? { chunkSize } : {});
    } finally {
      store.close();
    }
  }

  /** What the team database holds under the template `path` of `as`, counted like a workspace. */
  async function teamContents(as: Client, path: string): Promise<WorkspaceContents> {
    const { rows } = await as.query<Record<string, string>>(
      `SELECT (SELECT count(*) FROM prompt_templates t WHERE t.id = x.id) AS templates,
              (SELECT count(*) FROM template_versions v WHERE v.template_id = x.id) AS versions,
              (SELECT count(*) FROM batches b WHERE b.template_id = x.id) AS batches,
              (SELECT count(*) FROM conversations c WHERE c.template_id = x.id) AS conversations,
              (SELECT count(*) FROM turns u JOIN conversations c ON c.id = u.conversation_id WHERE c.template_id = x.id) AS turns,
              (SELECT count(*) FROM quality_scores q JOIN conversations c ON c.id = q.conversation_id WHERE c.template_id = x.id) AS scores,
              (SELECT count(*) FROM generation_logs g WHERE g.template_id = x.id) AS generation_logs,
              (SELECT count(*) FROM judge_calls j JOIN conversations c ON c.id = j.conversation_id WHERE c.template_id = x.id) AS judge_calls,
              (SELECT count(*) FROM reviews r JOIN conversations c ON c.id = r.conversation_id WHERE c.template_id = x.id) AS reviews,
              (SELECT count(*) FROM message_batches m JOIN batches b ON b.id = m.batch_id WHERE b.template_id = x.id) AS message_batches,
              (SELECT count(*) FROM message_batch_results r JOIN message_batches m ON m.id = r.message_batch_id JOIN batches b ON b.id = m.batch_id WHERE b.template_id = x.id) AS message_batch_results
         FROM prompt_templates x WHERE x.created_by = current_user AND x.path = $1`,
      [path],
    );
    const r = rows[0]!;
    return {
      templates: Number(r.templates),
      versions: Number(r.versions),
      batches: Number(r.batches),
      conversations: Number(r.conversations),
      turns: Number(r.turns),
      scores: Number(r.scores),
      generationLogs: Number(r.generation_logs),
      judgeCalls: Number(r.judge_calls),
      reviews: Number(r.reviews),
      messageBatches: Number(r.message_batches),
      messageBatchResults: Number(r.message_batch_results),
    };
  }

  it('copies everything once: pushing again adds nothing; rows are in the member’s name', async () => {
    const dir = await fillWorkspace({ path: 'twice.prompt' });
    const local = await contentsOf(dir);
    assert.deepEqual(await push(dir, alice), local);
    assert.deepEqual(await teamContents(alice, 'twice.prompt'), local);
    assert.deepEqual(await push(dir, alice), NOTHING);
    assert.deepEqual(await teamContents(alice, 'twice.prompt'), local);

    // What was copied is what the workspace held: version numbers, scores copied onto the
    // conversation, the review's status, the author of every row.
    const t = await alice.query<{ version: number; created_by: string }>("SELECT version, created_by FROM prompt_templates WHERE path = 'twice.prompt'");
    assert.deepEqual(t.rows, [{ version: 2, created_by: 'alice' }]);
    const c = await alice.query<{ status: string; quality: number; reviewed_at: string | null }>(
      "SELECT c.status, c.quality, c.reviewed_at FROM conversations c JOIN prompt_templates t ON t.id = c.template_id WHERE t.path = 'twice.prompt' ORDER BY c.quality",
    );
    assert.deepEqual(c.rows.map((r) => [r.status, r.quality, r.reviewed_at !== null]), [
      ['approved', 7, true],
      ['pending', 7.1, false],
      ['pending', 7.2, false],
    ]);
    const authors = await alice.query<{ created_by: string }>("SELECT DISTINCT g.created_by FROM generation_logs g JOIN prompt_templates t ON t.id = g.template_id WHERE t.path = 'twice.prompt'");
    assert.deepEqual(authors.rows, [{ created_by: 'alice' }]);
    // Near-duplicate signatures come along, byte for byte, so the team's checks find these.
    const store = await Store.open(dir);
    try {
      const localSignatures = await store.all('SELECT conversation_id, signature FROM conversation_signatures ORDER BY conversation_id');
      const teamSignatures = await alice.query<{ conversation_id: string; signature: Buffer }>('SELECT conversation_id, signature FROM conversation_signatures WHERE conversation_id = ANY($1) ORDER BY conversation_id', [
        localSignatures.map((r) => r.conversation_id),
      ]);
      assert.equal(teamSignatures.rows.length, local.conversations);
      assert.deepEqual(
        teamSignatures.rows.map((r) => [r.conversation_id, r.signature.toString('hex')]),
        localSignatures.map((r) => [r.conversation_id, Buffer.from(r.signature as Uint8Array).toString('hex')]),
      );
      const buckets = await alice.query('SELECT 1 FROM signature_buckets WHERE conversation_id = ANY($1)', [localSignatures.map((r) => r.conversation_id)]);
      assert.equal(buckets.rowCount, Number((await store.get('SELECT count(*) AS n FROM signature_buckets'))!.n));
    } finally {
      store.close();
    }
  });

  it('a push adds only what the workspace gained since the last one', async () => {
    const dir = await fillWorkspace({ path: 'grows.prompt', conversations: 2 });
    await push(dir, alice);
    await fillWorkspace({ dir, path: 'grows.prompt', conversations: 1, start: 1_800_000_000_000 });
    const added = await push(dir, alice);
    // The same template; one new version, batch, conversation, two logs (one failed), one review.
    assert.deepEqual(added, { templates: 0, versions: 1, batches: 1, conversations: 1, turns: 2, scores: 1, generationLogs: 2, judgeCalls: 1, reviews: 1, messageBatches: 0, messageBatchResults: 0 });
    assert.deepEqual(await teamContents(alice, 'grows.prompt'), await contentsOf(dir));
  });

  it('a review or a batch status that changed after a push follows on the next; a teammate’s newer verdict stands', async () => {
    const dir = await fillWorkspace({ path: 'moves.prompt', conversations: 3 });
    await push(dir, alice);
    const store = await Store.open(dir);
    const pending = (await store.all("SELECT id FROM conversations WHERE status = 'pending' ORDER BY id")).map((r) => String(r.id));
    const batchId = String((await store.get('SELECT id FROM batches LIMIT 1'))!.id);
    assert.equal(pending.length, 2);
    // Bob rejects the second in the team database, later than anything alice does locally.
    await bob.query("INSERT INTO reviews (conversation_id, status, created_at) VALUES ($1, 'rejected', 4000000000000)", [pending[1]]);
    await bob.query("UPDATE conversations SET status = 'rejected' WHERE id = $1", [pending[1]]);
    const reviews = new WorkspaceGenerationRepository(store);
    await reviews.review(pending[0]!, 'approved');
    await reviews.review(pending[1]!, 'approved');
    await store.write((tx) => tx.run("UPDATE batches SET status = 'completed', updated_at = updated_at + 1 WHERE id = ?", [batchId]));
    store.close();

    const added = await push(dir, alice);
    assert.deepEqual([added.conversations, added.batches, added.reviews], [0, 0, 2], 'brought up to date, not added');
    const status = async (id: string) => (await alice.query<{ status: string }>('SELECT status FROM conversations WHERE id = $1', [id])).rows[0]!.status;
    assert.equal(await status(pending[0]!), 'approved');
    assert.equal(await status(pending[1]!), 'rejected', 'the newer verdict in the team database stands');
    assert.equal((await alice.query<{ status: string }>('SELECT status FROM batches WHERE id = $1', [batchId])).rows[0]!.status, 'completed');
    assert.deepEqual(await push(dir, alice), NOTHING);
  });

  it('a push cut off half-way is finished by the next, with nothing twice', async () => {
    const dir = await fillWorkspace({ path: 'cut.prompt', conversations: 6 });
    const local = await contentsOf(dir);
    // The connection fails as the 4th conversation is sent: after the templates, the batch and
    // three conversations were committed, in the middle of the rest.
    let conversations = 0;
    const failing: Queryable = {
      query: (sql, params) => {
        if (sql.startsWith('INSERT INTO conversations') && ++conversations === 4) return Promise.reject(new Error('connection lost'));
        return alice.query(sql, params as unknown[]);
      },
    };
    await assert.rejects(push(dir, failing, 1), /connection lost/);
    const partial = await teamContents(alice, 'cut.prompt');
    assert.equal(partial.conversations, 3, `cut half-way: ${JSON.stringify(partial)}`);
    assert.equal(partial.generationLogs, 0);
    const rest = await push(dir, alice, 1);
    assert.equal(rest.conversations, local.conversations - partial.conversations);
    assert.deepEqual(await teamContents(alice, 'cut.prompt'), local);
  });

  it('two members pushing the same template path each get their own; logs stay their author’s', async () => {
    const alices = await fillWorkspace({ path: 'shared-name.prompt' });
    const bobs = await fillWorkspace({ path: 'shared-name.prompt', start: 1_750_000_000_000 });
    await push(alices, alice);
    await push(bobs, bob);
    const seen = await alice.query<{ created_by: string }>("SELECT created_by FROM prompt_templates WHERE path = 'shared-name.prompt' ORDER BY created_by");
    assert.deepEqual(seen.rows, [{ created_by: 'alice' }, { created_by: 'bob' }]);
    const logs = await alice.query<{ created_by: string }>("SELECT DISTINCT g.created_by FROM generation_logs g JOIN prompt_templates t ON t.id = g.template_id WHERE t.path = 'shared-name.prompt'");
    assert.deepEqual(logs.rows, [{ created_by: 'alice' }]);
    // Bob's conversations are team work: alice reads all of them.
    const conversations = await alice.query("SELECT 1 FROM conversations c JOIN prompt_templates t ON t.id = c.template_id WHERE t.path = 'shared-name.prompt'");
    assert.equal(conversations.rowCount, 6);
  });

  it('what was pushed is still there after the server restarts', async () => {
    const dir = await fillWorkspace({ path: 'restart.prompt' });
    await push(dir, alice);
    server.restart();
    await alice.end().catch(() => undefined); // its session ended with the server
    alice = await connectTeamDatabase(server.url('alice', 'a', 'team'));
    assert.deepEqual(await teamContents(alice, 'restart.prompt'), await contentsOf(dir));
    assert.deepEqual(await push(dir, alice), NOTHING);
  });
  it('a cancelled request and its prompt-cache figures arrive as the workspace holds them', async () => {
    const dir = await fillWorkspace({ path: 'cancelled.prompt', conversations: 1 });
    const store = await Store.open(dir);
    try {
      await store.write((tx) => {
        tx.run(
          `INSERT INTO generation_logs (template_id, version_id, batch_id, conversation_id, parameters, model, attempt, status, error_type, input_tokens, output_tokens, cost_usd, duration_ms, created_at,
                                        cache_creation_input_tokens, cache_read_input_tokens, saved_usd)
           SELECT template_id, version_id, batch_id, NULL, parameters, model, 1, 'cancelled', 'cancelled', 0, 0, 0, 5, created_at + 1, 0, 0, 0 FROM generation_logs LIMIT 1`,
        );
        tx.run('UPDATE generation_logs SET cache_creation_input_tokens = 1500, cache_read_input_tokens = 0, saved_usd = -0.001125 WHERE conversation_id IS NOT NULL');
      });
    } finally {
      store.close();
    }
    const local = await contentsOf(dir);
    assert.deepEqual(await push(dir, alice), local);
    const { rows } = await alice.query<{ status: string; cache_creation_input_tokens: string; saved_usd: number }>(
      "SELECT g.status, g.cache_creation_input_tokens, g.saved_usd FROM generation_logs g JOIN prompt_templates t ON t.id = g.template_id WHERE t.path = 'cancelled.prompt' AND g.status <> 'failed' ORDER BY g.status",
    );
    assert.deepEqual(rows.map((r) => [r.status, Number(r.cache_creation_input_tokens), r.saved_usd]), [['cancelled', 0, 0], ['succeeded', 1500, -0.001125]]);
  });

  it('a push after the workspace database gained a column (a later migration) adds nothing', async () => {
    const dir = await fillWorkspace({ path: 'migrated.prompt' });
    await push(dir, alice);
    const store = await Store.open(dir);
    try {
      await store.write((tx) => {
        for (const table of ['generation_logs', 'judge_calls', 'reviews']) tx.run(`ALTER TABLE ${table} ADD COLUMN added_later INTEGER NOT NULL DEFAULT 0`);
      });
    } finally {
      store.close();
    }
    assert.deepEqual(await push(dir, alice), NOTHING);
  });

  /** Adds to the workspace at `dir` a Message Batch of its batch: `collected` with a result per conversation, or still `submitted`. */
  async function addMessageBatch(dir: string, collected: boolean): Promise<{ id: string; customIds: readonly string[] }> {
    const store = await Store.open(dir);
    try {
      const batchId = String((await store.get('SELECT id FROM batches ORDER BY created_at LIMIT 1'))!.id);
      const conversations = (await store.all('SELECT id FROM conversations WHERE batch_id = ? ORDER BY id', [batchId])).map((r) => String(r.id));
      const row = await recordIntent(store, batchId, conversations.map((_, i) => `c0-${i}`), 1, 0.03, 1_700_000_100_000);
      const records = new MessageBatchRepository(store);
      await records.markSubmitted(row.id, `msgbatch_${row.id}`, 1_700_000_100_500);
      if (!collected) return row;
      // Each result line as the collector takes it in: here, pointing at the conversations there are.
      await store.write((tx) => {
        for (const [i, customId] of row.customIds.entries()) {
          tx.run("INSERT INTO message_batch_results (message_batch_id, custom_id, result, error_type, conversation_id, created_at) VALUES (?, ?, 'succeeded', NULL, ?, ?)", [row.id, customId, conversations[i]!, 1_700_000_101_000 + i]);
        }
      });
      await records.markCollected(row.id, 1_700_000_102_000);
      return row;
    } finally {
      store.close();
    }
  }

  it('Message Batches and their results come along (the submitter’s on the team store); pushing again adds nothing', async () => {
    const dir = await fillWorkspace({ path: 'batched.prompt' });
    const row = await addMessageBatch(dir, true);
    const local = await contentsOf(dir);
    assert.equal(local.messageBatches, 1);
    assert.equal(local.messageBatchResults, 3);
    assert.deepEqual(await push(dir, alice), local);
    assert.deepEqual(await teamContents(alice, 'batched.prompt'), local);
    assert.deepEqual(await push(dir, alice), NOTHING);
    const { rows } = await alice.query('SELECT id, state, anthropic_id, custom_ids, confirmed, purpose, created_by FROM message_batches WHERE id = $1', [row.id]);
    assert.deepEqual(rows, [{ id: row.id, state: 'collected', anthropic_id: `msgbatch_${row.id}`, custom_ids: row.customIds, confirmed: 1, purpose: 'generation', created_by: 'alice' }]);
    // Bob reads the pushed batch (an active template's) but not Alice's Message Batches (a session
    // of his own: the restart above ended the earlier one).
    const asBob = await connectTeamDatabase(server.url('bob', 'b', 'team'));
    try {
      assert.equal((await asBob.query("SELECT 1 FROM batches b JOIN prompt_templates t ON t.id = b.template_id WHERE t.path = 'batched.prompt'")).rowCount, 1);
      assert.equal((await asBob.query('SELECT 1 FROM message_batches WHERE id = $1', [row.id])).rowCount, 0);
      assert.equal((await asBob.query('SELECT 1 FROM message_batch_results WHERE message_batch_id = $1', [row.id])).rowCount, 0);
    } finally {
      await asBob.end();
    }
  });

  it('a workspace with a Message Batch not yet collected is refused, before anything is written', async () => {
    const dir = await fillWorkspace({ path: 'in-flight.prompt' });
    await addMessageBatch(dir, false);
    await assert.rejects(push(dir, alice), (error: Error) => error instanceof PushRefusedError && /has a Message Batch not yet collected: collect it first with promptloom resume --batch \S+, then push/.test(error.message));
    assert.equal((await alice.query("SELECT 1 FROM prompt_templates WHERE path = 'in-flight.prompt'")).rowCount, 0);
  });
});
