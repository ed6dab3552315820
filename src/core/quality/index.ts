/**
 * The quality scorer: a 0–10 score for one conversation, with a breakdown, specific
 * recommendations and per-turn findings. Pure and synchronous (tens of microseconds per
 * conversation), so it runs right after every generation and again whenever an editor shows one.
 *
 * overall = 0.30 turn count + 0.25 length + 0.25 structure + 0.20 confidence, where the three
 * form parts count in full from confidence 8 ("high") and in proportion to (confidence / 8)²
 * below it: a conversation of the right shape that reads as incoherent is not a good one. Scored as a plain weighted sum,
 * the turn-count band ranks human-rated dialogues backwards (ρ −0.13 on DSTC9, where people rate
 * longer conversations higher) and drowns the coherence signal; see docs/quality.md.
 */
import { HIGH_CONFIDENCE, scoreConfidence } from './coherence';
import { LENGTH_TARGETS, TURN_TARGET, lengthScore, turnCountAdvice, turnCountScore } from './size';
import { checkStructure } from './structure';
import { round1, scan } from './text';
import { TIERS, type QualityReport, type QualityResult, type Tier } from './types';

export * from './types';
export { LENGTH_TARGETS, TURN_TARGET } from './size';

export const WEIGHTS = { turnCount: 0.3, length: 0.25, structure: 0.25, confidence: 0.2 } as const;
/** Below this (out of 10) a conversation is flagged, unless its template asks for more. */
export const FLAG_BELOW = 6;
const MAX_RECOMMENDATIONS = 6;

export function scoreConversation(conversation: unknown, tier: Tier = 'template'): QualityReport {
  const structure = checkStructure(conversation);
  const { turns } = structure;
  const scanned = turns.map((t) => scan(t.content));
  const length = turns.length ? lengthScore(turns, scanned.map((s) => s.words.length), tier) : emptyLength(tier);
  const confidence = turns.length ? scoreConfidence(turns, scanned) : { score: 0, level: 'low' as const, findings: [], advice: [], shares: {} };
  const turnCount = { score: turnCountScore(turns.length), actual: turns.length, target: TURN_TARGET };

  const form = WEIGHTS.turnCount * turnCount.score + WEIGHTS.length * length.score + WEIGHTS.structure * structure.score;
  const overall = round1(form * formCredit(confidence.score) + WEIGHTS.confidence * confidence.score);

  // The part whose fix wins back the most points first, under the formula actually used: a form
  // part is worth its weight times the credit confidence gives it; confidence also frees the
  // form points it holds back.
  const credit = formCredit(confidence.score);
  const byLoss: { loss: number; advice: string[] }[] = [
    { loss: WEIGHTS.structure * (10 - structure.score) * credit, advice: structure.issues.map((i) => `fix the structure: ${i}`) },
    { loss: WEIGHTS.turnCount * (10 - turnCount.score) * credit, advice: [turnCountAdvice(turns.length)].filter((a): a is string => a !== undefined) },
    { loss: form * (1 - credit) + WEIGHTS.confidence * (10 - confidence.score), advice: confidence.advice },
    { loss: WEIGHTS.length * (10 - length.score) * credit, advice: length.advice.slice(0, 2) },
  ];
  // Every part with something to fix speaks, even one the gate holds at no points for now.
  const recommendations = byLoss
    .filter((p) => p.advice.length > 0)
    .sort((a, b) => b.loss - a.loss)
    .flatMap((p) => p.advice)
    .slice(0, MAX_RECOMMENDATIONS);

  return {
    overall,
    breakdown: {
      turnCount,
      length: { score: length.score, actual: length.actual, target: length.target },
      structure: { score: structure.score, valid: structure.valid, issues: structure.issues },
      confidence: { score: confidence.score, level: confidence.level },
    },
    recommendations,
    findings: [...structure.findings, ...length.findings, ...confidence.findings].sort((a, b) => a.turn - b.turn),
  };
}

/**
 * The share of the form parts' points a conversation earns at this confidence: all of them from
 * HIGH_CONFIDENCE (8), falling with the square below it.
 */
export function formCredit(confidence: number): number {
  return Math.min(1, confidence / HIGH_CONFIDENCE) ** 2;
}

/** The contract's shape alone, for output and storage. */
export function toQualityResult(report: QualityReport): QualityResult {
  const { overall, breakdown, recommendations } = report;
  return { overall, breakdown, recommendations };
}

/** The score below which a template's conversations are flagged: 6, or its quality_threshold × 10 when higher. */
export function flagThreshold(qualityThreshold: number | undefined): number {
  return Math.max(FLAG_BELOW, (qualityThreshold ?? 0) * 10);
}

/** Why a conversation needs revision, or undefined when it passes. */
export function flagReason(result: QualityResult, qualityThreshold: number | undefined): string | undefined {
  const threshold = flagThreshold(qualityThreshold);
  if (result.overall >= threshold) return undefined;
  const first = result.recommendations[0];
  return `scored ${result.overall.toFixed(1)}, below ${round1(threshold)}${first ? `: ${first}` : ''}`;
}

/** The tier a stored score was scored for, told by its length targets (undefined when none matches). */
export function tierOf(breakdown: Pick<QualityResult['breakdown'], 'length'>): Tier | undefined {
  const target = breakdown.length?.target;
  if (!target?.assistant || !target.user) return undefined;
  return TIERS.find((t) => LENGTH_TARGETS[t].assistant.min === target.assistant.min && LENGTH_TARGETS[t].user.min === target.user.min);
}

export function isTier(x: unknown): x is Tier {
  return x === 'template' || x === 'scenario' || x === 'edge_case';
}

function emptyLength(tier: Tier) {
  return { score: 0, actual: { user: 0, assistant: 0 }, target: LENGTH_TARGETS[tier], findings: [], advice: [] };
}
