import { strict as assert } from 'node:assert';
import { parseTemplate, LineIndex, type BlockNode } from '../../../src/core/template';
import { parse, textAt } from '../../helpers/template';

describe('parse', () => {
  it('splits front matter and body, with the body starting after the closing ---', () => {
    const t = parse('---', 'tier: scenario', '---', 'Body <<x>>');
    assert.equal(t.settings.tier, 'scenario');
    assert.equal(t.text.slice(t.body.span.start), 'Body <<x>>');
    assert.deepEqual(t.lines.range(t.frontMatter!.region), { start: { line: 0, character: 0 }, end: { line: 2, character: 3 } });
  });

  it('a file without front matter is all body', () => {
    const t = parse('Just <<x>>', '---', 'still body');
    assert.equal(t.frontMatter, undefined);
    assert.equal(t.body.span.start, 0);
    assert.deepEqual(t.variables.map((v) => v.name), ['x']);
  });

  it('records every front-matter key with its range', () => {
    const t = parse('---', 'tier: scenario', 'variables:', '  persona:', '    type: text', '    default: Ann', '---', '<<persona>>');
    const keys = t.frontMatter!.keys.map((k) => [k.path.join('.'), textAt(t, t.lines.range(k.keySpan)), k.valueSpan && t.text.slice(k.valueSpan.start, k.valueSpan.end)]);
    assert.deepEqual(keys, [
      ['tier', 'tier', 'scenario'],
      ['variables', 'variables', 'persona:\n    type: text\n    default: Ann\n'],
      ['variables.persona', 'persona', 'type: text\n    default: Ann\n'],
      ['variables.persona.type', 'type', 'text'],
      ['variables.persona.default', 'default', 'Ann'],
    ]);
  });

  it('gives exact ranges for placeholders, blocks and declarations', () => {
    const t = parse('---', 'variables:', '  a: {}', '  b: { type: boolean }', '---', 'x <<a>>', '<<#if b>>1<<else>>2<</if>>');
    assert.deepEqual(
      t.uses.map((u) => [u.name, t.lines.range(u.span)]),
      [
        ['a', { start: { line: 5, character: 4 }, end: { line: 5, character: 5 } }],
        ['b', { start: { line: 6, character: 6 }, end: { line: 6, character: 7 } }],
      ],
    );
    assert.deepEqual(t.lines.range(t.variables[1]!.nameSpan), { start: { line: 3, character: 2 }, end: { line: 3, character: 3 } });
    const block = t.body.nodes.find((n) => n.kind === 'block') as BlockNode;
    assert.equal(t.text.slice(block.span.start, block.span.end), '<<#if b>>1<<else>>2<</if>>');
    assert.equal(t.text.slice(block.openSpan.start, block.openSpan.end), '<<#if b>>');
    assert.equal(t.text.slice(block.elseSpan!.start, block.elseSpan!.end), '<<else>>');
    assert.equal(t.text.slice(block.closeSpan!.start, block.closeSpan!.end), '<</if>>');
  });

  it('CRLF files get the same line/character ranges as LF files', () => {
    const lf = ['---', 'variables:', '  a: {}', '  unused: {}', '---', 'x <<a>> <<b>>', '<<#if a>>'];
    const crlf = parseTemplate(lf.join('\r\n'));
    const plain = parseTemplate(lf.join('\n'));
    assert.deepEqual(
      crlf.diagnostics.map((d) => [d.code, d.range]),
      plain.diagnostics.map((d) => [d.code, d.range]),
    );
    assert.equal(crlf.diagnostics.length, 3);
  });

  it('a byte-order mark before the front matter is allowed', () => {
    const t = parseTemplate('\uFEFF---\ntier: scenario\n---\nBody');
    assert.equal(t.settings.tier, 'scenario');
    assert.deepEqual(t.diagnostics, []);
  });

  it('system prompt placeholders point into the YAML', () => {
    const t = parse('---', 'system: "Speak with <<persona>>."', 'variables:', '  persona: {}', '---', 'b');
    const use = t.uses.find((u) => u.in === 'system')!;
    assert.deepEqual(t.lines.range(use.span), { start: { line: 1, character: 22 }, end: { line: 1, character: 29 } });
  });

  it('the template name defaults to the file name', () => {
    assert.equal(parseTemplate('x', { fileName: '/a/b/Market Check.prompt' }).settings.name, 'Market Check');
    assert.equal(parseTemplate('---\nname: Given\n---\n', { fileName: 'x.prompt' }).settings.name, 'Given');
    assert.equal(parseTemplate('x').settings.name, 'untitled');
  });

  it('YAML aliases resolve for options', () => {
    const t = parse('---', 'personas: &p [A, B]', 'variables:', '  who: { type: dropdown, options: *p }', '---', '<<who>>');
    assert.deepEqual(t.diagnostics, []);
    assert.deepEqual(t.variables[0]!.options, ['A', 'B']);
  });

  describe('LineIndex', () => {
    it('maps offsets to positions and back for \\n, \\r\\n and \\r', () => {
      const idx = new LineIndex('ab\ncd\r\nef\rgh');
      assert.deepEqual(idx.position(0), { line: 0, character: 0 });
      assert.deepEqual(idx.position(4), { line: 1, character: 1 });
      assert.deepEqual(idx.position(8), { line: 2, character: 1 });
      assert.deepEqual(idx.position(11), { line: 3, character: 1 });
      assert.equal(idx.lineCount, 4);
      for (let o = 0; o <= idx.text.length; o++) {
        const p = idx.position(o);
        const back = idx.offset(p);
        // Offsets inside a \r\n pair map to the end of the line; all others round-trip.
        if (!(idx.text[o - 1] === '\r' && idx.text[o] === '\n')) assert.equal(back, o, `offset ${o}`);
      }
      assert.deepEqual(idx.position(999), { line: 3, character: 2 });
    });
  });
});
