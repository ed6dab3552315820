/**
 * How well a template's quality score predicts its reviewers' decisions (docs/quality.md,
 * "Learning from the reviewers").
 *
 * A conversation counts once it has a score and a review; its latest review decides: approved is
 * positive, rejected or needs revision negative. With fewer than {@link MIN_REVIEWED} such
 * conversations a template has no agreement (null).
 *
 * - `auc`: the Mann–Whitney AUC, the chance that an approved conversation scores higher than a
 *   rejected one, ties counted half; null when every review made the same decision.
 * - `accuracy`: the share of decisions the current flag threshold gets right (a score at or above
 *   it predicts approved).
 * - `suggestedThreshold`: the threshold, in tenths from 0 to 10, with the best accuracy; among
 *   equally good ones the closest to the current threshold, and of two equally close the higher.
 *
 * Scores and thresholds are compared in tenths (integers), as scores are stored.
 */
import { parseTemplate } from '../template';
import { flagThreshold } from '../quality';
import type { Database } from '../store/database';

export const MIN_REVIEWED = 20;

export interface ReviewAgreement {
  /** Conversations with a score and a review. */
  readonly reviewed: number;
  readonly auc: number | null;
  readonly accuracy: number;
  readonly suggestedThreshold: number;
}

/** One reviewed conversation: its score (0–10) and whether its latest review approved it. */
export interface ReviewedScore {
  readonly score: number;
  readonly approved: boolean;
}

const tenths = (x: number) => Math.round(x * 10);

/** The agreement of `rows` with `threshold` (the flag threshold, 0–10); null under 20 rows. */
export function reviewAgreement(rows: readonly ReviewedScore[], threshold: number): ReviewAgreement | null {
  if (rows.length < MIN_REVIEWED) return null;
  const scores = rows.map((r) => ({ s: tenths(r.score), approved: r.approved }));
  const current = tenths(threshold);
  const accuracyAt = (t: number) => scores.filter((r) => r.s >= t === r.approved).length / scores.length;
  let best = -1;
  let bestAccuracy = -1;
  for (let t = 0; t <= 100; t++) {
    const a = accuracyAt(t);
    const closer = Math.abs(t - current) < Math.abs(best - current) || (Math.abs(t - current) === Math.abs(best - current) && t > best);
    if (a > bestAccuracy + 1e-12 || (Math.abs(a - bestAccuracy) <= 1e-12 && closer)) {
      best = t;
      bestAccuracy = a;
    }
  }
  return { reviewed: rows.length, auc: auc(scores), accuracy: accuracyAt(current), suggestedThreshold: best / 10 };
}

/** Mann–Whitney AUC over integer scores: pairs (approved, not approved) ordered right, ties half. */
function auc(scores: readonly { s: number; approved: boolean }[]): number | null {
  const positives = scores.filter((r) => r.approved).length;
  const negatives = scores.length - positives;
  if (positives === 0 || negatives === 0) return null;
  // Sorted by score: each approved conversation beats the negatives below it and ties those equal.
  const sorted = [...scores].sort((a, b) => a.s - b.s);
  let below = 0;
  let wins = 0;
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    let pos = 0;
    let neg = 0;
    while (j < sorted.length && sorted[j]!.s === sorted[i]!.s) {
      if (sorted[j]!.approved) pos++;
      else neg++;
      j++;
    }
    wins += pos * below + pos * neg * 0.5;
    below += neg;
    i = j;
  }
  return wins / (positives * negatives);
}

/**
 * Every template's agreement (by template id), with its current flag threshold read from the
 * front matter of its newest version. Templates with fewer than 20 reviewed conversations are null.
 */
export async function reviewAgreementByTemplate(db: Database): Promise<Map<number, ReviewAgreement | null>> {
  const rows = new Map<number, ReviewedScore[]>();
  for (const r of await db.all(
    `SELECT c.template_id AS t, c.quality AS q,
            (SELECT r.status FROM reviews r WHERE r.conversation_id = c.id ORDER BY r.created_at DESC, r.id DESC LIMIT 1) AS s
       FROM conversations c WHERE c.reviewed_at IS NOT NULL AND c.quality IS NOT NULL`,
  )) {
    if (r.s !== 'approved' && r.s !== 'rejected' && r.s !== 'needs_revision') continue;
    const list = rows.get(Number(r.t)) ?? [];
    list.push({ score: Number(r.q), approved: r.s === 'approved' });
    rows.set(Number(r.t), list);
  }
  const result = new Map<number, ReviewAgreement | null>();
  for (const [template, list] of rows) {
    if (list.length < MIN_REVIEWED) {
      result.set(template, null);
      continue;
    }
    result.set(template, reviewAgreement(list, await currentThreshold(db, template)));
  }
  return result;
}

/** A template's flag threshold, from its newest version's `quality_threshold` (6 without one). */
export async function currentThreshold(db: Database, templateId: number): Promise<number> {
  const v = await db.get('SELECT content FROM template_versions WHERE template_id = ? ORDER BY created_at DESC, id DESC LIMIT 1', [templateId]);
  return flagThreshold(v ? parseTemplate(String(v.content)).settings.qualityThreshold : undefined);
}

/** A text edit on a template: replace `[start, end)` with `text`. */
export interface TextEdit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** `quality_threshold`'s value for a flag threshold in points: 7.5 → `0.75`. */
export function qualityThresholdValue(threshold: number): string {
  return String(tenths(threshold) / 100);
}

/**
 * The edit that sets a template's `quality_threshold` to `threshold` / 10, touching nothing else:
 * the value of an existing top-level `quality_threshold:` line is replaced; without one, a line is
 * added at the end of the front matter; without front matter, one is added at the top. Undefined
 * when the front matter is never closed.
 */
export function qualityThresholdEdit(text: string, threshold: number): TextEdit | undefined {
  const value = qualityThresholdValue(threshold);
  const eol = /\r\n/.test(text) ? '\r\n' : '\n';
  const fm = parseTemplate(text).frontMatter;
  if (!fm) {
    const at = text.startsWith('\uFEFF') ? 1 : 0;
    return { start: at, end: at, text: `---${eol}quality_threshold: ${value}${eol}---${eol}` };
  }
  const key = fm.keys.find((k) => k.path.length === 1 && k.path[0] === 'quality_threshold');
  const lineStart = (i: number) => Math.max(text.lastIndexOf('\n', i - 1), text.lastIndexOf('\r', i - 1)) + 1;
  const lineEnd = (i: number) => {
    const m = /[\r\n]/.exec(text.slice(i));
    return m ? i + m.index : text.length;
  };
  if (key) {
    const end = lineEnd(key.keySpan.start);
    if (key.valueSpan && key.valueSpan.start < end && key.valueSpan.end <= end) return { start: key.valueSpan.start, end: key.valueSpan.end, text: value };
    // No value on the key's line: the whole line.
    return { start: lineStart(key.keySpan.start), end, text: `quality_threshold: ${value}` };
  }
  // The closing `---` is the region's last line.
  const close = lineStart(fm.region.end);
  if (close === lineStart(fm.region.start) || !/^---[ \t]*$/.test(text.slice(close, lineEnd(close)))) return undefined;
  return { start: close, end: close, text: `quality_threshold: ${value}${eol}` };
}

/**
 * The flag threshold a template's text gives: from its `quality_threshold`, or, with
 * `suggested`, from that threshold written as its `quality_threshold` (6 at the least).
 */
export function flagThresholdOf(text: string, suggested?: number): number {
  return flagThreshold(suggested === undefined ? parseTemplate(text).settings.qualityThreshold : tenths(suggested) / 100);
}
