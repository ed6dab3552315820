import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STATS_COLUMNS, computeStats, statsCsv } from '../../../src/core/analytics';
import { BANDS, backfillSignatures, diversityByTemplate, missingSignatures, nearDuplicateReason, signatureOf, similarity } from '../../../src/core/dataset';
import { runRecordedBatch } from '../../../src/core/generation/batch';
import { DEFAULT_SETTINGS, readSettings } from '../../../src/core/generation/settings';
import { WorkspaceGenerationRepository, MIGRATIONS, Store, WorkspaceTemplateRepository, type Clock, type Turn } from '../../../src/core/store';
import { Workspace, openWorkspaceStore } from '../../../src/core/workspace';
import { nearDuplicateFinding } from '../../../src/extension/quality/transcript';
import { GOOD, REPETITIVE } from '../../fixtures/conversations';
import { FakeMessagesApi } from '../../fixtures/fakeMessagesApi';
import { nearCopy, variedConversation } from '../../fixtures/variedConversations';

const KEY = 'sk-test-fake-key';

function clock(): Clock {
  let t = 1_700_000_000_000;
  return { now: () => (t += 1000) };
}

async function openStore(migrations?: typeof MIGRATIONS): Promise<{ store: Store; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'promptloom-dedup-'));
  return { store: await Store.open(dir, migrations ? { migrations } : {}), dir };
}

async function template(store: Store, path: string) {
  const templates = new WorkspaceTemplateRepository(store);
  const t = await templates.ensure(path, { name: path, tier: 'template' });
  const v = await templates.recordVersion(t.id, `body of ${path}`);
  return { templateId: t.id, versionId: v.id };
}

function attempt(ids: { templateId: number; versionId: number }, turns: readonly Turn[], extra: { status?: 'needs_revision'; statusReason?: string; threshold?: number | null } = {}) {
  return {
    ...ids, parameters: {}, model: 'm', attempt: 1, status: 'succeeded' as const, inputTokens: 1, outputTokens: 1, costUsd: 0, durationMs: 1,
    conversation: { turns, ...(extra.status ? { status: extra.status, statusReason: extra.statusReason! } : {}) },
    ...(extra.threshold === null ? {} : { nearDuplicates: { threshold: extra.threshold ?? 0.8 } }),
  };
}

const row = async (store: Store, id: string) => (await store.get('SELECT status, status_reason, near_duplicate_of, similarity FROM conversations WHERE id = ?', [id]))!;

