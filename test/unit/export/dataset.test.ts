import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { csvField } from '../../../src/cli/conversations';
import { datasetFileNames, dedup, nearDuplicateGroups, renderTrainingSystem, splitRows, stratumOf, type ConversationRow } from '../../../src/core/export';

function row(id: string, values: Record<string, unknown>, extra: Partial<ConversationRow> = {}): ConversationRow {
  return {
    id,
    templateId: 1,
    template: 't.prompt',
    templateName: 'T',
    versionId: 1,
    version: 1,
    batchId: null,
    values,
    status: 'approved',
    quality: null,
    createdAt: 0,
    nearDuplicateOf: null,
    similarity: null,
    ...extra,
  };
}

describe('dataset: near-duplicate groups', () => {
  it('are the connected components of the links, whatever their order', () => {
    const links = [
      { id: 'c', nearDuplicateOf: 'b' },
      { id: 'b', nearDuplicateOf: 'a' },
      { id: 'e', nearDuplicateOf: 'd' },
      { id: 'f', nearDuplicateOf: null },
      { id: 'g', nearDuplicateOf: 'e' },
    ];
    for (const order of [links, [...links].reverse()]) {
      const groupOf = nearDuplicateGroups(order);
      assert.deepEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map(groupOf), ['a', 'a', 'a', 'd', 'd', 'f', 'd', 'h']);
    }
  });

  it('dedup keeps the best scored of each group, ties by the earliest, unscored last; row order kept', () => {
    const rows = [
      row('a', {}, { quality: 6, createdAt: 1 }),
      row('b', {}, { quality: 8, createdAt: 2 }),
      row('c', {}, { quality: 8, createdAt: 3 }),
      row('d', {}, { quality: null, createdAt: 4 }),
      row('e', {}, { quality: 1, createdAt: 5 }),
      row('f', {}, { quality: 3, createdAt: 6 }),
    ];
    const groupOf = nearDuplicateGroups([
      { id: 'b', nearDuplicateOf: 'a' },
      { id: 'c', nearDuplicateOf: 'a' },
      { id: 'e', nearDuplicateOf: 'd' },
    ]);
    const { kept, removed } = dedup(rows, groupOf);
    assert.deepEqual(kept.map((r) => r.id), ['b', 'e', 'f']);
    assert.deepEqual(removed.map((r) => r.id), ['a', 'c', 'd']);
  });
});

