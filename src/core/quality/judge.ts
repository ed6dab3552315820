/**
 * The judge: Claude grades a conversation against a rubric (opt-in, paid; see docs/quality.md).
 * This module is pure: the rubric (system prompt and the forced `grade_conversation` tool), how a
 * conversation is shown to the judge, how its grade is read and checked, and the rule by which
 * the grade enters the score. The call itself goes through the generation engine
 * (src/core/generation/judgeClient.ts).
 *
 * Combination rule: the judge's part scores 0.5 × overall (1–10) + mean of the six criteria
 * (1–5), so 1.5–10, held at most at 5 when the judge's overall is 5 or less ("do not train on
 * it") or any criterion is 1 (a clear failure of one criterion fails the conversation). The conversation's overall is min(scorer's overall, judge's part):
 * the two are gates for different defects (the scorer sees form, residue, repetition, garbage;
 * the judge sees meaning: an answer to another question, an invented fact, a contradiction), and
 * a conversation is only as good as its worse reading, so either can fail it. A blend would let
 * a clean-looking conversation with a wrong answer pass on its form.
 */
import { round1 } from './text';
import type { Finding, QualityReport } from './types';

export const JUDGE_TOOL_NAME = 'grade_conversation';

export const JUDGE_CRITERIA = ['answersQuestion', 'consistency', 'specificity', 'staysInRole', 'noRepetition', 'naturalClose'] as const;
export type JudgeCriterion = (typeof JUDGE_CRITERIA)[number];

const CRITERION_TEXT: Record<JudgeCriterion, string> = {
  answersQuestion: 'each assistant turn answers the question the user just asked (not another one)',
  consistency: 'consistent with what was said before: no contradiction of facts, numbers or names stated earlier',
  specificity: 'specific and concrete, without invented facts',
  staysInRole: 'each speaker stays in role: no "as an AI", unrequested refusals or disclaimers, no meta commentary, no template residue, no swapped speakers',
  noRepetition: 'no repetition of answers, sentences or whole exchanges',
  naturalClose: 'the conversation ends naturally (not cut off mid-sentence, not without a close)',
};

/** The rubric the judge follows: stable across calls, so it is cached as a prompt prefix. */
export const JUDGE_SYSTEM = [
  'You grade one conversation written as fine-tuning data for an assistant. Grade strictly: a single clear defect gives its criterion 1 or 2.',
  'Criteria, each an integer from 1 (fails) to 5 (fully met):',
  ...JUDGE_CRITERIA.map((c) => `- ${c}: ${CRITERION_TEXT[c]}`),
  'Then an overall grade from 1 to 10 (10: a conversation worth training on as it is; 5 or less: it should not be trained on).',
  'turns_at_fault lists the 1-based turn numbers (as labelled) with a defect, each with a short reason; an empty list when none.',
  'reason is one line saying what decided the overall grade.',
  `Answer only by calling ${JUDGE_TOOL_NAME}.`,
].join('\n');

const grade = { type: 'integer', minimum: 1, maximum: 5 } as const;

export const JUDGE_TOOL = {
  name: JUDGE_TOOL_NAME,
  description: 'Record the grades of the conversation against the rubric.',
  input_schema: {
    type: 'object' as const,
    properties: {
      criteria: {
        type: 'object',
        properties: Object.fromEntries(JUDGE_CRITERIA.map((c) => [c, { ...grade, description: CRITERION_TEXT[c] }])),
        required: [...JUDGE_CRITERIA],
      },
      overall: { type: 'integer', minimum: 1, maximum: 10 },
      turns_at_fault: {
        type: 'array',
        items: { type: 'object', properties: { turn: { type: 'integer', minimum: 1 }, reason: { type: 'string' } }, required: ['turn', 'reason'] },
      },
      reason: { type: 'string', description: 'one line' },
    },
    required: ['criteria', 'overall', 'turns_at_fault', 'reason'],
  },
};

/** The judge's grade as it answered, checked. */
export interface JudgeGrade {
  readonly criteria: Readonly<Record<JudgeCriterion, number>>;
  readonly overall: number;
  readonly turnsAtFault: readonly { readonly turn: number; readonly reason: string }[];
  readonly reason: string;
}

/** The judge's part of the breakdown (stored with the score). */
export interface JudgePart {
  /** 0–10, by the rule above. */
  readonly score: number;
  readonly overall: number;
  readonly criteria: Readonly<Record<JudgeCriterion, number>>;
  /** 1-based turn numbers, as the transcript labels them. */
  readonly turnsAtFault: readonly { readonly turn: number; readonly reason: string }[];
  readonly reason: string;
  readonly model: string;
  readonly costUsd: number;
}

