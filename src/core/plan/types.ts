import type { Diagnostic, Scalar } from '../template';

/** One value set of a plan and how many conversations to generate with it. */
export interface PlanCell {
  /**
   * Every value the conversations of this cell are rendered with, after coercion and defaults:
   * exactly `renderTemplate(...).value.parameters`, which is what a stored conversation keeps, so
   * `planKey(conversation.parameters) === planKey(cell.values)`.
   */
  readonly values: Readonly<Record<string, Scalar>>;
  readonly count: number;
}

export interface Plan {
  /** Distinct value sets (no two share a `planKey`), in a deterministic order. */
  readonly cells: readonly PlanCell[];
  /** The variables the plan varies (or a values file's columns), in declaration order. */
  readonly varied: readonly string[];
  /** The sum of the cells' counts. */
  readonly conversations: number;
}

export interface PlanProblem {
  /** A whole sentence, ready to show. */
  readonly message: string;
  /** The variable concerned, when there is one. */
  readonly variable?: string;
  /** 0-based index of the value set concerned, in the plan's cell order before merging. */
  readonly cell?: number;
  /** 1-based line of a values file (a CSV header is line 1), where the row concerned starts. */
  readonly line?: number;
  /** For PL013: the diagnostic to show in the editor, on the variable's declaration. */
  readonly diagnostic?: Diagnostic;
}

export type PlanResult = { readonly ok: true; readonly plan: Plan } | { readonly ok: false; readonly problems: readonly PlanProblem[] };

export type Sampling = 'balanced' | 'grid' | 'random';
export const SAMPLINGS: readonly Sampling[] = ['balanced', 'grid', 'random'];

/** Bounds that keep plan building fast and a mistake (a typo'd count, a huge spread) cheap. */
export const PLAN_LIMITS = {
  /** Conversations in one plan. */
  conversations: 100_000,
  /** Values in a number spread over `min`..`max` by `step`. */
  spread: 1_000,
  /** Rows of a values file. */
  rows: 100_000,
  /** Problems reported before the rest are summed up in one line. */
  problems: 20,
} as const;
