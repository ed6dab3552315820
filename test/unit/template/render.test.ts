import { strict as assert } from 'node:assert';
import { renderTemplate, renderWithPlaceholders, type RenderResult } from '../../../src/core/template';
import { parse } from '../../helpers/template';

const MARKET = [
  '---',
  'name: Market volatility check-in',
  'system: You are a careful financial advisor speaking with <<persona>>.',
  'variables:',
  '  persona:',
  '    type: dropdown',
  '    options: [Anxious Investor, Skeptical Beginner]',
  '  investment_amount:',
  '    type: text',
  '    max_length: 20',
  '  years_to_retirement:',
  '    type: number',
  '    min: 0',
  '    max: 60',
  '    default: 10',
  '  mention_taxes:',
  '    type: boolean',
  '    default: false',
  '---',
  'Create a conversation where <<persona>> is worried.',
  'They have <<investment_amount>> invested and are <<years_to_retirement>> years from retirement.',
  '<<#if mention_taxes>>Include tax-loss harvesting.<<else>>Do not discuss taxes.<</if>>',
  '<<! a comment: never sent to the model >>',
];

function ok(result: RenderResult) {
  assert.ok(result.ok, JSON.stringify(result));
  return result.value;
}
function problems(result: RenderResult) {
  assert.ok(!result.ok, 'expected the render to fail');
  return result.problems.map((p) => `${p.variable ?? ''}: ${p.message}`);
}

