import { strict as assert } from 'node:assert';
import { join, resolve } from 'node:path';
import { promptloom, workspace } from '../helpers/cli';

const EXAMPLES = resolve(__dirname, '../../examples');

/** One variable for each step of the sample rule (docs/prompt-format.md, "Sample values"). */
const SAMPLED = [
  '---',
  'system: You coach <<persona>>.',
  'personas: [Retired Teacher, Nurse]',
  'variables:',
  '  persona: {}',
  '  goal: { examples: [buy a house, retire early] }',
  '  plan: { type: dropdown, options: [monthly, yearly] }',
  '  years: { type: number, min: 1, max: 4 }',
  '  employer: { help: "Who they work for (e.g. Acme Corp, Globex)" }',
  '  client_name: {}',
  '  tone: { default: warm }',
  '---',
  '<<client_name>> (<<persona>>, <<employer>>) wants to <<goal>> in <<years>> years, paying <<plan>>; <<tone>>.',
].join('\n');

describe('promptloom render --sample', () => {
  it('fills each missing value by the sample rule (text): examples, option, persona list, range, e.g., name', () => {
    const ws = workspace({ 't.prompt': SAMPLED });
    const run = promptloom(['render', 't.prompt', '--sample'], { cwd: ws });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'client name (Retired Teacher, Acme Corp) wants to buy a house in 3 years, paying monthly; warm.');
    // Which values are samples is said on stderr, so stdout stays the prompt alone.
    assert.equal(
      run.stderr.trim(),
      'sample values: persona="Retired Teacher", goal="buy a house", plan="monthly", years=3, employer="Acme Corp", client_name="client name"',
    );
  });

  it('prints {system, prompt, parameters} as JSON with the samples as parameters', () => {
    const ws = workspace({ 't.prompt': SAMPLED });
    const run = promptloom(['render', 't.prompt', '--sample', '--format', 'json'], { cwd: ws });
    assert.equal(run.code, 0, run.stderr);
    const out = JSON.parse(run.stdout) as { system: string; prompt: string; parameters: Record<string, unknown> };
    assert.deepEqual(Object.keys(out), ['system', 'prompt', 'parameters']);
    assert.equal(out.system, 'You coach Retired Teacher.');
    assert.deepEqual(out.parameters, {
      persona: 'Retired Teacher',
      goal: 'buy a house',
      plan: 'monthly',
      years: 3,
      employer: 'Acme Corp',
      client_name: 'client name',
      tone: 'warm',
    });
  });

  it('given --param and --params values win over samples', () => {
    const ws = workspace({ 't.prompt': SAMPLED, 'v.json': JSON.stringify({ years: 2, employer: 'Initech' }) });
    const run = promptloom(['render', 't.prompt', '--sample', '--params', 'v.json', '--param', 'client_name=Ada', '--param', 'persona=Nurse', '--format', 'json'], { cwd: ws });
    assert.equal(run.code, 0, run.stderr);
    const out = JSON.parse(run.stdout) as { system: string; parameters: Record<string, unknown> };
    assert.equal(out.system, 'You coach Nurse.');
    assert.deepEqual(out.parameters, { persona: 'Nurse', goal: 'buy a house', plan: 'monthly', years: 2, employer: 'Initech', client_name: 'Ada', tone: 'warm' });
    assert.equal(run.stderr.trim(), 'sample values: goal="buy a house", plan="monthly"');
  });

  it('a given value that is invalid is still an error: samples fill only what is missing', () => {
    const ws = workspace({ 't.prompt': SAMPLED });
    const run = promptloom(['render', 't.prompt', '--sample', '--param', 'years=9'], { cwd: ws });
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^ {2}years: 9 is above the maximum 4$/m);
  });

  it('renders the examples’ quick note, which has no values at all, and says nothing when nothing is missing', () => {
    const run = promptloom(['render', join(EXAMPLES, 'quick-note.prompt'), '--sample']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^Write a six-turn conversation in which client name asks a financial planner whether to\npay off debt early/);
    const full = promptloom(['render', join(EXAMPLES, 'quick-note.prompt'), '--sample', '--param', 'client_name=Ada', '--param', 'debt=a car loan']);
    assert.equal(full.code, 0, full.stderr);
    assert.equal(full.stderr, '');
    assert.match(full.stdout, /Ada asks a financial planner whether to\npay off a car loan early/);
  });
});
