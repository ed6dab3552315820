import { strict as assert } from 'node:assert';
import { promptloom, workspace } from '../helpers/cli';

describe('promptloom simulate-retries', () => {
  it('one run: the contract’s JSON, defaults from the workspace’s settings', () => {
    const ws = workspace({ '.vscode/settings.json': JSON.stringify({ 'promptloom.retry.strategy': 'fixed', 'promptloom.retry.baseDelayMs': 250, 'promptloom.retry.maxAttempts': 3 }) });
    const r = promptloom(['simulate-retries', '--failure-rate', '1', '--format', 'json'], { cwd: ws });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {
      attempts: [
        { attempt: 1, outcome: 'failed', delayMs: 250 },
        { attempt: 2, outcome: 'failed', delayMs: 250 },
        { attempt: 3, outcome: 'failed' },
      ],
    });
    const flags = promptloom(['simulate-retries', '--strategy', 'linear', '--max-attempts', '2', '--base-delay-ms', '100', '--failure-rate', '1', '--format', 'json'], { cwd: ws });
    assert.deepEqual(JSON.parse(flags.stdout), { attempts: [{ attempt: 1, outcome: 'failed', delayMs: 100 }, { attempt: 2, outcome: 'failed' }] });
  });

  it('--runs N: the distribution, with exactly the contract’s keys; the same seed gives the same figures', () => {
    const ws = workspace({});
    const run = (seed: string) => promptloom(['simulate-retries', '--runs', '2000', '--failure-rate', '0.4', '--seed', seed, '--format', 'json'], { cwd: ws });
    const a = run('5');
    assert.equal(a.code, 0, a.stderr);
    const summary = JSON.parse(a.stdout) as { runs: number; successRate: number; attempts: { mean: number; max: number }; timeToSuccessMs: { p50: number; p95: number; max: number } };
    assert.deepEqual(Object.keys(summary), ['runs', 'successRate', 'attempts', 'timeToSuccessMs']);
    assert.deepEqual(Object.keys(summary.attempts), ['mean', 'max']);
    assert.deepEqual(Object.keys(summary.timeToSuccessMs), ['p50', 'p95', 'max']);
    assert.equal(summary.runs, 2000);
    assert.ok(Math.abs(summary.successRate - (1 - 0.4 ** 3)) < 0.03);
    assert.ok(summary.timeToSuccessMs.p95 >= summary.timeToSuccessMs.p50);
    assert.equal(run('5').stdout, a.stdout);
    assert.notEqual(run('6').stdout, a.stdout);
    assert.match(promptloom(['simulate-retries', '--runs', '100'], { cwd: ws }).stdout, /succeeded \d+\.\d%; attempts/);
  });

  it('a failure rate outside 0..1, or a bad strategy, is a usage error', () => {
    const ws = workspace({});
    for (const args of [['--failure-rate', '1.5'], ['--failure-rate', '-0.1'], ['--strategy', 'random'], ['--max-attempts', '0'], ['--runs', '0']]) {
      const r = promptloom(['simulate-retries', ...args], { cwd: ws });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  });
});
