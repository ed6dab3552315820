/**
 * The messages between the quality breakdown panel's webview and the extension host: one union
 * per direction, shared by both sides.
 */
import { conversationId, literal, number, oneOf, type Infer } from './schema';

export const QUALITY_VIEW_TYPE = 'promptloom.quality';

/** Score bands: red under 6, yellow under 8, green from 8. */
export type Band = 'low' | 'fair' | 'good';

export interface PartView {
  readonly key: 'turnCount' | 'length' | 'structure' | 'confidence' | 'judge';
  readonly label: string;
  readonly score: number;
  /** Its weight in the overall score, 0..1; 0 for the judge, which caps the score instead. */
  readonly weight: number;
  readonly band: Band;
  /** What was measured, in words ("12 turns; target 8–16"). */
  readonly detail: string;
}

export interface RecommendationView {
  readonly text: string;
  /** The first turn it is about, 0-based, when it names one. */
  readonly turn?: number;
}

const reviewChoice = literal('approved', 'needs_revision', 'rejected');
export type ReviewChoice = Infer<typeof reviewChoice>;

export interface QualityView {
  readonly id: string;
  readonly title: string;
  readonly status: string;
  readonly statusReason?: string;
  readonly overall: number;
  readonly band: Band;
  /** Below this the conversation is flagged. */
  readonly threshold: number;
  readonly parts: readonly PartView[];
  readonly recommendations: readonly RecommendationView[];
}

export type QualityHostMessage = { readonly type: 'show'; readonly view: QualityView } | { readonly type: 'empty'; readonly reason: string };

/** Turns are counted from 0; no conversation comes near this many. */
export const MAX_TURN = 10_000;

export const qualityWebviewMessage = oneOf('type', {
  ready: {},
  // Both name the conversation the page showed, so a click never lands on a newer one.
  reveal: { id: conversationId, turn: number({ min: 0, max: MAX_TURN, integer: true }) },
  review: { id: conversationId, status: reviewChoice },
});

export type QualityWebviewMessage = Infer<typeof qualityWebviewMessage>;

/** What VS Code keeps across a reload, so the panel can show the same conversation again. */
export interface QualityState {
  readonly id?: string;
}

export function bandOf(score: number): Band {
  return score < 6 ? 'low' : score < 8 ? 'fair' : 'good';
}