describe('render', () => {
  const market = parse(...MARKET);

  it('renders body and system with defaults, blocks and comments', () => {
    const v = ok(renderTemplate(market, { persona: 'Anxious Investor', investment_amount: '$50k' }));
    assert.equal(v.system, 'You are a careful financial advisor speaking with Anxious Investor.');
    assert.equal(
      v.prompt,
      'Create a conversation where Anxious Investor is worried.\n' +
        'They have $50k invested and are 10 years from retirement.\n' +
        'Do not discuss taxes.\n',
    );
    assert.deepEqual(v.parameters, { persona: 'Anxious Investor', investment_amount: '$50k', years_to_retirement: 10, mention_taxes: false });
  });

  it('coerces numbers and booleans from strings', () => {
    for (const [raw, expected] of [['yes', true], ['1', true], ['TRUE', true], ['no', false], ['0', false], [true, true], [0, false]] as const) {
      const v = ok(renderTemplate(market, { persona: 'Skeptical Beginner', investment_amount: 'x', mention_taxes: raw, years_to_retirement: '25' }));
      assert.equal(v.parameters.mention_taxes, expected, String(raw));
      assert.equal(v.parameters.years_to_retirement, 25);
      assert.equal(v.prompt.includes('tax-loss'), expected);
    }
  });

  it('names every offending variable at once', () => {
    const found = problems(
      renderTemplate(market, { persona: 'Bored', years_to_retirement: '61', mention_taxes: 'perhaps', extra: 1, investment_amount: 'x'.repeat(21) }),
    );
    assert.deepEqual(found, [
      'persona: "Bored" is not one of the options ("Anxious Investor", "Skeptical Beginner")',
      'investment_amount: is 21 characters long, over the limit of 20',
      'years_to_retirement: 61 is above the maximum 60',
      'mention_taxes: expected true/false/yes/no/1/0, got "perhaps"',
      'extra: is not a variable of this template (variables: persona, investment_amount, years_to_retirement, mention_taxes)',
    ]);
  });

  it('reports missing required values and wrong numbers', () => {
    assert.deepEqual(problems(renderTemplate(market, { years_to_retirement: 'ten', investment_amount: {} })), [
      'persona: is required but has no value',
      'investment_amount: expected text, got an object',
      'years_to_retirement: expected a number, got "ten"',
    ]);
    assert.deepEqual(problems(renderTemplate(market, { persona: 'Anxious Investor', investment_amount: 'x', years_to_retirement: '-1' })), [
      'years_to_retirement: -1 is below the minimum 0',
    ]);
    assert.deepEqual(problems(renderTemplate(market, { persona: 'Anxious Investor', investment_amount: 'x', years_to_retirement: 'Infinity' })), [
      'years_to_retirement: expected a number, got "Infinity"',
    ]);
  });

  it('counts max_length in characters, not UTF-16 units', () => {
    const t = parse('---', 'variables:', '  x: { max_length: 3 }', '---', '<<x>>');
    assert.equal(ok(renderTemplate(t, { x: '😀😀😀' })).prompt, '😀😀😀');
    assert.equal(problems(renderTemplate(t, { x: '😀😀😀😀' })).length, 1);
  });

  describe('escape modes', () => {
    const value = `<b>Tom & "Jerry"</b> it's`;
    const cases = [
      ['', '&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt; it&#39;s'],
      ['escape: html', '&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt; it&#39;s'],
      ['escape: xml', `&lt;b&gt;Tom &amp; "Jerry"&lt;/b&gt; it's`],
      ['escape: none', value],
    ];
    for (const [setting, expected] of cases) {
      it(setting || 'html by default', () => {
        const t = parse('---', ...(setting ? [setting] : []), 'system: S <<v>> <b>', '---', '<i><<v>></i>');
        const v = ok(renderTemplate(t, { v: value }));
        assert.equal(v.prompt, `<i>${expected}</i>`, 'template text is never escaped');
        assert.equal(v.system, `S ${expected} <b>`);
      });
    }
  });

  it('inserts values as data: tags in a value are never expanded', () => {
    const t = parse('---', 'escape: none', '---', '<<a>>|<<b>>');
    const v = ok(renderTemplate(t, { a: '<<b>> {{b}} <<#if b>>x<</if>>', b: 'B' }));
    assert.equal(v.prompt, '<<b>> {{b}} <<#if b>>x<</if>>|B');
  });

  it('#unless, else branches, inline if and truthiness', () => {
    const t = parse(
      '---',
      'escape: none',
      'variables:',
      '  n: { type: number, default: 0 }',
      '  s: { default: "" }',
      '  f: { type: boolean, default: true }',
      '---',
      '<<#unless n>>zero<<else>>nonzero<</unless>>;<<#if s>>S<</if>>;<<if f "on" "off">>;<<if n "x">>;\\<<literal>>',
    );
    assert.equal(ok(renderTemplate(t, {})).prompt, 'zero;;on;;<<literal>>');
    assert.equal(ok(renderTemplate(t, { n: 2, s: 'a', f: 'no' })).prompt, 'nonzero;S;off;x;<<literal>>');
  });

  it('inline if texts keep escaped quotes', () => {
    const t = parse('<<if x "say \\"hi\\"" "no">>');
    assert.equal(ok(renderTemplate(t, { x: 'y' })).prompt, 'say "hi"');
  });

  it('infers text variables without a variables block: required when inserted, optional when only tested', () => {
    const t = parse('Dear <<name>>, <<#if vip>>welcome back<</if>><<if vip "!" ".">> <<#if name>>(<<name>>)<</if>>');
    assert.deepEqual(
      t.variables.map((v) => [v.name, v.type, v.required]),
      [
        ['name', 'text', true],
        ['vip', 'text', false],
      ],
    );
    assert.deepEqual(problems(renderTemplate(t, {})), ['name: is required but has no value']);
    assert.equal(ok(renderTemplate(t, { name: 'Ann' })).prompt, 'Dear Ann, . (Ann)');
    for (const no of ['', 'false', 'FALSE', '0', ' 0 ']) assert.equal(ok(renderTemplate(t, { name: 'Ann', vip: no })).prompt, 'Dear Ann, . (Ann)', no);
    for (const yes of ['yes', 'true', '1', 'no', 'x']) assert.equal(ok(renderTemplate(t, { name: 'Ann', vip: yes })).prompt, 'Dear Ann, welcome back! (Ann)', yes);
  });

  it('text and dropdown values "false" and "0" are false in conditions', () => {
    const t = parse('---', 'variables:', '  t: {}', '  d: { type: dropdown, options: ["0", "1"] }', '---', '<<#if t>>T<</if>><<#if d>>D<</if>><<t>><<d>>');
    assert.equal(ok(renderTemplate(t, { t: 'false', d: '0' })).prompt, 'false0');
    assert.equal(ok(renderTemplate(t, { t: 'yes', d: 1 })).prompt, 'TDyes1');
  });

  it('refuses a template with errors and says which', () => {
    const t = parse('Hi <<name');
    const found = problems(renderTemplate(t, { name: 'x' }));
    assert.equal(found.length, 1);
    assert.match(found[0]!, /line 1: PL001/);
  });

  describe('hostile parameter names', () => {
    for (const name of ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty']) {
      it(`${name} neither pollutes nor crashes`, () => {
        const t = parse('Hi <<who>>');
        const raw = JSON.parse(`{"who": "x", "${name}": {"polluted": true}}`) as Record<string, unknown>;
        const found = problems(renderTemplate(t, raw));
        assert.deepEqual(found, [`${name}: is not a variable of this template (variables: who)`]);
        assert.equal(({} as Record<string, unknown>).polluted, undefined);
        assert.equal((Object.prototype as unknown as Record<string, unknown>).polluted, undefined);
      });
    }
    it('a template variable named toString works like any other', () => {
      const t = parse('<<toString>>');
      assert.deepEqual(ok(renderTemplate(t, { toString: 'fine' })).parameters, { toString: 'fine' });
      assert.deepEqual(problems(renderTemplate(t, {})), ['toString: is required but has no value']);
    });
  });

  it('takes a Map as well as an object', () => {
    const v = ok(renderTemplate(parse('<<a>>'), new Map([['a', 'x']])));
    assert.equal(v.prompt, 'x');
  });

  it('system prompts in YAML block scalars render their value', () => {
    const t = parse('---', 'system: |', '  Line one <<a>>.', '  Line two.', '---', 'B');
    const v = ok(renderTemplate(t, { a: 'A' }));
    assert.equal(v.system, 'Line one A.\nLine two.\n');
  });
});

