import { strict as assert } from 'node:assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coverage, fillPlan, gaps } from '../../../src/core/analytics/coverage';
import { WorkspaceBatchRepository, WorkspaceGenerationRepository, Store, WorkspaceTemplateRepository, type BatchRow, type ConversationStatus } from '../../../src/core/store';

/** A real store in a temp folder, written through the repositories, with a clock that moves. */
async function open() {
  const store = await Store.open(mkdtempSync(join(tmpdir(), 'promptloom-coverage-')));
  let t = 1_700_000_000_000;
  const clock = { now: () => (t += 1000) };
  let n = 0;
  const templates = new WorkspaceTemplateRepository(store, clock);
  const batches = new WorkspaceBatchRepository(store, clock, () => `b${++n}`);
  const generations = new WorkspaceGenerationRepository(store, clock, () => `c${++n}`);
  const template = async (path: string) => {
    const row = await templates.ensure(path, { name: path, tier: 'template' });
    return { id: row.id, version: async (content: string) => (await templates.recordVersion(row.id, content)).id };
  };
  const batch = (templateId: number, versionId: number, plan: BatchRow['plan']) =>
    batches.create({ templateId, versionId, requested: plan!.reduce((s, c) => s + c.count, 0), parameters: plan![0]!.values, model: 'm', settings: {}, plan });
  /** `count` conversations with `parameters`, reviewed as `status` (pending: not reviewed). */
  const conversations = async (templateId: number, versionId: number, parameters: Record<string, unknown>, count: number, status: ConversationStatus = 'pending', batchId?: string) => {
    for (let i = 0; i < count; i++) {
      const { conversationId } = await generations.record({
        templateId, versionId, ...(batchId ? { batchId } : {}), parameters, model: 'm', attempt: 1, status: 'succeeded', inputTokens: 1, outputTokens: 1, costUsd: 0, durationMs: 1,
        conversation: { turns: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }] },
      });
      if (status !== 'pending') assert.equal(await generations.review(conversationId!, status), true);
    }
  };
  return { store, template, batch, conversations };
}

const cell = (persona: string, channel: string, extra: Record<string, unknown> = {}) => ({ persona, channel, topic: 'bonds', ...extra });

