/** Rank agreement between a score and human ratings: Spearman's ρ and pairwise ranking accuracy. */

/** Ranks from 1, ties sharing their mean rank. */
export function ranks(xs: readonly number[]): number[] {
  const order = xs.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(xs.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    for (let k = i; k <= j; k++) out[order[k]![1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return out;
}

export function pearson(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - mx;
    const dy = ys[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx === 0 || syy === 0 ? 0 : sxy / Math.sqrt(sxx * syy);
}

export const spearman = (xs: readonly number[], ys: readonly number[]): number => pearson(ranks(xs), ranks(ys));

/**
 * Among pairs whose human ratings differ by at least `gap`, the share the score orders the same
 * way; a tied score counts as half right (what a coin would get).
 */
export function pairwiseAccuracy(scores: readonly number[], ratings: readonly number[], gap = 1): number {
  let right = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    for (let j = i + 1; j < scores.length; j++) {
      const dr = ratings[i]! - ratings[j]!;
      if (Math.abs(dr) < gap) continue;
      pairs++;
      const agree = (scores[i]! - scores[j]!) * dr;
      right += agree > 0 ? 1 : agree === 0 ? 0.5 : 0;
    }
  }
  return pairs === 0 ? NaN : right / pairs;
}
