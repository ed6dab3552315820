import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runRecordedBatch } from '../../../src/core/generation/batch';
import { limiterFor } from '../../../src/core/generation/rateLimiter';
import { createClient } from '../../../src/core/generation/claude';
import { CACHE_READ_MULTIPLIER, CACHE_WRITE_MULTIPLIER, DEFAULT_MODELS, costUsd, type Attempt } from '../../../src/core/generation/engine';
import { judgeConversations } from '../../../src/core/generation/judgeClient';
import { DEFAULT_SETTINGS } from '../../../src/core/generation/settings';
import { computeStats } from '../../../src/core/analytics/templates';
import { scoreConversation } from '../../../src/core/quality';
import { JUDGE_TOOL_NAME, withJudge } from '../../../src/core/quality/judge';
import { Workspace, openWorkspaceStore } from '../../../src/core/workspace';
import { GOOD } from '../../fixtures/conversations';
import { FakeMessagesApi } from '../../fixtures/fakeMessagesApi';

const KEY = 'sk-test-fake-key';
const HAIKU = DEFAULT_MODELS.find((m) => m.alias === 'haiku')!;
const RETRY = { strategy: 'fixed' as const, baseDelayMs: 1, maxDelayMs: 1, maxAttempts: 2 };

/** GOOD with template residue in turn 4 and its last answer cut mid-sentence. */
const CORRUPTED = {
  turns: GOOD.turns.map((t, i) =>
    i === 3 ? { ...t, content: `${t.content} As your <<persona>> advisor I agree.` } : i === GOOD.turns.length - 1 ? { ...t, content: t.content.slice(0, 80).trimEnd() } : t,
  ),
};

