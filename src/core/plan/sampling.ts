/**
 * Sampling over domain indices: each varied variable `i` has `sizes[i]` values, and a cell is one
 * index per variable with a count. Pure arithmetic; values and rendering come later (build.ts).
 */
export interface IndexCell {
  readonly indices: number[];
  count: number;
}

/** The number of combinations, or Infinity once it passes `cap` (no overflow on many variables). */
export function combinations(sizes: readonly number[], cap: number): number {
  let c = 1;
  for (const n of sizes) {
    c *= n;
    if (c > cap) return Infinity;
  }
  return c;
}

/** Every combination, `count` each, in mixed-radix order (the last variable changes fastest). */
export function gridCells(sizes: readonly number[], count: number): IndexCell[] {
  const cells: IndexCell[] = [];
  const indices = sizes.map(() => 0);
  if (sizes.some((n) => n === 0)) return cells;
  for (;;) {
    cells.push({ indices: [...indices], count });
    let i = sizes.length - 1;
    while (i >= 0 && ++indices[i]! === sizes[i]!) indices[i--] = 0;
    if (i < 0) return cells;
  }
}

/**
 * `count` conversations spread evenly: with C combinations, each combination gets ⌊count/C⌋
 * or one more, and the `count mod C` extra ones (all of them when count < C) are distinct
 * combinations in which each value of each variable appears ⌊r/n⌋ or ⌈r/n⌉ times. So each value
 * of each variable appears as evenly as possible (counts differ by at most 1).
 *
 * The extras are the first r terms of a sequence j ↦ (v₁(j), …, v_k(j)) with
 *   v₁(j) = j mod n₁,   v_i(j) = (j + (⌊j / L_i⌋ mod g_i)) mod n_i,
 * where P_i = n₁⋯n_{i−1}, g_i = gcd(P_i, n_i), L_i = lcm(P_i, n_i). Within every aligned window
 * of n_i terms v_i is a rotation of 0…n_i−1 (the shift only changes at multiples of L_i, a
 * multiple of n_i), so every prefix is balanced; and by induction (v₁…v_i)(j) = (v₁…v_i)(j′)
 * exactly when j ≡ j′ mod P_i·n_i, so the first C terms are C distinct combinations. `order`
 * permutes each domain (seeded), so which values receive the extra conversation varies by seed.
 */
export function balancedCells(sizes: readonly number[], count: number, order: readonly (readonly number[])[]): IndexCell[] {
  const total = combinations(sizes, count);
  const each = total === Infinity ? 0 : Math.floor(count / total);
  const extra = count - each * (total === Infinity ? 0 : total);
  const cells: IndexCell[] = [];
  const byIndex = new Map<string, IndexCell>();
  if (each > 0) {
    for (const cell of gridCells(sizes, each)) {
      cells.push(cell);
      byIndex.set(cell.indices.join(','), cell);
    }
  }
  // Per variable: the period L and the number g of shifts; g = 0 once the earlier variables
  // alone already tell the first `extra` terms apart (then v_i = j mod n_i).
  const shifts: { L: number; g: number }[] = [];
  let period = 1;
  for (const n of sizes) {
    if (period >= extra || period === 1) {
      shifts.push({ L: 1, g: 0 });
    } else {
      const g = gcd(period, n);
      shifts.push({ L: (period / g) * n, g });
    }
    if (period < extra) period *= n;
  }
  for (let j = 0; j < extra; j++) {
    const indices = sizes.map((n, i) => {
      const { L, g } = shifts[i]!;
      const v = g === 0 ? j % n : (j + (Math.floor(j / L) % g)) % n;
      return order[i]![v]!;
    });
    const known = each > 0 ? byIndex.get(indices.join(',')) : undefined;
    if (known) known.count++;
    else cells.push({ indices, count: 1 });
  }
  return cells;
}

/** `count` conversations, each value of each variable drawn independently and uniformly. */
export function randomCells(sizes: readonly number[], count: number, random: () => number): IndexCell[] {
  const cells = new Map<string, IndexCell>();
  for (let k = 0; k < count; k++) {
    const indices = sizes.map((n) => Math.min(n - 1, Math.floor(random() * n)));
    const id = indices.join(',');
    const known = cells.get(id);
    if (known) known.count++;
    else cells.set(id, { indices, count: 1 });
  }
  return [...cells.values()];
}

/** 0…n−1 shuffled (Fisher–Yates) with a seeded generator. */
export function shuffled(n: number, random: () => number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const k = Math.floor(random() * (i + 1));
    [a[i], a[k]] = [a[k]!, a[i]!];
  }
  return a;
}

/** Lexicographic order of index tuples: cells listed as a table would list them. */
export function compareIndices(a: IndexCell, b: IndexCell): number {
  for (let i = 0; i < a.indices.length; i++) {
    const d = a.indices[i]! - b.indices[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}
