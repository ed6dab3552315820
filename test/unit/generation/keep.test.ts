import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runRecordedBatch } from '../../../src/core/generation/batch';
import { keepAside } from '../../../src/core/generation/unstored';
import { Workspace, openWorkspaceStore } from '../../../src/core/workspace';
import { FakeMessagesApi } from '../../fixtures/fakeMessagesApi';

const KEY = 'sk-test-fake-key';
const TEMPLATE = '---\nname: Keep\ntier: template\n---\nWrite a conversation about bonds.\n';

/**
 * The database busy while an answer arrives: another live process holds the lock (its heartbeat
 * kept fresh), longer than the writer will wait.
 */
function holdLock(dir: string): { release: () => void } {
  const holder: ChildProcess = spawn('sleep', ['60']);
  const path = join(dir, 'promptloom.lock');
  writeFileSync(path, `${holder.pid}:busy-holder`);
  const beat = setInterval(() => {
    const now = new Date();
    if (existsSync(path)) utimesSync(path, now, now);
  }, 50);
  return {
    release: () => {
      clearInterval(beat);
      unlinkSync(path);
      holder.kill();
    },
  };
}

describe('a paid answer is never lost', function () {
  this.timeout(60_000);

  it('when the database will not take it, it is kept aside, imported on the next open, once', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'promptloom-keep-'));
    writeFileSync(join(folder, 't.prompt'), TEMPLATE);
    const api = await FakeMessagesApi.start({ apiKey: KEY });
    const { store } = await openWorkspaceStore(folder, { lockTimeoutMs: 200 });
    try {
      const prepared = new Workspace(folder, [{ concurrency: 1 }]).prepareBatch({ file: join(folder, 't.prompt'), text: TEMPLATE, values: new Map(), count: 4 });
      assert.ok(prepared.ok);
      let lock: { release: () => void } | undefined;
      let successes = 0;
      const outcome = await runRecordedBatch({
        ...prepared.input,
        store,
        apiKey: KEY,
        baseURL: api.url,
        onAttempt: (a) => {
          if (a.status !== 'succeeded') return;
          successes++;
          // After the first is stored, the database turns busy; once the second has been dealt with, free again.
          if (successes === 1) lock = holdLock(store.dir);
          if (successes === 2) lock!.release();
        },
      });
      assert.equal(outcome.summary.succeeded, 4);
      assert.equal(outcome.summary.failed, 0, 'a busy database is not an API failure');
      assert.equal(api.stats.accepted, 4, 'nothing was paid for twice');
      assert.equal(outcome.keptAside, 1);
      const aside = readdirSync(join(store.dir, 'unstored'));
      assert.equal(aside.length, 1);
      assert.equal(Number((await store.get('SELECT count(*) AS n FROM conversations'))!.n), 3);
      // Resuming on the same open database (the editor's case) finds nothing left to pay for:
      // what was kept aside is imported first and counted.
      assert.equal(await new Workspace(folder).prepareResume(store, outcome.batchId), undefined);
      assert.equal(Number((await store.get('SELECT count(*) AS n FROM conversations WHERE batch_id = ?', [outcome.batchId]))!.n), 4);
      assert.equal(api.stats.accepted, 4);
      store.close();

      const reopened = await openWorkspaceStore(folder);
      try {
        assert.equal(Number((await reopened.store.get('SELECT count(*) AS n FROM conversations WHERE batch_id = ?', [outcome.batchId]))!.n), 4);
        assert.equal(Number((await reopened.store.get('SELECT count(*) AS n FROM turns WHERE conversation_id = ?', [aside[0]!.replace('.json', '')]))!.n) > 0, true);
        const cost = Number((await reopened.store.get("SELECT sum(cost_usd) AS c FROM generation_logs WHERE status = 'succeeded'"))!.c);
        assert.ok(Math.abs(cost - outcome.summary.costUsd) < 1e-9, 'the daily budget sees every paid answer, once');
        assert.deepEqual(readdirSync(join(store.dir, 'unstored')), []);
        const batch = (await reopened.store.get('SELECT status FROM batches WHERE id = ?', [outcome.batchId]))!;
        assert.equal(batch.status, 'completed');
      } finally {
        reopened.store.close();
      }
    } finally {
      await api.stop();
    }
  });

  it('a side file that cannot be imported is moved aside, named, and does not hold back the others', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'promptloom-keep-'));
    writeFileSync(join(folder, 't.prompt'), TEMPLATE);
    const api = await FakeMessagesApi.start({ apiKey: KEY });
    const { store } = await openWorkspaceStore(folder);
    try {
      const prepared = new Workspace(folder).prepareBatch({ file: join(folder, 't.prompt'), text: TEMPLATE, values: new Map(), count: 1 });
      assert.ok(prepared.ok);
      const outcome = await runRecordedBatch({ ...prepared.input, store, apiKey: KEY, baseURL: api.url });
      const log = (await store.get('SELECT * FROM generation_logs WHERE conversation_id = ?', [outcome.conversations[0]!]))!;
      const base = { templateId: Number(log.template_id), versionId: Number(log.version_id), parameters: {}, model: 'claude-sonnet-5-5', attempt: 1, status: 'succeeded' as const, inputTokens: 1, outputTokens: 1, costUsd: 0.01, durationMs: 1 };
      keepAside(store.dir, { ...base, conversationId: '00000000-0000-4000-8000-000000000001', conversation: { turns: 5 as unknown as [] } });
      keepAside(store.dir, { ...base, conversationId: '00000000-0000-4000-8000-000000000002', conversation: { turns: [{ role: 'user', content: 'kept' }] } });
      store.close();
      for (let open = 0; open < 2; open++) {
        const reopened = await openWorkspaceStore(folder);
        const conversations = Number((await reopened.store.get('SELECT count(*) AS n FROM conversations'))!.n);
        reopened.store.close();
        assert.equal(conversations, 2, 'the good one imported (once), the bad one not');
        if (open === 0) assert.ok(reopened.notices.some((n) => /could not import .*00000000-0000-4000-8000-000000000001\.json \(not a generation record\); it was moved to .*rejected/.test(n)), reopened.notices.join('\n'));
        else assert.deepEqual(reopened.notices, [], 'nothing is tried again at the next open');
      }
      assert.deepEqual(readdirSync(join(folder, '.promptloom', 'unstored', 'rejected')), ['00000000-0000-4000-8000-000000000001.json']);
    } finally {
      await api.stop();
    }
  });

  it('a record imported twice (a crash before its file was removed) is stored once', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'promptloom-keep-'));
    writeFileSync(join(folder, 't.prompt'), TEMPLATE);
    const api = await FakeMessagesApi.start({ apiKey: KEY });
    const { store } = await openWorkspaceStore(folder);
    try {
      const prepared = new Workspace(folder).prepareBatch({ file: join(folder, 't.prompt'), text: TEMPLATE, values: new Map(), count: 1 });
      assert.ok(prepared.ok);
      const outcome = await runRecordedBatch({ ...prepared.input, store, apiKey: KEY, baseURL: api.url });
      const id = outcome.conversations[0]!;
      const log = (await store.get('SELECT * FROM generation_logs WHERE conversation_id = ?', [id]))!;
      // The same record as a side file, as if the crash came after storing it and before removing it.
      keepAside(store.dir, {
        conversationId: id,
        templateId: Number(log.template_id),
        versionId: Number(log.version_id),
        batchId: outcome.batchId,
        parameters: {},
        model: String(log.model),
        attempt: 1,
        status: 'succeeded',
        inputTokens: 1,
        outputTokens: 1,
        costUsd: 0.5,
        durationMs: 1,
        conversation: { turns: [{ role: 'user', content: 'hi' }] },
      });
      store.close();
      const reopened = await openWorkspaceStore(folder);
      assert.equal(Number((await reopened.store.get('SELECT count(*) AS n FROM conversations'))!.n), 1);
      assert.equal(Number((await reopened.store.get('SELECT count(*) AS n FROM generation_logs'))!.n), 1);
      reopened.store.close();
    } finally {
      await api.stop();
    }
  });
});
