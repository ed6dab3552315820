import { strict as assert } from 'node:assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STATS_COLUMNS, computeStats, dailySeries, localDay, statsCsv, topPerformers, trendOf, versionRows, type TemplateRow } from '../../../src/core/analytics';
import { alternating, selectConversations, toLine } from '../../../src/core/export';
import { WorkspaceGenerationRepository, Store, WorkspaceTemplateRepository, type Clock } from '../../../src/core/store';

function clock(): Clock & { tick(): void } {
  let t = 1_700_000_000_000;
  return { now: () => t, tick: () => void (t += 1000) };
}

/** A hand-built database: template A with scored, reviewed conversations; template B unused. */
async function fixture() {
  const store = await Store.open(mkdtempSync(join(tmpdir(), 'promptloom-stats-')));
  const c = clock();
  const templates = new WorkspaceTemplateRepository(store, c);
  const a = await templates.ensure('a.prompt', { name: 'Alpha', tier: 'scenario' });
  await templates.ensure('b.prompt', { name: '=Bravo, "quoted"', tier: 'template' });
  const v = await templates.recordVersion(a.id, 'body');
  let n = 0;
  const generations = new WorkspaceGenerationRepository(store, c, () => `c${++n}`);
  const scores = [4, 4, 4, 4, 4, 8, 8, 8, 8, 8]; // the later five are better: improving
  for (const overall of scores) {
    c.tick();
    await generations.record({
      templateId: a.id, versionId: v.id, parameters: {}, model: 'm', attempt: 1, status: 'succeeded', inputTokens: 100, outputTokens: 200, costUsd: 0.01, durationMs: 1000,
      conversation: { systemPrompt: 'S', turns: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }], quality: { overall, breakdown: {}, recommendations: [] } },
    });
  }
  await generations.record({ templateId: a.id, versionId: v.id, parameters: {}, model: 'm', attempt: 1, status: 'failed', errorType: 'server_error', inputTokens: 0, outputTokens: 0, costUsd: 0, durationMs: 3000 });
  // A request cut off by a cancel: an attempt, but neither a success nor a failure.
  await generations.record({ templateId: a.id, versionId: v.id, parameters: {}, model: 'm', attempt: 1, status: 'cancelled', errorType: 'cancelled', inputTokens: 0, outputTokens: 0, costUsd: 0, durationMs: 500 });
  await generations.review('c1', 'approved');
  await generations.review('c2', 'rejected');
  await generations.review('c3', 'approved');
  await generations.review('c3', 'needs_revision'); // the latest review counts
  return store;
}

