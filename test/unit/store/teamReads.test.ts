/**
 * One implementation of the analytics and the repositories' reads serves both backends: a
 * workspace pushed to a real PostgreSQL reads back the same from the team database, query by
 * query, for its author; another member gets the same figures of the author's logs per template
 * (template_analytics), per version, per quarter hour and per batch (generation_figures, team
 * migration 12) without reading a log, and nothing of a teammate's private template.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { conversationRows, generationCost } from '../../../src/core/export';
import type { Database } from '../../../src/core/store/database';
import { ConversationReads } from '../../../src/core/store/conversationReads';
import { Store, WorkspaceBatchRepository, WorkspaceGenerationRepository, WorkspaceTemplateRepository, systemClock, type Clock } from '../../../src/core/store';
import { analyticsOn } from '../../../src/core/store/workspaceRepositories';
import { connectTeamDatabase } from '../../../src/core/store/postgres/connection';
import { pushWorkspace } from '../../../src/core/store/postgres/push';
import { initTeamDatabase } from '../../../src/core/store/postgres/setup';
import { TeamDatabase } from '../../../src/core/store/postgres/teamDatabase';
import { TemplateReads } from '../../../src/core/store/templateReads';
import { startPostgres, type PostgresServer } from '../../helpers/postgres';
import { fillWorkspace } from '../../helpers/teamWorkspace';

const PATH = 'support.prompt';

/** Ids differ between the stores (each numbers its own rows): left out; figures compared to 12 digits (summation order). */
function comparable(value: unknown): unknown {
  if (typeof value === 'number') return Number.isInteger(value) ? value : Number(value.toPrecision(12));
  if (Array.isArray(value)) return value.map(comparable);
  if (value instanceof Map) return [...value.values()].map(comparable);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => !['id', 'templateId', 'versionId', 'author'].includes(k))
        .map(([k, v]) => [k, comparable(v)]),
    );
  }
  return value;
}

/** Everything the reads answer about the template at PATH, its versions and its conversations. */
async function everything(db: Database, conversationIds: readonly string[]) {
  const analytics = analyticsOn(db);
  const templates = new TemplateReads(db);
  const conversations = new ConversationReads(db, systemClock);
  const template = (await templates.byPath(PATH))!;
  const versions = await templates.versions(template.id);
  const newest = versions.at(-1)!;
  return {
    stats: await analytics.computeStats(),
    rows: await analytics.templateRows(),
    totals: await analytics.totals(),
    quality: await analytics.templateQuality(PATH),
    versionRows: await analytics.versionRows(template.id),
    daily: await analytics.dailySeries({ templateId: template.id, dayOf: (ms) => new Date(ms).toISOString().slice(0, 10) }),
    hourly: await analytics.dailySeries({ unit: 'hour', dayOf: (ms) => new Date(ms).toISOString().slice(0, 13) }),
    unit: await analytics.seriesUnit(),
    coverage: await analytics.coverage(template.id),
    agreement: await analytics.reviewAgreementByTemplate(),
    threshold: await analytics.currentThreshold(template.id),
    baseline: await analytics.baselineFor(template.id, newest.id, Number.MAX_SAFE_INTEGER),
    outputTokens: await analytics.pastOutputTokens(PATH),
    durationMs: await analytics.pastDurationMs(PATH),
    // The export card's cost of every conversation the reader may export.
    cost: await generationCost(db, await conversationRows(db)),
    template,
    byId: await templates.byId(template.id),
    list: await templates.list(),
    versions,
    version: await templates.version(newest.id),
    usage: await templates.usage(template.id),
    conversations: await conversations.list(),
    byScore: await conversations.list({ sort: 'score', templatePath: PATH, minQuality: 7.2 }),
    details: await Promise.all(conversationIds.map((id) => conversations.details(id))),
    conversation: await conversations.conversation(conversationIds[0]!),
    prefix: await conversations.idsStartingWith(conversationIds[1]!.slice(0, 6)),
  };
}

