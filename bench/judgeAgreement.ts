/**
 * The judge's agreement with human ratings (`npm run validate:quality -- --judge --limit 200`):
 * a sample of rated dialogues, evenly spread over the file, graded by the judge through the
 * engine; Spearman's ρ of the judge's part and of its overall grade against the ratings, beside
 * the scorer's on the same sample. Paid: the estimated cost is printed before any call.
 */
import { resolveApiAddress } from '../src/core/generation/apiAddress';
import { limiterFor } from '../src/core/generation/rateLimiter';
import { createClient, type Turn } from '../src/core/generation/claude';
import { estimateJudgeCost, judgeConversations } from '../src/core/generation/judgeClient';
import { DEFAULT_SETTINGS, judgeModelOf } from '../src/core/generation/settings';
import { scoreConversation } from '../src/core/quality';
import { pairwiseAccuracy, spearman } from './rankAgreement';

export interface RatedDialogue {
  readonly overall: number;
  readonly turns: unknown;
}

export interface JudgeRun {
  readonly model: string;
  readonly estimateUsd: number;
  /** Calls the judge grades; run() makes them. */
  run(): Promise<void>;
}

/** Indices of `limit` rows spread evenly over `count`. */
export function spread(count: number, limit: number): number[] {
  if (limit >= count) return Array.from({ length: count }, (_, i) => i);
  return Array.from({ length: limit }, (_, i) => Math.floor((i * count) / limit));
}

function turnsOf(x: unknown): Turn[] {
  return Array.isArray(x) ? x.filter((t): t is Turn => !!t && (t.role === 'user' || t.role === 'assistant') && typeof t.content === 'string') : [];
}

/** Prepares a judged run (throws a one-line message when the key or address is unusable). */
export function prepareJudgeRun(rows: readonly RatedDialogue[], limit: number, env: NodeJS.ProcessEnv, log: (line: string) => void, judgeModel?: string): JudgeRun {
  const key = env.ANTHROPIC_API_KEY;
  if (!key) throw new Error('--judge needs ANTHROPIC_API_KEY (the judge is a paid call per dialogue)');
  const baseURL = resolveApiAddress([env.ANTHROPIC_BASE_URL !== undefined ? { value: env.ANTHROPIC_BASE_URL, from: 'ANTHROPIC_BASE_URL' } : undefined]);
  const model = judgeModelOf({ models: DEFAULT_SETTINGS.models, ...(judgeModel ? { judgeModel } : {}) });
  if (!model) throw new Error(`unknown judge model "${judgeModel}"`);
  const sample = spread(rows.length, limit)
    .map((i) => ({ row: rows[i]!, turns: turnsOf(rows[i]!.turns) }))
    .filter((s) => s.turns.length > 0);
  const estimateUsd = estimateJudgeCost(model, sample.map((s) => s.turns));
  return {
    model: model.id,
    estimateUsd,
    async run() {
      const settings = DEFAULT_SETTINGS;
      const { outcomes, summary } = await judgeConversations(
        sample.map((s, i) => ({ key: String(i), turns: s.turns })),
        {
          client: createClient({ apiKey: key, ...(baseURL ? { baseURL } : {}), timeoutMs: settings.timeoutMs }),
          model,
          limiter: limiterFor(settings, model),
          retry: { strategy: settings.retryStrategy, baseDelayMs: settings.baseDelayMs, maxDelayMs: settings.maxDelayMs, maxAttempts: settings.maxAttempts },
          concurrency: settings.concurrency,
          ...(baseURL ? { address: baseURL } : {}),
        },
      );
      const graded = outcomes.flatMap((o, i) => (o.ok ? [{ part: o.part, row: sample[i]!.row, turns: sample[i]!.turns }] : []));
      log(`\njudge ${model.id}: ${graded.length} of ${sample.length} dialogues graded, $${summary.costUsd.toFixed(4)} spent${summary.stopReason ? ` (stopped: ${summary.stopReason})` : ''}`);
      if (graded.length < 3) {
        log('too few graded dialogues for a rank correlation');
        return;
      }
      const ratings = graded.map((g) => g.row.overall);
      const measures: [string, number[]][] = [
        ['judge part', graded.map((g) => g.part.score)],
        ['judge overall', graded.map((g) => g.part.overall)],
        ['scorer', graded.map((g) => scoreConversation({ turns: g.turns }).overall)],
        ['combined', graded.map((g) => Math.min(scoreConversation({ turns: g.turns }).overall, g.part.score))],
      ];
      log('on the same dialogues   Spearman ρ   pairwise accuracy');
      for (const [name, scores] of measures) log(`${name.padEnd(22)} ${spearman(scores, ratings).toFixed(3).padStart(9)}   ${pairwiseAccuracy(scores, ratings).toFixed(3).padStart(8)}`);
    },
  };
}
