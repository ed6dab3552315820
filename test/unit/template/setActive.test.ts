import { strict as assert } from 'node:assert';
import { applyTextEdit, parseTemplate, setActiveEdit } from '../../../src/core/template';

/** The file after marking it, and what the parser then reads from it. */
function mark(text: string, active: boolean): { text: string; active: boolean; changed: boolean } {
  const result = setActiveEdit(parseTemplate(text, { fileName: 't.prompt' }), active);
  assert.ok(result.ok, result.ok ? '' : result.reason);
  const after = result.edit ? applyTextEdit(text, result.edit) : text;
  const parsed = parseTemplate(after, { fileName: 't.prompt' });
  assert.deepEqual(parsed.diagnostics.filter((d) => d.severity === 'error'), [], after);
  return { text: after, active: parsed.settings.active, changed: result.edit !== undefined };
}

describe('marking a template active or inactive (front matter `active:`)', () => {
  it('adds `active: false` after `tier:`, leaving every other line (comments included) as it was', () => {
    const text = ['---', '# owner: data team', 'name: Check-in', 'tier: scenario   # the tier', 'variables:', '  persona: { type: text }', '---', 'Hello <<persona>>.', ''].join('\n');
    const out = mark(text, false);
    assert.equal(out.active, false);
    assert.equal(out.text, ['---', '# owner: data team', 'name: Check-in', 'tier: scenario   # the tier', 'active: false', 'variables:', '  persona: { type: text }', '---', 'Hello <<persona>>.', ''].join('\n'));
  });

  it('flips an existing value in place, and back', () => {
    const text = ['---', 'name: A', 'active: true  # on for now', 'tier: template', '---', 'Body', ''].join('\n');
    const off = mark(text, false);
    assert.equal(off.text, text.replace('active: true ', 'active: false '));
    assert.equal(off.active, false);
    const on = mark(off.text, true);
    assert.equal(on.text, text);
    assert.equal(on.active, true);
  });

  it('keeps CRLF line ends', () => {
    const text = '---\r\nname: A\r\n---\r\nBody\r\n';
    const out = mark(text, false);
    assert.equal(out.text, '---\r\nname: A\r\nactive: false\r\n---\r\nBody\r\n');
  });

  it('adds front matter to a file without any only to mark it inactive; active is the default', () => {
    assert.deepEqual(mark('Write about <<topic>>.\n', true), { text: 'Write about <<topic>>.\n', active: true, changed: false });
    const out = mark('Write about <<topic>>.\n', false);
    assert.equal(out.text, '---\nactive: false\n---\nWrite about <<topic>>.\n');
    assert.equal(out.active, false);
  });

  it('changes nothing when the file already says so', () => {
    const text = '---\nname: A\nactive: false\n---\nBody\n';
    assert.equal(mark(text, false).changed, false);
    assert.equal(mark('---\nname: A\n---\nBody\n', true).changed, false);
  });

  it('gives `active:` without a value, or with a wrong one, a proper value', () => {
    assert.equal(mark('---\nname: A\nactive:\n---\nBody\n', false).text, '---\nname: A\nactive: false\n---\nBody\n');
    assert.equal(mark('---\nname: A\nactive: yes\n---\nBody\n', true).text, '---\nname: A\nactive: true\n---\nBody\n');
  });

  it('refuses to write into front matter it cannot read', () => {
    for (const text of ['---\nname: [unclosed\n---\nBody\n', '---\nname: A\nBody without a closing line\n']) {
      const result = setActiveEdit(parseTemplate(text), false);
      assert.equal(result.ok, false, text);
    }
  });
});
