import type { JudgePart } from './judge';

export type Tier = 'template' | 'scenario' | 'edge_case';
export const TIERS: readonly Tier[] = ['template', 'scenario', 'edge_case'];

export type Role = 'user' | 'assistant';

/** A turn as the scorer sees it once the shape is checked: role and text, nothing else. */
export interface ScoredTurn {
  /** Position in the conversation as given, unreadable turns included, so findings land right. */
  readonly index: number;
  readonly role: Role;
  readonly content: string;
}

export interface Range {
  readonly min: number;
  readonly max: number;
}

export type ConfidenceLevel = 'high' | 'medium' | 'low';

/** The score as the contract states it (CLI JSON, the database, the panel). */
export interface QualityResult {
  readonly overall: number;
  readonly breakdown: {
    readonly turnCount: { readonly score: number; readonly actual: number; readonly target: Range };
    readonly length: {
      readonly score: number;
      /** Mean words per turn, by role. */
      readonly actual: { readonly user: number; readonly assistant: number };
      readonly target: { readonly user: Range; readonly assistant: Range };
    };
    readonly structure: { readonly score: number; readonly valid: boolean; readonly issues: string[] };
    readonly confidence: { readonly score: number; readonly level: ConfidenceLevel };
    /** Hook for the judge (judge.ts): its part, present only when Claude graded the conversation. */
    readonly judge?: JudgePart;
  };
  readonly recommendations: string[];
}

export type Part = keyof QualityResult['breakdown'];

/** Something the scorer noticed about one turn, so editors can put it on that turn. */
export interface Finding {
  /** 0-based index into the conversation's turns. */
  readonly turn: number;
  readonly part: Part;
  readonly message: string;
  /**
   * What found it, for confidence findings: a defect's kind (`roleBreak`, `truncated`…, see
   * defects.ts) or a check's name (`terse`, `repetition`…, see coherence.ts).
   */
  readonly rule?: string;
  /** A defect: on its own enough to fail the conversation, whatever the rest scores. */
  readonly defect?: true;
}

/** The contract's result plus the per-turn findings behind it. */
export interface QualityReport extends QualityResult {
  readonly findings: Finding[];
}
