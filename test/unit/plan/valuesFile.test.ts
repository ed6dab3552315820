import { strict as assert } from 'node:assert';
import { parseValuesFile } from '../../../src/core/plan';
import { parse } from '../../helpers/template';
import { planOf, problemsOf } from './helpers';

const t = parse(
  '---',
  'variables:',
  '  persona: {}',
  '  years: { type: number, min: 0, max: 60 }',
  '  vip: { type: boolean, default: false }',
  '  note: { default: none }',
  '---',
  '<<persona>> <<years>> <<vip>> <<note>>',
);

describe('values files: CSV', () => {
  it('quoted commas, embedded quotes and line breaks, a BOM, CRLF; one cell per row, count each', () => {
    const csv = '\uFEFFpersona,years,vip\r\n"Smith, Ann",10,yes\r\n"Bo ""the bear""",5,\r\n"two\r\nlines",0,no\r\n';
    const plan = planOf(parseValuesFile(csv, 'csv', t, 3));
    assert.deepEqual(plan.cells, [
      { values: { persona: 'Smith, Ann', years: 10, vip: true, note: 'none' }, count: 3 },
      { values: { persona: 'Bo "the bear"', years: 5, vip: false, note: 'none' }, count: 3 },
      { values: { persona: 'two\nlines', years: 0, vip: false, note: 'none' }, count: 3 },
    ]);
    assert.deepEqual(plan.varied, ['persona', 'years', 'vip']);
    assert.equal(plan.conversations, 9);
  });

  it('fields are not trimmed; identical rows merge', () => {
    const plan = planOf(parseValuesFile('persona,years\n  Ann ,1\n  Ann ,1\nBo,2\n', 'csv', t, 2));
    assert.deepEqual(
      plan.cells.map((c) => [c.values.persona, c.count]),
      [
        ['  Ann ', 4],
        ['Bo', 2],
      ],
    );
  });

  it('a bad row names its file line (header = line 1, a quoted line break counted) and the variable', () => {
    const csv = ['persona,years', 'Ann,10', '"Bo', 'B",-1', '', 'Cy,61', 'Di,x'].join('\n');
    const r = parseValuesFile(csv, 'csv', t, 1);
    assert.ok(!r.ok);
    assert.deepEqual(
      r.problems.map((p) => [p.line, p.variable, p.message]),
      [
        [3, 'years', 'line 3: years: -1 is below the minimum 0'],
        [6, 'years', 'line 6: years: 61 is above the maximum 60'],
        [7, 'years', 'line 7: years: expected a number, got "x"'],
      ],
    );
  });

  it('an empty field is no value: a required variable without one is named', () => {
    const r = parseValuesFile('persona,years\n,3\n', 'csv', t, 1);
    assert.deepEqual(problemsOf(r), ['line 2: persona: is required but has no value']);
  });

  it('an unknown column is an error naming it (with a suggestion) before any row is checked', () => {
    const r = parseValuesFile('persona,yeers,colour\nAnn,x,red\n', 'csv', t, 1);
    assert.ok(!r.ok);
    assert.equal(r.problems.length, 1);
    assert.match(r.problems[0]!.message, /^line 1: the values file has columns that are not variables of this template: `yeers` \(did you mean `years`\?\), `colour`\./);
    const one = parseValuesFile('persona,__proto__\nAnn,1\n', 'csv', t, 1);
    assert.ok(!one.ok);
    assert.equal(one.problems[0]!.variable, '__proto__');
  });

  it('a repeated or blank header, a ragged row and an unclosed quote are refused with their line', () => {
    assert.deepEqual(problemsOf(parseValuesFile('persona,persona\na,b\n', 'csv', t, 1)), ['line 1: the header names `persona` twice.']);
    assert.deepEqual(problemsOf(parseValuesFile('persona,\na,b\n', 'csv', t, 1)), ['line 1: column 2 of the header has no name.']);
    assert.match(problemsOf(parseValuesFile('persona,years\nAnn,1\nBo,2,3\n', 'csv', t, 1))[0]!, /^line 3: the CSV cannot be read: Invalid Record Length/);
    assert.match(problemsOf(parseValuesFile('persona,years\nAnn,1\n"Bo,2\n', 'csv', t, 1))[0]!, /^line \d: the CSV cannot be read: Quote Not Closed/);
  });

  it('an empty file, a header without rows, a bad count and too many conversations are refused', () => {
    assert.match(problemsOf(parseValuesFile('', 'csv', t, 1))[0]!, /empty/);
    assert.match(problemsOf(parseValuesFile('persona,years\n', 'csv', t, 1))[0]!, /no rows/);
    assert.match(problemsOf(parseValuesFile('persona,years\nA,1\n', 'csv', t, 0))[0]!, /positive whole number/);
    const rows = ['persona,years', ...Array.from({ length: 1001 }, (_, i) => `p${i},1`)].join('\n');
    assert.match(problemsOf(parseValuesFile(rows, 'csv', t, 100))[0]!, /1,001 rows × 100 is over the limit of 100,000/);
  });

  it('variables without a column take given values', () => {
    const plan = planOf(parseValuesFile('persona\nAnn\n', 'csv', t, 1, { years: '4', persona: 'ignored' }));
    assert.deepEqual(plan.cells[0]!.values, { persona: 'Ann', years: 4, vip: false, note: 'none' });
  });
});

describe('values files: JSONL', () => {
  it('one object per line; blank lines skipped; null is no value', () => {
    const jsonl = '{"persona": "Ann", "years": 3}\n\n{"persona": "Bo", "years": "4", "note": null, "vip": true}\r\n';
    const plan = planOf(parseValuesFile(jsonl, 'jsonl', t, 2));
    assert.deepEqual(plan.cells, [
      { values: { persona: 'Ann', years: 3, vip: false, note: 'none' }, count: 2 },
      { values: { persona: 'Bo', years: 4, vip: true, note: 'none' }, count: 2 },
    ]);
    assert.deepEqual(plan.varied, ['persona', 'years', 'vip', 'note']);
  });

  it('a line that is not JSON, or not an object, is named', () => {
    const r = parseValuesFile('{"persona": "Ann", "years": 3}\n\n{"persona": "Bo", years: 4}\n[1]\n', 'jsonl', t, 1);
    assert.ok(!r.ok);
    assert.deepEqual(
      r.problems.map((p) => p.line),
      [3, 4],
    );
    assert.match(r.problems[0]!.message, /^line 3: not valid JSON/);
    assert.match(r.problems[1]!.message, /^line 4: expected a JSON object/);
  });

  it('a bad value names the line and the variable; an unknown key names the line where it first appears', () => {
    const bad = parseValuesFile('{"persona": "Ann", "years": 3}\n{"persona": {"a": 1}, "years": 3}\n', 'jsonl', t, 1);
    assert.deepEqual(problemsOf(bad), ['line 2: persona: expected text, got an object']);
    const unknown = parseValuesFile('{"persona": "Ann", "years": 3}\n{"persona": "Bo", "yaers": 3}\n', 'jsonl', t, 1);
    assert.match(problemsOf(unknown)[0]!, /^line 2: the values file has a column that is not a variable of this template: `yaers` \(did you mean `years`\?\)/);
  });
});
