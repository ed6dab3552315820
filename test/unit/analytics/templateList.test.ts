import { strict as assert } from 'node:assert';
import { describeTemplateFilter, templateList, type TemplateFile, type TemplateRow } from '../../../src/core/analytics';

const file = (path: string, name: string, tier: string, active: boolean, modifiedAt: number): TemplateFile => ({ path, name, tier, active, modifiedAt });
const FILES = [file('b.prompt', 'Bravo', 'scenario', true, 300), file('a.prompt', 'Alpha', 'template', false, 100), file('c.prompt', 'Charlie', 'scenario', true, 200), file('d.prompt', 'Delta', 'template', true, 400)];

/** A database row with only the figures the list reads set. */
function row(path: string, usageCount: number, avgQuality: number | null, approvalRate: number | null): TemplateRow {
  return { file: path, usageCount, avgQuality, approvalRate, conversations: usageCount } as unknown as TemplateRow;
}
const ROWS = [row('a.prompt', 4, 8.5, 0.5), row('b.prompt', 9, 6.25, null), row('c.prompt', 4, 7, 1), row('gone.prompt', 50, 9, 1)];

const names = (sort: Parameters<typeof templateList>[2], filter = {}) => templateList(FILES, ROWS, sort, filter).map((e) => e.name);

describe('the template list (Templates view)', () => {
  it('lists every file, with its figures, and a never-generated one with no runs; a row without a file is not listed', () => {
    const list = templateList(FILES, ROWS, 'name');
    assert.deepEqual(list.map((e) => e.path), ['a.prompt', 'b.prompt', 'c.prompt', 'd.prompt']);
    assert.deepEqual(list[0]!.figures, { runs: 4, conversations: 4, avgQuality: 8.5, approvalRate: 0.5 });
    assert.deepEqual(list[3]!.figures, { runs: 0, conversations: 0, avgQuality: null, approvalRate: null });
  });

  it('without the database (untrusted), lists the files with no figures at all', () => {
    assert.deepEqual(templateList(FILES, undefined, 'name').map((e) => e.figures), [undefined, undefined, undefined, undefined]);
  });

  it('sorts by usage and by rating (busiest and best first, ties and unrated by name) and by last modified', () => {
    assert.deepEqual(names('usage'), ['Bravo', 'Alpha', 'Charlie', 'Delta']);
    assert.deepEqual(names('rating'), ['Alpha', 'Charlie', 'Bravo', 'Delta']);
    assert.deepEqual(names('modified'), ['Delta', 'Bravo', 'Charlie', 'Alpha']);
  });

  it('filters by tier and by active, and describes the filter', () => {
    assert.deepEqual(names('name', { tier: 'scenario' }), ['Bravo', 'Charlie']);
    assert.deepEqual(names('name', { active: false }), ['Alpha']);
    assert.deepEqual(names('name', { tier: 'template', active: true }), ['Delta']);
    assert.equal(describeTemplateFilter({ tier: 'template', active: false }), 'tier template · inactive');
    assert.equal(describeTemplateFilter({}), '');
  });
});
