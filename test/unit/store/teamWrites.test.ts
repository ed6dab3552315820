/**
 * The recording path written once (repositories.ts over `Database.transaction`): the same calls,
 * with the same clock and ids, leave the same rows in a workspace database and in the team
 * database (a real PostgreSQL), authored there by the member (the judge's calls and grades too);
 * a group recorded together is all or none; and two writers ensuring one template at once get one
 * row.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from '../../../src/core/store/database';
import { Store, WorkspaceBatchRepository, WorkspaceGenerationRepository, WorkspaceTemplateRepository, type Clock, type GenerationRecord } from '../../../src/core/store';
import { SqlJudgeCallRepository } from '../../../src/core/store/judgeCalls';
import type { QualityResult } from '../../../src/core/quality';
import { connectTeamDatabase } from '../../../src/core/store/postgres/connection';
import { initTeamDatabase } from '../../../src/core/store/postgres/setup';
import { TeamDatabase } from '../../../src/core/store/postgres/teamDatabase';
import { startPostgres, type PostgresServer } from '../../helpers/postgres';

const PATH = 'prompts/support.prompt';
const turns = (topic: string) => [
  { role: 'user' as const, content: `I would like to talk about ${topic} and what it means for my savings over the next few years.` },
  { role: 'assistant' as const, content: `Of course. ${topic} matters for savings because it changes what you keep each year, and we can look at it step by step together.` },
];

/** Records a small run: a template, its version, a batch, a failed attempt, two answers and a near copy of the second. */
async function recordRun(db: Database): Promise<{ outcomes: unknown[] }> {
  let t = 1_700_000_000_000;
  const clock: Clock = { now: () => (t += 1000) };
  let n = 0;
  const newId = () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
  const templates = new WorkspaceTemplateRepository(db, clock);
  const template = await templates.ensure(PATH, { name: 'Support', tier: 'scenario' });
  assert.equal((await templates.ensure(PATH, { name: 'Support desk', tier: 'scenario' })).id, template.id, 'ensured again: the same row, renamed');
  const version = await templates.recordVersion(template.id, 'body one');
  assert.equal((await templates.recordVersion(template.id, 'body one')).id, version.id);
  const batches = new WorkspaceBatchRepository(db, clock, newId);
  const batch = await batches.create({ templateId: template.id, versionId: version.id, requested: 3, parameters: { topic: 'taxes' }, model: 'claude-x', settings: { concurrency: 1 }, plan: [{ values: { topic: 'taxes' }, count: 3 }] });
  await batches.setStatus(batch.id, 'running');
  const generations = new WorkspaceGenerationRepository(db, clock, newId);
  const base = { templateId: template.id, versionId: version.id, batchId: batch.id, parameters: { topic: 'taxes' }, model: 'claude-x', inputTokens: 40, outputTokens: 120, costUsd: 0.0021, durationMs: 15 };
  const answer = (topic: string, overall: number): GenerationRecord => ({
    ...base,
    attempt: 1,
    status: 'succeeded',
    cacheReadInputTokens: 8,
    savedUsd: 0.0003,
    conversation: { systemPrompt: 'Be clear.', turns: turns(topic), quality: { overall, breakdown: { clarity: overall }, recommendations: ['shorter'] } },
    nearDuplicates: { threshold: 0.8 },
  });
  const outcomes: unknown[] = [];
  outcomes.push(await generations.record({ ...base, attempt: 1, status: 'failed', errorType: 'server_error', outputTokens: 0, costUsd: 0 }));
  outcomes.push(await generations.record(answer('taxes', 7.5)));
  outcomes.push(...(await generations.recordMany([answer('pensions', 8), answer('pensions', 9)])));
  // The judge: a failed call and a note, two grades (one replacing a flag, one beside a near-copy's reason).
  const [, taxes, pensions, near] = (outcomes as { conversationId: string }[]).map((o) => o.conversationId) as [string, string, string, string];
  const judge = new SqlJudgeCallRepository(db, clock);
  const call = { batchId: batch.id, model: 'claude-judge', attempt: 1, inputTokens: 300, outputTokens: 60, cacheReadInputTokens: 200, costUsd: 0.0004, durationMs: 9 };
  await judge.recordCall({ ...call, conversationId: taxes, status: 'failed', errorType: 'server_error', outputTokens: 0, costUsd: 0 });
  await judge.noteUnjudged(taxes, "not judged (server_error): the score is the scorer's alone");
  for (const id of [pensions, near]) {
    await judge.recordCall({ ...call, conversationId: id, status: 'succeeded' });
    const graded = { overall: 4.5, breakdown: { clarity: 8, judge: { score: 4.5 } }, recommendations: ['the judge: vague'] } as unknown as QualityResult;
    await judge.saveJudged(id, graded, 'scored 4.5, below 6: the judge: vague');
  }
  await batches.setStatus(batch.id, 'completed');
  await templates.setActive(template.id, false);
  await templates.setActive(template.id, true);
  outcomes.push(await batches.get(batch.id), await generations.spentSince(0), await judge.spentSince(0));
  return { outcomes };
}

