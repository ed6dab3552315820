import { strict as assert } from 'node:assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheLine, estimateBatch, estimateDuration, formatDuration, pastDurationMs } from '../../../src/core/generation/estimate';
import { resolveModel } from '../../../src/core/generation/engine';
import { BatchProgress } from '../../../src/core/generation/progress';
import { WorkspaceGenerationRepository, Store, WorkspaceTemplateRepository } from '../../../src/core/store';

describe('batch time estimate', () => {
  it('is the requests divided by the known rate', () => {
    // 60 requests at 50 per minute: 72 s.
    assert.deepEqual(estimateDuration({ requests: 60, requestsPerWindow: 50, windowMs: 60_000, concurrency: 3, pastDurationMs: null }), { seconds: 72, limitedBy: 'rate' });
    // A learned, lower limit (30 per 10 s) gives its own pace.
    assert.deepEqual(estimateDuration({ requests: 90, requestsPerWindow: 30, windowMs: 10_000, concurrency: 64, pastDurationMs: 100 }), { seconds: 30, limitedBy: 'rate' });
  });

  it('is never shorter than the requests in flight allow, given how long requests took before', () => {
    // 6 requests, 3 at a time, 14 s each: 28 s, though the rate would allow them in 7.2 s.
    assert.deepEqual(estimateDuration({ requests: 6, requestsPerWindow: 50, windowMs: 60_000, concurrency: 3, pastDurationMs: 14_000 }), { seconds: 28, limitedBy: 'concurrency' });
  });

  it('reads how long the template’s successful requests took', async () => {
    const store = await Store.open(mkdtempSync(join(tmpdir(), 'promptloom-estimate-')));
    const templates = new WorkspaceTemplateRepository(store);
    const t = await templates.ensure('e.prompt', { name: 'E', tier: 'template' });
    const v = await templates.recordVersion(t.id, 'x');
    assert.equal(await pastDurationMs(store, 'e.prompt'), null);
    const generations = new WorkspaceGenerationRepository(store);
    const log = (status: 'succeeded' | 'failed' | 'cancelled', durationMs: number) =>
      generations.record({ templateId: t.id, versionId: v.id, parameters: {}, model: 'm', attempt: 1, status, inputTokens: 1, outputTokens: 1, costUsd: 0, durationMs });
    await log('succeeded', 10_000);
    await log('succeeded', 20_000);
    await log('failed', 90_000); // a timeout says nothing of an answer's length
    await log('cancelled', 1);
    assert.equal(await pastDurationMs(store, 'e.prompt'), 15_000);
    assert.equal(await pastDurationMs(store, 'other.prompt'), null);
    store.close();
  });

  it('says durations as people do', () => {
    assert.deepEqual([0.2, 40, 60, 200, 3600, 7500].map(formatDuration), ['1 s', '40 s', '1 min', '3 min 20 s', '1 h', '2 h 5 min']);
  });
});

describe('batch progress ETA', () => {
  const ok = { status: 'succeeded' as const, final: true, costUsd: 0.01 };
  it('comes from the completion rate seen so far, and grows while nothing finishes', () => {
    const p = new BatchProgress(10, [10], 1_000);
    assert.equal(p.etaMs(5_000), null, 'nothing finished yet: no guess');
    p.add(ok);
    p.add(ok);
    // 2 done in 4 s: 8 left take 16 s.
    assert.equal(p.etaMs(5_000), 16_000);
    // Held back (a rate-limit pause): the same 2 in 9 s, so 8 take 36 s.
    assert.equal(p.etaMs(10_000), 36_000);
  });

  it('counts failures as finished, but not requests cut off by a cancel; zero once all are done', () => {
    const p = new BatchProgress(3, [3], 0);
    p.add({ status: 'failed', final: true, costUsd: 0, errorType: 'server_error' });
    p.add({ status: 'failed', final: true, costUsd: 0, errorType: 'cancelled' });
    assert.deepEqual([p.done, p.failed, p.queued], [0, 1, 2]);
    assert.equal(p.etaMs(1_000), 2_000);
    p.add(ok);
    p.add(ok);
    assert.equal(p.etaMs(2_000), 0);
  });
});

describe('batch cost estimate: prompt caching', () => {
  const sonnet = resolveModel('sonnet')!;
  const stable = 'Stable instructions for every conversation. '.repeat(120);
  const cell = (system: string, count: number) => ({ rendered: { system, prompt: 'Write one.', parameters: {} }, count });

  it('a prefix no two requests share is not cached: no write is priced, nothing is "saved"', async () => {
    // The system prompt varies with a value: each request has its own, written and never read.
    const alone = await estimateBatch([cell(`${stable} Tone: warm.`, 1), cell(`${stable} Tone: dry.`, 1)], { model: sonnet, maxTokens: 100, pastOutputTokens: null });
    assert.deepEqual([alone.cache.writeTokens, alone.cache.readTokens, alone.cache.savedUsd], [0, 0, 0]);
    assert.match(cacheLine(alone), /off, no two requests share a system prompt/);
    // Shared by the requests of a cell, it pays.
    const shared = await estimateBatch([cell(`${stable} Tone: warm.`, 3), cell(`${stable} Tone: dry.`, 1)], { model: sonnet, maxTokens: 100, pastOutputTokens: null });
    assert.equal(shared.cache.readTokens, 2 * shared.cache.writeTokens);
    assert.ok(shared.cache.savedUsd > 0);
  });
});