describe('dataset: split', () => {
  const arbitraryRows = fc
    .record({
      n: fc.integer({ min: 1, max: 120 }),
      combos: fc.integer({ min: 1, max: 7 }),
      links: fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 15 }),
      ratio: fc.double({ min: 0.05, max: 0.95, noNaN: true }),
      seed: fc.nat(),
    })
    .map(({ n, combos, links, ratio, seed }) => {
      const rows = Array.from({ length: n }, (_, i) => row(`id${String(i).padStart(3, '0')}`, { k: i % combos, flag: i % 2 === 0 }));
      return { rows, links: links.map(([a, b]) => ({ id: rows[a % n]!.id, nearDuplicateOf: rows[b % n]!.id })), ratio, seed };
    });

  it('every row exactly once, groups whole, the same seed the same split', () => {
    fc.assert(
      fc.property(arbitraryRows, ({ rows, links, ratio, seed }) => {
        const groupOf = nearDuplicateGroups(links);
        const { train, validation } = splitRows(rows, ratio, seed, groupOf);
        const ids = [...train, ...validation].map((r) => r.id).sort();
        assert.deepEqual(ids, rows.map((r) => r.id).sort());
        const side = new Map([...train.map((r) => [groupOf(r.id), 'train'] as const)]);
        for (const r of validation) assert.notEqual(side.get(groupOf(r.id)), 'train', `group of ${r.id} split`);
        const again = splitRows([...rows].reverse(), ratio, seed, groupOf);
        assert.deepEqual(again.validation.map((r) => r.id).sort(), validation.map((r) => r.id).sort(), 'the order rows come in does not matter');
      }),
    );
  });

  it('without near-duplicates: each value combination within 1 of its share, the total round(N × ratio)', () => {
    fc.assert(
      fc.property(arbitraryRows, ({ rows, ratio, seed }) => {
        const { train } = splitRows(rows, ratio, seed, (id) => id);
        // As splitRows rounds: N × ratio a hair under .5 from floating point (0.95 × 30) rounds up.
        assert.equal(train.length, Math.round(rows.length * ratio + 1e-9));
        const sizes = new Map<string, number>();
        const trained = new Map<string, number>();
        for (const r of rows) sizes.set(stratumOf(r), (sizes.get(stratumOf(r)) ?? 0) + 1);
        for (const r of train) trained.set(stratumOf(r), (trained.get(stratumOf(r)) ?? 0) + 1);
        for (const [k, n] of sizes) assert.ok(Math.abs((trained.get(k) ?? 0) - n * ratio) < 1, `${k}: ${trained.get(k) ?? 0} of ${n}`);
      }),
    );
  });

  it('another seed chooses other rows; a ratio outside (0, 1) is refused', () => {
    const rows = Array.from({ length: 50 }, (_, i) => row(`r${i}`, { k: i % 2 }));
    const a = splitRows(rows, 0.8, 1, (id) => id).validation.map((r) => r.id);
    const b = splitRows(rows, 0.8, 2, (id) => id).validation.map((r) => r.id);
    assert.equal(a.length, 10);
    assert.notDeepEqual(a, b);
    for (const ratio of [0, 1, -1, 2, Number.NaN]) assert.throws(() => splitRows(rows, ratio, 1, (id) => id), RangeError);
  });

  it('names the files after --out', () => {
    assert.deepEqual(datasetFileNames('data.jsonl'), { train: 'data.train.jsonl', validation: 'data.validation.jsonl', card: 'data.card.md' });
    assert.deepEqual(datasetFileNames('out/v1.2/set.v2.jsonl'), { train: 'out/v1.2/set.v2.train.jsonl', validation: 'out/v1.2/set.v2.validation.jsonl', card: 'out/v1.2/set.v2.card.md' });
    assert.deepEqual(datasetFileNames('.hidden'), { train: '.hidden.train', validation: '.hidden.validation', card: '.hidden.card.md' });
    assert.deepEqual(datasetFileNames('dir.d\\plain'), { train: 'dir.d\\plain.train', validation: 'dir.d\\plain.validation', card: 'dir.d\\plain.card.md' });
  });
});

describe('training_system', () => {
  const template = (frontMatter: string[]) => ['---', ...frontMatter, '---', 'Write about <<topic>>.', ''].join('\n');

  it('is rendered with the conversation’s values, defaults and escaping; the generation system: never', () => {
    const text = template([
      'system: You write conversations about <<topic>>.',
      'training_system: |',
      '  You help with <<topic>>.',
      '  <<#if formal>>Be formal.<</if>>',
      'variables:',
      '  topic: { type: text }',
      '  formal: { type: boolean, default: true }',
    ]);
    assert.deepEqual(renderTrainingSystem(text, { topic: 'bonds & stocks' }), { ok: true, system: 'You help with bonds &amp; stocks.\nBe formal.\n' });
    assert.deepEqual(renderTrainingSystem(text, { topic: 'tax', formal: false }), { ok: true, system: 'You help with tax.\n\n' });
  });

  it('is absent without the key, and works with inferred variables', () => {
    assert.deepEqual(renderTrainingSystem(template(['system: Write for <<topic>>.']), { topic: 'x' }), { ok: true });
    assert.deepEqual(renderTrainingSystem('Write about <<topic>>.', { topic: 'x' }), { ok: true });
    assert.deepEqual(renderTrainingSystem(template(['training_system: "Expert in <<topic>>: answer briefly."']), { topic: 'ETFs' }), { ok: true, system: 'Expert in ETFs: answer briefly.' });
  });

  it('says why when it cannot render', () => {
    const missing = renderTrainingSystem(template(['training_system: For <<who>>.', 'variables:', '  topic: { type: text }']), { topic: 'x' });
    assert.equal(missing.ok, false);
    const notText = renderTrainingSystem(template(['training_system: [a, b]']), { topic: 'x' });
    assert.deepEqual(notText, { ok: false, problem: '`training_system:` is not text' });
  });
});

describe('conversations CSV', () => {
  it('quotes a field with a comma, quote, CR or LF (RFC 4180), and nothing else', () => {
    assert.equal(csvField('plain'), 'plain');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('one\ntwo'), '"one\ntwo"');
    assert.equal(csvField('one\rtwo'), '"one\rtwo"');
    assert.equal(csvField(''), '');
  });
});
