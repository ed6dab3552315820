/** The messages between the template test panel's webview and the extension host. */
import { conversationId, oneOf, type Infer } from './schema';

export const TEST_VIEW_TYPE = 'promptloom.templateTest';

export interface TestRunView {
  readonly conversationId?: string;
  readonly overall?: number;
  readonly status?: string;
  readonly firstRecommendation?: string;
  /** Claude's grade of the run, when `promptloom.quality.judge` was on and the call succeeded. */
  readonly judge?: TestRunJudgeView;
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
  rerun: {},
});

export type TestWebviewMessage = Infer<typeof testWebviewMessage>;

export interface TestState {
  readonly result?: TestResultView;
}
