import { strict as assert } from 'node:assert';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseTemplate, renderTemplate, type ParsedTemplate } from '../../../src/core/template';
import { SEVERITY } from '../../../src/core/template/issues';

/** Everything a parse must guarantee, whatever the input. */
function assertWellFormed(t: ParsedTemplate): void {
  const lastLine = t.lines.lineCount - 1;
  for (const d of t.diagnostics) {
    assert.equal(d.severity, SEVERITY[d.code], `${d.code} has its contract severity`);
    assert.ok(d.message.length > 0);
    const { start, end } = d.range;
    assert.ok(start.line >= 0 && end.line <= lastLine, `range inside the text: ${JSON.stringify(d.range)}`);
    assert.ok(start.line < end.line || (start.line === end.line && start.character <= end.character), 'start ≤ end');
  }
  for (const use of t.uses) assert.ok(use.span.start <= use.span.end && use.span.end <= t.text.length);
  assert.equal(t.hasErrors, t.diagnostics.some((d) => d.severity === 'error'));
}

const TOKENS = [
  '<<', '>>', '<<!', '\\<<', '{{', '}}', '<<#if ', '<<#unless ', '<</if>>', '<</unless>>', '<<else>>', '<<if ', '"', '\\',
  '---', '\n', '\r\n', '\r', '\0', ':', '  ', '[', ']', '{', '}', '&a', '*a', '#', 'variables:', 'type: ', 'dropdown',
  'options:', 'default:', 'name', '__proto__', 'constructor', 'x', '\uFEFF', '\uD800', '😀',
];
const tokenSoup = fc.array(fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 6 }), fc.string({ unit: 'binary', maxLength: 4 })), {
  maxLength: 200,
}).map((parts) => parts.join(''));

const FIXTURES = join(__dirname, '../../../examples');
const examples = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.prompt'))
  .map((f) => readFileSync(join(FIXTURES, f), 'utf8'));

/** A real template with random insertions, deletions and replacements. */
const mutated = fc
  .tuple(
    fc.constantFrom(...examples),
    fc.array(fc.tuple(fc.nat(), fc.nat({ max: 20 }), fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 5 }))), { minLength: 1, maxLength: 8 }),
  )
  .map(([text, edits]) => {
    let s = text;
    for (const [at, del, insert] of edits) {
      const i = at % (s.length + 1);
      s = s.slice(0, i) + insert + s.slice(i + del);
    }
    return s;
  });

const values = fc.dictionary(
  fc.oneof(fc.constantFrom('persona', 'investment_amount', 'years_to_retirement', 'mention_taxes', '__proto__', 'constructor'), fc.string()),
  fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.object()),
);

describe('parse and render never throw, never hang (property-based)', () => {
  it('has the example fixtures to mutate', () => {
    assert.ok(examples.length >= 3);
    for (const text of examples) assert.deepEqual(parseTemplate(text).diagnostics.filter((d) => d.severity === 'error'), []);
  });

  it('arbitrary unicode and binary strings', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 400 }), fc.string({ unit: 'grapheme', maxLength: 400 })), (text) => {
        assertWellFormed(parseTemplate(text));
      }),
      { numRuns: 500 },
    );
  });

  it('token soups of the format’s own syntax', () => {
    fc.assert(
      fc.property(tokenSoup, values, (text, params) => {
        const t = parseTemplate(text);
        assertWellFormed(t);
        renderTemplate(t, params);
      }),
      { numRuns: 1500 },
    );
  });

  it('mutated real templates, rendered with hostile values', () => {
    fc.assert(
      fc.property(mutated, values, (text, params) => {
        const t = parseTemplate(text);
        assertWellFormed(t);
        const result = renderTemplate(t, params);
        if (result.ok) assert.equal(typeof result.value.prompt, 'string');
        else assert.ok(result.problems.length > 0);
        assert.equal(({} as Record<string, unknown>).polluted, undefined);
      }),
      { numRuns: 1500 },
    );
  });

  it('the same text with CRLF line ends gives the same diagnostics by line', () => {
    fc.assert(
      fc.property(mutated, (text) => {
        const lf = text.replace(/\r\n?/g, '\n');
        const a = parseTemplate(lf).diagnostics.map((d) => `${d.code}@${d.range.start.line}`);
        const b = parseTemplate(lf.replace(/\n/g, '\r\n')).diagnostics.map((d) => `${d.code}@${d.range.start.line}`);
        assert.deepEqual(b, a);
      }),
      { numRuns: 300 },
    );
  });

  describe('one-megabyte inputs complete', () => {
    const MB = 1 << 20;
    const big: [string, () => string][] = [
      ['random bytes with NULs', () => Array.from({ length: MB }, (_, i) => String.fromCharCode((i * 7919) % 256)).join('')],
      ['one line of <<', () => '<<'.repeat(MB / 2)],
      ['<<" and quotes', () => '<<"'.repeat(MB / 3)],
      ['{{ then spaces', () => '{{' + ' '.repeat(MB)],
      ['unterminated front matter', () => '---\n' + 'key: value\n'.repeat(MB / 11)],
      ['deep YAML flow nesting', () => '---\nx: ' + '['.repeat(MB / 4) + '\n---\nbody'],
      ['deeply nested blocks', () => '<<#if a>>'.repeat(50_000) + 'x' + '<</if>>'.repeat(50_000)],
      ['many placeholders on CRLF lines', () => 'Hi <<name>> and <<#if flag>>yes<</if>>\r\n'.repeat(MB / 40)],
      ['an unclosed comment at the start', () => '<<!' + 'x'.repeat(MB)],
      ['a huge front-matter string', () => `---\nsystem: "${'<<a>>'.repeat(MB / 5)}"\n---\n`],
      // Shapes that were once quadratic: each must stay linear (a regression shows as a timeout).
      ['unusable nested blocks holding text', () => '<<#if a>>a'.repeat(MB / 10) + '<</if>>'.repeat(MB / 10)],
      ['unusable blocks never closed', () => '<<#each a>>a'.repeat(MB / 12)],
      ['wrong closing tags', () => '<<#if a>>'.repeat(MB / 20) + '<</unless>>'.repeat(MB / 22)],
      ['many unclosed comments', () => '<<! '.repeat(MB / 4)],
      ['standalone tags on every line', () => '<<#if a>>\nx\n<</if>>\n'.repeat(MB / 20)],
    ];
    for (const [title, make] of big) {
      it(title, () => {
        const text = make();
        const t = parseTemplate(text);
        assertWellFormed(t);
        renderTemplate(t, { a: 'x', name: 'n', flag: true });
      });
    }
    it('nesting beyond the limit is reported, not recursed into', () => {
      const t = parseTemplate('<<#if a>>'.repeat(200) + 'x' + '<</if>>'.repeat(200));
      assert.ok(t.diagnostics.some((d) => d.code === 'PL010' && /deeper than 64/.test(d.message)));
    });
  });
});
