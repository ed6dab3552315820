/**
 * `promptloom score --judge`: Claude grades each conversation as well (src/core/quality/judge.ts).
 * The key comes from ANTHROPIC_API_KEY only and the address from --api-base-url or
 * ANTHROPIC_BASE_URL, exactly as for `generate`; the model from --judge-model, else the
 * workspace's `promptloom.quality.judgeModel`, else the cheapest model of the table. Calls go
 * through the generation engine (rate limits, retries from the workspace's settings).
 */
import { createClient } from '../core/generation/claude';
import { limiterFor } from '../core/generation/rateLimiter';
import { judgeConversations } from '../core/generation/judgeClient';
import { judgeModelOf } from '../core/generation/settings';
import { toQualityResult, type QualityReport, type QualityResult } from '../core/quality';
import { withJudge, type JudgeCriterion } from '../core/quality/judge';
import type { Turn } from '../core/generation/claude';
import { UserError } from './errors';
import type { Output } from './output';
import { apiAddress, apiKey, openWorkspace, workspaceFolder } from './workspace';

/** The `judge` object of `score --judge` JSON. */
export interface JudgeJson {
  readonly score: number;
  readonly criteria: Readonly<Record<JudgeCriterion, number>>;
  readonly reason: string;
  readonly model: string;
  readonly costUsd: number;
}

export type Judged = { readonly ok: true; readonly result: QualityResult; readonly judge: JudgeJson } | { readonly ok: false; readonly message: string };

export interface JudgeScoring {
  judge(items: readonly ({ index: number; conversation: { turns?: unknown }; report: QualityReport } | undefined)[]): Promise<Judged[]>;
  stopReason(): string | undefined;
}

/** Checks what a judged run needs (a usage error otherwise: exit 2) before anything is read. */
export function judgeScoring(flags: { judgeModel?: string; apiBaseUrl?: string; workspace?: string }, env: NodeJS.ProcessEnv, out: Output): JudgeScoring {
  const key = apiKey(env);
  const baseURL = apiAddress(flags.apiBaseUrl, env);
  const settings = openWorkspace(workspaceFolder(flags.workspace), out).settings;
  const model = judgeModelOf(flags.judgeModel !== undefined ? { ...settings, judgeModel: flags.judgeModel } : settings);
  if (!model) throw new UserError(`unknown judge model "${flags.judgeModel ?? settings.judgeModel}": use an alias (${settings.models.map((m) => m.alias ?? m.id).join(', ')}) or a claude-… id`);
  let stopped: string | undefined;
  return {
    stopReason: () => stopped,
    async judge(items) {
      const present = items.flatMap((item) => (item && item.report.breakdown.structure.valid ? [item] : []));
      const turnsOf = (c: { turns?: unknown }) => (Array.isArray(c.turns) ? (c.turns as Turn[]) : []);
      const { outcomes, summary } = await judgeConversations(
        present.map((p) => ({ key: String(p.index), turns: turnsOf(p.conversation) })),
        {
          client: createClient({ apiKey: key, ...(baseURL ? { baseURL } : {}), timeoutMs: settings.timeoutMs }),
          model,
          limiter: limiterFor(settings, model),
          retry: { strategy: settings.retryStrategy, baseDelayMs: settings.baseDelayMs, maxDelayMs: settings.maxDelayMs, maxAttempts: settings.maxAttempts },
          concurrency: settings.concurrency,
          ...(settings.budgetUsd !== undefined ? { budgetUsd: settings.budgetUsd } : {}),
          ...(baseURL ? { address: baseURL } : {}),
        },
      );
      stopped = summary.stopReason;
      const byIndex = new Map(outcomes.map((o) => [Number(o.key), o]));
      return items.map((item, i): Judged => {
        if (!item) return { ok: false, message: 'no conversation' };
        const o = byIndex.get(i);
        if (!o) return { ok: false, message: 'its structure is broken: nothing to grade' };
        if (!o.ok) return { ok: false, message: o.message };
        const p = o.part;
        return { ok: true, result: toQualityResult(withJudge(item.report, p)), judge: { score: p.score, criteria: p.criteria, reason: p.reason, model: p.model, costUsd: p.costUsd } };
      });
    },
  };
}
