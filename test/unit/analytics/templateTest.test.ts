import { strict as assert } from 'node:assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baselineFor, judgeTest, testFlagReason, trendOf } from '../../../src/core/analytics';
import { GOOD } from '../../fixtures/conversations';
import { WorkspaceBatchRepository, WorkspaceGenerationRepository, Store, WorkspaceTemplateRepository } from '../../../src/core/store';

describe('template testing', () => {
  it('baseline: the previous version for a just-edited template, else its earlier conversations', async () => {
    const store = await Store.open(mkdtempSync(join(tmpdir(), 'promptloom-test-')));
    let now = 1_000;
    const clock = { now: () => (now += 1000) };
    const templates = new WorkspaceTemplateRepository(store, clock);
    const t = await templates.ensure('t.prompt', { name: 'T', tier: 'template' });
    const v1 = await templates.recordVersion(t.id, 'one');
    const generations = new WorkspaceGenerationRepository(store, clock);
    const add = async (versionId: number, overall: number) =>
      await generations.record({
        templateId: t.id, versionId, parameters: {}, model: 'm', attempt: 1, status: 'succeeded', inputTokens: 1, outputTokens: 1, costUsd: 0, durationMs: 1,
        conversation: { turns: [{ role: 'user', content: 'q' }], quality: { overall, breakdown: {}, recommendations: [] } },
      });
    assert.equal(await baselineFor(store, t.id, v1.id, now + 1), undefined, 'nothing scored yet');
    await add(v1.id, 6);
    await add(v1.id, 8);
    const v2 = await templates.recordVersion(t.id, 'two');
    const start = now + 1;
    assert.deepEqual(await baselineFor(store, t.id, v2.id, start), { average: 7, conversations: 2, source: 'previous version' });
    // The test's own conversations (after `start`) never count towards its baseline.
    now += 10;
    await add(v2.id, 2);
    assert.deepEqual(await baselineFor(store, t.id, v2.id, start), { average: 7, conversations: 2, source: 'previous version' });
    // Once the version has history of its own, the template's earlier conversations are the bar.
    assert.deepEqual(await baselineFor(store, t.id, v2.id, now + 1), { average: 16 / 3, conversations: 3, source: 'earlier conversations' });
    // An earlier test's generations are never a later test's bar.
    const test = await new WorkspaceBatchRepository(store, clock).create({ templateId: t.id, versionId: v2.id, requested: 1, parameters: {}, model: 'm', settings: { purpose: 'test' } });
    await generations.record({
      templateId: t.id, versionId: v2.id, batchId: test.id, parameters: {}, model: 'm', attempt: 1, status: 'succeeded', inputTokens: 1, outputTokens: 1, costUsd: 0, durationMs: 1,
      conversation: { turns: [{ role: 'user', content: 'q' }], quality: { overall: 10, breakdown: {}, recommendations: [] } },
    });
    assert.deepEqual(await baselineFor(store, t.id, v2.id, now + 1), { average: 16 / 3, conversations: 3, source: 'earlier conversations' });
    store.close();
  });

  it('judges runs against the threshold and the baseline, naming what failed', async () => {
    const good = [8.5, 9, 8].map((overall, i) => ({ conversationId: `g${i}`, overall, structureValid: true }));
    const pass = judgeTest(good, 0.75, { average: 8.2, conversations: 10, source: 'earlier conversations' });
    assert.equal(pass.passed, true);
    assert.equal(pass.threshold, 7.5);
    assert.equal(pass.deviation, 0.3);
    assert.deepEqual(pass.criteria.map((c) => c.name), ['every run generated', 'average at or above the threshold', 'no run below the threshold', 'valid structure', 'no run flagged for revision', 'not worse than the baseline']);

    const worse = judgeTest([{ conversationId: 'a', overall: 7.6, structureValid: true }, { conversationId: 'b', overall: 6.9, structureValid: false }, {}], 0.75, { average: 8.5, conversations: 4, source: 'previous version' });
    assert.equal(worse.passed, false);
    assert.deepEqual(
      worse.criteria.filter((c) => !c.passed).map((c) => `${c.name}: ${c.detail}`),
      [
        'every run generated: 1 of 3 failed',
        'average at or above the threshold: 7.3 against 7.5',
        'no run below the threshold: 1 below 7.5 (lowest 6.9)',
        'valid structure: 1 with structure problems',
        'not worse than the baseline: -1.2 against 8.5 (previous version, 4 conversations)',
      ],
    );
    // Edges in tenths: exactly 0.5 below the baseline is allowed; 6.8 meets a 0.68 threshold.
    const edge = judgeTest([7.8, 7.8, 7.8].map((overall, i) => ({ conversationId: `e${i}`, overall, structureValid: true })), 0.68, { average: 8.3, conversations: 3, source: 'earlier conversations' });
    assert.equal(edge.passed, true, JSON.stringify(edge.criteria));
    assert.equal(edge.deviation, -0.5);
    assert.equal(judgeTest([{ conversationId: 'x', overall: 6.8, structureValid: true }], 0.68, undefined).passed, true);
    // Stored but not scored is its own failure, not a failed generation.
    const unscored = judgeTest([{ conversationId: 'u' }, { conversationId: 'v', overall: 9, structureValid: true }], undefined, undefined);
    assert.deepEqual(unscored.criteria.filter((c) => !c.passed).map((c) => `${c.name}: ${c.detail}`), ['every run scored: 1 stored without a score']);
    const none = judgeTest([{}, {}], undefined, undefined);
    assert.equal(none.average, null);
    assert.equal(none.passed, false);
    assert.equal(none.threshold, 6);
    assert.equal(none.criteria.length, 5, 'no baseline, no baseline criterion');
    // A run flagged at 9.8 (a near-duplicate) fails the test on its own: its template is not ready.
    const nearCopy = judgeTest(
      [{ conversationId: 'n1', overall: 9.6, structureValid: true }, { conversationId: 'n2', overall: 9.8, structureValid: true, flaggedReason: 'near-duplicate of 42b56a7f (similarity 0.94)' }],
      undefined,
      undefined,
    );
    assert.equal(nearCopy.passed, false);
    assert.deepEqual(nearCopy.criteria.filter((c) => !c.passed).map((c) => `${c.name}: ${c.detail}`), ['no run flagged for revision: 1 flagged (first: near-duplicate of 42b56a7f (similarity 0.94))']);
  });

  it('a near-duplicate of an earlier test’s run does not fail a test; of a dataset conversation, or any other flag, it does', async () => {
    const store = await Store.open(mkdtempSync(join(tmpdir(), 'promptloom-test-')));
    let now = 1_000;
    const clock = { now: () => (now += 1000) };
    const t = await new WorkspaceTemplateRepository(store, clock).ensure('t.prompt', { name: 'T', tier: 'template' });
    const v = (await new WorkspaceTemplateRepository(store, clock).recordVersion(t.id, 'one')).id;
    const batches = new WorkspaceBatchRepository(store, clock);
    const generations = new WorkspaceGenerationRepository(store, clock);
    const run = async (purpose: 'test' | undefined) => {
      const batch = await batches.create({ templateId: t.id, versionId: v, requested: 1, parameters: {}, model: 'm', settings: purpose ? { purpose } : {} });
      const { conversationId } = await generations.record({
        templateId: t.id, versionId: v, batchId: batch.id, parameters: {}, model: 'm', attempt: 1, status: 'succeeded', inputTokens: 1, outputTokens: 1, costUsd: 0, durationMs: 1,
        nearDuplicates: { threshold: 0.8 },
        conversation: { turns: GOOD.turns, quality: { overall: 9.8, breakdown: {}, recommendations: [] } },
      });
      return (await generations.details(conversationId!))!;
    };
    assert.equal(await testFlagReason(store, await run('test')), undefined, 'the first run is nobody’s copy');
    const again = await run('test');
    assert.equal(again.status, 'needs_revision', 'still flagged, as stored');
    assert.equal(await testFlagReason(store, again), undefined, 'a copy of an earlier test run does not count');
    const dataset = await run(undefined);
    assert.equal(dataset.status, 'needs_revision');
    // A test run after dataset conversations: its nearest is whichever is closest; make it a dataset one.
    await store.write((tx) => tx.run("UPDATE conversations SET batch_id = NULL WHERE batch_id IN (SELECT id FROM batches WHERE json_extract(settings, '$.purpose') = 'test')"));
    const copyOfDataset = await run('test');
    assert.match((await testFlagReason(store, copyOfDataset)) ?? '', /^near-duplicate of [0-9a-f]{8} \(similarity /);
    assert.equal(await testFlagReason(store, { status: 'needs_revision', statusReason: 'scored 2.0, below 6: turn 3 repeats turn 1', nearDuplicateOf: null }), 'scored 2.0, below 6: turn 3 repeats turn 1');
    assert.equal(await testFlagReason(store, { status: 'approved', statusReason: null, nearDuplicateOf: null }), undefined);
    store.close();
  });

  it('the trend counts an exact half-point change as stable', async () => {
    assert.equal(trendOf([8.1, 8.1, 8.1, 8.1, 8.1, 7.6, 7.6, 7.6, 7.6, 7.6]), 'stable');
    assert.equal(trendOf([8.2, 8.1, 8.1, 8.1, 8.1, 7.6, 7.6, 7.6, 7.6, 7.6]), 'improving');
  });
});
