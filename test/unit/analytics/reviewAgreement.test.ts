import { strict as assert } from 'node:assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STATS_COLUMNS, STATS_CSV_COLUMNS, computeStats, qualityThresholdEdit, reviewAgreement, reviewAgreementByTemplate, statsCsv, type ReviewedScore } from '../../../src/core/analytics';
import { WorkspaceGenerationRepository, Store, WorkspaceTemplateRepository, type Clock } from '../../../src/core/store';

const rows = (approved: readonly number[], rejected: readonly number[]): ReviewedScore[] => [
  ...approved.map((score) => ({ score, approved: true })),
  ...rejected.map((score) => ({ score, approved: false })),
];
const times = (n: number, score: number) => Array.from({ length: n }, () => score);

describe('review agreement', () => {
  it('perfect separation: AUC 1, accuracy 1 at a threshold between the classes, suggested threshold the current one', () => {
    const a = reviewAgreement(rows([8, 8.5, 9, 9.5, 10, 8.1, 8.2, 8.3, 8.4, 8.6], [1, 2, 3, 4, 5, 4.5, 3.5, 2.5, 1.5, 0.5]), 6)!;
    assert.deepEqual(a, { reviewed: 20, auc: 1, accuracy: 1, suggestedThreshold: 6 });
  });

  it('reversed: AUC 0, and the best threshold predicts everything one way', () => {
    const a = reviewAgreement(rows(times(10, 2), times(10, 9)), 6)!;
    assert.equal(a.auc, 0);
    assert.equal(a.accuracy, 0, 'at 6 every approved one is predicted rejected and every rejected one approved');
    // Half right at most: at 2.0 or below (all approved) or above 9 (all rejected); 9.1 is closest to 6.
    assert.equal(a.suggestedThreshold, 9.1);
  });

  it('random scores: AUC about 0.5', () => {
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const data = Array.from({ length: 2000 }, () => ({ score: Math.round(random() * 100) / 10, approved: random() < 0.5 }));
    const a = reviewAgreement(data, 6)!;
    assert.ok(a.auc !== null && Math.abs(a.auc - 0.5) < 0.05, String(a.auc));
    assert.ok(Math.abs(a.accuracy - 0.5) < 0.05, String(a.accuracy));
  });

  it('ties count half', () => {
    assert.equal(reviewAgreement(rows(times(10, 7), times(10, 7)), 6)!.auc, 0.5);
    // Pairs: (5, 5) half, (5, 3), (7, 5), (7, 3) whole: 3.5 of 4.
    assert.equal(reviewAgreement(rows([...times(5, 5), ...times(5, 7)], [...times(5, 5), ...times(5, 3)]), 6)!.auc, 0.875);
  });

  it('accuracy at the current threshold: a score at the threshold predicts approved', () => {
    const a = reviewAgreement(rows(times(10, 7.5), times(10, 7.4)), 7.5)!;
    assert.equal(a.accuracy, 1);
    assert.equal(reviewAgreement(rows(times(10, 7.5), times(10, 7.4)), 7.6)!.accuracy, 0.5);
  });

  it('the suggested threshold maximises accuracy; among equals the closest to the current one, then the higher', () => {
    const separated = rows(times(10, 8), times(10, 5));
    // 5.1 to 8.0 all get every decision right.
    assert.equal(reviewAgreement(separated, 6)!.suggestedThreshold, 6);
    assert.equal(reviewAgreement(separated, 9)!.suggestedThreshold, 8);
    assert.equal(reviewAgreement(separated, 4)!.suggestedThreshold, 5.1);
    // 25 of 30 right from 4.1 to 5.0 and from 6.0 to 7.0, 20 of 30 between: from 5.5, 5.0 and 6.0
    // are as close; the higher wins.
    const twoRanges = rows([...times(5, 5), ...times(10, 7)], [...times(10, 4), ...times(5, 5.9)]);
    const a = reviewAgreement(twoRanges, 5.5)!;
    assert.equal(a.suggestedThreshold, 6);
    assert.equal(a.accuracy, 20 / 30);
    assert.equal(reviewAgreement(twoRanges, 5.4)!.suggestedThreshold, 5);
  });

  it('is null below 20 reviewed conversations; AUC null when every decision is the same', () => {
    assert.equal(reviewAgreement(rows(times(10, 8), times(9, 3)), 6), null);
    assert.notEqual(reviewAgreement(rows(times(10, 8), times(10, 3)), 6), null);
    const all = reviewAgreement(rows(times(20, 8), []), 6)!;
    assert.deepEqual([all.auc, all.accuracy, all.suggestedThreshold], [null, 1, 6]);
  });
});

function clock(): Clock {
  let t = 1_700_000_000_000;
  return { now: () => (t += 1000) };
}

