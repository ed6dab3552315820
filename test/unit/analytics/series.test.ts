import { strict as assert } from 'node:assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dailySeries, localHour, periodSeconds, seriesUnit, timeAxis } from '../../../src/core/analytics';
import { WorkspaceGenerationRepository, Store, WorkspaceTemplateRepository } from '../../../src/core/store';

const HOUR = 3_600_000;

/** A workspace whose generations fall at the given moments (ms). */
async function storeWith(moments: readonly number[], status: 'succeeded' | 'failed' | 'cancelled' = 'succeeded'): Promise<Store> {
  const store = await Store.open(mkdtempSync(join(tmpdir(), 'promptloom-series-')));
  let now = moments[0] ?? 0;
  const clock = { now: () => now };
  const templates = new WorkspaceTemplateRepository(store, clock);
  const t = await templates.ensure('s.prompt', { name: 'S', tier: 'template' });
  const v = await templates.recordVersion(t.id, 'x');
  const generations = new WorkspaceGenerationRepository(store, clock);
  for (const at of moments) {
    now = at;
    await generations.record({ templateId: t.id, versionId: v.id, parameters: {}, model: 'm', attempt: 1, status, ...(status === 'cancelled' ? { errorType: 'cancelled' } : {}), inputTokens: 1, outputTokens: 1, costUsd: 0.01, durationMs: 1 });
  }
  return store;
}

describe('time series and their axis', () => {
  it('one day of data is drawn hour by hour, on an axis spanning those hours with hour ticks', async () => {
    const day = new Date(2026, 10, 30, 0, 0).getTime(); // local midnight
    const store = await storeWith([day + 9 * HOUR + 5 * 60_000, day + 9 * HOUR + 40 * 60_000, day + 13 * HOUR, day + 16 * HOUR + 59 * 60_000]);
    assert.equal(await seriesUnit(store), 'hour');
    const series = await dailySeries(store, { unit: 'hour' });
    assert.deepEqual(series.map((p) => [p.day, p.generations]), [['2026-11-30T09:00', 2], ['2026-11-30T13:00', 1], ['2026-11-30T16:00', 1]]);
    const axis = timeAxis(series.map((p) => p.day), 'hour');
    // From half an hour before the first hour to half an hour after the last: the data's range.
    assert.equal(axis.min, periodSeconds('2026-11-30T09:00') - 1800);
    assert.equal(axis.max, periodSeconds('2026-11-30T16:00') + 1800);
    assert.deepEqual(axis.ticks.map((t) => t.label), ['Nov 30 09:00', '10:00', '11:00', '12:00', '13:00', '14:00', '15:00', '16:00']);
    assert.ok(axis.max - axis.min < 86_400, 'never more than the day');
    store.close();
  });

  it('data over two days or more is drawn by day, with day ticks over the data only', async () => {
    const first = new Date(2026, 10, 1, 12, 0).getTime();
    const store = await storeWith([first, first + 3 * 24 * HOUR, first + 9 * 24 * HOUR]);
    assert.equal(await seriesUnit(store), 'day');
    const series = await dailySeries(store);
    const axis = timeAxis(series.map((p) => p.day), 'day');
    assert.equal(axis.min, periodSeconds('2026-11-01') - 43_200);
    assert.equal(axis.max, periodSeconds('2026-11-10') + 43_200);
    assert.deepEqual(axis.ticks.map((t) => t.label), ['Nov 1', 'Nov 2', 'Nov 3', 'Nov 4', 'Nov 5', 'Nov 6', 'Nov 7', 'Nov 8', 'Nov 9', 'Nov 10']);
    store.close();
  });

  it('long spans thin their ticks to about a dozen; hour ticks over a midnight name the new day', () => {
    const days = Array.from({ length: 3 * 365 }, (_, i) => new Date(Date.UTC(2024, 0, 1 + i)).toISOString().slice(0, 10));
    const long = timeAxis(days, 'day');
    assert.ok(long.ticks.length <= 13 && long.ticks.length >= 6, `${long.ticks.length} ticks`);
    const night = timeAxis(['2026-11-30T20:00', '2026-12-01T03:00'], 'hour');
    assert.ok(night.ticks.some((t) => t.label === 'Dec 1 00:00'), night.ticks.map((t) => t.label).join(' '));
    assert.ok(night.ticks.length <= 12);
  });

  it('a single busy hour gets a few hours around it; no data at all: today, by hour', () => {
    const one = timeAxis(['2026-11-30T14:00'], 'hour');
    assert.equal(one.max - one.min, 6 * 3600);
    assert.equal((one.min + one.max) / 2, periodSeconds('2026-11-30T14:00'));
    const none = timeAxis([], 'hour', '2026-11-30');
    assert.deepEqual([none.min, none.max], [periodSeconds('2026-11-30'), periodSeconds('2026-11-30') + 86_400]);
    assert.equal(none.ticks[0]!.label, 'Nov 30 00:00');
  });

  it('cancelled requests are counted apart from failures, per period', async () => {
    const at = new Date(2026, 10, 30, 10, 0).getTime();
    const store = await storeWith([at, at + 60_000], 'cancelled');
    assert.deepEqual((await dailySeries(store, { unit: 'hour' })).map((p) => [p.day, p.generations, p.failed, p.cancelled]), [[localHour(at), 2, 0, 2]]);
    store.close();
  });
});
