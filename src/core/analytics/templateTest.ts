/**
 * Template testing: is this template ready? A few test generations are judged against the
 * template's threshold and against its baseline (what it achieved before).
 */
import { flagThreshold } from '../quality';
import type { Database } from '../store/database';
import { TREND_THRESHOLD } from './templates';

export interface Baseline {
  readonly average: number;
  readonly conversations: number;
  readonly source: 'previous version' | 'earlier conversations';
}

/**
 * What the template achieved before `before` (ms): when the version under test has no earlier
 * conversations (the template was just edited), the previous version's average; otherwise the
 * template's earlier conversations. Earlier tests' generations do not count: a test is not its
 * own bar. Undefined when nothing was scored before.
 */
export async function baselineFor(db: Database, templateId: number, versionId: number, before: number): Promise<Baseline | undefined> {
  const notTests = `NOT EXISTS (SELECT 1 FROM batches b WHERE b.id = conversations.batch_id AND ${db.dialect.jsonField('b.settings', 'purpose')} = 'test')`;
  const scored = async (where: string, params: (number | string)[]) => {
    const r = (await db.get(`SELECT count(quality) AS n, avg(quality) AS avg FROM conversations WHERE ${where} AND created_at < ? AND quality IS NOT NULL AND ${notTests}`, [...params, before]))!;
    return Number(r.n) > 0 ? { average: Number(r.avg), conversations: Number(r.n) } : undefined;
  };
  const thisVersion = await scored('version_id = ?', [versionId]);
  if (!thisVersion) {
    const previous = await db.get(
      `SELECT p.id FROM template_versions p, template_versions v
        WHERE v.id = ? AND p.template_id = ? AND (p.created_at < v.created_at OR (p.created_at = v.created_at AND p.id < v.id))
        ORDER BY p.created_at DESC, p.id DESC LIMIT 1`,
      [versionId, templateId],
    );
    const earlier = previous && (await scored('version_id = ?', [Number(previous.id)]));
    if (earlier) return { ...earlier, source: 'previous version' };
  }
  const template = await scored('template_id = ?', [templateId]);
  return template && { ...template, source: 'earlier conversations' };
}

/**
 * Why a run counts as flagged for the test, or undefined. A near-duplicate of an earlier test's
 * run is not held against the template: every test runs on the same sample values, so an
 * unchanged template tested again repeats itself by design (the run still shows its flag). A
 * near-duplicate of a conversation made for the dataset is: the template keeps saying the same.
 */
export async function testFlagReason(
  db: Database,
  run: { readonly status: string; readonly statusReason: string | null; readonly nearDuplicateOf: string | null },
): Promise<string | undefined> {
  if (run.status !== 'needs_revision') return undefined;
  const reason = run.statusReason ?? 'marked as needing revision';
  if (!run.nearDuplicateOf || !reason.startsWith('near-duplicate of ')) return reason;
  const ofATest = await db.get(
    `SELECT 1 AS test FROM conversations c JOIN batches b ON b.id = c.batch_id WHERE c.id = ? AND ${db.dialect.jsonField('b.settings', 'purpose')} = 'test'`,
    [run.nearDuplicateOf],
  );
  return ofATest ? undefined : reason;
}

export interface TestRun {
  readonly conversationId?: string;
  /** Undefined when the generation failed. */
  readonly overall?: number;
  readonly structureValid?: boolean;
  /**
   * Flagged for revision whatever it scored (a defect, a near-duplicate, the judge), with the
   * reason stored: a template whose runs get flagged is not ready, even at 9.8.
   */
  readonly flaggedReason?: string;
}

export interface Criterion {
  readonly name: string;
  readonly passed: boolean;
  readonly detail: string;
}

export interface TestVerdict {
  readonly passed: boolean;
  readonly average: number | null;
  readonly threshold: number;
  readonly baseline?: Baseline;
  /** average − baseline, when both exist. */
  readonly deviation?: number;
  readonly criteria: readonly Criterion[];
}

/** A test falls short of its baseline when it averages more than this below it. */
export const BASELINE_TOLERANCE = TREND_THRESHOLD;

// Scores have one decimal; so do the figures they are compared with, so 7.8 − 8.3 is −0.5 and a
// threshold of 0.68 × 10 is 6.8, not 6.800000000000001.
const tenth = (x: number) => Math.round(x * 10) / 10;

export function judgeTest(runs: readonly TestRun[], qualityThreshold: number | undefined, baseline: Baseline | undefined): TestVerdict {
  const threshold = tenth(flagThreshold(qualityThreshold));
  const scores = runs.map((r) => r.overall).filter((s): s is number => s !== undefined);
  const average = scores.length ? tenth(scores.reduce((a, b) => a + b, 0) / scores.length) : null;
  const failed = runs.filter((r) => r.conversationId === undefined).length;
  const unscored = runs.filter((r) => r.conversationId !== undefined && r.overall === undefined).length;
  const below = scores.filter((s) => s < threshold);
  const broken = runs.filter((r) => r.structureValid === false).length;
  const flagged = runs.filter((r) => r.flaggedReason !== undefined);
  const criteria: Criterion[] = [
    { name: 'every run generated', passed: failed === 0, detail: failed === 0 ? `${runs.length} of ${runs.length}` : `${failed} of ${runs.length} failed` },
    ...(unscored > 0 ? [{ name: 'every run scored', passed: false, detail: `${unscored} stored without a score` }] : []),
    {
      name: 'average at or above the threshold',
      passed: average !== null && average >= threshold,
      detail: average === null ? 'nothing scored' : `${average.toFixed(1)} against ${threshold.toFixed(1)}`,
    },
    {
      name: 'no run below the threshold',
      passed: scores.length > 0 && below.length === 0,
      detail: below.length === 0 ? `lowest ${scores.length ? Math.min(...scores).toFixed(1) : '—'}` : `${below.length} below ${threshold.toFixed(1)} (lowest ${Math.min(...below).toFixed(1)})`,
    },
    { name: 'valid structure', passed: broken === 0, detail: broken === 0 ? 'roles alternate, nothing empty' : `${broken} with structure problems` },
    {
      name: 'no run flagged for revision',
      passed: flagged.length === 0,
      detail: flagged.length === 0 ? 'none flagged' : `${flagged.length} flagged (first: ${oneLine(flagged[0]!.flaggedReason!)})`,
    },
  ];
  let deviation: number | undefined;
  if (baseline && average !== null) {
    deviation = tenth(average - tenth(baseline.average));
    criteria.push({
      name: 'not worse than the baseline',
      passed: deviation >= -BASELINE_TOLERANCE,
      detail: `${deviation >= 0 ? '+' : ''}${deviation.toFixed(1)} against ${baseline.average.toFixed(1)} (${baseline.source}, ${baseline.conversations} conversations)`,
    });
  }
  return {
    passed: criteria.every((c) => c.passed),
    average,
    threshold,
    ...(baseline ? { baseline } : {}),
    ...(deviation !== undefined ? { deviation } : {}),
    criteria,
  };
}

/** A reason in a criterion's detail: one line, short (the run's own line in the panel has it all). */
function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 100 ? `${line.slice(0, 99)}…` : line;
}
