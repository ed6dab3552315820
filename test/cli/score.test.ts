import { strict as assert } from 'node:assert';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scoreConversation, toQualityResult } from '../../src/core/quality';
import { BROKEN_STRUCTURE, GOOD, REPETITIVE } from '../fixtures/conversations';
import { promptloom, workspace } from '../helpers/cli';

const noStack = (text: string) => assert.doesNotMatch(text, /\n\s+at .+:\d+:\d+/);

describe('promptloom score', () => {
  it('scores a .json conversation: the contract JSON, or a readable breakdown', () => {
    const ws = workspace({ 'bad.json': JSON.stringify(REPETITIVE, null, 2) });
    const json = promptloom(['score', join(ws, 'bad.json'), '--format', 'json']);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), toQualityResult(scoreConversation(REPETITIVE)));
    assert.equal(json.stdout.trim().split('\n').length, 1);

    const text = promptloom(['score', join(ws, 'bad.json')]);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /^quality \d\.\d \/ 10\n {2}turn count +10\.0 {2}8 turns; target 8–16\n/);
    assert.match(text.stdout, /confidence +\d\.\d {2}low/);
    // The repeated answer is a defect, and the defect comes first.
    assert.match(text.stdout, /recommendations:\n {2}- turn 4 \(assistant\) nearly repeats turn 2; regenerate the repeated turns\n {2}- turns 2, 4, 6: vary the wording/);
  });

  it('scores a .jsonl file line by line, in order, against the chosen tier', () => {
    const lines = [GOOD, REPETITIVE, BROKEN_STRUCTURE].map((c) => JSON.stringify(c));
    const ws = workspace({ 'many.jsonl': lines.join('\r\n') + '\r\n' });
    const run = promptloom(['score', join(ws, 'many.jsonl'), '--tier', 'scenario', '--format', 'json']);
    assert.equal(run.code, 0, run.stderr);
    const results = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { overall: number });
    assert.deepEqual(
      results,
      [GOOD, REPETITIVE, BROKEN_STRUCTURE].map((c) => toQualityResult(scoreConversation(c, 'scenario'))),
    );
    const text = promptloom(['score', join(ws, 'many.jsonl')]);
    assert.deepEqual(
      text.stdout.trim().split('\n').map((l) => l.split(':')[0]),
      ['line 1', 'line 2', 'line 3'],
    );
  });

  it('reads standard input as one conversation or as JSONL', () => {
    const one = promptloom(['score', '-', '--format', 'json'], { input: JSON.stringify(GOOD, null, 2) });
    assert.equal(one.code, 0, one.stderr);
    assert.equal((JSON.parse(one.stdout) as { overall: number }).overall, 10);
    const many = promptloom(['score', '-', '--format', 'json'], { input: `${JSON.stringify(GOOD)}\n${JSON.stringify(REPETITIVE)}\n` });
    assert.equal(many.stdout.trim().split('\n').length, 2);
  });

  it('reads exported openai and sharegpt lines as conversations', () => {
    const openai = { messages: [{ role: 'system', content: 'You are an advisor.' }, ...GOOD.turns] };
    const sharegpt = { conversations: GOOD.turns.map((t) => ({ from: t.role === 'user' ? 'human' : 'gpt', value: t.content })) };
    const run = promptloom(['score', '-', '--format', 'json'], { input: `${JSON.stringify(openai)}\n${JSON.stringify(sharegpt)}\n` });
    assert.deepEqual(
      run.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { overall: number }).overall),
      [10, 10],
    );
  });

  it('reports lines that are not JSON in place, carries on, and exits 1; bad paths exit 2', () => {
    const ws = workspace({
      'mixed.jsonl': `${JSON.stringify(GOOD)}\n{"turns": [\n\n[1, 2]\n42\n${JSON.stringify(REPETITIVE)}`,
      'array.json': '[{"turns": []}]',
      'prose.json': 'hello',
      'number.json': '42',
    });
    const run = promptloom(['score', join(ws, 'mixed.jsonl'), '--format', 'json']);
    assert.equal(run.code, 1);
    const out = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    // One output line per input line, the last one read without a newline after it.
    assert.deepEqual(
      out.map((o) => (o.error ? `${o.line}: ${String(o.error).replace(/ \(.*\)$/, '')}` : 'scored')),
      ['scored', '2: line 2: not JSON', '3: line 3: empty; each line holds one conversation', '4: line 4: not a conversation: expected an object with "turns"', '5: line 5: not a conversation: expected an object with "turns"', 'scored'],
    );
    assert.match(run.stderr, /4 lines hold no conversation/);

    for (const [args, code, message] of [
      [['score', join(ws, 'array.json')], 1, /holds a JSON array; put one conversation per line in a \.jsonl file/],
      [['score', join(ws, 'prose.json')], 1, /not JSON/],
      [['score', join(ws, 'number.json')], 1, /holds no conversation: expected an object with "turns"/],
      [['score', join(ws, 'missing.jsonl')], 2, /cannot read .*missing\.jsonl/],
      [['score', ws + '/x.jsonl', '--tier', 'epic'], 2, /--tier/],
    ] as [string[], number, RegExp][]) {
      const r = promptloom(args);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      noStack(r.stderr);
    }
  });

  it('survives hostile conversations: deep nesting, long question-mark runs, huge turns', () => {
    const deep = `{"turns":[{"role":${'['.repeat(100_000)}${']'.repeat(100_000)},"content":"x"}]}`;
    const questions = { turns: [...GOOD.turns.slice(0, 2), { role: 'user', content: `${'?'.repeat(1_000_000)}x` }] };
    const ws = workspace({ 'deep.json': deep, 'questions.json': JSON.stringify(questions) });
    const nested = promptloom(['score', join(ws, 'deep.json'), '--format', 'json']);
    assert.equal(nested.code, 0, nested.stderr);
    assert.match((JSON.parse(nested.stdout) as { breakdown: { structure: { issues: string[] } } }).breakdown.structure.issues[0]!, /^turn 1 has a list as its role/);
    const marks = promptloom(['score', join(ws, 'questions.json'), '--format', 'json']);
    assert.equal(marks.code, 0, marks.stderr);
    assert.equal((JSON.parse(marks.stdout) as { breakdown: { turnCount: { actual: number } } }).breakdown.turnCount.actual, 3);
  });

  it('scores a large JSONL file a line at a time', () => {
    const ws = workspace({});
    const line = JSON.stringify(GOOD);
    writeFileSync(join(ws, 'big.jsonl'), (line + '\n').repeat(5000));
    const run = promptloom(['score', join(ws, 'big.jsonl')]);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trim().split('\n');
    assert.equal(lines.length, 5000);
    assert.match(lines[4999]!, /^line 5000: 10\.0 /);
  });
});

describe('commands that read the database leave none behind', () => {
  it('stats, export and review in a folder without one create nothing; a missing folder is bad usage', () => {
    const ws = workspace({ 'a.prompt': 'Hi <<who>>' });
    const stats = promptloom(['stats', '--format', 'json', '--workspace', ws]);
    assert.equal(stats.code, 0, stats.stderr);
    assert.deepEqual(JSON.parse(stats.stdout), { templates: [], totals: { conversations: 0, generations: 0, costUsd: 0 } });
    const exported = promptloom(['export', '--workspace', ws]);
    assert.equal(exported.code, 0);
    assert.equal(exported.stdout, '');
    const review = promptloom(['review', 'abcdef', 'approve', '--workspace', ws]);
    assert.equal(review.code, 1);
    assert.match(review.stderr, /no conversation "abcdef": .* has no Promptloom database yet/);
    assert.equal(existsSync(join(ws, '.promptloom')), false);

    const missing = promptloom(['review', 'abcdef', 'approve', '--workspace', join(ws, 'typo', 'deeper')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /typo\/deeper does not exist/);
    assert.equal(existsSync(join(ws, 'typo')), false);
  });
});