/** The conversation as the judge reads it (the user message; the rubric is the cached prefix). */
export function judgePrompt(turns: readonly { readonly role: string; readonly content: string }[]): string {
  const body = turns.map((t, i) => `[turn ${i + 1}] ${t.role === 'user' ? 'User' : 'Assistant'}:\n${t.content}`).join('\n\n');
  return `Grade this conversation of ${turns.length} turns.\n\n<conversation>\n${body}\n</conversation>`;
}

/** A tool input read as a grade; undefined when it is not one (the call then counts as unparseable). */
export function readGrade(input: unknown, turnCount: number): JudgeGrade | undefined {
  if (!input || typeof input !== 'object') return undefined;
  const o = input as Record<string, unknown>;
  const c = o.criteria as Record<string, unknown> | undefined;
  if (!c || typeof c !== 'object') return undefined;
  const criteria = {} as Record<JudgeCriterion, number>;
  for (const name of JUDGE_CRITERIA) {
    const v = c[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 5) return undefined;
    criteria[name] = v;
  }
  const overall = o.overall;
  if (typeof overall !== 'number' || !Number.isInteger(overall) || overall < 1 || overall > 10) return undefined;
  const faults = Array.isArray(o.turns_at_fault) ? o.turns_at_fault : [];
  const turnsAtFault = faults.flatMap((f) => {
    const { turn, reason } = (f ?? {}) as { turn?: unknown; reason?: unknown };
    // A turn the conversation does not have is dropped, not trusted.
    return typeof turn === 'number' && Number.isInteger(turn) && turn >= 1 && turn <= turnCount ? [{ turn, reason: oneLine(typeof reason === 'string' ? reason : '') }] : [];
  });
  return { criteria, overall, turnsAtFault, reason: oneLine(typeof o.reason === 'string' ? o.reason : '') };
}

/** Up to here, the judge's part stays below the default flag threshold (6). */
export const JUDGE_FAIL_CAP = 5;

/**
 * The judge's part of the score: 0.5 × overall + mean criterion (1.5–10), at most 5 when the
 * judge says not to train on it (overall 5 or less) or a criterion is 1.
 */
export function judgeScore(g: Pick<JudgeGrade, 'criteria' | 'overall'>): number {
  const values = JUDGE_CRITERIA.map((c) => g.criteria[c]);
  const score = 0.5 * g.overall + values.reduce((a, b) => a + b, 0) / values.length;
  const fails = g.overall <= 5 || values.some((v) => v <= 1);
  return round1(Math.min(fails ? JUDGE_FAIL_CAP : 10, score));
}

export function judgePart(g: JudgeGrade, model: string, costUsd: number): JudgePart {
  return { score: judgeScore(g), overall: g.overall, criteria: g.criteria, turnsAtFault: g.turnsAtFault, reason: g.reason, model, costUsd };
}

/**
 * The scorer's report with the judge's part: in the breakdown, in the overall (the lower of the
 * two), first among the recommendations when it is what lowered the score, and as findings on
 * the turns it names.
 */
export function withJudge(report: QualityReport, part: JudgePart): QualityReport {
  // The judge's reason is advice only when it found something: first when it set the score.
  const speaks = part.score < 8 || part.turnsAtFault.length > 0;
  const advice = `the judge: ${part.reason || `graded it ${part.overall}/10`}`;
  const recommendations = !speaks ? [...report.recommendations] : part.score < report.overall ? [advice, ...report.recommendations] : [...report.recommendations, advice];
  return {
    overall: round1(Math.min(report.overall, part.score)),
    breakdown: { ...report.breakdown, judge: part },
    recommendations,
    findings: [...report.findings, ...judgeFindings(part)].sort((a, b) => a.turn - b.turn),
  };
}

/** The judge's turns at fault as findings (0-based turns), for a stored result as for a fresh one. */
export function judgeFindings(part: Pick<JudgePart, 'turnsAtFault'> | undefined): Finding[] {
  return (part?.turnsAtFault ?? []).map((f) => ({ turn: f.turn - 1, part: 'judge' as const, message: `the judge: ${f.reason || 'at fault'}` }));
}

/** The judge's part of a stored result, when it has a well-formed one. */
export function storedJudgePart(result: { readonly breakdown?: unknown } | null | undefined): JudgePart | undefined {
  const j = (result?.breakdown as { judge?: unknown } | undefined)?.judge as Partial<JudgePart> | undefined;
  if (!j || typeof j !== 'object' || typeof j.score !== 'number' || !Array.isArray(j.turnsAtFault)) return undefined;
  return j as JudgePart;
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
}