describe('coverage of value plans', () => {
  it('varied variables, cells with requested / approved / total, full values from the newest plan', async () => {
    const { store, template, batch, conversations } = await open();
    const t = await template('plan.prompt');
    const v1 = await t.version('one');
    const v2 = await t.version('two');
    // An older plan on version 1: persona × channel, 2 each; the topic is the same everywhere.
    const old = await batch(t.id, v1, [
      { values: cell('A', 'phone'), count: 2 },
      { values: cell('A', 'chat'), count: 2 },
      { values: cell('B', 'phone'), count: 2 },
      { values: cell('B', 'chat'), count: 2 },
    ]);
    // A newer plan on version 2, which added `tone` (one value: not varied).
    await batch(t.id, v2, [
      { values: cell('A', 'phone', { tone: 'calm' }), count: 4 },
      { values: cell('C', 'chat', { tone: 'calm' }), count: 1 },
    ]);
    await conversations(t.id, v1, cell('A', 'phone'), 2, 'approved', old.id);
    await conversations(t.id, v2, cell('A', 'phone', { tone: 'calm' }), 1, 'approved');
    await conversations(t.id, v2, cell('A', 'phone', { tone: 'calm' }), 1, 'pending');
    await conversations(t.id, v1, cell('A', 'chat'), 1, 'approved', old.id);
    await conversations(t.id, v1, cell('A', 'chat'), 1, 'rejected', old.id);
    await conversations(t.id, v1, cell('B', 'chat'), 2, 'approved', old.id);
    await conversations(t.id, v1, cell('B', 'chat'), 1, 'needs_revision', old.id);
    // A single run outside any plan still counts for its combination.
    await conversations(t.id, v1, cell('B', 'phone'), 1, 'approved');
    // Values no plan asked for: no cell of their own.
    await conversations(t.id, v1, cell('Z', 'phone'), 3, 'approved');
    // Another template's conversations never count.
    const other = await template('other.prompt');
    await conversations(other.id, await other.version('x'), cell('A', 'phone'), 4, 'approved');

    const c = await coverage(store, t.id);
    assert.deepEqual(c.varied, ['persona', 'channel']);
    // Values and cells in the order the plans gave them, oldest plan first.
    assert.deepEqual(c.domains, [['A', 'B', 'C'], ['phone', 'chat']]);
    assert.deepEqual(
      c.cells.map((x) => [x.combination.join('/'), x.requested, x.approved, x.total]),
      [
        ['A/phone', 6, 3, 4],
        ['A/chat', 2, 1, 2],
        ['B/phone', 2, 1, 1],
        ['B/chat', 2, 2, 3],
        ['C/chat', 1, 0, 0],
      ],
    );
    // The newest plan's values, `tone` included, for the cells it has; the older plan's otherwise.
    assert.deepEqual(c.cells[0]!.values, cell('A', 'phone', { tone: 'calm' }));
    assert.deepEqual(c.cells[1]!.values, cell('A', 'chat'));

    // Default target: the most one plan asked for one cell (4) beats the highest approved count
    // (3); the summed requests of a cell (6 for A/phone) are not a target.
    assert.equal(c.planned, 4);
    const all = gaps(c);
    assert.equal(all.target, 4);
    assert.deepEqual(all.gaps.map((g) => [g.cell.combination.join('/'), g.lacks]), [['C/chat', 4], ['A/chat', 3], ['B/phone', 3], ['B/chat', 2], ['A/phone', 1]]);
    assert.equal(all.lacking, 13);

    // An explicit target: only the cells under it, and the fill plan with their full values.
    const two = gaps(c, 2);
    assert.deepEqual(two.gaps.map((g) => [g.cell.combination.join('/'), g.lacks]), [['C/chat', 2], ['A/chat', 1], ['B/phone', 1]]);
    assert.equal(two.lacking, 4);
    assert.deepEqual(fillPlan(two), [
      { values: cell('C', 'chat', { tone: 'calm' }), count: 2 },
      { values: cell('A', 'chat'), count: 1 },
      { values: cell('B', 'phone'), count: 1 },
    ]);
    assert.deepEqual(fillPlan(gaps(c, 0)), []);
    assert.throws(() => gaps(c, -1), /whole number/);
    assert.throws(() => gaps(c, 1.5), /whole number/);
    store.close();
  });

  it('the target is the highest approved count when it passes the requests; values keep their types', async () => {
    const { store, template, batch, conversations } = await open();
    const t = await template('one.prompt');
    const v = await t.version('one');
    await batch(t.id, v, [
      { values: { age: 30, vip: false }, count: 1 },
      { values: { age: 40, vip: false }, count: 1 },
      { values: { age: 50, vip: false }, count: 1 },
    ]);
    await conversations(t.id, v, { age: 30, vip: false }, 3, 'approved');
    await conversations(t.id, v, { age: 40, vip: false }, 1, 'approved');
    // "30" is not 30: no cell has a string age.
    await conversations(t.id, v, { age: '30', vip: false }, 2, 'approved');
    const c = await coverage(store, t.id);
    assert.deepEqual(c.varied, ['age']);
    assert.deepEqual(c.cells.map((x) => [x.combination[0], x.approved]), [[30, 3], [40, 1], [50, 0]]);
    const g = gaps(c);
    assert.equal(g.target, 3);
    const fill = fillPlan(g);
    assert.deepEqual(fill, [
      { values: { age: 50, vip: false }, count: 3 },
      { values: { age: 40, vip: false }, count: 2 },
    ]);
    // Running the fill plan asks for more, but does not move the target it fills to.
    await batch(t.id, v, fill);
    const after = await coverage(store, t.id);
    assert.deepEqual(after.cells.map((x) => [x.combination[0], x.requested]), [[30, 1], [40, 3], [50, 4]]);
    assert.equal(gaps(after).target, 3);
    store.close();
  });

  it('a variable a plan’s version did not have is null in its cells; no plan, no cells', async () => {
    const { store, template, batch, conversations } = await open();
    const t = await template('grow.prompt');
    const v1 = await t.version('one');
    const v2 = await t.version('two');
    await batch(t.id, v1, [{ values: { persona: 'A' }, count: 1 }, { values: { persona: 'B' }, count: 1 }]);
    await batch(t.id, v2, [{ values: { persona: 'A', channel: 'phone' }, count: 1 }, { values: { persona: 'A', channel: 'chat' }, count: 1 }]);
    await conversations(t.id, v1, { persona: 'B' }, 1, 'approved');
    const c = await coverage(store, t.id);
    assert.deepEqual(c.varied, ['persona', 'channel']);
    assert.deepEqual(c.cells.map((x) => [x.combination, x.requested, x.approved]), [
      [['A', null], 1, 0],
      [['B', null], 1, 1],
      [['A', 'phone'], 1, 0],
      [['A', 'chat'], 1, 0],
    ]);
    assert.deepEqual(c.domains, [['A', 'B'], ['phone', 'chat', null]]);

    // Batches of one value set have no plan: nothing varies, nothing to fill.
    const single = await template('single.prompt');
    await conversations(single.id, await single.version('s'), { persona: 'A' }, 2, 'approved');
    const none = await coverage(store, single.id);
    assert.deepEqual([none.varied, none.cells, none.planned], [[], [], 0]);
    assert.deepEqual(gaps(none), { target: 0, gaps: [], lacking: 0 });
    store.close();
  });
});