describe('team database (PostgreSQL): the shared reads answer as the workspace database', function () {
  this.timeout(60_000);
  let server: PostgresServer;
  let dir: string;
  let alice: TeamDatabase;
  let bob: TeamDatabase;
  let ids: string[];

  before(async () => {
    server = await startPostgres();
    await server.admin(["CREATE ROLE team_owner LOGIN CREATEROLE PASSWORD 'owner-secret'", 'CREATE DATABASE team OWNER team_owner', "CREATE ROLE alice LOGIN PASSWORD 'a-secret'", "CREATE ROLE bob LOGIN PASSWORD 'b-secret'"]);
    const owner = await connectTeamDatabase(server.url('team_owner', 'owner-secret', 'team'));
    await initTeamDatabase(owner);
    await owner.end();
    await server.admin(['GRANT promptloom_member TO alice, bob']);

    // Twelve scored conversations (a trend), reviews, a failed attempt, and a planned batch (coverage).
    dir = await fillWorkspace({ path: PATH, conversations: 12 });
    const store = await Store.open(dir);
    try {
      let t = 1_700_000_500_000;
      const clock: Clock = { now: () => t++ };
      const template = (await new WorkspaceTemplateRepository(store, clock).byPath(PATH))!;
      const version = (await new WorkspaceTemplateRepository(store, clock).versions(template.id)).at(-1)!;
      const batch = await new WorkspaceBatchRepository(store, clock).create({
        templateId: template.id, versionId: version.id, requested: 4, parameters: {}, model: 'claude-x', settings: { purpose: 'test' },
        plan: [{ values: { tone: 'calm' }, count: 2 }, { values: { tone: 'curt' }, count: 2 }],
      });
      const generations = new WorkspaceGenerationRepository(store, clock, randomUUID);
      for (const tone of ['calm', 'curt', 'curt']) {
        const outcome = await generations.record({
          templateId: template.id, versionId: version.id, batchId: batch.id, parameters: { tone }, model: 'claude-x', attempt: 1, status: 'succeeded',
          inputTokens: 10, outputTokens: 30, costUsd: 0.002, durationMs: 7, cacheReadInputTokens: 5, savedUsd: 0.0007,
          conversation: { turns: [{ role: 'user', content: `a ${tone} question` }, { role: 'assistant', content: `a ${tone} answer` }], quality: { overall: tone === 'calm' ? 5 : 4, breakdown: {}, recommendations: ['shorter'] } },
        });
        await generations.review(outcome.conversationId!, tone === 'calm' ? 'approved' : 'rejected', 'by the plan');
      }
      // A request cut off by a cancel: neither succeeded nor failed.
      await generations.record({ templateId: template.id, versionId: version.id, batchId: batch.id, parameters: { tone: 'calm' }, model: 'claude-x', attempt: 1, status: 'cancelled', inputTokens: 0, outputTokens: 0, costUsd: 0, durationMs: 2 });
      // A conversation outside a batch (the card counts its attempts by conversation).
      await generations.record({
        templateId: template.id, versionId: version.id, parameters: { tone: 'loose' }, model: 'claude-x', attempt: 1, status: 'succeeded',
        inputTokens: 12, outputTokens: 40, costUsd: 0.003, durationMs: 9,
        conversation: { turns: [{ role: 'user', content: 'a loose question' }, { role: 'assistant', content: 'a loose answer' }], quality: { overall: 6, breakdown: {}, recommendations: [] } },
      });
      await pushWorkspace(store, await memberClient('alice', 'a-secret'));
      ids = (await store.all<{ id: string }>('SELECT id FROM conversations ORDER BY created_at, id')).map((r) => r.id);
    } finally {
      store.close();
    }
    alice = await TeamDatabase.connect(server.url('alice', 'a-secret', 'team'));
    bob = await TeamDatabase.connect(server.url('bob', 'b-secret', 'team'));
  });

  const clients: { end(): Promise<void> }[] = [];
  async function memberClient(user: string, password: string) {
    const client = await connectTeamDatabase(server.url(user, password, 'team'));
    clients.push(client);
    return client;
  }

  after(async () => {
    for (const c of clients) await c.end().catch(() => undefined);
    await alice?.close().catch(() => undefined);
    await bob?.close().catch(() => undefined);
    server?.dispose();
  });

  it("for the logs' author, every read answers as the workspace's", async () => {
    const store = await Store.open(dir);
    try {
      const local = await everything(store, ids);
      const team = await everything(alice, ids);
      // Something to compare: the figures are not empty.
      assert.deepEqual(
        [local.stats.templates[0]!.usageCount, local.stats.templates[0]!.cancelled, local.stats.templates[0]!.savedUsd],
        [18, 1, 0.0021],
      );
      // The card's cost covers the batches' attempts and the conversation outside them.
      assert.equal(local.cost.attempts, 18);
      assert.equal(local.coverage.cells.length, 2);
      assert.ok(local.baseline);
      assert.equal(local.stats.templates[0]!.trend, 'declining');
      // The one difference, left out below: the team names each template's author.
      assert.deepEqual([local.stats.templates[0]!.author, team.stats.templates[0]!.author, team.rows[0]!.author], [null, 'alice', 'alice']);
      for (const key of Object.keys(local) as (keyof typeof local)[]) assert.deepEqual(comparable(team[key]), comparable(local[key]), key);
    } finally {
      store.close();
    }
  });

  it("another member: the author's logs counted per template, version, quarter hour and batch as the author counts them, never a log read", async () => {
    const byAlice = await everything(alice, ids);
    const byBob = await everything(bob, ids);
    // Per template, through template_analytics: the same.
    assert.deepEqual(comparable(byBob.stats), comparable(byAlice.stats));
    assert.deepEqual(comparable(byBob.usage), comparable(byAlice.usage));
    assert.deepEqual(comparable(byBob.conversations), comparable(byAlice.conversations));
    // Per version, day, hour and batch, through generation_figures: Alice's figures, which are her workspace's (above).
    for (const key of ['versionRows', 'versions', 'daily', 'hourly', 'unit', 'cost'] as const) assert.deepEqual(comparable(byBob[key]), comparable(byAlice[key]), key);
    assert.ok(byAlice.versionRows.some((v) => v.usageCount > 0 && v.totalCostUsd > 0 && v.lastActivity !== null));
    assert.ok(byAlice.versions.some((v) => v.generations > 0));
    assert.ok(byAlice.daily.some((d) => d.generations > 0 && d.failed > 0 && d.costUsd > 0));
    assert.equal(byAlice.cost.attempts, 18);
    // The estimate's means stay the member's own (not in migration 12).
    assert.equal(byBob.outputTokens, null);
    // And the logs stay Alice's: Bob reads none of them, and the view has no request values or per-request columns.
    const bobClient = await memberClient('bob', 'b-secret');
    assert.equal(Number((await bobClient.query('SELECT count(*) AS n FROM generation_logs')).rows[0].n), 0);
    assert.equal(Number((await (await memberClient('alice', 'a-secret')).query('SELECT count(*) AS n FROM generation_logs')).rows[0].n), 18);
    const columns = (await bobClient.query('SELECT * FROM generation_figures LIMIT 1')).fields.map((f) => f.name);
    for (const hidden of ['parameters', 'id', 'created_by', 'model', 'error_type', 'attempt', 'push_key']) assert.ok(!columns.includes(hidden), hidden);
  });

  it("a teammate's private template: its figures are its author's alone, and a function of the reader's sees no log below the aggregate", async () => {
    const aliceClient = await memberClient('alice', 'a-secret');
    const t = await aliceClient.query("INSERT INTO prompt_templates (path, name, tier, is_active, created_at) VALUES ('secret.prompt', 'Secret', 'template', false, 1700000900000) RETURNING id");
    const privateId = Number(t.rows[0].id);
    const v = await aliceClient.query("INSERT INTO template_versions (template_id, content_hash, content, created_at) VALUES ($1, 'h', 'body', 1700000900000) RETURNING id", [privateId]);
    // Later than every other log: the series' span would end there.
    const later = 1_800_000_000_000;
    for (const status of ['succeeded', 'succeeded', 'failed']) {
      await aliceClient.query("INSERT INTO generation_logs (template_id, version_id, parameters, model, attempt, status, cost_usd, created_at) VALUES ($1, $2, '{}', 'claude-x', 1, $3, 0.01, $4)", [privateId, v.rows[0].id, status, later]);
    }
    // Alice counts them per version and per hour; Bob sees neither the template's versions nor its figures.
    assert.deepEqual((await analyticsOn(alice).versionRows(privateId)).map((r) => [r.usageCount, r.failed]), [[3, 1]]);
    assert.deepEqual(await analyticsOn(bob).versionRows(privateId), []);
    assert.deepEqual(await analyticsOn(bob).dailySeries({ templateId: privateId }), []);
    const generations = async (db: Database) => (await analyticsOn(db).dailySeries({ unit: 'hour' })).reduce((n, p) => n + p.generations, 0);
    assert.equal(await generations(alice), 18 + 3);
    assert.equal(await generations(bob), 18);
    const bobClient = await memberClient('bob', 'b-secret');
    assert.equal((await bobClient.query('SELECT * FROM generation_figures WHERE template_id = $1', [privateId])).rowCount, 0);
    // Every view of migration 12 leaves them out for Bob and counts them for Alice.
    const counted = async (client: typeof bobClient) =>
      (
        await client.query(`SELECT (SELECT sum(generations) FROM generation_figures) AS figures, (SELECT sum(generations) FROM generation_quarter_hours) AS hours,
                                   (SELECT sum(generations) FROM generation_costs) AS costs, (SELECT last_generation_at FROM generation_span) = $1 AS ends_later`, [later])
      ).rows[0];
    assert.deepEqual(await counted(aliceClient), { figures: '21', hours: '21', costs: '21', ends_later: true });
    assert.deepEqual(await counted(bobClient), { figures: '18', hours: '18', costs: '18', ends_later: false });
    assert.equal(await analyticsOn(alice).seriesUnit(), 'day');
    assert.equal(await analyticsOn(bob).seriesUnit(), 'hour');
    // security_barrier: a function of Bob's in WHERE runs over the view's groups, after its
    // filter, never over the logs (it would meet the private template's, once per log).
    const seen: string[] = [];
    bobClient.on('notice', (n) => seen.push(String(n.message)));
    await bobClient.query(`CREATE FUNCTION pg_temp.leak(template bigint) RETURNS boolean LANGUAGE plpgsql IMMUTABLE COST 0.0000001 AS $$
                           BEGIN RAISE NOTICE 'saw %', template; RETURN true; END $$`);
    const groups = (await bobClient.query('SELECT template_id FROM generation_figures WHERE pg_temp.leak(template_id)')).rowCount;
    assert.ok(groups! > 0);
    assert.equal(seen.length, groups);
    assert.ok(!seen.includes(`saw ${privateId}`));
  });
});
