/**
 * A dataset from conversation rows: near-duplicate groups, deduplication, and a seeded,
 * stratified train/validation split that never separates a group. Pure functions over rows.
 */
import { seededRandom } from '../generation/random';
import type { ConversationRow } from './rows';

/** The seed of `--split` when none is given: the same data always splits the same way. */
export const DEFAULT_SPLIT_SEED = 1;

/**
 * Near-duplicate groups: the connected components of the `near_duplicate_of` links (each link
 * joins a conversation and the earlier one it resembles, so A≈B and B≈C make one group even if A
 * and C differ more). Returns each id's group, named by the group's earliest linked id; ids in no
 * link are their own group. `links` should be all of them, not only the exported rows': two
 * exported conversations linked through one left out are still one group.
 */
export function nearDuplicateGroups(links: Iterable<{ readonly id: string; readonly nearDuplicateOf: string | null }>): (id: string) => string {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let root = x;
    while (parent.has(root) && parent.get(root) !== root) root = parent.get(root)!;
    // Path compression: later look-ups are one step.
    let y = x;
    while (y !== root) {
      const next = parent.get(y)!;
      parent.set(y, root);
      y = next;
    }
    return root;
  };
  for (const { id, nearDuplicateOf } of links) {
    if (nearDuplicateOf === null || nearDuplicateOf === id) continue;
    const a = find(id);
    const b = find(nearDuplicateOf);
    if (a === b) continue;
    // The smaller id names the group, whatever order the links came in.
    if (a < b) parent.set(b, a);
    else parent.set(a, b);
    if (!parent.has(a)) parent.set(a, a);
    if (!parent.has(b)) parent.set(b, b);
  }
  return find;
}

