/**
 * The template list (the Templates view): every `.prompt` file of the workspace, with the
 * database's figures where it has them. A file never generated from is listed with no runs; in a
 * workspace whose database cannot be read (untrusted), with no figures at all.
 */
import type { TemplateRow } from './templates';

/** What the file itself says (its front matter) and when it last changed. */
export interface TemplateFile {
  /** Relative to the workspace folder, `/`-separated: the database's key. */
  readonly path: string;
  readonly name: string;
  readonly tier: string;
  readonly active: boolean;
  readonly modifiedAt: number;
}

export interface TemplateFigures {
  readonly runs: number;
  readonly conversations: number;
  readonly avgQuality: number | null;
  /** approved / reviewed, 0..1; null when nothing was reviewed. */
  readonly approvalRate: number | null;
}

export interface TemplateEntry extends TemplateFile {
  /** Undefined when the database is not read (untrusted workspace). */
  readonly figures: TemplateFigures | undefined;
}

export type TemplateSort = 'name' | 'usage' | 'rating' | 'modified';
export const TEMPLATE_SORTS: readonly TemplateSort[] = ['name', 'usage', 'rating', 'modified'];

export interface TemplateFilter {
  readonly tier?: string;
  readonly active?: boolean;
}

const NO_RUNS: TemplateFigures = { runs: 0, conversations: 0, avgQuality: null, approvalRate: null };

/**
 * The entries to show: `files` joined with `rows` by path (undefined rows: no figures), filtered,
 * then sorted. Usage and rating put the busiest and best first; ties (and templates without a
 * rating, which come last) fall back to the name, so the order never depends on the file system's.
 */
export function templateList(files: readonly TemplateFile[], rows: readonly Pick<TemplateRow, 'file' | 'usageCount' | 'conversations' | 'avgQuality' | 'approvalRate'>[] | undefined, sort: TemplateSort, filter: TemplateFilter = {}): TemplateEntry[] {
  const byPath = new Map(rows?.map((r) => [r.file, r]));
  const entries = files
    .filter((f) => (filter.tier === undefined || f.tier === filter.tier) && (filter.active === undefined || f.active === filter.active))
    .map((f): TemplateEntry => {
      if (!rows) return { ...f, figures: undefined };
      const r = byPath.get(f.path);
      return { ...f, figures: r ? { runs: r.usageCount, conversations: r.conversations, avgQuality: r.avgQuality, approvalRate: r.approvalRate } : NO_RUNS };
    });
  const byName = (a: TemplateEntry, b: TemplateEntry) => a.name.localeCompare(b.name) || a.path.localeCompare(b.path);
  // Missing values (no rating, no figures) are null and come last.
  const descending = (value: (e: TemplateEntry) => number | null | undefined) => (a: TemplateEntry, b: TemplateEntry) => {
    const [x, y] = [value(a) ?? null, value(b) ?? null];
    if (x === y) return byName(a, b);
    if (x === null) return 1;
    if (y === null) return -1;
    return y - x || byName(a, b);
  };
  const compare = {
    name: byName,
    usage: descending((e) => e.figures?.runs),
    rating: descending((e) => e.figures?.avgQuality),
    modified: descending((e) => e.modifiedAt),
  }[sort];
  return entries.sort(compare);
}

/** "tier scenario · inactive": the filter as the view's description shows it; '' for none. */
export function describeTemplateFilter(filter: TemplateFilter): string {
  return [filter.tier !== undefined ? `tier ${filter.tier}` : undefined, filter.active === undefined ? undefined : filter.active ? 'active' : 'inactive'].filter((p) => p !== undefined).join(' · ');
}
