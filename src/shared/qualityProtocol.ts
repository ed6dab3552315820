/**
 * The messages between the quality breakdown panel's webview and the extension host: one union
 * per direction, shared by both sides.
 */
export const QUALITY_VIEW_TYPE = 'promptloom.quality';

/** Score bands: red under 6, yellow under 8, green from 8. */
export type Band = 'low' | 'fair' | 'good';

export interface PartView {
  readonly key: 'turnCount' | 'length' | 'structure' | 'confidence';
  readonly label: string;
  readonly score: number;
  /** Its weight in the overall score, 0..1. */
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

export type ReviewChoice = 'approved' | 'needs_revision' | 'rejected';

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

export type QualityWebviewMessage =
  | { readonly type: 'ready' }
  // Both name the conversation the page showed, so a click never lands on a newer one.
  | { readonly type: 'reveal'; readonly id: string; readonly turn: number }
  | { readonly type: 'review'; readonly id: string; readonly status: ReviewChoice };

/** What VS Code keeps across a reload, so the panel can show the same conversation again. */
export interface QualityState {
  readonly id?: string;
}

export function bandOf(score: number): Band {
  return score < 6 ? 'low' : score < 8 ? 'fair' : 'good';
}