describe('near-duplicates when a conversation is stored', () => {
  it('a near copy of an earlier conversation of the template is marked and flagged; an independent one is not', async () => {
    const { store } = await openStore();
    const ids = await template(store, 'a.prompt');
    let n = 0;
    const generations = new WorkspaceGenerationRepository(store, clock(), () => `${String(++n).padStart(2, '0')}aaaaaa-0000-4000-8000-000000000000`);
    const original = variedConversation(1, 12);
    const first = (await generations.record(attempt(ids, original.turns))).conversationId!;
    const independent = await generations.record(attempt(ids, variedConversation(2, 12).turns));
    const before = store.sequence;
    const copy = await generations.record(attempt(ids, nearCopy(original).turns));
    assert.equal(store.sequence, before + 1, 'the conversation, its signature, its buckets and the finding: one transaction');

    assert.equal(independent.nearDuplicateOf, undefined);
    assert.deepEqual(await row(store, independent.conversationId!), { status: 'pending', status_reason: null, near_duplicate_of: null, similarity: null });
    const expected = similarity(signatureOf(original.turns), signatureOf(nearCopy(original).turns));
    assert.ok(expected >= 0.8);
    assert.deepEqual(copy.nearDuplicateOf, { id: first, similarity: expected });
    assert.deepEqual(await row(store, copy.conversationId!), {
      status: 'needs_revision',
      status_reason: `near-duplicate of 01aaaaaa (similarity ${expected.toFixed(2)})`,
      near_duplicate_of: first,
      similarity: expected,
    });
    // Every conversation has its signature and one bucket per band.
    assert.equal(Number((await store.get('SELECT count(*) AS n FROM conversation_signatures'))!.n), 3);
    assert.equal(Number((await store.get('SELECT count(*) AS n FROM signature_buckets WHERE conversation_id = ?', [copy.conversationId!]))!.n), BANDS);
    // The editor's finding: on the first turn, naming the other conversation.
    const details = (await generations.details(copy.conversationId!))!;
    assert.deepEqual(nearDuplicateFinding(details), { turn: 0, message: `near-duplicate of 01aaaaaa (similarity ${expected.toFixed(2)})`, otherId: first });
    assert.equal(nearDuplicateFinding((await generations.details(first))!), undefined);
    store.close();
  });

  it('a reason already given is kept and the near-duplicate appended; other templates and a higher threshold do not count', async () => {
    const { store } = await openStore();
    const a = await template(store, 'a.prompt');
    const b = await template(store, 'b.prompt');
    const generations = new WorkspaceGenerationRepository(store, clock());
    const poor = (await generations.record(attempt(a, REPETITIVE.turns, { status: 'needs_revision', statusReason: 'scored 3.1, below 6.0' }))).conversationId!;
    const again = await generations.record(attempt(a, REPETITIVE.turns, { status: 'needs_revision', statusReason: 'scored 3.1, below 6.0' }));
    assert.equal((await row(store, again.conversationId!)).status_reason, `scored 3.1, below 6.0; ${nearDuplicateReason(poor, 1)}`);
    assert.equal((await row(store, again.conversationId!)).status, 'needs_revision');

    // The same text under another template is no near-duplicate: templates are compared within themselves.
    const other = await generations.record(attempt(b, REPETITIVE.turns));
    assert.equal((await row(store, other.conversationId!)).near_duplicate_of, null);

    // A threshold above the similarity: not a near-duplicate.
    const original = variedConversation(5, 12);
    await generations.record(attempt(b, original.turns));
    const s = similarity(signatureOf(original.turns), signatureOf(nearCopy(original, 6).turns));
    assert.ok(s < 1);
    const strict = await generations.record(attempt(b, nearCopy(original, 6).turns, { threshold: Math.min(1, s + 0.01) }));
    assert.equal((await row(store, strict.conversationId!)).near_duplicate_of, null);
    // Without the check (a low-level caller): the signature is stored, nothing is marked.
    const unchecked = await generations.record(attempt(b, original.turns, { threshold: null }));
    assert.equal((await row(store, unchecked.conversationId!)).near_duplicate_of, null);
    assert.equal(await missingSignatures(store), 0);
    store.close();
  });

  it('the threshold is a setting from 0.5 to 1, 0.8 by default', () => {
    assert.equal(DEFAULT_SETTINGS.nearDuplicateThreshold, 0.8);
    assert.deepEqual(readSettings({ 'promptloom.quality.nearDuplicateThreshold': 0.9 }).settings, { nearDuplicateThreshold: 0.9 });
    for (const bad of [0.4, 1.2, '0.9']) {
      const { settings, problems } = readSettings({ promptloom: { quality: { nearDuplicateThreshold: bad } } });
      assert.deepEqual(settings, {});
      assert.match(problems[0]!.message, /promptloom\.quality\.nearDuplicateThreshold: .* is not valid: expected a number from 0\.5 to 1$/);
    }
  });
});

