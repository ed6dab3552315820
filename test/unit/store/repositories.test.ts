import { strict as assert } from 'node:assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeStats, dailySeries, templateFigures, templateQuality, templateRows, versionRows } from '../../../src/core/analytics';
import { messageBatchRows, recordIntent, slotStates } from '../../../src/core/generation/messageBatchRecords';
import { WorkspaceBatchRepository, WorkspaceGenerationRepository, Store, WorkspaceTemplateRepository, contentHash, workspaceRepositories, type Clock } from '../../../src/core/store';
import { WorkspaceJudgeCallRepository, judgedAlready } from '../../../src/core/store/judgeCalls';
import { scoreConversation, toQualityResult } from '../../../src/core/quality';
import { GOOD } from '../../fixtures/conversations';

function fakeClock(start = 1_700_000_000_000): Clock & { tick(ms?: number): void } {
  let t = start;
  return { now: () => t, tick: (ms = 1000) => void (t += ms) };
}
function ids(prefix: string): () => string {
  let n = 0;
  return () => `${prefix}${++n}`;
}

describe('repositories', () => {
  let dir: string;
  let store: Store;
  const clock = fakeClock();
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'promptloom-repo-'));
    store = await Store.open(dir);
  });
  afterEach(() => store.close());

  it('templates: identified by workspace-relative path, name and tier kept current', async () => {
    const templates = new WorkspaceTemplateRepository(store, clock);
    const a = await templates.ensure('examples\\market.prompt', { name: 'Market', tier: 'scenario' });
    const b = await templates.ensure('./examples/market.prompt', { name: 'Market check-in', tier: 'edge_case' });
    assert.equal(a.id, b.id);
    assert.equal(b.path, 'examples/market.prompt');
    assert.equal(b.name, 'Market check-in');
    assert.equal(b.tier, 'edge_case');
    assert.equal((await templates.list()).length, 1);
  });

  it('versions: immutable, one per distinct content, in order', async () => {
    const templates = new WorkspaceTemplateRepository(store, clock);
    const t = await templates.ensure('a.prompt', { name: 'A', tier: 'template' });
    const v1 = await templates.recordVersion(t.id, 'one');
    clock.tick();
    const again = await templates.recordVersion(t.id, 'one');
    const v2 = await templates.recordVersion(t.id, 'two');
    assert.equal(again.id, v1.id, 'same content, same version');
    assert.notEqual(v2.id, v1.id);
    assert.equal(v1.contentHash, contentHash('one'));
    assert.deepEqual((await templates.versions(t.id)).map((v) => v.id), [v1.id, v2.id]);
    assert.equal((await templates.version(v1.id))!.content, 'one');
  });

  it('a generation is stored in one transaction: log, conversation, turns, score', async () => {
    const templates = new WorkspaceTemplateRepository(store, clock);
    const t = await templates.ensure('a.prompt', { name: 'A', tier: 'template' });
    const v = await templates.recordVersion(t.id, 'body');
    const generations = new WorkspaceGenerationRepository(store, clock, ids('c'));
    const journalSeq = store.sequence;
    const { conversationId } = await generations.record({
      templateId: t.id,
      versionId: v.id,
      parameters: { persona: 'Ann' },
      model: 'claude-sonnet-4-5',
      attempt: 1,
      status: 'succeeded',
      inputTokens: 120,
      outputTokens: 800,
      costUsd: 0.0124,
      durationMs: 5300,
      conversation: {
        systemPrompt: 'S',
        turns: [
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Hello' },
        ],
        quality: { overall: 7.5, breakdown: { turnCount: { score: 3 } }, recommendations: ['longer'] },
      },
    });
    assert.equal(conversationId, 'c1');
    assert.equal(store.sequence, journalSeq + 1, 'one journal transaction');
    await generations.record({ templateId: t.id, versionId: v.id, parameters: {}, model: 'm', attempt: 1, status: 'failed', errorType: 'rate_limit', inputTokens: 0, outputTokens: 0, costUsd: 0, durationMs: 10 });
    const c = (await generations.conversation('c1'))!;
    assert.deepEqual(c.turns.map((x) => x.role), ['user', 'assistant']);
    assert.equal(c.overall, 7.5);
    assert.equal(c.status, 'pending');
    assert.deepEqual(await templates.usage(t.id), { generations: 2, conversations: 1 });
    const [summary] = await templates.versions(t.id);
    assert.deepEqual([summary!.generations, summary!.conversations, summary!.avgQuality], [2, 1, 7.5]);
  });

  it('reviews set the conversation status; unknown ids say so', async () => {
    const templates = new WorkspaceTemplateRepository(store, clock);
    const t = await templates.ensure('a.prompt', { name: 'A', tier: 'template' });
    const v = await templates.recordVersion(t.id, 'x');
    const generations = new WorkspaceGenerationRepository(store, clock, ids('c'));
    const { conversationId } = await generations.record({ templateId: t.id, versionId: v.id, parameters: {}, model: 'm', attempt: 1, status: 'succeeded', inputTokens: 1, outputTokens: 1, costUsd: 0, durationMs: 1, conversation: { turns: [{ role: 'user', content: 'q' }] } });
    assert.equal(await generations.review(conversationId!, 'approved', 'good'), true);
    assert.equal((await generations.conversation(conversationId!))!.status, 'approved');
    assert.equal(await generations.review('nope', 'rejected'), false);
    assert.equal(Number((await store.get('SELECT count(*) AS n FROM reviews'))!.n), 1);
  });

  it('review queries: list with filters and sorts, details, per-template quality, short ids', async () => {
    const templates = new WorkspaceTemplateRepository(store, clock);
    const a = await templates.ensure('a.prompt', { name: 'Alpha', tier: 'scenario' });
    const b = await templates.ensure('b.prompt', { name: 'Bravo', tier: 'template' });
    const va = await templates.recordVersion(a.id, 'a');
    const vb = await templates.recordVersion(b.id, 'b');
    const generations = new WorkspaceGenerationRepository(store, clock, ids('conv-'));
    const add = async (t: { id: number }, v: { id: number }, overall: number | undefined) => {
      clock.tick();
      const { conversationId } = await generations.record({
        templateId: t.id, versionId: v.id, parameters: { who: 'Ann' }, model: 'm', attempt: 1, status: 'succeeded', inputTokens: 1, outputTokens: 1, costUsd: 0, durationMs: 1,
        conversation: {
          turns: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }],
          ...(overall !== undefined ? { quality: { overall, breakdown: { turnCount: { score: 3 } }, recommendations: [`fix ${overall}`] } } : {}),
        },
      });
      return conversationId!;
    };
    const [c1, c2, c3, c4] = [await add(a, va, 8), await add(a, va, 4), await add(a, va, undefined), await add(b, vb, 9)];
    await generations.record({ templateId: a.id, versionId: va.id, parameters: {}, model: 'm', attempt: 1, status: 'failed', inputTokens: 0, outputTokens: 0, costUsd: 0, durationMs: 1 });

    assert.deepEqual((await generations.list()).map((c) => c.id), [c4, c3, c2, c1], 'newest first');
    assert.deepEqual((await generations.list({ sort: 'score' })).map((c) => c.id), [c2, c1, c4, c3], 'lowest score first, unscored last');
    assert.deepEqual((await generations.list({ templatePath: 'a.prompt', minQuality: 5 })).map((c) => c.id), [c1]);
    assert.deepEqual((await generations.list({ maxQuality: 8 })).map((c) => c.id), [c2, c1]);
    await generations.review(c2!, 'rejected', 'off topic');
    await generations.review(c1!, 'approved');
    assert.deepEqual((await generations.list({ status: 'rejected' })).map((c) => [c.id, c.statusReason]), [[c2, 'off topic']]);
    assert.deepEqual((await generations.list({ limit: 1 })).map((c) => c.id), [c4]);
    const first = (await generations.list({ templatePath: 'b.prompt' }))[0]!;
    assert.deepEqual([first.templateName, first.overall, first.recommendations, first.parameters], ['Bravo', 9, ['fix 9'], { who: 'Ann' }]);

    const details = (await generations.details(c1!))!;
    assert.deepEqual([details.status, details.templatePath, details.tier, details.turns.length], ['approved', 'a.prompt', 'scenario', 2]);
    assert.deepEqual(details.quality, { overall: 8, breakdown: { turnCount: { score: 3 } }, recommendations: ['fix 8'] });
    assert.equal((await generations.details(c3!))!.quality, null);
    assert.equal(await generations.details('nope'), undefined);

    const quality = await templateQuality(store, 'a.prompt');
    assert.deepEqual(quality, { runs: 4, conversations: 3, average: 6, recentAverage: 6, recentCount: 2, approvalRate: 0.5, reviewed: 2 });
    assert.equal((await templateQuality(store, 'a.prompt', 1)).recentAverage, 4, 'the newest scored one');
    assert.deepEqual(await templateQuality(store, 'none.prompt'), { runs: 0, conversations: 0, average: null, recentAverage: null, recentCount: 0, approvalRate: null, reviewed: 0 });
    // The Templates view's lighter read: the same figures as templateRows, for every template or those named.
    const rows = await templateRows(store);
    const viewFigures = rows.map((r) => ({ id: r.id, file: r.file, active: r.active, usageCount: r.usageCount, conversations: r.conversations, avgQuality: r.avgQuality, approvalRate: r.approvalRate }));
    assert.deepEqual(await templateFigures(store), viewFigures);
    assert.deepEqual(await templateFigures(store, [a.id]), viewFigures.filter((f) => f.id === a.id));
    assert.deepEqual(await templateFigures(store, []), []);

    assert.deepEqual(await generations.idsStartingWith('conv-'), ['conv-1', 'conv-2']);
    assert.deepEqual(await generations.idsStartingWith('conv-3'), ['conv-3']);
    assert.deepEqual(await generations.idsStartingWith("%'"), []);
  });

  it('batches: progress counts stored conversations, unfinished ones are found for resume', async () => {
    const templates = new WorkspaceTemplateRepository(store, clock);
    const t = await templates.ensure('a.prompt', { name: 'A', tier: 'template' });
    const v = await templates.recordVersion(t.id, 'x');
    const batches = new WorkspaceBatchRepository(store, clock, ids('b'));
    const generations = new WorkspaceGenerationRepository(store, clock, ids('c'));
    const batch = await batches.create({ templateId: t.id, versionId: v.id, requested: 3, parameters: { a: 1 }, model: 'm', settings: { concurrency: 3 } });
    await batches.setStatus(batch.id, 'running');
    for (let i = 0; i < 2; i++) {
      await generations.record({ templateId: t.id, versionId: v.id, batchId: batch.id, parameters: { a: 1 }, model: 'm', attempt: 1, status: 'succeeded', inputTokens: 1, outputTokens: 1, costUsd: 0, durationMs: 1, conversation: { turns: [{ role: 'user', content: 'q' }] } });
    }
    await generations.record({ templateId: t.id, versionId: v.id, batchId: batch.id, parameters: { a: 1 }, model: 'm', attempt: 1, status: 'failed', inputTokens: 0, outputTokens: 0, costUsd: 0, durationMs: 1 });
    const [unfinished] = await batches.unfinished();
    assert.equal(unfinished!.id, batch.id);
    assert.deepEqual([unfinished!.completed, unfinished!.failedAttempts, unfinished!.requested], [2, 1, 3]);
    assert.deepEqual(unfinished!.parameters, { a: 1 });
    await batches.setStatus(batch.id, 'completed');
    assert.deepEqual(await batches.unfinished(), []);
  });

  it('batches through Message Batches: one with every conversation stored stays unfinished until its status says complete (the judge’s grades)', async () => {
    const templates = new WorkspaceTemplateRepository(store, clock);
    const t = await templates.ensure('a.prompt', { name: 'A', tier: 'template' });
    const v = await templates.recordVersion(t.id, 'x');
    const batches = new WorkspaceBatchRepository(store, clock, ids('b'));
    const generations = new WorkspaceGenerationRepository(store, clock, ids('c'));
    const batch = await batches.create({ templateId: t.id, versionId: v.id, requested: 1, parameters: {}, model: 'm', settings: { mode: 'batch' } });
    const direct = await batches.create({ templateId: t.id, versionId: v.id, requested: 1, parameters: {}, model: 'm', settings: {} });
    for (const b of [batch, direct]) {
      await batches.setStatus(b.id, 'running');
      await generations.record({ templateId: t.id, versionId: v.id, batchId: b.id, parameters: {}, model: 'm', attempt: 1, status: 'succeeded', inputTokens: 1, outputTokens: 1, costUsd: 0, durationMs: 1, conversation: { turns: [{ role: 'user', content: 'q' }] } });
    }
    assert.deepEqual((await batches.unfinished()).map((b) => b.id), [batch.id]);
    await batches.setStatus(batch.id, 'completed');
    assert.deepEqual(await batches.unfinished(), []);
  });

  it('judge Message Batch results: each line taken in once, with its cost, grade and flag in the same transaction', async () => {
    const templates = new WorkspaceTemplateRepository(store, clock);
    const t = await templates.ensure('a.prompt', { name: 'A', tier: 'template' });
    const v = await templates.recordVersion(t.id, 'x');
    const batch = await new WorkspaceBatchRepository(store, clock, ids('b')).create({ templateId: t.id, versionId: v.id, requested: 1, parameters: {}, model: 'm', settings: { mode: 'batch' } });
    const { conversationId } = await new WorkspaceGenerationRepository(store, clock, ids('c')).record({
      ...{ templateId: t.id, versionId: v.id, batchId: batch.id, parameters: {}, model: 'm', attempt: 1, status: 'succeeded', inputTokens: 1, outputTokens: 1, costUsd: 0, durationMs: 1 },
      conversation: { turns: [{ role: 'user', content: 'q' }] },
    });
    const row = await recordIntent(store, batch.id, [conversationId!], 1, 0.01, clock.now(), 'judge');
    assert.deepEqual(await messageBatchRows(store, batch.id, 'generation'), []);
    assert.deepEqual((await messageBatchRows(store, batch.id, 'judge')).map((r) => r.purpose), ['judge']);
    const repo = new WorkspaceJudgeCallRepository(store, clock);
    const line = {
      messageBatchId: row.id,
      customId: row.customIds[0]!,
      conversationId: conversationId!,
      result: 'succeeded' as const,
      call: { conversationId: conversationId!, batchId: batch.id, model: 'claude-haiku-5-5', attempt: 1, status: 'succeeded' as const, inputTokens: 10, outputTokens: 5, costUsd: 0.25, durationMs: 3 },
      judged: { quality: { ...toQualityResult(scoreConversation(GOOD, 'template')), overall: 4.5 }, flag: 'scored 4.5, below 6: the judge: loops' },
    };
    assert.deepEqual(await repo.takeBatchResults([line]), [false]);
    assert.deepEqual(await repo.takeBatchResults([line]), [true], 'read again: taken in before');
    assert.equal(Number((await store.get('SELECT count(*) AS n FROM judge_calls'))!.n), 1);
    assert.deepEqual((await store.get('SELECT status, status_reason FROM conversations')), { status: 'needs_revision', status_reason: 'scored 4.5, below 6: the judge: loops' });
    assert.equal(Number((await store.get('SELECT overall FROM quality_scores'))!.overall), 4.5);
    assert.equal((await slotStates(store, batch.id, [{ key: conversationId! }], 3, 0, 'judge')).get(conversationId!)!.state, 'done');
    assert.deepEqual([...(await judgedAlready(store, [conversationId!, 'other']))], [conversationId]);
  });

  it('hostile text is data: quotes, SQL and NUL bytes are stored as given', async () => {
    const templates = new WorkspaceTemplateRepository(store, clock);
    const path = "x'); DROP TABLE templates; --\0.prompt";
    const t = await templates.ensure(path, { name: '"; DELETE FROM templates; --', tier: 'template' });
    assert.equal((await templates.byPath(path))!.id, t.id);
    assert.equal((await templates.list()).length, 1);
  });
  it('the workspace Repositories bundle: every read is asynchronous and answers as the classes and functions it wraps', async () => {
    const repos = workspaceRepositories(store, clock, ids('r'));
    const t = await repos.templates.ensure('a.prompt', { name: 'A', tier: 'template' });
    const v = await repos.templates.recordVersion(t.id, 'x');
    const batch = await repos.batches.create({ templateId: t.id, versionId: v.id, requested: 2, parameters: { tone: 'calm' }, model: 'm', settings: {} });
    const { conversationId } = await repos.generations.record({ templateId: t.id, versionId: v.id, batchId: batch.id, parameters: { tone: 'calm' }, model: 'm', attempt: 1, status: 'succeeded', inputTokens: 1, outputTokens: 1, costUsd: 0.01, durationMs: 1, conversation: { turns: [{ role: 'user', content: 'q' }], quality: { overall: 7, breakdown: {}, recommendations: [] } } });
    await repos.judgeCalls.recordCall({ conversationId: conversationId!, model: 'j', attempt: 1, status: 'succeeded', inputTokens: 1, outputTokens: 1, costUsd: 0.25, durationMs: 1 });
    // What a PostgreSQL backend must also offer: reads that answer later, never a value at once.
    const reads: unknown[] = [
      repos.templates.byPath('a.prompt'), repos.templates.byId(t.id), repos.templates.list(), repos.templates.versions(t.id), repos.templates.version(v.id), repos.templates.usage(t.id),
      repos.generations.conversation(conversationId!), repos.generations.details(conversationId!), repos.generations.list(), repos.generations.idsStartingWith('r'), repos.generations.spentSince(0),
      repos.batches.get(batch.id), repos.batches.unfinished(), repos.batches.conversationValues(batch.id), repos.judgeCalls.spentSince(0),
      repos.analytics.templateRows(), repos.analytics.computeStats(), repos.analytics.totals(), repos.analytics.templateQuality('a.prompt'), repos.analytics.versionRows(t.id),
      repos.analytics.dailySeries(), repos.analytics.seriesUnit(), repos.analytics.coverage(t.id), repos.analytics.reviewAgreementByTemplate(),
      repos.analytics.currentThreshold(t.id), repos.analytics.baselineFor(t.id, v.id, clock.now() + 1),
      repos.analytics.pastOutputTokens('a.prompt'), repos.analytics.pastDurationMs('a.prompt'),
      store.get('SELECT 1 AS x'), store.all('SELECT 1 AS x'), store.schemaVersion(),
    ];
    for (const [i, read] of reads.entries()) assert.ok(read instanceof Promise, `read ${i} answers with a Promise`);
    await Promise.all(reads);
    assert.equal((await repos.templates.byPath('a.prompt'))!.id, t.id);
    assert.equal((await repos.templates.byId(t.id))!.path, 'a.prompt');
    assert.equal(await repos.templates.byId(t.id + 1), undefined);
    assert.equal((await repos.batches.get(batch.id))!.completed, 1);
    assert.equal(await repos.judgeCalls.spentSince(0), 0.25);
    assert.equal(await repos.generations.spentSince(0), 0.01, 'the judge is paid apart');
    assert.equal(await repos.generations.spentSince(clock.now() + 1), 0);
    assert.deepEqual(await repos.batches.conversationValues(batch.id), [{ tone: 'calm' }]);
    assert.equal(await repos.analytics.pastOutputTokens('a.prompt'), 1);
    assert.deepEqual(await repos.analytics.computeStats(), await computeStats(store));
    assert.deepEqual(await repos.analytics.templateRows(), await templateRows(store));
    assert.deepEqual(await repos.analytics.versionRows(t.id), await versionRows(store, t.id));
    assert.deepEqual(await repos.analytics.dailySeries(), await dailySeries(store));
    assert.deepEqual(await repos.analytics.templateQuality('a.prompt'), await templateQuality(store, 'a.prompt'));
    assert.equal((await repos.analytics.templateQuality('a.prompt')).average, 7);
  });
});
