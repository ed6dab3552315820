import { strict as assert } from 'node:assert';
import { explicitPlan, planKey } from '../../../src/core/plan';
import { Workspace } from '../../../src/core/workspace';
import { parse } from '../../helpers/template';
import { planOf, problemsOf } from './helpers';

const LINES = [
  '---',
  'name: Explicit',
  'variables:',
  '  persona: { type: text }',
  '  channel: { type: dropdown, options: [phone, chat] }',
  '  age: { type: number, min: 18, max: 99, default: 40 }',
  '---',
  'Talk with <<persona>> over <<channel>>, aged <<age>>.',
];

describe('explicit value sets as a plan', () => {
  it('renders every cell, fills defaults and given values, merges equal cells', () => {
    const template = parse(...LINES);
    const plan = planOf(
      explicitPlan(
        template,
        [
          { values: { persona: 'Ann', channel: 'phone' }, count: 2 },
          { values: { persona: 'Bo', channel: 'chat', age: '61' }, count: 1 },
          { values: { persona: 'Ann', channel: 'phone', age: 40 }, count: 3 },
        ],
        { channel: 'chat' },
      ),
    );
    assert.deepEqual(plan.cells, [
      { values: { persona: 'Ann', channel: 'phone', age: 40 }, count: 5 },
      { values: { persona: 'Bo', channel: 'chat', age: 61 }, count: 1 },
    ]);
    assert.equal(plan.conversations, 6);
    assert.deepEqual(plan.varied, ['persona', 'channel', 'age']);
    // The cell's values win over the given ones; given ones fill what a cell leaves out.
    const filled = planOf(explicitPlan(template, [{ values: { persona: 'Cy' }, count: 1 }], { channel: 'chat' }));
    assert.equal(planKey(filled.cells[0]!.values), planKey({ persona: 'Cy', channel: 'chat', age: 40 }));
  });

  it('problems name the cell by the values that tell it apart, and the variable', () => {
    const template = parse(...LINES);
    assert.deepEqual(
      problemsOf(
        explicitPlan(template, [
          { values: { persona: 'Ann', channel: 'phone' }, count: 1 },
          { values: { persona: 'Bo', channel: 'fax' }, count: 1 },
          { values: { persona: 'Cy', channel: 'chat', mood: 'x' }, count: 1 },
        ]),
      ),
      [
        'cell 2 (persona="Bo", channel="fax"): channel: "fax" is not one of the options ("phone", "chat")',
        'cell 3 (persona="Cy", channel="chat", mood="x"): mood: is not a variable of this template (variables: persona, channel, age)',
      ],
    );
    assert.deepEqual(problemsOf(explicitPlan(template, [])), ['The plan has no value sets.']);
    assert.deepEqual(problemsOf(explicitPlan(template, [{ values: { persona: 'A', channel: 'chat' }, count: 0 }, { values: 'x' as never, count: 1 }])), [
      'cell 1: the count must be a positive whole number, not 0.',
      'cell 2: the values must be an object of variable names and values.',
    ]);
    assert.match(problemsOf(explicitPlan(template, [{ values: { persona: 'A', channel: 'chat' }, count: 100_001 }]))[0]!, /over the limit of 100,000/);
  });

  it('Workspace.prepareBatch takes explicit cells as a plan; the count is theirs', () => {
    const ws = new Workspace('/w');
    const text = LINES.join('\n');
    const prepared = ws.prepareBatch({ file: '/w/t.prompt', text, values: {}, count: 1, plan: { cells: [{ values: { persona: 'Ann', channel: 'phone' }, count: 2 }, { values: { persona: 'Bo', channel: 'chat' }, count: 3 }] } });
    assert.ok(prepared.ok);
    assert.equal(prepared.input.count, 5);
    assert.deepEqual(prepared.input.cells!.map((c) => [c.rendered.prompt, c.count]), [
      ['Talk with Ann over phone, aged 40.', 2],
      ['Talk with Bo over chat, aged 40.', 3],
    ]);
    const bad = ws.prepareBatch({ file: '/w/t.prompt', text, values: {}, count: 1, plan: { cells: [{ values: { persona: 'Ann' }, count: 1 }] } });
    assert.ok(!bad.ok && bad.reason === 'plan');
    assert.deepEqual(bad.problems.map((p) => [p.message, p.cell, p.variable]), [['cell 1 (persona="Ann"): channel: is required but has no value', 0, 'channel']]);
  });
});
