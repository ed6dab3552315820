import type { TemplateRow } from './templates';

/** Below this many scored conversations a template's average says too little to rank it. */
export const TOP_MIN_SCORED = 5;

export interface TopPerformer {
  readonly tier: string;
  readonly template: TemplateRow;
  /** Its place in the tier, from 1. */
  readonly rank: number;
}

export interface TierRecommendation {
  readonly tier: string;
  readonly top: readonly TopPerformer[];
  readonly text: string;
}

/**
 * The best templates of each tier: ranked by mean quality, then approval rate, then volume, among
 * those with at least TOP_MIN_SCORED scored conversations; with a sentence saying what to do.
 */
export function topPerformers(rows: readonly TemplateRow[], perTier = 3): TierRecommendation[] {
  const tiers = [...new Set(rows.map((r) => r.tier))].sort();
  return tiers.flatMap((tier) => {
    const ranked = rows
      .filter((r) => r.tier === tier && r.scored >= TOP_MIN_SCORED && r.avgQuality !== null)
      .sort((a, b) => b.avgQuality! - a.avgQuality! || (b.approvalRate ?? -1) - (a.approvalRate ?? -1) || b.scored - a.scored || a.file.localeCompare(b.file))
      .slice(0, perTier);
    if (ranked.length === 0) return [];
    const best = ranked[0]!;
    const approval = best.approvalRate === null ? 'none reviewed yet' : `${Math.round(best.approvalRate * 100)}% approved`;
    const weakest = rows.filter((r) => r.tier === tier && r.scored >= TOP_MIN_SCORED && r.avgQuality !== null).sort((a, b) => a.avgQuality! - b.avgQuality!)[0];
    const gap = weakest && weakest.avgQuality! < best.avgQuality! - 0.5 ? ` ${weakest.name} averages ${weakest.avgQuality!.toFixed(1)}: borrow from ${best.name}'s instructions and examples.` : '';
    return [
      {
        tier,
        top: ranked.map((template, i) => ({ tier, template, rank: i + 1 })),
        text: `${best.name} leads the ${tier} tier: ${best.avgQuality!.toFixed(1)} average over ${best.scored} conversations, ${approval}.${gap}`,
      },
    ];
  });
}
