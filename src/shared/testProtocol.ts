/** The messages between the template test panel's webview and the extension host. */
import { MAX_TURN } from './qualityProtocol';
import { conversationId, number, oneOf, type Infer } from './schema';

export const TEST_VIEW_TYPE = 'promptloom.templateTest';

export interface TestRunView {
  readonly conversationId?: string;
  readonly overall?: number;
  readonly status?: string;
  readonly firstRecommendation?: string;
  /** Claude's grade of the run, when `promptloom.quality.judge` was on and the call succeeded. */
  readonly judge?: TestRunJudgeView;
  /** Needs revision (by the scorer, the judge, as a near-duplicate), whatever it scored. */
  readonly flagged?: boolean;
  /** Scored below the test's threshold. */
  readonly below?: boolean;
  /** The run's status in words: "flagged: <reason>", "below 8.0: <advice>", or its review status. */
  readonly verdict?: string;
  /** For a flagged or below-threshold run: the findings behind it, most serious first. */
  readonly findings?: readonly TestRunFindingView[];
}

export interface TestRunFindingView {
  /** 0-based; the transcript calls it turn `turn + 1`. */
  readonly turn: number;
  /** `defect`, a part of the score (`structure`, `confidence`, `length`, `turnCount`, `judge`), or `near-duplicate`. */
  readonly kind: string;
  /** A defect's kind or a check's name, when more specific than the kind. */
  readonly rule?: string;
  readonly message: string;
}

export interface TestRunJudgeView {
  /** The judge's part of the score (1.5–10); the run's overall is at most this. */
  readonly score: number;
  /** The judge's own overall, 1–10. */
  readonly overall: number;
  readonly model: string;
  readonly reason: string;
}

export interface TestResultView {
  readonly template: string;
  readonly file: string;
  /** The template's URI, to run the test again after a reload. */
  readonly uri: string;
  readonly passed: boolean;
  readonly average: number | null;
  readonly threshold: number;
  readonly baseline?: { readonly average: number; readonly conversations: number; readonly source: string };
  readonly deviation?: number;
  readonly criteria: readonly { readonly name: string; readonly passed: boolean; readonly detail: string }[];
  readonly runs: readonly TestRunView[];
  readonly finishedAt: number;
}

export type TestHostMessage = { readonly type: 'result'; readonly result: TestResultView } | { readonly type: 'empty'; readonly reason: string };

export const testWebviewMessage = oneOf('type', {
  ready: {},
  open: { conversationId },
  // A finding's turn in the run's transcript (opened if need be).
  reveal: { conversationId, turn: number({ min: 0, max: MAX_TURN, integer: true }) },
  rerun: {},
});

export type TestWebviewMessage = Infer<typeof testWebviewMessage>;

export interface TestState {
  readonly result?: TestResultView;
}