describe('the judge, through the real SDK against the fake Messages API', function () {
  this.timeout(60_000);
  let api: FakeMessagesApi;
  beforeEach(async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY });
  });
  afterEach(() => api.stop());

  it('forces the rubric tool at temperature 0 with the rubric cached, records the cost with its cache tokens, and finds the turns at fault', async () => {
    const attempts: Attempt[] = [];
    api.script({ kind: 'status', status: 500, type: 'api_error' }); // retried like a generation
    const { outcomes, summary } = await judgeConversations(
      [
        { key: 'clean', turns: GOOD.turns },
        { key: 'corrupted', turns: CORRUPTED.turns },
      ],
      { client: createClient({ apiKey: KEY, baseURL: api.url, timeoutMs: 10_000 }), model: HAIKU, limiter: limiterFor(DEFAULT_SETTINGS, HAIKU), retry: RETRY, concurrency: 1, onAttempt: (a) => void attempts.push(a) },
    );
    assert.equal(summary.succeeded, 2);
    assert.equal(summary.retries, 1);
    assert.equal(api.stats.judgeRequests.length, 2);
    for (const body of api.stats.judgeRequests) {
      assert.equal(body.temperature, 0);
      assert.equal(body.model, HAIKU.id);
      assert.deepEqual(body.tool_choice, { type: 'tool', name: JUDGE_TOOL_NAME });
      const tools = body.tools as { name: string; cache_control?: unknown }[];
      assert.deepEqual(tools.map((t) => [t.name, t.cache_control]), [[JUDGE_TOOL_NAME, { type: 'ephemeral' }]]);
      const system = body.system as { text: string; cache_control?: unknown }[];
      assert.deepEqual(system[0]!.cache_control, { type: 'ephemeral' });
      const messages = body.messages as { role: string; content: string }[];
      assert.equal(messages.length, 1);
      assert.match(messages[0]!.content, /\[turn 1\] User:\nMy portfolio dropped/);
      assert.doesNotMatch(system[0]!.text, /portfolio/, 'the conversation is not in the cached prefix');
    }
    const [clean, corrupted] = outcomes;
    if (!clean?.ok || !corrupted?.ok) return assert.fail('both graded');
    assert.ok(corrupted.part.score < 6 && clean.part.score > 8, `${clean.part.score} vs ${corrupted.part.score}`);
    assert.deepEqual(corrupted.part.turnsAtFault.map((f) => f.turn), [4, 12]);
    const findings = withJudge(scoreConversation(CORRUPTED), corrupted.part).findings.filter((f) => f.part === 'judge');
    assert.deepEqual(findings.map((f) => f.turn), [3, 11]);
    // The first call writes the rubric to the cache, the second reads it; both priced accordingly.
    const ok = attempts.filter((a) => a.status === 'succeeded');
    assert.deepEqual(ok.map((a) => [a.cacheCreationInputTokens, a.cacheReadInputTokens]), [[600, 0], [0, 600]]);
    assert.deepEqual(attempts.map((a) => [a.key, a.status]), [['clean', 'failed'], ['corrupted', 'succeeded'], ['clean', 'succeeded']]);
    for (const a of ok) {
      const expected = costUsd(HAIKU, a.inputTokens + (a.cacheCreationInputTokens ?? 0) * CACHE_WRITE_MULTIPLIER + (a.cacheReadInputTokens ?? 0) * CACHE_READ_MULTIPLIER, a.outputTokens);
      assert.ok(Math.abs(a.costUsd - expected) < 1e-12);
    }
    assert.equal(clean.part.costUsd, ok.find((a) => a.key === 'clean')!.costUsd);
  });

  it('generation with the judge on stores the combined score, records judge cost apart from generations, and keeps conversations the judge could not grade', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'promptloom-judge-'));
    const template = '---\nname: Judged\ntier: template\n---\nWrite a conversation about bonds.\n';
    writeFileSync(join(folder, 't.prompt'), template);
    const { store } = await openWorkspaceStore(folder);
    try {
      const prepared = new Workspace(folder, [{ concurrency: 1, judge: 'on', maxAttempts: 1 }]).prepareBatch({ file: join(folder, 't.prompt'), text: template, values: new Map(), count: 3 });
      assert.ok(prepared.ok);
      // Three generations answer; then the second judge call fails for good (one attempt allowed).
      api.script({ kind: 'ok' }, { kind: 'poor' }, { kind: 'ok' }, { kind: 'ok' }, { kind: 'status', status: 500, type: 'api_error' }, { kind: 'ok' });
      const outcome = await runRecordedBatch({ ...prepared.input, store, apiKey: KEY, baseURL: api.url });
      assert.equal(outcome.summary.succeeded, 3);
      assert.equal(api.stats.judgeRequests.length + 1, 3, 'one judge call per conversation (one failed before answering)');
      assert.equal(outcome.judge!.model, HAIKU.id);
      assert.equal(outcome.judge!.judged.length, 2);
      assert.equal(outcome.judge!.notJudged, 1);

      const rows = await store.all('SELECT c.id, c.status, c.status_reason, c.quality, q.overall, q.breakdown FROM conversations c JOIN quality_scores q ON q.conversation_id = c.id ORDER BY c.created_at, c.rowid');
      assert.equal(rows.length, 3, 'every paid conversation is stored');
      const judged = rows.filter((r) => (JSON.parse(String(r.breakdown)) as { judge?: unknown }).judge);
      assert.equal(judged.length, 2);
      for (const r of judged) {
        const b = JSON.parse(String(r.breakdown)) as { judge: { score: number; criteria: Record<string, number>; model: string } };
        assert.equal(b.judge.model, HAIKU.id);
        assert.equal(Object.keys(b.judge.criteria).length, 6);
        assert.ok(Number(r.overall) <= b.judge.score, 'the overall is at most the judge’s part');
        assert.equal(Number(r.quality), Number(r.overall), 'the copy on conversations follows');
      }
      const unjudged = rows.find((r) => !(JSON.parse(String(r.breakdown)) as { judge?: unknown }).judge)!;
      assert.match(String(unjudged.status_reason), /not judged \(server_error\): the score is the scorer's alone/);
      // The poor one: repeated answers, flagged, with the judge's reason.
      const poor = rows[1]!;
      assert.equal(poor.status, 'needs_revision');

      // Judge cost: its own table, never generations.
      const calls = await store.all('SELECT status, cost_usd, cache_creation_input_tokens, cache_read_input_tokens FROM judge_calls ORDER BY id');
      assert.deepEqual(calls.map((c) => c.status), ['succeeded', 'failed', 'succeeded']);
      const judgeCost = calls.reduce((s, c) => s + Number(c.cost_usd), 0);
      assert.ok(Math.abs(judgeCost - outcome.judge!.costUsd) < 1e-12 && judgeCost > 0);
      assert.equal(Number((await store.get('SELECT count(*) AS n FROM generation_logs'))!.n), 3);
      const totals = (await computeStats(store)).totals;
      assert.equal(totals.generations, 3);
      assert.ok(Math.abs(totals.costUsd - outcome.summary.costUsd) < 1e-9, 'stats totals do not count judge calls');
    } finally {
      store.close();
    }
  });

  it('with the judge off, no judge call is made', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'promptloom-judge-'));
    const template = '---\nname: Plain\n---\nWrite a conversation about bonds.\n';
    const { store } = await openWorkspaceStore(folder);
    try {
      const prepared = new Workspace(folder).prepareBatch({ file: join(folder, 't.prompt'), text: template, values: new Map(), count: 2 });
      assert.ok(prepared.ok);
      const outcome = await runRecordedBatch({ ...prepared.input, store, apiKey: KEY, baseURL: api.url });
      assert.equal(outcome.judge, undefined);
      assert.equal(api.stats.judgeRequests.length, 0);
      assert.equal(Number((await store.get('SELECT count(*) AS n FROM judge_calls'))!.n), 0);
    } finally {
      store.close();
    }
  });
});
