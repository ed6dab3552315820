import { strict as assert } from 'node:assert';
import { estimateJudge } from '../../../src/core/generation/estimate';
import { JUDGE_MAX_TOKENS } from '../../../src/core/generation/judgeClient';

// The judge's cost before a batch: one call per conversation, by the rule in docs/quality.md.
describe('the judge’s cost estimate', () => {
  const model = { id: 'claude-judge-test', inputPrice: 1, outputPrice: 5, windowMs: 60_000, requestsPerWindow: 50 };

  it('low: the rubric cached after the first call, conversations as long as before, no output; high: max_tokens, no cache, the judge’s max output', () => {
    const e = estimateJudge(3, { model, maxTokens: 1000, pastOutputTokens: 400 });
    const r = e.rubricTokens;
    assert.ok(r > 100, `a rubric of ${r} tokens`);
    assert.equal(e.calls, 3);
    assert.equal(e.maxOutputTokens, 3 * JUDGE_MAX_TOKENS);
    // Per call: the conversation plus 60 tokens of framing.
    assert.ok(Math.abs(e.costUsd.low - (r * 1.25 + 2 * r * 0.1 + 3 * (400 + 60)) / 1e6) < 1e-6, JSON.stringify(e));
    assert.ok(Math.abs(e.costUsd.high - (3 * (r + 1000 + 60) + 5 * 3 * JUDGE_MAX_TOKENS) / 1e6) < 1e-6, JSON.stringify(e));
  });

  it('without earlier conversations the low end reads the rubric and the framing only; nothing to grade costs nothing', () => {
    const none = estimateJudge(2, { model, maxTokens: 1000, pastOutputTokens: null });
    assert.ok(Math.abs(none.costUsd.low - (none.rubricTokens * 1.35 + 120) / 1e6) < 1e-6);
    const zero = estimateJudge(0, { model, maxTokens: 1000, pastOutputTokens: null });
    assert.deepEqual([zero.calls, zero.costUsd.low, zero.costUsd.high], [0, 0, 0]);
  });
});
