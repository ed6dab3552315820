/**
 * One implementation of the analytics and the repositories' reads serves both backends: a
 * workspace pushed to a real PostgreSQL reads back the same from the team database, query by
 * query, for its author; another member gets everyone's per-template figures (through the
 * analytics view) and only their own logs where figures read the logs themselves.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
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
        [17, 1, 0.0021],
      );
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

  it("another member: everyone's per-template figures; per-version and per-day log figures are their own (none)", async () => {
    const byAlice = await everything(alice, ids);
    const byBob = await everything(bob, ids);
    // Per template, through template_analytics: the same.
    assert.deepEqual(comparable(byBob.stats), comparable(byAlice.stats));
    assert.deepEqual(comparable(byBob.usage), comparable(byAlice.usage));
    assert.deepEqual(comparable(byBob.conversations), comparable(byAlice.conversations));
    // Read from the logs themselves: Alice's logs are hers alone.
    assert.deepEqual(byBob.versionRows.map((v) => [v.usageCount, v.conversations]), byAlice.versionRows.map((v) => [0, v.conversations]));
    assert.ok(byAlice.versionRows.some((v) => v.usageCount > 0));
    assert.equal(byBob.outputTokens, null);
    assert.deepEqual(byBob.daily.map((d) => d.generations), byAlice.daily.map(() => 0));
  });
});