/** Best first: the higher score (unscored last), then the earlier, then the smaller id. */
export function better(a: ConversationRow, b: ConversationRow): number {
  const qa = a.quality ?? -Infinity;
  const qb = b.quality ?? -Infinity;
  if (qa !== qb) return qb - qa;
  if (a.createdAt !== b.createdAt) return a.createdAt - b.createdAt;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** One row per near-duplicate group: the best scored, ties by earliest. Order of `rows` is kept. */
export function dedup<T extends ConversationRow>(rows: readonly T[], groupOf: (id: string) => string): { kept: T[]; removed: T[] } {
  const best = new Map<string, T>();
  for (const row of rows) {
    const g = groupOf(row.id);
    const current = best.get(g);
    if (current === undefined || better(row, current) < 0) best.set(g, row);
  }
  const keep = new Set([...best.values()].map((r) => r.id));
  return { kept: rows.filter((r) => keep.has(r.id)), removed: rows.filter((r) => !keep.has(r.id)) };
}

/** The stratum of a conversation: its template and its values (keys sorted), as one string. */
export function stratumOf(row: Pick<ConversationRow, 'template' | 'values'>): string {
  return JSON.stringify([row.template, canonicalValues(row.values)]);
}

/** The values as JSON with keys in sorted order, so equal combinations compare equal. */
export function canonicalValues(values: Readonly<Record<string, unknown>>): string {
  return JSON.stringify(Object.fromEntries(Object.keys(values).sort().map((k) => [k, values[k]])));
}

/**
 * Splits rows into train and validation: every row exactly once; stratified by template and
 * values (each combination's train count is the floor or the ceiling of its size × ratio, the
 * ceilings given by largest remainder so the total is round(N × ratio)); seeded (the same seed
 * and rows give the same split); and a near-duplicate group always whole on one side. A group
 * with several rows is placed first, on the side where its rows fit the remaining targets best;
 * then the single rows of each combination fill what is left, in seeded random order. Only the
 * groups can move a combination off its target, and only as far as they are large.
 * Row order is kept within each side.
 */
export function splitRows<T extends ConversationRow>(rows: readonly T[], ratio: number, seed: number, groupOf: (id: string) => string): { train: T[]; validation: T[] } {
  if (!(ratio > 0 && ratio < 1)) throw new RangeError(`split ratio must be between 0 and 1 (exclusive), not ${ratio}`);
  const random = seededRandom(seed);
  // A fixed order first (ids), so the split depends on the seed and the rows, not on how they were read.
  const sorted = [...rows].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

  const strata = new Map<string, T[]>();
  for (const row of sorted) {
    const key = stratumOf(row);
    const list = strata.get(key);
    if (list) list.push(row);
    else strata.set(key, [row]);
  }
  // Train targets per stratum by largest remainder, ties broken by the seed.
  const keys = [...strata.keys()].sort();
  const target = new Map<string, number>();
  const remainders: { key: string; frac: number; tie: number }[] = [];
  let assigned = 0;
  for (const key of keys) {
    const exact = strata.get(key)!.length * ratio;
    const floor = Math.floor(exact + 1e-9);
    target.set(key, floor);
    assigned += floor;
    remainders.push({ key, frac: exact - floor, tie: random() });
  }
  let extra = Math.round(rows.length * ratio + 1e-9) - assigned;
  remainders.sort((a, b) => b.frac - a.frac || a.tie - b.tie);
  for (const r of remainders) {
    if (extra <= 0) break;
    if (r.frac <= 1e-9) continue;
    target.set(r.key, target.get(r.key)! + 1);
    extra--;
  }
  // What each side still needs, per stratum.
  const need = { train: new Map(target), validation: new Map(keys.map((k) => [k, strata.get(k)!.length - target.get(k)!])) };

  const groups = new Map<string, T[]>();
  for (const row of sorted) {
    const g = groupOf(row.id);
    const list = groups.get(g);
    if (list) list.push(row);
    else groups.set(g, [row]);
  }
  const side = new Map<string, 'train' | 'validation'>();
  const multi = shuffle(
    [...groups.entries()].filter(([, members]) => members.length > 1).sort(([a], [b]) => (a < b ? -1 : 1)),
    random,
  );
  for (const [, members] of multi) {
    // Rows that would go past a side's target in their stratum: fewer is better; then the side with more room.
    const cost = (s: 'train' | 'validation') => {
      const left = new Map<string, number>();
      let over = 0;
      for (const m of members) {
        const k = stratumOf(m);
        const n = left.has(k) ? left.get(k)! : need[s].get(k)!;
        if (n <= 0) over++;
        left.set(k, n - 1);
      }
      return over;
    };
    const room = (s: 'train' | 'validation') => members.reduce((sum, m) => sum + need[s].get(stratumOf(m))!, 0);
    const ct = cost('train');
    const cv = cost('validation');
    const chosen = ct < cv ? 'train' : cv < ct ? 'validation' : room('train') >= room('validation') ? 'train' : 'validation';
    for (const m of members) {
      side.set(m.id, chosen);
      const k = stratumOf(m);
      need[chosen].set(k, need[chosen].get(k)! - 1);
    }
  }
  for (const key of keys) {
    const singles = shuffle(
      strata.get(key)!.filter((r) => !side.has(r.id)),
      random,
    );
    let validation = Math.max(0, need.validation.get(key)!);
    for (const r of singles) {
      if (validation > 0) {
        side.set(r.id, 'validation');
        validation--;
      } else side.set(r.id, 'train');
    }
  }
  return { train: rows.filter((r) => side.get(r.id) === 'train'), validation: rows.filter((r) => side.get(r.id) === 'validation') };
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/**
 * The files a dataset export writes, from `--out`: the split files and the card get `.train`,
 * `.validation` and `.card` before the extension (`data.jsonl` → `data.train.jsonl`,
 * `data.validation.jsonl`, `data.card.md`; a name without extension just gets the suffix).
 */
export function datasetFileNames(out: string): { train: string; validation: string; card: string } {
  const slash = Math.max(out.lastIndexOf('/'), out.lastIndexOf('\\'));
  const dir = out.slice(0, slash + 1);
  const name = out.slice(slash + 1);
  const dot = name.lastIndexOf('.');
  // A leading dot names a hidden file, not an extension.
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  return { train: `${dir}${stem}.train${ext}`, validation: `${dir}${stem}.validation${ext}`, card: `${dir}${stem}.card.md` };
}