/** Template t.prompt (quality_threshold 0.75) with `scores` conversations; u.prompt with five. */
async function seeded(scores: readonly number[]) {
  const store = await Store.open(mkdtempSync(join(tmpdir(), 'promptloom-agreement-')));
  const c = clock();
  const templates = new WorkspaceTemplateRepository(store, c);
  const t = await templates.ensure('t.prompt', { name: 'T', tier: 'template' });
  await templates.recordVersion(t.id, '---\nname: T\nquality_threshold: 0.5\n---\nOld body.\n');
  const v = await templates.recordVersion(t.id, '---\nname: T\nquality_threshold: 0.75\n---\nBody.\n');
  const u = await templates.ensure('u.prompt', { name: 'U', tier: 'template' });
  const uv = await templates.recordVersion(u.id, 'body');
  let n = 0;
  const generations = new WorkspaceGenerationRepository(store, c, () => `c${++n}`);
  const record = (templateId: number, versionId: number, overall: number) =>
    generations.record({
      templateId, versionId, parameters: {}, model: 'm', attempt: 1, status: 'succeeded', inputTokens: 1, outputTokens: 1, costUsd: 0, durationMs: 1,
      conversation: { turns: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }], quality: { overall, breakdown: {}, recommendations: [] } },
    });
  for (const s of scores) await record(t.id, v.id, s);
  for (let i = 0; i < 5; i++) await record(u.id, uv.id, 7);
  return { store, generations, t: t.id, u: u.id };
}

describe('review agreement in stats', () => {
  it('uses each conversation’s latest review and the newest version’s threshold; null below 20', async () => {
    // c1..c10 score 8 (approved), c11..c20 score 7 (rejected): at 7.5 everything is right.
    const { store, generations, t, u } = await seeded([...times(10, 8), ...times(10, 7), 3]);
    for (let i = 1; i <= 10; i++) await generations.review(`c${i}`, 'approved');
    for (let i = 11; i <= 19; i++) await generations.review(`c${i}`, i % 2 ? 'rejected' : 'needs_revision');
    assert.equal((await reviewAgreementByTemplate(store)).get(t), null, '19 reviewed');
    await generations.review('c20', 'approved');
    await generations.review('c20', 'rejected'); // the latest review counts
    const a = (await reviewAgreementByTemplate(store)).get(t)!;
    assert.deepEqual(a, { reviewed: 20, auc: 1, accuracy: 1, suggestedThreshold: 7.5 });
    for (let i = 22; i <= 26; i++) await generations.review(`c${i}`, 'approved');
    const stats = await computeStats(store);
    const row = stats.templates.find((r) => r.file === 't.prompt')!;
    assert.deepEqual(row.reviewAgreement, a);
    assert.equal(stats.templates.find((r) => r.file === 'u.prompt')!.reviewAgreement, null, 'five reviewed');
    assert.equal((await reviewAgreementByTemplate(store)).get(u), null);

    const csv = statsCsv(stats).trim().split('\n');
    assert.equal(csv[0], STATS_CSV_COLUMNS.join(','));
    assert.match(csv[0]!, /,trend,diversity,nearDuplicates,reviewAgreementReviewed,reviewAgreementAuc,reviewAgreementAccuracy,reviewAgreementSuggestedThreshold,savedUsd,cancelled,author$/);
    assert.match(csv.find((l) => l.startsWith('T,'))!, /,20,1,1,7\.5,0,0,$/);
    assert.match(csv.find((l) => l.startsWith('U,'))!, /,,,,,0,0,$/);
    store.close();
  });

  it('stats JSON keys: the existing ones unchanged, then reviewAgreement, savedUsd, cancelled and author', async () => {
    const { store } = await seeded([8]);
    const keys = [
      'name', 'file', 'tier', 'usageCount', 'succeeded', 'failed', 'avgQuality', 'minQuality', 'maxQuality',
      'approvalRate', 'avgDurationMs', 'avgCostUsd', 'totalCostUsd', 'trend', 'diversity', 'nearDuplicates', 'reviewAgreement', 'savedUsd', 'cancelled', 'author',
    ];
    for (const row of (await computeStats(store)).templates) assert.deepEqual(Object.keys(row), keys);
    assert.deepEqual(STATS_COLUMNS, keys);
    assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(await computeStats(store))).templates[0]), keys);
    store.close();
  });
});

describe('Use suggested threshold: the front-matter edit', () => {
  const apply = (text: string, threshold: number) => {
    const e = qualityThresholdEdit(text, threshold);
    return e && text.slice(0, e.start) + e.text + text.slice(e.end);
  };

  it('replaces the value of an existing quality_threshold line, keeping its comment', () => {
    assert.equal(apply('---\nname: X\nquality_threshold: 0.6 # bar\ntier: template\n---\nBody\n', 7.5), '---\nname: X\nquality_threshold: 0.75 # bar\ntier: template\n---\nBody\n');
    assert.equal(apply('---\nname: X\nquality_threshold:\n---\nB\n', 10), '---\nname: X\nquality_threshold: 1\n---\nB\n');
  });

  it('adds a line at the end of the front matter (not a variable of that name), keeping CRLF', () => {
    assert.equal(apply('---\r\nname: X\r\n---\r\nBody\r\n', 6.3), '---\r\nname: X\r\nquality_threshold: 0.63\r\n---\r\nBody\r\n');
    assert.equal(
      apply('---\nvariables:\n  quality_threshold: { type: text }\n---\nB', 8),
      '---\nvariables:\n  quality_threshold: { type: text }\nquality_threshold: 0.8\n---\nB',
    );
  });

  it('adds front matter to a template without; nothing for front matter never closed', () => {
    assert.equal(apply('Body only\n', 7), '---\nquality_threshold: 0.7\n---\nBody only\n');
    assert.equal(apply('---\nname: X\n', 7), undefined);
  });
});
