/**
 * Why a test run is flagged or below its template's threshold, in words a person can check: the
 * reason stored with the conversation (the scorer's "scored x, below y: …", a near-duplicate, the
 * judge's flag) and the findings on its turns that caused it. Test Template's panel and the CLI
 * print the same explanation.
 */
import type { Database } from '../store/database';
import { nearDuplicateReason } from '../dataset/nearDuplicates';
import { flagThreshold, isTier, scoreConversation, tierOf, type Finding, type Part, type QualityResult } from '../quality';
import { judgeFindings, storedJudgePart } from '../quality/judge';
import { statusWords } from '../quality/reviewQueue';
import { WorkspaceGenerationRepository, type ConversationDetails } from '../store';

/** What kind of finding: a defect (fails the conversation alone), a part of the score, or a near-duplicate. */
export type RunFindingKind = 'defect' | Part | 'near-duplicate';

export interface RunFinding {
  /** 0-based index into the conversation's turns (the transcript says "turn 1" for 0). */
  readonly turn: number;
  readonly kind: RunFindingKind;
  /** What found it, when more specific than the kind: a defect's kind or a check's name (`roleBreak`, `terse`…). */
  readonly rule?: string;
  readonly message: string;
}

export interface RunReasons {
  /** Needs revision: flagged by the scorer, the judge, as a near-duplicate, or by a person. */
  readonly flagged: boolean;
  /** Scored below the threshold. */
  readonly below: boolean;
  /**
   * What the run's status says, in words: "flagged: <reason>" when it needs revision (whatever
   * it scored), "below 8.0: <first recommendation>" when it scored under the threshold but is not
   * flagged, else its review status ("pending review", "approved"…).
   */
  readonly verdict: string;
  /**
   * The findings behind it, most serious first: only for a flagged or below-threshold run, and
   * for a run flagged at or above the threshold only those that flag a run alone (a defect, a
   * structure problem, the judge's turns at fault, a near-duplicate).
   */
  readonly findings: readonly RunFinding[];
}

// Defects fail a conversation alone; structure breaks training; the judge and a near-duplicate
// flag it; the other parts lower its score.
const ORDER: readonly RunFindingKind[] = ['defect', 'structure', 'judge', 'near-duplicate', 'confidence', 'turnCount', 'length'];
/** Findings that flag a run on their own, whatever it scores. */
const FLAGS_ALONE: ReadonlySet<RunFindingKind> = new Set(['defect', 'structure', 'judge', 'near-duplicate']);

/** The reasons of one run, its conversation as stored; `threshold` as the test judged it (0–10). */
export function runReasons(c: Pick<ConversationDetails, 'status' | 'statusReason' | 'turns' | 'tier' | 'quality' | 'nearDuplicateOf' | 'similarity'>, threshold: number): RunReasons {
  const overall = c.quality?.overall;
  const flagged = c.status === 'needs_revision';
  const below = overall !== undefined && overall < threshold;
  const firstRecommendation = c.quality?.recommendations[0];
  const verdict = flagged
    ? `flagged: ${c.statusReason ? oneLine(c.statusReason) : 'marked as needing revision in review'}`
    : below
      ? `below ${threshold.toFixed(1)}${firstRecommendation ? `: ${oneLine(firstRecommendation)}` : ''}`
      : statusWords(c.status);
  if (!flagged && !below) return { flagged, below, verdict, findings: [] };

  // The findings are recomputed (they are not stored), against the tier the score was stored for;
  // the judge's turns at fault are stored with its part (a grade is paid for, never asked again).
  const breakdown = c.quality?.breakdown as QualityResult['breakdown'] | undefined;
  const tier = (breakdown && typeof breakdown === 'object' && tierOf(breakdown)) || (isTier(c.tier) ? c.tier : 'template');
  const scored: readonly Finding[] = scoreConversation({ turns: c.turns }, tier).findings;
  const findings: RunFinding[] = [
    ...scored.map((f) => ({ turn: f.turn, kind: f.defect ? ('defect' as const) : f.part, ...(f.rule ? { rule: f.rule } : {}), message: f.message })),
    ...judgeFindings(storedJudgePart(c.quality)).map((f) => ({ turn: f.turn, kind: 'judge' as const, message: f.message })),
    ...(c.nearDuplicateOf !== null && c.similarity !== null ? [{ turn: 0, kind: 'near-duplicate' as const, message: nearDuplicateReason(c.nearDuplicateOf, c.similarity) }] : []),
  ];
  findings.sort((a, b) => ORDER.indexOf(a.kind) - ORDER.indexOf(b.kind) || a.turn - b.turn);
  // Flagged at or above the threshold: what flags a run whatever it scores is the cause, not the
  // small losses of points (a near-duplicate at 9.8 is not flagged for a short answer).
  return { flagged, below, verdict, findings: below ? findings : findings.filter((f) => FLAGS_ALONE.has(f.kind)) };
}

export interface FlaggedRun extends RunReasons {
  readonly conversationId: string;
  readonly overall: number | null;
}

/**
 * Of these conversations, those flagged or below the template's threshold (`quality_threshold`,
 * as generation flagged them), each with its reasons; in the order given. Only those are loaded.
 */
export async function flaggedRuns(store: Database, conversationIds: readonly string[], qualityThreshold: number | undefined): Promise<FlaggedRun[]> {
  const threshold = Math.round(flagThreshold(qualityThreshold) * 10) / 10;
  const wanted = new Set<string>();
  for (let i = 0; i < conversationIds.length; i += 500) {
    const ids = conversationIds.slice(i, i + 500);
    const rows = await store.all(
      `SELECT c.id FROM conversations c LEFT JOIN quality_scores q ON q.conversation_id = c.id
        WHERE c.id IN (${ids.map(() => '?').join(', ')}) AND (c.status = 'needs_revision' OR q.overall < ?)`,
      [...ids, threshold],
    );
    for (const r of rows) wanted.add(String(r.id));
  }
  const generations = new WorkspaceGenerationRepository(store);
  const runs: FlaggedRun[] = [];
  for (const id of conversationIds) {
    const d = wanted.has(id) ? await generations.details(id) : undefined;
    if (d) runs.push({ conversationId: id, overall: d.quality?.overall ?? null, ...runReasons(d, threshold) });
  }
  return runs;
}

/** A finding on one line, as the CLI prints it: `turn 4 · defect repeated · turn 4 (assistant) nearly repeats turn 2`. */
export function findingLine(f: RunFinding): string {
  return `turn ${f.turn + 1} · ${f.kind}${f.rule && f.rule !== f.kind ? ` ${f.rule}` : ''} · ${f.message}`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
