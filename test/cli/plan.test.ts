import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { JUDGE_MAX_TOKENS } from '../../src/core/generation/judgeClient';
import { planKey } from '../../src/core/plan';
import { Store } from '../../src/core/store';
import { FakeMessagesApi } from '../fixtures/fakeMessagesApi';
import { runCli, workspace } from '../helpers/cli';

const KEY = 'sk-test-fake-key';
const TEMPLATE = [
  '---',
  'name: Advisor check-in',
  'tier: scenario',
  'personas: [Anxious Investor, Near Retiree, Young Saver]',
  'variables:',
  '  persona: { type: text }',
  '  channel: { type: dropdown, options: [phone, chat] }',
  '  topic: { type: text, examples: [bonds, "index funds, fees"] }',
  '---',
  'Write a conversation with <<persona>> over <<channel>> about <<topic>>.',
  '',
].join('\n');

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;

/** Conversations stored per value set (by the plan's key). */
async function storedPerCell(ws: string, batchId: string): Promise<Map<string, number>> {
  const store = await Store.open(ws);
  try {
    const counts = new Map<string, number>();
    for (const row of await store.all<{ parameters: string }>('SELECT parameters FROM conversations WHERE batch_id = ?', [batchId])) {
      const key = planKey(JSON.parse(row.parameters) as Record<string, unknown>);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  } finally {
    store.close();
  }
}

describe('promptloom generate with a value plan', function () {
  this.timeout(90_000);
  let api: FakeMessagesApi;
  beforeEach(async () => {
    api = await FakeMessagesApi.start({ apiKey: KEY });
  });
  afterEach(() => api.stop());

  it('--dry-run prints the plan and the estimate, counting each distinct prompt once, and sends no Messages request', async () => {
    const ws = workspace({ 't.prompt': TEMPLATE });
    const r = await runCli(['generate', 't.prompt', '--vary', 'persona,channel', '--param', 'topic=bonds', '--count', '12', '--dry-run', '--format', 'json'], ws, { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url });
    assert.equal(r.code, 0, r.stderr);
    const dry = lastJson(r.stdout) as { plan: { values: Record<string, unknown>; count: number }[]; conversations: number; estimate: { inputTokens: number; maxOutputTokens: number; costUsd: { low: number; high: number } } };
    assert.deepEqual(Object.keys(dry), ['plan', 'conversations', 'estimate', 'mode', 'otherMode']);
    const modes = dry as unknown as { mode: string; otherMode: { mode: string; costUsd: { low: number; high: number } } };
    assert.equal(modes.mode, 'direct');
    assert.equal(modes.otherMode.mode, 'batch');
    assert.ok(Math.abs(modes.otherMode.costUsd.high - dry.estimate.costUsd.high / 2) < 1e-6, 'Message Batches at half price');
    assert.deepEqual(Object.keys(dry.estimate), ['inputTokens', 'maxOutputTokens', 'costUsd', 'cache']);
    assert.equal(dry.conversations, 12);
    assert.equal(dry.plan.length, 6, '3 personas × 2 channels');
    for (const cell of dry.plan) assert.equal(cell.count, 2, 'balanced: 12 over 6 combinations');
    assert.equal(api.stats.requests, 0, 'no Messages request');
    assert.equal(api.stats.countTokens, 6, 'one count per distinct prompt');
    assert.equal(dry.estimate.maxOutputTokens, 12 * 4096);
    assert.ok(dry.estimate.costUsd.low > 0 && dry.estimate.costUsd.low < dry.estimate.costUsd.high);
    // Without a key, the dry run still works, estimating locally.
    const offline = await runCli(['generate', 't.prompt', '--vary-all', '--count', '5', '--dry-run'], ws, {});
    assert.equal(offline.code, 0, offline.stderr);
    assert.match(offline.stdout, /persona +channel +topic +count/);
    assert.match(offline.stdout, /estimated here/);
  });

  it('--dry-run with promptloom.quality.judge on gives the judge’s cost as its own key and line: one call per conversation', async () => {
    const ws = workspace({ 't.prompt': TEMPLATE, '.vscode/settings.json': JSON.stringify({ 'promptloom.quality.judge': 'on' }) });
    const env = { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url };
    const r = await runCli(['generate', 't.prompt', '--vary', 'persona,channel', '--param', 'topic=bonds', '--count', '12', '--dry-run', '--format', 'json'], ws, env);
    assert.equal(r.code, 0, r.stderr);
    const dry = lastJson(r.stdout) as { estimate: { costUsd: { low: number; high: number }; judge: { model: string; calls: number; maxInputTokens: number; maxOutputTokens: number; costUsd: { low: number; high: number } } } };
    assert.deepEqual(Object.keys(dry.estimate), ['inputTokens', 'maxOutputTokens', 'costUsd', 'cache', 'judge']);
    const judge = dry.estimate.judge;
    assert.deepEqual(Object.keys(judge), ['model', 'calls', 'maxInputTokens', 'maxOutputTokens', 'costUsd']);
    assert.match(judge.model, /^claude-/);
    assert.equal(judge.calls, 12, 'one judge call per conversation');
    assert.equal(judge.maxOutputTokens, 12 * JUDGE_MAX_TOKENS);
    assert.ok(judge.maxInputTokens >= 12 * 4096, 'each call reads a conversation of up to max_tokens');
    assert.ok(judge.costUsd.low > 0 && judge.costUsd.low < judge.costUsd.high, JSON.stringify(judge.costUsd));
    assert.equal(api.stats.requests, 0, 'no Messages request, and no judge call');
    assert.equal(api.stats.judgeRequests.length, 0);
    const text = await runCli(['generate', 't.prompt', '--vary', 'persona,channel', '--param', 'topic=bonds', '--count', '12', '--dry-run'], ws, env);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^judge ${judge.model}: 12 calls \\(one per conversation\\), estimated cost \\$${judge.costUsd.low.toFixed(4)}–\\$${judge.costUsd.high.toFixed(4)} on top$`, 'm'));
  });

  it('a balanced plan stores each cell’s values with its conversations, and the summary reports coverage per cell', async () => {
    const ws = workspace({ 't.prompt': TEMPLATE });
    const r = await runCli(['generate', 't.prompt', '--vary', 'persona,topic', '--param', 'channel=chat', '--count', '7', '--format', 'json'], ws, { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url });
    assert.equal(r.code, 0, r.stderr);
    const summary = lastJson(r.stdout) as { batchId: string; coverage: { values: Record<string, unknown>; requested: number; succeeded: number }[] };
    assert.equal(summary.coverage.length, 6);
    assert.deepEqual(summary.coverage.map((c) => c.requested).sort(), [1, 1, 1, 1, 1, 2]);
    for (const c of summary.coverage) assert.equal(c.succeeded, c.requested);
    const stored = await storedPerCell(ws, summary.batchId);
    for (const c of summary.coverage) assert.equal(stored.get(planKey(c.values)), c.requested, JSON.stringify(c.values));
  });

  it('kill -9 in the middle of a plan, then resume: exactly the plan, cell by cell', async () => {
    const slow = await FakeMessagesApi.start({ apiKey: KEY, latencyMs: 120 });
    try {
      const ws = workspace({ 't.prompt': TEMPLATE });
      const env = { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: slow.url };
      const dry = lastJson((await runCli(['generate', 't.prompt', '--vary', 'persona,channel,topic', '--sample', 'grid', '--count', '2', '--dry-run', '--format', 'json'], ws, env)).stdout) as { plan: { values: Record<string, unknown>; count: number }[] };
      assert.equal(dry.plan.length, 12);
      const killed = await runCli(['generate', 't.prompt', '--vary', 'persona,channel,topic', '--sample', 'grid', '--count', '2', '--concurrency', '2', '--format', 'json'], ws, env, (child) => {
        const timer = setInterval(() => {
          if (slow.stats.accepted >= 7) {
            clearInterval(timer);
            child.kill('SIGKILL');
          }
        }, 5);
      });
      assert.equal(killed.code, null, 'killed');
      const resumed = await runCli(['resume', '--format', 'json'], ws, env);
      assert.equal(resumed.code, 0, resumed.stderr);
      const summary = lastJson(resumed.stdout) as { batchId: string };
      const stored = await storedPerCell(ws, summary.batchId);
      assert.equal(stored.size, 12);
      for (const cell of dry.plan) assert.equal(stored.get(planKey(cell.values)), 2, JSON.stringify(cell.values));
    } finally {
      await slow.stop();
    }
  });

  it('a values file: quoted commas are values; a bad row is named, with its variable, before anything is sent', async () => {
    const ws = workspace({ 't.prompt': TEMPLATE });
    writeFileSync(join(ws, 'good.csv'), 'persona,channel,topic\n"Smith, John",phone,"tax ""loss"" harvesting"\nNear Retiree,chat,bonds\n');
    writeFileSync(join(ws, 'bad.csv'), 'persona,channel,topic\nA,phone,x\nB,fax,y\n');
    const env = { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url };
    const bad = await runCli(['generate', 't.prompt', '--values-file', 'bad.csv', '--count', '2'], ws, env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /line 3: channel: "fax" is not one of the options/);
    assert.equal(api.stats.requests + api.stats.countTokens, 0);
    const good = await runCli(['generate', 't.prompt', '--values-file', 'good.csv', '--count', '2', '--format', 'json'], ws, env);
    assert.equal(good.code, 0, good.stderr);
    const summary = lastJson(good.stdout) as { coverage: { values: Record<string, unknown>; requested: number }[] };
    assert.deepEqual(
      summary.coverage.map((c) => [c.values.persona, c.values.topic, c.requested]),
      [
        ['Smith, John', 'tax "loss" harvesting', 2],
        ['Near Retiree', 'bonds', 2],
      ],
    );
    for (const [args, message] of [
      [['--values-file', 'good.csv', '--vary', 'persona'], /--values-file gives every value set itself/],
      [['--sample', 'grid'], /--sample and --seed need --vary/],
      [['--vary', 'persona', '--vary-all'], /choose one/],
      [['--values-file', 'x.txt'], /expected a \.csv or \.jsonl file/],
    ] as const) {
      const r = await runCli(['generate', 't.prompt', ...args], ws, env);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });
});