describe('render with placeholders (the preview’s draft)', () => {
  const draft = (t: ReturnType<typeof parse>, values: Record<string, unknown>) => {
    const r = renderWithPlaceholders(t, values);
    assert.ok(r.ok, JSON.stringify(r));
    return r.value;
  };

  it('marks each missing required value where it goes, with defaults applied and the system prompt too', () => {
    const t = parse(...MARKET);
    const d = draft(t, {});
    assert.deepEqual(d.system, [{ kind: 'text', text: 'You are a careful financial advisor speaking with ' }, { kind: 'missing', variable: 'persona' }, { kind: 'text', text: '.' }]);
    const prompt = d.prompt.map((s) => (s.kind === 'text' ? s.text : `[${s.variable}]`)).join('');
    assert.match(prompt, /\[persona\]/);
    assert.match(prompt, /\[investment_amount\]/);
    assert.match(prompt, /10 years/, 'the default is applied');
    assert.deepEqual(d.problems.map((p) => p.variable).sort(), ['investment_amount', 'persona']);
  });

  it('marks an invalid value like a missing one, and says why', () => {
    const d = draft(parse('---', 'variables:', '  n: { type: number, max: 5 }', '---', 'n is <<n>>.'), { n: '9' });
    assert.deepEqual(d.prompt, [{ kind: 'text', text: 'n is ' }, { kind: 'missing', variable: 'n' }, { kind: 'text', text: '.' }]);
    assert.deepEqual(d.problems, [{ variable: 'n', message: '9 is above the maximum 5' }]);
  });

  it('is one text segment, equal to the real render, once every value is right', () => {
    const t = parse(...MARKET);
    const values = { persona: 'Anxious Investor', investment_amount: '<b>&', years_to_retirement: 3 };
    const d = draft(t, values);
    assert.equal(d.prompt.length, 1);
    assert.deepEqual(d.prompt[0], { kind: 'text', text: ok(renderTemplate(t, values)).prompt });
    assert.deepEqual(d.problems, []);
  });

  it('an optional value without a default renders empty, as in the real render; a condition on a missing value is false', () => {
    const t = parse('Hi <<#if vip>>VIP <<name>><<else>>guest<</if>>, <<#unless extra>>no extra<</unless>>');
    // Inferred: `name` is required (inserted), `vip` and `extra` optional (only tested).
    const d = draft(t, {});
    assert.deepEqual(d.prompt, [{ kind: 'text', text: 'Hi guest, no extra' }]);
    assert.deepEqual(d.problems.map((p) => p.variable), ['name']);
  });

  it('reports names the template lacks without failing', () => {
    const d = draft(parse('Hi <<name>>'), { name: 'Ada', nmae: 'x' });
    assert.deepEqual(d.prompt, [{ kind: 'text', text: 'Hi Ada' }]);
    assert.match(d.problems[0]!.message, /not a variable of this template/);
  });

  it('fails like renderTemplate when the template has errors', () => {
    const r = renderWithPlaceholders(parse('Hi <<name'), {});
    assert.equal(r.ok, false);
  });
});