describe('near-duplicates served by the Messages API, end to end', function () {
  this.timeout(60_000);

  it('answers served as near copies on purpose are flagged with the reason; independent answers are not', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'promptloom-dedup-batch-'));
    const text = '---\nname: Dedup\ntier: template\n---\nWrite a conversation about retirement savings.\n';
    writeFileSync(join(folder, 't.prompt'), text);
    const api = await FakeMessagesApi.start({ apiKey: KEY, turns: 12 });
    const { store } = await openWorkspaceStore(folder);
    try {
      api.script({ kind: 'ok' }, { kind: 'near-duplicate' }, { kind: 'ok' }, { kind: 'ok' }, { kind: 'near-duplicate', changes: 2 }, { kind: 'ok' });
      const prepared = new Workspace(folder, [{ concurrency: 1 }]).prepareBatch({ file: join(folder, 't.prompt'), text, values: new Map(), count: 6 });
      assert.ok(prepared.ok);
      const outcome = await runRecordedBatch({ ...prepared.input, store, apiKey: KEY, baseURL: api.url });
      assert.equal(outcome.summary.succeeded, 6);
      assert.equal(outcome.quality.flagged, 2, 'the two near-duplicates (the answers themselves score well)');
      const rows = await store.all('SELECT id, status, status_reason, near_duplicate_of, similarity FROM conversations ORDER BY created_at, rowid');
      assert.deepEqual(rows.map((r) => r.id), outcome.conversations);
      rows.forEach((r, i) => {
        if (i === 1 || i === 4) {
          const previous = String(rows[i - 1]!.id);
          assert.equal(r.near_duplicate_of, previous, `conversation ${i + 1}`);
          assert.ok(Number(r.similarity) >= 0.8);
          assert.equal(r.status, 'needs_revision');
          assert.equal(r.status_reason, `near-duplicate of ${previous.slice(0, 8)} (similarity ${Number(r.similarity).toFixed(2)})`);
        } else {
          assert.deepEqual([r.status, r.near_duplicate_of, r.similarity], ['pending', null, null], `conversation ${i + 1}: ${String(r.status_reason)}`);
        }
      });
      const stats = (await computeStats(store)).templates[0]!;
      assert.equal(stats.nearDuplicates, 2);
      // Four of six conversations have a near copy; the other two's nearest neighbours count 0 to
      // their similarity (below 0.5), depending on whether they share a bucket.
      const pairs = [Number(rows[1]!.similarity), Number(rows[4]!.similarity)];
      const upper = 1 - (2 * pairs[0]! + 2 * pairs[1]!) / 6;
      assert.ok(stats.diversity !== null && stats.diversity <= upper + 1e-4 && stats.diversity >= upper - (2 * 0.5) / 6, `${stats.diversity} vs ${upper}`);
    } finally {
      store.close();
      await api.stop();
    }
  });

  it('requests in flight together get different answers: none is a near-duplicate', async () => {
    // The fake numbers each answer when it accepts the request, not when it answers after its
    // latency: eight requests sent together all read the last number and got the same conversation.
    const folder = mkdtempSync(join(tmpdir(), 'promptloom-dedup-concurrent-'));
    const text = '---\nname: Concurrent\ntier: template\n---\nWrite a conversation about retirement savings.\n';
    writeFileSync(join(folder, 't.prompt'), text);
    const api = await FakeMessagesApi.start({ apiKey: KEY, latencyMs: 50 });
    const { store } = await openWorkspaceStore(folder);
    try {
      const prepared = new Workspace(folder, [{ concurrency: 8 }]).prepareBatch({ file: join(folder, 't.prompt'), text, values: new Map(), count: 8 });
      assert.ok(prepared.ok);
      const outcome = await runRecordedBatch({ ...prepared.input, store, apiKey: KEY, baseURL: api.url });
      assert.equal(outcome.summary.succeeded, 8);
      const rows = await store.all('SELECT id, near_duplicate_of FROM conversations');
      assert.deepEqual(rows.filter((r) => r.near_duplicate_of !== null).map((r) => r.id), []);
    } finally {
      store.close();
      await api.stop();
    }
  });
});