describe('analytics', () => {
  it('computes every metric per template, and totals', async () => {
    const store = await fixture();
    const stats = await computeStats(store);
    const a = stats.templates.find((t) => t.file === 'a.prompt')!;
    assert.deepEqual(
      { ...a },
      {
        name: 'Alpha', file: 'a.prompt', tier: 'scenario', usageCount: 12, succeeded: 10, failed: 1, cancelled: 1,
        avgQuality: 6, minQuality: 4, maxQuality: 8, approvalRate: 1 / 3, avgDurationMs: (10 * 1000 + 3000 + 500) / 12,
        avgCostUsd: 0.1 / 12, totalCostUsd: 0.1, trend: 'improving',
        // Ten identical conversations: each one's nearest neighbour is a copy. Stored without the
        // near-duplicate check (no threshold given), so none is marked.
        diversity: 0, nearDuplicates: 0,
        // Three reviewed: under the 20 the agreement needs.
        reviewAgreement: null,
        // Generated without prompt caching.
        savedUsd: 0,
        // A workspace has one author.
        author: null,
      },
    );
    const b = stats.templates.find((t) => t.file === 'b.prompt')!;
    assert.deepEqual([b.usageCount, b.avgQuality, b.approvalRate, b.avgCostUsd, b.totalCostUsd, b.trend, b.diversity, b.nearDuplicates], [0, null, null, null, 0, 'stable', null, 0]);
    assert.deepEqual(stats.totals, { conversations: 10, generations: 12, costUsd: 0.1 });
    // In JSON, `cancelled` and then `author` come after the keys that were there before them.
    assert.deepEqual(Object.keys(a).slice(-2), ['cancelled', 'author']);
    assert.equal(a.author, null); // a workspace has one author
    store.close();
  });

  it('an empty database has no templates and zero totals', async () => {
    const store = await Store.open(mkdtempSync(join(tmpdir(), 'promptloom-stats-')));
    assert.deepEqual(await computeStats(store), { templates: [], totals: { conversations: 0, generations: 0, costUsd: 0 } });
    store.close();
  });

  it('the trend rule: last 5 against the 5 before, ±0.5, stable with fewer than 10', async () => {
    assert.equal(trendOf([8, 8, 8, 8, 8, 4, 4, 4, 4, 4]), 'improving');
    assert.equal(trendOf([4, 4, 4, 4, 4, 8, 8, 8, 8, 8]), 'declining');
    assert.equal(trendOf([6.4, 6, 6, 6, 6, 6, 6, 6, 6, 6]), 'stable');
    assert.equal(trendOf([9, 9, 9, 9, 9, 1, 1, 1, 1]), 'stable', 'nine is too few');
    assert.equal(trendOf([]), 'stable');
  });

  it('per version: each version of a template with its own figures, oldest first', async () => {
    const store = await Store.open(mkdtempSync(join(tmpdir(), 'promptloom-stats-')));
    const c = clock();
    const templates = new WorkspaceTemplateRepository(store, c);
    const t = await templates.ensure('v.prompt', { name: 'V', tier: 'template' });
    const v1 = await templates.recordVersion(t.id, 'one');
    c.tick();
    const v2 = await templates.recordVersion(t.id, 'two');
    let n = 0;
    const generations = new WorkspaceGenerationRepository(store, c, () => `v${++n}`);
    const add = async (versionId: number, overall: number, cost: number) => {
      c.tick();
      await generations.record({
        templateId: t.id, versionId, parameters: {}, model: 'm', attempt: 1, status: 'succeeded', inputTokens: 1, outputTokens: 1, costUsd: cost, durationMs: 10,
        conversation: { turns: [{ role: 'user', content: 'q' }], quality: { overall, breakdown: {}, recommendations: [] } },
      });
    };
    await add(v1.id, 4, 0.01);
    await add(v1.id, 6, 0.01);
    await add(v2.id, 9, 0.02);
    await generations.review('v3', 'approved');
    const rows = await versionRows(store, t.id);
    assert.deepEqual(rows.map((r) => [r.number, r.id, r.usageCount, r.avgQuality, r.totalCostUsd, r.approvalRate, r.scored]), [
      [1, v1.id, 2, 5, 0.02, null, 2],
      [2, v2.id, 1, 9, 0.02, 1, 1],
    ]);
    assert.ok(rows[0]!.createdAt < rows[1]!.createdAt);
    assert.deepEqual(await versionRows(store, 999), []);
    store.close();
  });

  it('daily series: activity per local day, oldest first, across a day boundary', async () => {
    const store = await Store.open(mkdtempSync(join(tmpdir(), 'promptloom-stats-')));
    let now = Date.UTC(2026, 10, 24, 23, 30); // 23:30 UTC on the 24th
    const templates = new WorkspaceTemplateRepository(store, { now: () => now });
    const t = await templates.ensure('d.prompt', { name: 'D', tier: 'template' });
    const v = await templates.recordVersion(t.id, 'x');
    let n = 0;
    const generations = new WorkspaceGenerationRepository(store, { now: () => now }, () => `d${++n}`);
    const log = async (status: 'succeeded' | 'failed', overall?: number) =>
      await generations.record({
        templateId: t.id, versionId: v.id, parameters: {}, model: 'm', attempt: 1, status, inputTokens: 1, outputTokens: 1, costUsd: 0.5, durationMs: 1,
        ...(overall !== undefined ? { conversation: { turns: [{ role: 'user', content: 'q' }], quality: { overall, breakdown: {}, recommendations: [] } } } : {}),
      });
    await log('succeeded', 6);
    await log('failed');
    now += 60 * 60_000; // 00:30 UTC on the 25th
    await log('succeeded', 8);
    await log('succeeded', 10);
    const utc = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    assert.deepEqual(await dailySeries(store, { dayOf: utc }), [
      { day: '2026-11-24', generations: 2, failed: 1, cancelled: 0, conversations: 1, avgQuality: 6, costUsd: 1 },
      { day: '2026-11-25', generations: 2, failed: 0, cancelled: 0, conversations: 2, avgQuality: 9, costUsd: 1 },
    ]);
    // Two hours east of UTC, all four fall on the 25th.
    const east = (ms: number) => utc(ms + 2 * 3_600_000);
    assert.deepEqual((await dailySeries(store, { dayOf: east, templateId: t.id })).map((p) => [p.day, p.generations, p.avgQuality]), [['2026-11-25', 4, 8]]);
    assert.deepEqual(await dailySeries(store, { templateId: 999 }), []);
    // The default is the local calendar day of each moment, daylight saving included.
    assert.deepEqual((await dailySeries(store)).map((p) => p.day), [...new Set([Date.UTC(2026, 10, 24, 23, 30), Date.UTC(2026, 10, 25, 0, 30)].map(localDay))]);
    store.close();
  });

  it('local days follow daylight saving', async () => {
    const saved = process.env.TZ;
    process.env.TZ = 'Europe/Berlin';
    try {
      assert.equal(localDay(Date.UTC(2026, 0, 15, 22, 30)), '2026-01-15', '23:30 CET');
      assert.equal(localDay(Date.UTC(2026, 6, 15, 22, 30)), '2026-07-16', '00:30 CEST');
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  it('top performers per tier: by quality, then approval, among templates with enough scores', async () => {
    const row = (file: string, tier: string, avgQuality: number | null, scored: number, approvalRate: number | null) =>
      ({ name: file.replace('.prompt', ''), file, tier, avgQuality, scored, approvalRate }) as unknown as TemplateRow;
    const rows = [
      row('a.prompt', 'scenario', 8.1, 20, 0.5),
      row('b.prompt', 'scenario', 8.1, 20, 0.9),
      row('c.prompt', 'scenario', 9.9, 2, 1), // too few to rank
      row('d.prompt', 'scenario', 5.0, 12, null),
      row('e.prompt', 'template', 7.0, 5, null),
      row('f.prompt', 'edge_case', null, 0, null),
    ];
    const top = topPerformers(rows, 2);
    assert.deepEqual(top.map((t) => [t.tier, t.top.map((p) => p.template.file)]), [
      ['scenario', ['b.prompt', 'a.prompt']],
      ['template', ['e.prompt']],
    ]);
    assert.equal(top[0]!.text, "b leads the scenario tier: 8.1 average over 20 conversations, 90% approved. d averages 5.0: borrow from b's instructions and examples.");
    assert.equal(top[1]!.text, 'e leads the template tier: 7.0 average over 5 conversations, none reviewed yet.');
    assert.deepEqual(topPerformers([]), []);
  });

  it('CSV: one header row with the JSON names, quoting, no formulas', async () => {
    const store = await fixture();
    const csv = statsCsv(await computeStats(store)).trim().split('\n');
    // The JSON names, with reviewAgreement as one column per figure (in its place).
    assert.equal(csv[0], STATS_COLUMNS.flatMap((c) => (c === 'reviewAgreement' ? ['reviewAgreementReviewed', 'reviewAgreementAuc', 'reviewAgreementAccuracy', 'reviewAgreementSuggestedThreshold'] : [c])).join(','));
    assert.equal(csv.length, 3);
    assert.match(csv[1]!, /^Alpha,a\.prompt,scenario,12,10,1,6,.*,0,1,$/);
    assert.match(csv[2]!, /^"'=Bravo, ""quoted""",b\.prompt,template,0,0,0,,,,,,,0,stable,,0,,,,,0,0,$/);
    store.close();
  });
});

describe('fine-tuning export', () => {
  it('selects by status, template and minimum quality', async () => {
    const store = await fixture();
    assert.deepEqual((await selectConversations(store, { status: 'approved' })).map((c) => c.id), ['c1']);
    assert.deepEqual((await selectConversations(store, { status: 'needs_revision' })).map((c) => c.id), ['c3']);
    assert.equal((await selectConversations(store, { status: 'all' })).length, 10);
    assert.equal((await selectConversations(store, { status: 'all', minQuality: 7 })).length, 5);
    assert.equal((await selectConversations(store, { status: 'all', template: './b.prompt' })).length, 0);
    store.close();
  });

  it('writes openai, anthropic and sharegpt lines', async () => {
    const c = { id: 'x', system: 'Be kind.', turns: [{ role: 'user' as const, content: 'Hi' }, { role: 'assistant' as const, content: 'Hello' }] };
    assert.deepEqual(JSON.parse(toLine(c, 'openai')!), { messages: [{ role: 'system', content: 'Be kind.' }, { role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }] });
    assert.deepEqual(JSON.parse(toLine(c, 'anthropic')!), { system: 'Be kind.', messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }] });
    assert.deepEqual(JSON.parse(toLine(c, 'sharegpt')!), { conversations: [{ from: 'system', value: 'Be kind.' }, { from: 'human', value: 'Hi' }, { from: 'gpt', value: 'Hello' }] });
    assert.deepEqual(JSON.parse(toLine({ id: 'y', turns: c.turns }, 'anthropic')!), { messages: c.turns }, 'no system key when there is none');
    assert.equal(toLine({ id: 'z', turns: [] }, 'openai'), undefined);
  });

  it('anthropic lines strictly alternate, starting with the user', async () => {
    const turns = [
      { role: 'assistant' as const, content: 'stray opener' },
      { role: 'user' as const, content: 'a' },
      { role: 'user' as const, content: 'b' },
      { role: 'assistant' as const, content: 'c' },
    ];
    assert.deepEqual(alternating(turns), [{ role: 'user', content: 'a\n\nb' }, { role: 'assistant', content: 'c' }]);
  });
});
