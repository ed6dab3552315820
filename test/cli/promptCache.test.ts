import { strict as assert } from 'node:assert';
import { Store } from '../../src/core/store';
import { DEFAULT_MODELS, answerCost } from '../../src/core/generation/engine';
import { cacheSavingUsd } from '../../src/core/generation/promptCache';
import { FakeMessagesApi } from '../fixtures/fakeMessagesApi';
import { runCli, workspace } from '../helpers/cli';

const KEY = 'sk-test-fake-key';
const SONNET = DEFAULT_MODELS.find((m) => m.alias === 'sonnet')!;

/** A system prompt of stable instructions, long enough (≈ 1,300 tokens) to be worth caching. */
const LONG_SYSTEM = Array.from({ length: 60 }, (_, i) => `Rule ${i + 1}: the advisor answers the client's question before asking one of their own.`).join(' ');

function template(system: string): string {
  return ['---', 'name: Cached', 'tier: scenario', `system: ${JSON.stringify(system)}`, 'variables:', '  topic: { type: text }', '---', 'Write a conversation about <<topic>>.', ''].join('\n');
}

interface Summary {
  succeeded: number;
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
  cacheWriteTokens: number;
  cacheReadTokens: number;
  savedUsd: number;
  batchId: string;
}

describe('prompt caching', function () {
  this.timeout(60_000);
  let api: FakeMessagesApi;
  beforeEach(async () => {
    // Slow enough answers that three workers sending together would each write the cache.
    api = await FakeMessagesApi.start({ apiKey: KEY, latencyMs: 80 });
  });
  afterEach(() => api.stop());

  const generate = (ws: string, count: number) =>
    runCli(['generate', 't.prompt', '--param', 'topic=bonds', '--count', String(count), '--concurrency', '3', '--model', 'sonnet', '--format', 'json'], ws, { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url });

  it('marks a long shared prefix: the first request writes the cache alone, the others read it, priced 1.25× and 0.1×', async () => {
    const ws = workspace({ 't.prompt': template(LONG_SYSTEM) });
    const result = await generate(ws, 6);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout.trim().split('\n').pop()!) as Summary;
    assert.equal(summary.succeeded, 6);
    assert.equal(api.stats.cacheMarked, 6, 'every request carried the mark');
    assert.ok(api.stats.cacheWriteTokens > 1024, 'the prefix is long enough to be cached');
    // The first request went alone: written once, read by the five after it.
    assert.equal(summary.cacheWriteTokens, api.stats.cacheWriteTokens);
    assert.equal(summary.cacheReadTokens, api.stats.cacheWriteTokens * 5);
    assert.equal(summary.cacheReadTokens, api.stats.cacheReadTokens);

    const cost = answerCost(SONNET, { inputTokens: summary.inputTokens, outputTokens: summary.outputTokens, cacheCreationInputTokens: summary.cacheWriteTokens, cacheReadInputTokens: summary.cacheReadTokens });
    assert.ok(Math.abs(summary.costUsd - cost) < 1e-6, `${summary.costUsd} is the cached price ${cost}`);
    const saved = cacheSavingUsd(SONNET, { cacheCreationInputTokens: summary.cacheWriteTokens, cacheReadInputTokens: summary.cacheReadTokens });
    assert.ok(saved > 0);
    assert.ok(Math.abs(summary.savedUsd - saved) < 1e-6);
    // Against the same requests uncached: what was paid plus what was saved.
    const uncached = ((summary.inputTokens + summary.cacheWriteTokens + summary.cacheReadTokens) * SONNET.inputPrice + summary.outputTokens * SONNET.outputPrice) / 1e6;
    assert.ok(Math.abs(summary.costUsd + summary.savedUsd - uncached) < 1e-6);

    // Each generation's log keeps its cache tokens and saving.
    const store = await Store.open(ws);
    const rows = await store.all('SELECT cache_creation_input_tokens AS w, cache_read_input_tokens AS r, saved_usd AS s FROM generation_logs WHERE batch_id = ? ORDER BY id', [summary.batchId]);
    store.close();
    assert.equal(rows.filter((r) => Number(r.w) > 0).length, 1);
    assert.equal(rows.filter((r) => Number(r.r) > 0).length, 5);
    assert.ok(Math.abs(rows.reduce((sum, r) => sum + Number(r.s), 0) - summary.savedUsd) < 1e-6);
  });

  it('Message Batches mark the prefix too: cache writes, reads and the saving at half price', async () => {
    const ws = workspace({ 't.prompt': template(LONG_SYSTEM) });
    const result = await runCli(['generate', 't.prompt', '--param', 'topic=bonds', '--count', '6', '--model', 'sonnet', '--batch-api', '--format', 'json'], ws, { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url });
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout.trim().split('\n').pop()!) as Summary & { mode: string };
    assert.equal(summary.mode, 'batch');
    assert.equal(api.stats.cacheMarked, 6);
    assert.ok(summary.cacheWriteTokens > 1024);
    assert.equal(summary.cacheReadTokens, summary.cacheWriteTokens * 5);
    const cost = answerCost(SONNET, { inputTokens: summary.inputTokens, outputTokens: summary.outputTokens, cacheCreationInputTokens: summary.cacheWriteTokens, cacheReadInputTokens: summary.cacheReadTokens }) / 2;
    assert.ok(Math.abs(summary.costUsd - cost) < 1e-6, `${summary.costUsd} is half the cached price ${cost}`);
    const saved = cacheSavingUsd(SONNET, { cacheCreationInputTokens: summary.cacheWriteTokens, cacheReadInputTokens: summary.cacheReadTokens }, 0.5);
    assert.ok(Math.abs(summary.savedUsd - saved) < 1e-6);
  });

  it('sends a short prefix unmarked, and reports no cache tokens', async () => {
    const ws = workspace({ 't.prompt': template('You write for a patient advisor.') });
    const result = await generate(ws, 3);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout.trim().split('\n').pop()!) as Summary;
    assert.equal(api.stats.cacheMarked, 0);
    assert.deepEqual([summary.cacheWriteTokens, summary.cacheReadTokens, summary.savedUsd], [0, 0, 0]);
    assert.ok(Math.abs(summary.costUsd - answerCost(SONNET, summary)) < 1e-6);
  });

  it('the dry run prices the batch with caching, and says when the prefix is too short to cache', async () => {
    const ws = workspace({ 't.prompt': template(LONG_SYSTEM), 'short.prompt': template('Be brief.') });
    const env = { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url };
    const dry = await runCli(['generate', 't.prompt', '--param', 'topic=bonds', '--count', '10', '--model', 'sonnet', '--dry-run', '--format', 'json'], ws, env);
    assert.equal(dry.code, 0, dry.stderr);
    const { estimate } = JSON.parse(dry.stdout.trim().split('\n').pop()!) as { estimate: { inputTokens: number; maxOutputTokens: number; costUsd: { high: number }; cache: { prefixTokens: number; writeTokens: number; readTokens: number; savedUsd: number } } };
    assert.equal(estimate.cache.writeTokens, estimate.cache.prefixTokens, 'written once');
    assert.equal(estimate.cache.readTokens, estimate.cache.prefixTokens * 9, 'read by the nine after it');
    const uncached = (estimate.inputTokens * SONNET.inputPrice + estimate.maxOutputTokens * SONNET.outputPrice) / 1e6;
    assert.ok(Math.abs(estimate.costUsd.high + estimate.cache.savedUsd - uncached) < 1e-5, 'the estimate is the uncached price less the saving');
    assert.equal(api.stats.requests, 0, 'nothing was sent');

    const text = await runCli(['generate', 'short.prompt', '--param', 'topic=bonds', '--count', '10', '--dry-run'], ws, env);
    assert.match(text.stdout, /prompt caching: off, the shared prefix \(\d+ tokens\) is under the model's minimum of 1024/);
  });

  it('a model whose minimum the prefix does not reach leaves it unmarked (haiku needs 2,048 tokens)', async () => {
    const ws = workspace({ 't.prompt': template(LONG_SYSTEM) });
    const result = await runCli(['generate', 't.prompt', '--param', 'topic=bonds', '--count', '2', '--model', 'haiku', '--format', 'json'], ws, { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(api.stats.cacheMarked, 0);
  });
});
