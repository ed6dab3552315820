import { strict as assert } from 'node:assert';
import { RECORD_TOOL_CHARS, messageParams } from '../../../src/core/generation/claude';
import { DEFAULT_MODELS } from '../../../src/core/generation/engine';
import { cacheSavingUsd, cachesPrefix, prefixTokens } from '../../../src/core/generation/promptCache';
import { readSettings } from '../../../src/core/generation/settings';

const SONNET = DEFAULT_MODELS.find((m) => m.alias === 'sonnet')!;
const HAIKU = DEFAULT_MODELS.find((m) => m.alias === 'haiku')!;

describe('prompt caching: what is marked, and what it saves', () => {
  it('marks the prefix from the model minimum up, not below', () => {
    const justEnough = 'x'.repeat(SONNET.minCacheableTokens! * 4 - RECORD_TOOL_CHARS);
    assert.equal(prefixTokens(RECORD_TOOL_CHARS, justEnough), SONNET.minCacheableTokens);
    assert.equal(cachesPrefix(SONNET, RECORD_TOOL_CHARS, justEnough), true);
    assert.equal(cachesPrefix(SONNET, RECORD_TOOL_CHARS, justEnough.slice(4)), false);
    assert.equal(cachesPrefix(HAIKU, RECORD_TOOL_CHARS, justEnough), false, 'haiku needs a longer prefix');
    assert.equal(cachesPrefix(SONNET, RECORD_TOOL_CHARS, undefined), false);
  });

  it('puts one breakpoint at the end of the prefix: on the system prompt, or on the tool without one', () => {
    const base = { model: SONNET.id, prompt: 'Write it.', maxTokens: 100 };
    const marked = messageParams({ ...base, system: 'Stable instructions.', cachePrefix: true });
    assert.deepEqual(marked.system, [{ type: 'text', text: 'Stable instructions.', cache_control: { type: 'ephemeral' } }]);
    assert.equal(JSON.stringify(marked.tools).includes('cache_control'), false);
    const toolOnly = messageParams({ ...base, cachePrefix: true });
    assert.deepEqual((toolOnly.tools![0] as { cache_control?: unknown }).cache_control, { type: 'ephemeral' });
    // A system prompt that rendered empty: the API refuses an empty text block, so the tool is marked.
    const empty = messageParams({ ...base, system: '', cachePrefix: true });
    assert.equal(empty.system, '');
    assert.deepEqual((empty.tools![0] as { cache_control?: unknown }).cache_control, { type: 'ephemeral' });
    const plain = messageParams({ ...base, system: 'Stable instructions.' });
    assert.equal(plain.system, 'Stable instructions.');
    assert.equal(JSON.stringify(plain).includes('cache_control'), false);
    assert.equal(plain.messages[0]!.content, 'Write it.', 'the values stay in the message, after the cached prefix');
  });

  it('saves 0.9 of the input price per token read, loses 0.25 per token written, halved again by a batch discount', () => {
    assert.ok(Math.abs(cacheSavingUsd(SONNET, { cacheReadInputTokens: 1_000_000 }) - 0.9 * SONNET.inputPrice) < 1e-9);
    assert.ok(Math.abs(cacheSavingUsd(SONNET, { cacheCreationInputTokens: 1_000_000 }) + 0.25 * SONNET.inputPrice) < 1e-9);
    assert.ok(Math.abs(cacheSavingUsd(SONNET, { cacheReadInputTokens: 1_000_000 }, 0.5) - 0.45 * SONNET.inputPrice) < 1e-9);
  });

  it('the model table takes minCacheableTokens, keeping the built-in minimum of a known model', () => {
    const { settings, problems } = readSettings({ 'promptloom.models': [{ id: 'claude-haiku-5-5', alias: 'haiku', inputPrice: 1, outputPrice: 5 }, { id: 'claude-x', inputPrice: 2, outputPrice: 4, minCacheableTokens: 512 }] });
    assert.deepEqual(problems, []);
    assert.equal(settings.models![0]!.minCacheableTokens, HAIKU.minCacheableTokens);
    assert.equal(settings.models![1]!.minCacheableTokens, 512);
    assert.notDeepEqual(readSettings({ 'promptloom.models': [{ id: 'claude-x', inputPrice: 2, outputPrice: 4, minCacheableTokens: 0 }] }).problems, []);
  });
});
