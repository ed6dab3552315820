import { strict as assert } from 'node:assert';
import { scoreConversation, toQualityResult } from '../../src/core/quality';
import { GOOD, REPETITIVE } from '../fixtures/conversations';
import { FakeMessagesApi } from '../fixtures/fakeMessagesApi';
import { runCli, workspace } from '../helpers/cli';

const KEY = 'sk-test-fake-key';

describe('promptloom score --judge', function () {
  this.timeout(60_000);
  let api: FakeMessagesApi;
  beforeEach(async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY });
  });
  afterEach(() => api.stop());

  it('adds "judge": { score, criteria, reason, model, costUsd } and the judge’s part of the breakdown', async () => {
    const ws = workspace({ 'c.json': JSON.stringify(GOOD) });
    const run = await runCli(['score', 'c.json', '--judge', '--format', 'json'], ws, { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim().split('\n').length, 1);
    const result = JSON.parse(run.stdout) as Record<string, unknown> & { judge: Record<string, unknown>; breakdown: Record<string, unknown>; overall: number };
    assert.deepEqual(Object.keys(result), ['overall', 'breakdown', 'recommendations', 'judge']);
    assert.deepEqual(Object.keys(result.judge), ['score', 'criteria', 'reason', 'model', 'costUsd']);
    assert.deepEqual(Object.keys(result.judge.criteria as object), ['answersQuestion', 'consistency', 'specificity', 'staysInRole', 'noRepetition', 'naturalClose']);
    assert.equal(result.judge.model, 'claude-haiku-5-5', 'the cheapest model of the table by default');
    assert.equal(typeof result.judge.score, 'number');
    assert.ok((result.judge.costUsd as number) > 0);
    assert.equal(typeof result.judge.reason, 'string');
    assert.deepEqual(Object.keys(result.breakdown), ['turnCount', 'length', 'structure', 'confidence', 'judge']);
    assert.equal(result.overall, Math.min(toQualityResult(scoreConversation(GOOD)).overall, result.judge.score as number));
    assert.equal(api.stats.judgeRequests.length, 1);
  });

  it('judges a .jsonl file line by line, honours --api-base-url and --judge-model, and a bad line is reported in place', async () => {
    const ws = workspace({ 'many.jsonl': `${JSON.stringify(GOOD)}\nnot json\n${JSON.stringify(REPETITIVE)}\n` });
    const run = await runCli(['score', 'many.jsonl', '--judge', '--judge-model', 'sonnet', '--api-base-url', api.url, '--format', 'json'], ws, { ANTHROPIC_API_KEY: KEY });
    assert.equal(run.code, 1, 'a line holds no conversation');
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { overall?: number; judge?: { model: string; score: number }; error?: string });
    assert.equal(lines.length, 3);
    assert.equal(lines[0]!.judge!.model, 'claude-sonnet-5-5');
    assert.match(lines[1]!.error!, /^line 2: not JSON/);
    assert.ok(lines[2]!.judge!.score < lines[0]!.judge!.score, 'the repetitive one grades lower');
    assert.equal(api.stats.judgeRequests.length, 2);
  });

  it('without ANTHROPIC_API_KEY it is a usage error in one line; without --judge no API call is ever made', async () => {
    const ws = workspace({ 'c.json': JSON.stringify(GOOD) });
    const noKey = await runCli(['score', 'c.json', '--judge'], ws, { ANTHROPIC_BASE_URL: api.url });
    assert.equal(noKey.code, 2);
    assert.equal(noKey.stdout, '');
    assert.equal(noKey.stderr.trim().split('\n').length, 1);
    assert.match(noKey.stderr, /ANTHROPIC_API_KEY/);
    const plain = await runCli(['score', 'c.json', '--format', 'json'], ws, { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url });
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal((JSON.parse(plain.stdout) as { judge?: unknown }).judge, undefined);
    assert.equal(api.stats.requests + api.stats.countTokens, 0, 'the fake API saw no request');
  });

  it('a judge that cannot grade leaves "judge": null, says why, and exits 1', async () => {
    const ws = workspace({ 'c.json': JSON.stringify(GOOD), '.vscode/settings.json': '{ "promptloom.retry.maxAttempts": 1 }' });
    api.script({ kind: 'status', status: 500, type: 'api_error' });
    const run = await runCli(['score', 'c.json', '--judge', '--format', 'json'], ws, { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url });
    assert.equal(run.code, 1);
    const result = JSON.parse(run.stdout) as { judge: unknown; overall: number };
    assert.equal(result.judge, null);
    assert.equal(result.overall, toQualityResult(scoreConversation(GOOD)).overall);
    assert.match(run.stderr, /the judge could not grade 1 conversation/);
  });
});

describe('promptloom generate with promptloom.quality.judge on', function () {
  this.timeout(60_000);

  it('judges each stored conversation, stores the combined score, and reports judge cost apart', async () => {
    const api = await FakeMessagesApi.start({ apiKey: KEY });
    try {
      const ws = workspace({ 't.prompt': '---\nname: Judged\n---\nWrite a conversation about bonds.\n', '.vscode/settings.json': '{ "promptloom.quality.judge": "on" }' });
      api.script({ kind: 'ok' }, { kind: 'poor' });
      const run = await runCli(['generate', 't.prompt', '--count', '2', '--concurrency', '1', '--format', 'json'], ws, { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url });
      assert.equal(run.code, 0, run.stderr);
      const summary = JSON.parse(run.stdout.trim().split('\n').pop()!) as { costUsd: number; judge: { model: string; judged: number; notJudged: number; costUsd: number } };
      assert.deepEqual({ ...summary.judge, costUsd: summary.judge.costUsd > 0 }, { model: 'claude-haiku-5-5', judged: 2, notJudged: 0, costUsd: true });
      assert.equal(api.stats.judgeRequests.length, 2);
      const stats = await runCli(['stats', '--format', 'json'], ws, {});
      const totals = (JSON.parse(stats.stdout) as { totals: { generations: number; costUsd: number } }).totals;
      assert.equal(totals.generations, 2, 'judge calls are not generations');
      assert.ok(Math.abs(totals.costUsd - summary.costUsd) < 1e-9);
    } finally {
      await api.stop();
    }
  });
});
