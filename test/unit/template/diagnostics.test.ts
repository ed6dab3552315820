import { strict as assert } from 'node:assert';
import { codes, only, parse, textAt } from '../../helpers/template';

describe('diagnostics PL001–PL010', () => {
  it('a clean template has none', () => {
    const t = parse('---', 'variables:', '  persona: { type: text }', '---', 'Hi <<persona>>.');
    assert.deepEqual(t.diagnostics, []);
  });

  describe('PL001 unclosed <<', () => {
    it('points from the << to the end of the attempt on its line', () => {
      const t = parse('Hello <<persona and more', 'next line <<ok>>');
      const d = only(t, 'PL001');
      assert.equal(d.severity, 'error');
      assert.equal(textAt(t, d.range), '<<persona and more');
      assert.deepEqual(d.range.start, { line: 0, character: 6 });
      assert.match(d.message, /no closing `>>`/);
      assert.match(d.message, /\\<</, 'suggests the escape');
    });
    it('stops at the next << so the following tag still parses', () => {
      const t = parse('a << b <<name>> c');
      assert.equal(textAt(t, only(t, 'PL001').range), '<< b');
      assert.deepEqual(t.variables.map((v) => v.name), ['name']);
    });
    it('reports an unclosed comment', () => {
      const t = parse('text <<! never closed', 'more');
      assert.equal(textAt(t, only(t, 'PL001').range), '<<!');
    });
    it('does not count >> inside an inline-if string as the end', () => {
      const t = parse('<<if flag "a >> b" "c">>');
      assert.deepEqual(t.diagnostics, []);
    });
  });

  describe('PL002 undeclared variable', () => {
    it('points at the name and suggests the nearest declared one', () => {
      const t = parse('---', 'variables:', '  persona: {}', '---', 'Hi <<persna>> and <<persona>>.');
      const d = only(t, 'PL002');
      assert.equal(textAt(t, d.range), 'persna');
      assert.match(d.message, /Did you mean `persona`\?/);
      assert.equal(d.data?.name, 'persna');
    });
    it('covers #if, inline if and the system prompt', () => {
      const t = parse('---', 'system: Talk to <<who>>.', 'variables:', '  x: {}', '---', '<<x>><<#if a>>.<</if>><<if b "y">>');
      const found = t.diagnostics.filter((d) => d.code === 'PL002').map((d) => textAt(t, d.range));
      assert.deepEqual(found, ['who', 'a', 'b']);
    });
    it('is not reported when variables are inferred', () => {
      const t = parse('---', 'tier: scenario', '---', 'Hi <<anyone>>.');
      assert.deepEqual(codes(t), []);
      assert.deepEqual(t.variables.map((v) => [v.name, v.type, v.required, v.inferred]), [['anyone', 'text', true, true]]);
    });
  });

  it('PL003 points at the declaration of an unused variable', () => {
    const t = parse('---', 'variables:', '  used: {}', '  spare:', '    type: text', '---', '<<used>>');
    const d = only(t, 'PL003');
    assert.equal(d.severity, 'warning');
    assert.equal(textAt(t, d.range), 'spare');
    assert.deepEqual(d.range.start, { line: 3, character: 2 });
  });

  it('PL003 counts a use in the system prompt', () => {
    const t = parse('---', 'system: As <<role>>.', 'variables:', '  role: {}', '---', 'Body.');
    assert.deepEqual(codes(t), []);
  });

  describe('PL004 block structure', () => {
    it('unclosed block points at its opening tag', () => {
      const t = parse('<<#if a>>yes', 'still open');
      const d = only(t, 'PL004');
      assert.equal(textAt(t, d.range), '<<#if a>>');
      assert.match(d.message, /<<\/if>>/);
    });
    it('closed by the wrong tag', () => {
      const t = parse('<<#if a>>x<</unless>>');
      assert.match(only(t, 'PL004').message, /expected `<<\/if>>`/);
      assert.equal(textAt(t, only(t, 'PL004').range), '<</unless>>');
    });
    it('inner block closed by the outer tag', () => {
      const t = parse('<<#if a>><<#unless b>>x<</if>>');
      const d = only(t, 'PL004');
      assert.equal(textAt(t, d.range), '<<#unless b>>');
    });
    it('else outside a block, and a second else', () => {
      const t = parse('<<else>> <<#if a>>1<<else>>2<<else>>3<</if>>');
      const found = t.diagnostics.filter((d) => d.code === 'PL004');
      assert.equal(found.length, 2);
      assert.match(found[0]!.message, /outside a block/);
      assert.match(found[1]!.message, /already has an `<<else>>`/);
      assert.deepEqual(found[1]!.range.start, { line: 0, character: 28 });
    });
    it('closing tag with nothing open', () => {
      const t = parse('text <</if>>');
      assert.match(only(t, 'PL004').message, /closes nothing/);
    });
    it('nested blocks that close properly are fine', () => {
      const t = parse('<<#if a>><<#unless b>>x<<else>>y<</unless>><</if>>');
      assert.deepEqual(codes(t), []);
    });
  });

  describe('PL005 front matter YAML', () => {
    it('points into the YAML where it breaks', () => {
      const t = parse('---', 'tier: scenario', 'variables: [unclosed', '---', 'Body');
      const d = t.diagnostics.find((x) => x.code === 'PL005');
      assert.ok(d, JSON.stringify(t.diagnostics));
      assert.ok(d.range.start.line >= 2 && d.range.start.line <= 3, JSON.stringify(d.range));
      assert.match(d.message, /^Invalid YAML: /);
    });
    it('duplicate keys', () => {
      const t = parse('---', 'tier: scenario', 'tier: template', '---', 'Body');
      const d = only(t, 'PL005');
      assert.equal(d.range.start.line, 2);
      assert.match(d.message, /unique/i);
    });
    it('front matter too large to read', () => {
      const t = parse('---', ...Array.from({ length: 5000 }, (_, i) => `key_${i}: some value`), '---', 'Body');
      const d = only(t, 'PL005');
      assert.match(d.message, /front matter over 64 KB is not read/);
      assert.deepEqual(d.range, { start: { line: 0, character: 0 }, end: { line: 0, character: 3 } });
    });
    it('front matter that is never closed', () => {
      const t = parse('---', 'tier: scenario', 'Body <<x>>');
      const d = t.diagnostics.find((x) => x.code === 'PL005' && /never closed/.test(x.message));
      assert.ok(d);
      assert.deepEqual(d.range, { start: { line: 0, character: 0 }, end: { line: 0, character: 3 } });
    });
  });

  describe('PL006 invalid values', () => {
    const cases: [string, string[], string, RegExp][] = [
      ['unknown tier', ['tier: epic'], 'epic', /use one of `template`, `scenario`, `edge_case`/],
      ['tier near miss', ['tier: scenaro'], 'scenaro', /Did you mean `scenario`/],
      ['temperature out of range', ['temperature: 1.5'], '1.5', /from 0 to 1/],
      ['max_tokens not positive', ['max_tokens: 0'], '0', /positive whole number/],
      ['max_tokens fractional', ['max_tokens: 10.5'], '10.5', /positive whole number/],
      ['quality_threshold text', ['quality_threshold: high'], 'high', /from 0 to 1/],
      ['escape unknown', ['escape: url'], 'url', /`html`, `xml`, `none`/],
      ['active not boolean', ['active: maybe'], 'maybe', /true/],
      ['personas not a list', ['personas: Anxious'], 'Anxious', /must be a list/],
      ['unknown type', ['variables:', '  x:', '    type: integer'], 'integer', /`text`, `number`, `dropdown`, `boolean`/],
      ['dropdown without options', ['variables:', '  x:', '    type: dropdown'], 'dropdown', /no `options`/],
      ['dropdown with empty options', ['variables:', '  x:', '    type: dropdown', '    options: []'], '[]', /at least one option/],
      ['default not among options', ['variables:', '  x:', '    type: dropdown', '    options: [a, b]', '    default: c'], 'c', /not one of the options/],
      ['number default of the wrong type', ['variables:', '  x:', '    type: number', '    default: lots'], 'lots', /expected a number/],
      ['number default out of range', ['variables:', '  x:', '    type: number', '    max: 60', '    default: 75'], '75', /above the maximum 60/],
      ['boolean default', ['variables:', '  x:', '    type: boolean', '    default: perhaps'], 'perhaps', /true\/false/],
      ['min above max', ['variables:', '  x:', '    type: number', '    min: 5', '    max: 1'], '1', /below `min`/],
      ['max_length on a number', ['variables:', '  x:', '    type: number', '    max_length: 3'], '3', /only to text/],
      ['text default too long', ['variables:', '  x:', '    max_length: 3', '    default: abcd'], 'abcd', /over the limit of 3/],
      ['options on a text variable', ['variables:', '  x:', '    options: [a]'], '[a]', /only to dropdown/],
      ['variables not a map', ['variables: [a, b]'], '[a, b]', /must map each variable/],
    ];
    for (const [title, fm, at, message] of cases) {
      it(title, () => {
        const uses = fm[0] === 'variables:' && fm.length > 1 ? '<<x>>' : '';
        const t = parse('---', ...fm, '---', uses);
        const d = only(t, 'PL006');
        assert.equal(d.severity, 'error');
        assert.equal(textAt(t, d.range), at);
        assert.match(d.message, message);
      });
    }
    it('valid settings give no diagnostic and are read', () => {
      const t = parse(
        '---',
        'tier: edge_case',
        'temperature: 0.3',
        'max_tokens: 2048',
        'quality_threshold: 0.8',
        'active: false',
        'escape: xml',
        'personas: [A, B]',
        '---',
        'x',
      );
      assert.deepEqual(codes(t), []);
      assert.equal(t.settings.tier, 'edge_case');
      assert.equal(t.settings.temperature, 0.3);
      assert.equal(t.settings.maxTokens, 2048);
      assert.equal(t.settings.qualityThreshold, 0.8);
      assert.equal(t.settings.active, false);
      assert.equal(t.settings.escape, 'xml');
      assert.deepEqual(t.settings.personas, ['A', 'B']);
      assert.equal(t.settings.name, 'fixture');
    });
  });

  describe('PL007 unknown keys', () => {
    it('suggests the nearest key', () => {
      const t = parse('---', 'temprature: 0.5', '---', 'x');
      const d = only(t, 'PL007');
      assert.equal(d.severity, 'warning');
      assert.equal(textAt(t, d.range), 'temprature');
      assert.match(d.message, /did you mean `temperature`\?/);
      assert.equal(d.data?.suggestion, 'temperature');
    });
    it('lists the known keys when nothing is near', () => {
      const t = parse('---', 'zzzzzzzz: 1', '---', 'x');
      assert.match(only(t, 'PL007').message, /Known: name, description, tier/);
    });
    it('checks variable settings too', () => {
      const t = parse('---', 'variables:', '  x:', '    defualt: 3', '---', '<<x>>');
      const d = only(t, 'PL007');
      assert.equal(textAt(t, d.range), 'defualt');
      assert.equal(d.data?.suggestion, 'default');
    });
  });

  describe('PL008 invalid names', () => {
    for (const name of ['__proto__', 'constructor', 'prototype', 'this']) {
      it(`reserved ${name} in variables: and in the body`, () => {
        const t = parse('---', 'variables:', `  ${name}: {}`, '---', `<<${name}>>`);
        const found = t.diagnostics.filter((d) => d.code === 'PL008').map((d) => textAt(t, d.range));
        assert.deepEqual(found, [name, name]);
        assert.ok(t.variables.every((v) => v.name !== name));
      });
    }
    it('not an identifier', () => {
      const t = parse('---', 'variables:', '  first-name: {}', '  2nd: {}', '---', '<<first-name>>');
      const found = t.diagnostics.filter((d) => d.code === 'PL008').map((d) => textAt(t, d.range));
      assert.deepEqual(found, ['first-name', '2nd', 'first-name']);
    });
  });

  it('PL009 points at {{name}} and names the fix', () => {
    const t = parse('Hi {{ persona }} and {{#if x}}');
    const d = only(t, 'PL009');
    assert.equal(d.severity, 'warning');
    assert.equal(textAt(t, d.range), '{{ persona }}');
    assert.match(d.message, /use `<<persona>>`/);
  });

  describe('PL010 unsupported expressions', () => {
    const cases: [string, string][] = [
      ['<<name | upper>>', '<<name | upper>>'],
      ['<<a.b>>', '<<a.b>>'],
      ['<<#each items>>x<</each>>', '<<#each items>>'],
      ['<<#if a == b>>x<</if>>', 'a == b'],
      ['<<#if>>x<</if>>', '<<#if>>'],
      ['<<if flag yes no>>', '<<if flag yes no>>'],
      ['<<>>', '<<>>'],
    ];
    for (const [body, at] of cases) {
      it(body, () => {
        const t = parse(body);
        const d = only(t, 'PL010');
        assert.equal(textAt(t, d.range), at);
        assert.equal(d.severity, 'error');
      });
    }
  });

  it('diagnostics come sorted by position, with ranges inside the text', () => {
    const t = parse('---', 'tierr: x', 'variables:', '  a: {}', '---', '<<b>> {{c}} <<#if', '<<else>>');
    const starts = t.diagnostics.map((d) => [d.range.start.line, d.range.start.character]);
    const sorted = [...starts].sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
    assert.deepEqual(starts, sorted);
    assert.deepEqual(codes(t), ['PL007', 'PL003', 'PL002', 'PL009', 'PL001', 'PL004']);
  });
});