describe('diversity and backfill', () => {
  it('diversity is 1 − the mean nearest-neighbour similarity: two copies and two independent conversations give 0.5', async () => {
    const { store } = await openStore();
    const a = await template(store, 'a.prompt');
    const b = await template(store, 'b.prompt');
    const c = await template(store, 'c.prompt');
    const generations = new WorkspaceGenerationRepository(store, clock());
    const copy = variedConversation(11, 12);
    for (const turns of [copy.turns, copy.turns, GOOD.turns, REPETITIVE.turns]) await generations.record(attempt(a, turns));
    for (let seed = 20; seed < 25; seed++) await generations.record(attempt(b, variedConversation(seed, 12).turns));
    await generations.record(attempt(c, GOOD.turns));

    const diversity = await diversityByTemplate(store);
    assert.equal(diversity.get(a.templateId), 0.5);
    assert.equal(diversity.get(b.templateId), 1, 'independent conversations share no bucket');
    assert.equal(diversity.get(c.templateId), null, 'one conversation: no neighbour to compare with');

    const stats = await computeStats(store);
    const row = stats.templates.find((t) => t.file === 'a.prompt')!;
    // Right after trend; later additions (reviewAgreement) come after them.
    assert.deepEqual(Object.keys(row).slice(13, 16), ['trend', 'diversity', 'nearDuplicates']);
    assert.deepEqual([row.diversity, row.nearDuplicates], [0.5, 1]);
    assert.deepEqual(STATS_COLUMNS.slice(13, 16), ['trend', 'diversity', 'nearDuplicates']);
    const csv = statsCsv(stats).trim().split('\n');
    assert.match(csv[0]!, /,trend,diversity,nearDuplicates,reviewAgreementReviewed,/);
    // The agreement's four columns are empty: nothing was reviewed; then savedUsd and cancelled, none.
    assert.match(csv.find((l) => l.startsWith('a.prompt'))!, /,0\.5,1,,,,,0,0,$/);
    assert.match(csv.find((l) => l.startsWith('c.prompt'))!, /,,0,,,,,0,0,$/);
    store.close();
  });

  it('conversations stored before signatures existed get them in batches, oldest first, with their near-duplicate links', async () => {
    const { store, dir } = await openStore(MIGRATIONS.slice(0, 3));
    const copy = variedConversation(3, 12);
    const conversations: [string, number, readonly Turn[]][] = [
      ['c1', 1, copy.turns],
      ['c2', 1, variedConversation(4, 12).turns],
      ['c3', 1, nearCopy(copy).turns],
      ['c4', 2, copy.turns],
      ['c5', 1, copy.turns],
    ];
    await store.write((tx) => {
      tx.run("INSERT INTO templates (id, path, name, tier, created_at) VALUES (1, 'a.prompt', 'A', 'template', 1), (2, 'b.prompt', 'B', 'template', 1)");
      tx.run("INSERT INTO template_versions (id, template_id, content_hash, content, created_at) VALUES (1, 1, 'h', 'x', 1), (2, 2, 'h', 'y', 1)");
      conversations.forEach(([id, t, turns], i) => {
        tx.run("INSERT INTO conversations (id, template_id, version_id, parameters, status, created_at) VALUES (?, ?, ?, '{}', 'approved', ?)", [id, t, t, 10 + i]);
        turns.forEach((turn, position) => tx.run('INSERT INTO turns (conversation_id, position, role, content) VALUES (?, ?, ?, ?)', [id, position, turn.role, turn.content]));
      });
    });
    store.close();
    const migrated = await Store.open(dir);
    assert.equal(await missingSignatures(migrated), 5);
    assert.equal(await backfillSignatures(migrated, 2), 1, 'one template only');
    assert.equal(await missingSignatures(migrated, 2), 0);
    assert.equal(await backfillSignatures(migrated, undefined, { batchSize: 2 }), 4);
    assert.equal(await missingSignatures(migrated), 0);
    assert.equal(await backfillSignatures(migrated), 0, 'nothing left to do');

    const links = await migrated.all('SELECT id, status, near_duplicate_of, similarity FROM conversations ORDER BY id');
    assert.deepEqual(links.map((r) => [r.id, r.status, r.near_duplicate_of]), [
      ['c1', 'approved', null],
      ['c2', 'approved', null],
      ['c3', 'approved', 'c1'],
      ['c4', 'approved', null],
      ['c5', 'approved', 'c1'],
    ], 'linked to the earliest most similar of the same template; reviewed statuses left alone');
    assert.equal(links[4]!.similarity, 1);
    assert.equal(Number((await migrated.get('SELECT count(*) AS n FROM signature_buckets'))!.n), 5 * BANDS);
    migrated.close();
  });
});