/** Every table's rows, in a form both backends give alike (JSON parsed, bytes as hex). */
async function contents(db: Database): Promise<Record<string, unknown[]>> {
  const norm = (row: Record<string, unknown>) =>
    Object.fromEntries(
      Object.entries(row).map(([k, v]) => [k, v instanceof Uint8Array ? Buffer.from(v).toString('hex') : typeof v === 'string' && /^[[{]/.test(v) ? JSON.parse(v) : v]),
    );
  const d = db.dialect;
  const queries: Record<string, string> = {
    templates: `SELECT id, path, name, tier, active, deleted_at, created_at FROM ${d.templates} t ORDER BY id`,
    template_versions: 'SELECT id, template_id, content_hash, content, created_at FROM template_versions ORDER BY id',
    batches: 'SELECT id, template_id, version_id, requested, parameters, model, settings, status, plan, created_at, updated_at FROM batches ORDER BY id',
    conversations: 'SELECT id, template_id, version_id, batch_id, parameters, system_prompt, status, status_reason, created_at, near_duplicate_of, similarity FROM conversations ORDER BY id',
    turns: 'SELECT conversation_id, position, role, content FROM turns ORDER BY conversation_id, position',
    quality_scores: 'SELECT conversation_id, overall, breakdown, recommendations, created_at FROM quality_scores ORDER BY conversation_id',
    generation_logs: `SELECT id, template_id, version_id, batch_id, conversation_id, parameters, model, attempt, status, error_type, input_tokens, output_tokens, cost_usd, duration_ms,
                             created_at, cache_creation_input_tokens, cache_read_input_tokens, saved_usd, mode FROM generation_logs ORDER BY id`,
    conversation_signatures: 'SELECT conversation_id, template_id, signature FROM conversation_signatures ORDER BY conversation_id',
    signature_buckets: 'SELECT template_id, band, bucket, conversation_id FROM signature_buckets ORDER BY conversation_id, band',
    judge_calls: `SELECT id, conversation_id, batch_id, model, attempt, status, error_type, input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens,
                         cost_usd, duration_ms, created_at FROM judge_calls ORDER BY id`,
  };
  const out: Record<string, unknown[]> = {};
  for (const [table, sql] of Object.entries(queries)) out[table] = (await db.all(sql)).map(norm);
  return out;
}

describe('the recording path on both backends (a real PostgreSQL)', function () {
  this.timeout(60_000);
  let server: PostgresServer;
  let alice: TeamDatabase;
  let bob: TeamDatabase;

  before(async () => {
    server = await startPostgres();
    await server.admin(["CREATE ROLE team_owner LOGIN CREATEROLE PASSWORD 'owner-secret'", 'CREATE DATABASE team OWNER team_owner', "CREATE ROLE alice LOGIN PASSWORD 'a-secret'", "CREATE ROLE bob LOGIN PASSWORD 'b-secret'"]);
    const owner = await connectTeamDatabase(server.url('team_owner', 'owner-secret', 'team'));
    await initTeamDatabase(owner);
    await owner.end();
    await server.admin(['GRANT promptloom_member TO alice, bob']);
    alice = await TeamDatabase.connect(server.url('alice', 'a-secret', 'team'));
    bob = await TeamDatabase.connect(server.url('bob', 'b-secret', 'team'));
  });

  after(async () => {
    await alice?.close();
    await bob?.close();
    server?.dispose();
  });

  it('the same calls leave the same rows and answers in a workspace and on the team store', async () => {
    const store = await Store.open(mkdtempSync(join(tmpdir(), 'promptloom-writes-')));
    try {
      const local = await recordRun(store);
      const team = await recordRun(alice);
      assert.deepEqual(team.outcomes, local.outcomes);
      const localRows = await contents(store);
      assert.equal(localRows.conversations!.length, 3);
      assert.equal((localRows.conversations![2] as { near_duplicate_of: string }).near_duplicate_of, (localRows.conversations![1] as { id: string }).id, 'the near copy is linked');
      assert.equal(localRows.judge_calls!.length, 3);
      assert.deepEqual(
        localRows.quality_scores!.map((q) => (q as { overall: number }).overall),
        [7.5, 4.5, 4.5],
        'the judged scores replaced',
      );
      assert.deepEqual(await contents(alice), localRows);
    } finally {
      store.close();
    }
    // Authored by the member, whatever the client sent (it sends none).
    const authors = await alice.all(`SELECT DISTINCT created_by FROM prompt_templates UNION SELECT DISTINCT created_by FROM batches
                                       UNION SELECT DISTINCT created_by FROM conversations UNION SELECT DISTINCT created_by FROM generation_logs
                                       UNION SELECT DISTINCT created_by FROM judge_calls`);
    assert.deepEqual(authors, [{ created_by: 'alice' }]);
  });

  it("another member's template at the same path is their own row; their spending is their own", async () => {
    const templates = new WorkspaceTemplateRepository(bob);
    const bobs = await templates.ensure(PATH, { name: 'Bob support', tier: 'template' });
    const alices = await new WorkspaceTemplateRepository(alice).byPath(PATH);
    assert.notEqual(bobs.id, alices!.id);
    assert.equal(await new WorkspaceGenerationRepository(bob).spentSince(0), 0);
    assert.equal(await new WorkspaceGenerationRepository(alice).spentSince(0), Number((0.0021 * 3).toFixed(4)));
  });

  it('recordMany is all or none on the team store', async () => {
    const template = (await new WorkspaceTemplateRepository(bob).byPath(PATH))!;
    const version = await new WorkspaceTemplateRepository(bob).recordVersion(template.id, 'bob body');
    const generations = new WorkspaceGenerationRepository(bob);
    const record = (conversationId: string): GenerationRecord => ({
      templateId: template.id, versionId: version.id, parameters: {}, model: 'claude-x', attempt: 1, status: 'succeeded', inputTokens: 1, outputTokens: 1, costUsd: 0.001, durationMs: 1,
      conversationId, conversation: { turns: turns(conversationId) },
    });
    // The second names a conversation of Alice's: its INSERT is refused (the key exists), and the first goes with it.
    const taken = String((await alice.get('SELECT id FROM conversations LIMIT 1'))!.id);
    await assert.rejects(generations.recordMany([record('bob-first'), record(taken)]), /duplicate key/);
    assert.equal((await bob.get("SELECT count(*) AS n FROM conversations WHERE id = 'bob-first'"))!.n, 0);
    assert.equal((await bob.get('SELECT count(*) AS n FROM generation_logs'))!.n, 0);
  });

  it('writers ensuring one template at once get one row', async () => {
    const handles = [alice, ...(await Promise.all([1, 2, 3].map(() => TeamDatabase.connect(server.url('alice', 'a-secret', 'team')))))];
    try {
      const rows = await Promise.all(handles.map((db) => new WorkspaceTemplateRepository(db).ensure('prompts/raced.prompt', { name: 'Raced', tier: 'template' })));
      assert.equal(new Set(rows.map((r) => r.id)).size, 1);
      const versions = await Promise.all(handles.map((db) => new WorkspaceTemplateRepository(db).recordVersion(rows[0]!.id, 'raced body')));
      assert.equal(new Set(versions.map((v) => v.id)).size, 1);
    } finally {
      await Promise.all(handles.slice(1).map((db) => db.close()));
    }
  });
});
