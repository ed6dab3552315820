import { strict as assert } from 'node:assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STATS_COLUMNS, computeStats, statsCsv, trendOf } from '../../../src/core/analytics';
import { alternating, selectConversations, toLine } from '../../../src/core/export';
import { GenerationRepository, Store, TemplateRepository, type Clock } from '../../../src/core/store';

function clock(): Clock & { tick(): void } {
  let t = 1_700_000_000_000;
  return { now: () => t, tick: () => void (t += 1000) };
}

/** A hand-built database: template A with scored, reviewed conversations; template B unused. */
async function fixture() {
  const store = await Store.open(mkdtempSync(join(tmpdir(), 'promptloom-stats-')));
  const c = clock();
  const templates = new TemplateRepository(store, c);
  const a = templates.ensure('a.prompt', { name: 'Alpha', tier: 'scenario' });
  templates.ensure('b.prompt', { name: '=Bravo, "quoted"', tier: 'template' });
  const v = templates.recordVersion(a.id, 'body');
  let n = 0;
  const generations = new GenerationRepository(store, c, () => `c${++n}`);
  const scores = [4, 4, 4, 4, 4, 8, 8, 8, 8, 8]; // the later five are better: improving
  for (const overall of scores) {
    c.tick();
    generations.record({
      templateId: a.id, versionId: v.id, parameters: {}, model: 'm', attempt: 1, status: 'succeeded', inputTokens: 100, outputTokens: 200, costUsd: 0.01, durationMs: 1000,
      conversation: { systemPrompt: 'S', turns: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }], quality: { overall, breakdown: {}, recommendations: [] } },
    });
  }
  generations.record({ templateId: a.id, versionId: v.id, parameters: {}, model: 'm', attempt: 1, status: 'failed', errorType: 'server_error', inputTokens: 0, outputTokens: 0, costUsd: 0, durationMs: 3000 });
  generations.review('c1', 'approved');
  generations.review('c2', 'rejected');
  generations.review('c3', 'approved');
  generations.review('c3', 'needs_revision'); // the latest review counts
  return store;
}

describe('analytics', () => {
  it('computes every metric per template, and totals', async () => {
    const store = await fixture();
    const stats = computeStats(store);
    const a = stats.templates.find((t) => t.file === 'a.prompt')!;
    assert.deepEqual(
      { ...a },
      {
        name: 'Alpha', file: 'a.prompt', tier: 'scenario', usageCount: 11, succeeded: 10, failed: 1,
        avgQuality: 6, minQuality: 4, maxQuality: 8, approvalRate: 1 / 3, avgDurationMs: (10 * 1000 + 3000) / 11,
        avgCostUsd: 0.1 / 11, totalCostUsd: 0.1, trend: 'improving',
      },
    );
    const b = stats.templates.find((t) => t.file === 'b.prompt')!;
    assert.deepEqual([b.usageCount, b.avgQuality, b.approvalRate, b.avgCostUsd, b.totalCostUsd, b.trend], [0, null, null, null, 0, 'stable']);
    assert.deepEqual(stats.totals, { conversations: 10, generations: 11, costUsd: 0.1 });
    store.close();
  });

  it('an empty database has no templates and zero totals', async () => {
    const store = await Store.open(mkdtempSync(join(tmpdir(), 'promptloom-stats-')));
    assert.deepEqual(computeStats(store), { templates: [], totals: { conversations: 0, generations: 0, costUsd: 0 } });
    store.close();
  });

  it('the trend rule: last 5 against the 5 before, ±0.5, stable with fewer than 10', () => {
    assert.equal(trendOf([8, 8, 8, 8, 8, 4, 4, 4, 4, 4]), 'improving');
    assert.equal(trendOf([4, 4, 4, 4, 4, 8, 8, 8, 8, 8]), 'declining');
    assert.equal(trendOf([6.4, 6, 6, 6, 6, 6, 6, 6, 6, 6]), 'stable');
    assert.equal(trendOf([9, 9, 9, 9, 9, 1, 1, 1, 1]), 'stable', 'nine is too few');
    assert.equal(trendOf([]), 'stable');
  });

  it('CSV: one header row with the JSON names, quoting, no formulas', async () => {
    const store = await fixture();
    const csv = statsCsv(computeStats(store)).trim().split('\n');
    assert.equal(csv[0], STATS_COLUMNS.join(','));
    assert.equal(csv.length, 3);
    assert.match(csv[2]!, /^"'=Bravo, ""quoted""",b\.prompt,template,0,0,0,,,,,,,0,stable$/);
    store.close();
  });
});

describe('fine-tuning export', () => {
  it('selects by status, template and minimum quality', async () => {
    const store = await fixture();
    assert.deepEqual(selectConversations(store, { status: 'approved' }).map((c) => c.id), ['c1']);
    assert.deepEqual(selectConversations(store, { status: 'needs_revision' }).map((c) => c.id), ['c3']);
    assert.equal(selectConversations(store, { status: 'all' }).length, 10);
    assert.equal(selectConversations(store, { status: 'all', minQuality: 7 }).length, 5);
    assert.equal(selectConversations(store, { status: 'all', template: './b.prompt' }).length, 0);
    store.close();
  });

  it('writes openai, anthropic and sharegpt lines', () => {
    const c = { id: 'x', system: 'Be kind.', turns: [{ role: 'user' as const, content: 'Hi' }, { role: 'assistant' as const, content: 'Hello' }] };
    assert.deepEqual(JSON.parse(toLine(c, 'openai')!), { messages: [{ role: 'system', content: 'Be kind.' }, { role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }] });
    assert.deepEqual(JSON.parse(toLine(c, 'anthropic')!), { system: 'Be kind.', messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }] });
    assert.deepEqual(JSON.parse(toLine(c, 'sharegpt')!), { conversations: [{ from: 'system', value: 'Be kind.' }, { from: 'human', value: 'Hi' }, { from: 'gpt', value: 'Hello' }] });
    assert.deepEqual(JSON.parse(toLine({ id: 'y', turns: c.turns }, 'anthropic')!), { messages: c.turns }, 'no system key when there is none');
    assert.equal(toLine({ id: 'z', turns: [] }, 'openai'), undefined);
  });

  it('anthropic lines strictly alternate, starting with the user', () => {
    const turns = [
      { role: 'assistant' as const, content: 'stray opener' },
      { role: 'user' as const, content: 'a' },
      { role: 'user' as const, content: 'b' },
      { role: 'assistant' as const, content: 'c' },
    ];
    assert.deepEqual(alternating(turns), [{ role: 'user', content: 'a\n\nb' }, { role: 'assistant', content: 'c' }]);
  });
});
