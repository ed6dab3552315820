/**
 * The messages between the retry simulation panel's webview and the extension host: one union per
 * direction, shared by both sides. The page asks for a simulation; the host runs the core's own
 * simulation (src/core/generation/simulate.ts) and sends the figures back.
 */
import { literal, number, oneOf, type Infer } from './schema';

export const RETRY_VIEW_TYPE = 'promptloom.retrySimulation';

export type StrategyName = 'exponential' | 'linear' | 'fixed';

export interface PolicyView {
  readonly strategy: StrategyName;
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** What each field accepts (the settings table's ranges), so the page checks before it asks. */
export interface PolicyLimits {
  readonly strategies: readonly StrategyName[];
  readonly maxAttempts: { readonly min: number; readonly max: number };
  readonly baseDelayMs: { readonly min: number; readonly max: number };
  readonly maxDelayMs: { readonly min: number; readonly max: number };
}

/** Runs behind the distribution; bins of its histogram. */
export const SIMULATED_RUNS = 1000;
export const HISTOGRAM_BINS = 20;

/** Bounds the host enforces on a request; kept equal to the settings table by a unit test. */
export const LIMITS: PolicyLimits = {
  strategies: ['exponential', 'linear', 'fixed'],
  maxAttempts: { min: 1, max: 100 },
  baseDelayMs: { min: 1, max: 3_600_000 },
  maxDelayMs: { min: 1, max: 3_600_000 },
};

const range = (r: { min: number; max: number }) => number({ ...r, integer: true });

const policy = {
  strategy: literal(...LIMITS.strategies),
  maxAttempts: range(LIMITS.maxAttempts),
  baseDelayMs: range(LIMITS.baseDelayMs),
  maxDelayMs: range(LIMITS.maxDelayMs),
};

export const retryWebviewMessage = oneOf('type', {
  ready: {},
  simulate: {
    ...policy,
    failureRate: number({ min: 0, max: 1 }),
    // A different draw of the same settings ("Draw again").
    seed: number({ min: 0, max: 2 ** 31 - 1, integer: true }),
  },
  // Keep the fields as the workspace's retry settings (promptloom.retry.* in .vscode/settings.json).
  save: policy,
});

export type RetryWebviewMessage = Infer<typeof retryWebviewMessage>;
export type SimulationRequest = Extract<RetryWebviewMessage, { type: 'simulate' }>;

export interface AttemptView {
  readonly attempt: number;
  readonly outcome: 'failed' | 'succeeded';
  readonly delayMs?: number;
}

export interface DistributionView {
  readonly runs: number;
  readonly successRate: number;
  readonly attempts: { readonly mean: number; readonly max: number };
  readonly timeToSuccessMs: { readonly p50: number | null; readonly p95: number | null; readonly max: number | null };
  readonly histogram: readonly { readonly fromMs: number; readonly toMs: number; readonly count: number }[];
}

export type RetryHostMessage =
  /** The retry settings in effect (the page starts from them), and what each field accepts. */
  | { readonly type: 'settings'; readonly policy: PolicyView; readonly limits: PolicyLimits }
  /** One run's timeline and the distribution over many, for the request it answers. */
  | { readonly type: 'result'; readonly request: SimulationRequest; readonly run: readonly AttemptView[]; readonly distribution: DistributionView };

/** What VS Code keeps across a reload. */
export interface RetryState {
  readonly failureRate?: number;
  readonly seed?: number;
  /** The fields as edited in the panel, when they differ from the settings. */
  readonly policy?: PolicyView;
}
