import { strict as assert } from 'node:assert';
import { exampleInText, nameInWords, sampleMissing, sampleValue, type SampledVariable } from '../../../src/core/template/sampleValues';
import { parse } from '../../helpers/template';

const text = (extra: Partial<SampledVariable> = {}): SampledVariable => ({ name: 'client_name', type: 'text', ...extra });

describe('sample values: one rule for the preview, Test Template and render --sample', () => {
  it('takes the first example before anything else', () => {
    assert.deepEqual(sampleValue(text({ examples: ['Ada Lovelace', 'Alan Turing'], default: 'Grace', help: 'e.g. Bob' })), { value: 'Ada Lovelace', from: 'example' });
  });

  it('else the default', () => {
    assert.deepEqual(sampleValue({ name: 'years', type: 'number', min: 0, max: 60, default: 10 }), { value: 10, from: 'default' });
    assert.deepEqual(sampleValue({ name: 'taxes', type: 'boolean', default: true }), { value: true, from: 'default' });
  });

  it('else the first option', () => {
    assert.deepEqual(sampleValue({ name: 'persona', type: 'dropdown', options: ['Near Retiree', 'Anxious Investor'], help: 'e.g. Other' }), { value: 'Near Retiree', from: 'option' });
  });

  it('a persona or emotion text variable takes its first option from the template’s lists, as value plans do', () => {
    assert.deepEqual(sampleValue({ name: 'persona', type: 'text' }, { personas: ['Retired Teacher'] }), { value: 'Retired Teacher', from: 'option' });
    assert.deepEqual(sampleValue({ name: 'emotion', type: 'text' }, { emotions: ['fear'] }), { value: 'fear', from: 'option' });
    assert.deepEqual(sampleValue({ name: 'mood', type: 'text' }, { emotions: ['fear'] }), { value: 'mood', from: 'name' });
  });

  it('else the middle of the range, a whole number between whole bounds', () => {
    assert.deepEqual(sampleValue({ name: 'years', type: 'number', min: 0, max: 60 }), { value: 30, from: 'range' });
    assert.deepEqual(sampleValue({ name: 'n', type: 'number', min: 1, max: 4 }), { value: 3, from: 'range' });
    assert.deepEqual(sampleValue({ name: 'rate', type: 'number', min: 0.1, max: 0.4 }), { value: 0.25, from: 'range' });
    assert.deepEqual(sampleValue({ name: 'n', type: 'number', min: 3 }), { value: 3, from: 'range' }, 'one bound: that bound');
    assert.deepEqual(sampleValue({ name: 'n', type: 'number', max: -2 }), { value: -2, from: 'range' });
  });

  it('else the example its help text gives after "e.g."', () => {
    assert.deepEqual(sampleValue(text({ help: 'Who pays (e.g. Acme Corp, Globex)' })), { value: 'Acme Corp', from: 'help' });
    assert.deepEqual(sampleValue({ name: 'age', type: 'number', help: 'Age in years, e.g. 42.' }), { value: 42, from: 'help' });
    assert.deepEqual(sampleValue({ name: 'vip', type: 'boolean', help: 'Returning client? e.g. yes' }), { value: true, from: 'help' });
  });

  it('else the name in words', () => {
    assert.deepEqual(sampleValue(text()), { value: 'client name', from: 'name' });
    assert.deepEqual(sampleValue(text({ help: 'The client’s full name' })), { value: 'client name', from: 'name' });
  });

  it('passes over a candidate that is not a valid value, so a sample always renders', () => {
    // The help's example is over max_length: the name is used, cut to fit.
    assert.deepEqual(sampleValue(text({ help: 'e.g. Maximilian Alexander', maxLength: 15 })), { value: 'client name', from: 'name' });
    assert.deepEqual(sampleValue(text({ name: 'a_very_long_variable_name', maxLength: 6 })), { value: 'a very', from: 'name' });
    // A help example that is not a number, on a number without a range.
    assert.deepEqual(sampleValue({ name: 'n', type: 'number', help: 'e.g. many' }), { value: 0, from: 'range' });
    assert.deepEqual(sampleValue({ name: 'n', type: 'number', min: 5, help: 'e.g. 2' }), { value: 5, from: 'range' });
    assert.deepEqual(sampleValue({ name: 'flag', type: 'boolean' }), { value: false, from: 'name' });
  });

  it('reads the example of a help text up to the end of its phrase', () => {
    assert.equal(exampleInText('Client persona (e.g. Anxious Investor)'), 'Anxious Investor');
    assert.equal(exampleInText('Employer, e.g., Acme Corp. Optional.'), 'Acme Corp');
    assert.equal(exampleInText('Amount, e.g. $1.2M across brokers'), '$1.2M across brokers', 'a decimal point is not a period');
    assert.equal(exampleInText('Amount, e.g. $40,000; no cents'), '$40,000', 'nor a thousands comma');
    assert.equal(exampleInText('A name, E.g. "Jane Doe".'), 'Jane Doe');
    assert.equal(exampleInText('A name such as Jane'), undefined);
    assert.equal(exampleInText('Trailing e.g.'), undefined);
    // A quoted example is whole, commas and periods inside the quotes included.
    assert.equal(exampleInText('Employer, e.g. "Smith, Jones & Co", or none'), 'Smith, Jones & Co');
    assert.equal(exampleInText('Greeting (e.g. “Hi. Welcome back”)'), 'Hi. Welcome back');
  });

  it('puts names in words', () => {
    assert.equal(nameInWords('client_name'), 'client name');
    assert.equal(nameInWords('clientName'), 'client name');
    assert.equal(nameInWords('YEARS_TO_RETIREMENT'), 'years to retirement');
    assert.equal(nameInWords('x'), 'x');
  });

  it('fills the required variables that have no value, and only those', () => {
    const template = parse(
      '---',
      'personas: [Retired Teacher]',
      'variables:',
      '  persona: {}',
      '  amount: { max_length: 40, help: "Savings (e.g. $40,000 in an index fund)" }',
      '  years: { type: number, min: 0, max: 60, default: 10 }',
      '  note: { default: "" }',
      '  client_name: {}',
      '---',
      '<<persona>> <<amount>> <<years>> <<note>> <<client_name>>',
    );
    const samples = sampleMissing(template.variables, new Map<string, unknown>([['client_name', 'Ada'], ['amount', '']]), template.settings);
    assert.deepEqual(Object.fromEntries([...samples].map(([name, s]) => [name, s.value])), { persona: 'Retired Teacher', amount: '$40,000 in an index fund' });
  });
});
