/**
 * The judge's calls: one Messages call per conversation, at temperature 0, forced to the rubric
 * tool `grade_conversation`, with the rubric (system prompt and tool) marked as a cached prefix
 * so that every call after the first reads it from the prompt cache.
 *
 * The calls run through the generation engine itself (`GenerationEngine` with the judge's
 * `EngineCall`), so the judge gets exactly generation's rate limiting, retries, budget, fatal
 * stops and cancel, with no second copy of that machinery to drift.
 */
import type Anthropic from '@anthropic-ai/sdk';
import { JUDGE_SYSTEM, JUDGE_TOOL, JUDGE_TOOL_NAME, judgePart, judgePrompt, readGrade, type JudgeGrade, type JudgePart } from '../quality/judge';
import { ClaudeFailure, headerRecord, toFailure, type ClaudeAnswer, type ClaudeRequest, type Turn } from './claude';
import { GenerationEngine, type Attempt, type BatchSummary, type Clock, type EngineCall, type ModelInfo } from './engine';
import type { RateLimiter } from './rateLimiter';
import type { ErrorType, RetryPolicy } from './retry';

/** Largest grade answer, in tokens (a grade is a few hundred). */
export const JUDGE_MAX_TOKENS = 1024;

const CACHED = { type: 'ephemeral' } as const;

/** The request body of a judge call (exported for tests and the cost estimate). */
export function judgeRequestBody(request: ClaudeRequest): Anthropic.MessageCreateParamsNonStreaming {
  return {
    model: request.model,
    max_tokens: request.maxTokens,
    // Grades must not vary from run to run. (This SDK release's types leave temperature out; the API takes it.)
    ...{ temperature: request.temperature ?? 0 },
    // The rubric is the stable prefix (tools, then system): both marked, so the cache covers them.
    system: [{ type: 'text', text: JUDGE_SYSTEM, cache_control: CACHED }],
    tools: [{ ...JUDGE_TOOL, cache_control: CACHED }],
    tool_choice: { type: 'tool', name: JUDGE_TOOL_NAME },
    messages: [{ role: 'user', content: request.prompt }],
  };
}

export const JUDGE_CALL: EngineCall = {
  async send(client, request, signal): Promise<ClaudeAnswer> {
    let data: Anthropic.Message;
    let headers: Record<string, string>;
    try {
      const result = await client.messages.create(judgeRequestBody(request), signal ? { signal } : {}).withResponse();
      data = result.data;
      headers = headerRecord(result.response.headers);
    } catch (error) {
      throw toFailure(error);
    }
    const block = data.content.find((b) => b.type === 'tool_use' && b.name === JUDGE_TOOL_NAME);
    // Turns at fault beyond the conversation are dropped by the caller, which knows its length.
    const grade = block && block.type === 'tool_use' ? readGrade(block.input, Number.MAX_SAFE_INTEGER) : undefined;
    if (!grade) throw new ClaudeFailure({ kind: 'unparseable', status: 200 }, headers, `the answer held no valid ${JUDGE_TOOL_NAME} call`);
    return {
      turns: [],
      output: grade,
      inputTokens: data.usage.input_tokens,
      outputTokens: data.usage.output_tokens,
      cacheCreationInputTokens: data.usage.cache_creation_input_tokens ?? 0,
      cacheReadInputTokens: data.usage.cache_read_input_tokens ?? 0,
      headers,
    };
  },
  // The rubric (system prompt and grading tool) goes with every request.
  fixedInputChars: JUDGE_SYSTEM.length + JSON.stringify(JUDGE_TOOL).length,
  async countTokens(client, request): Promise<number> {
    const body = judgeRequestBody(request);
    const result = await client.messages.countTokens({ model: body.model, system: body.system!, tools: body.tools!, messages: body.messages });
    return result.input_tokens;
  },
};

export interface JudgeItem {
  readonly key: string;
  readonly turns: readonly Turn[];
}

/** One conversation's judgement: its part of the score, or why there is none. */
export type JudgeOutcome =
  | { readonly ok: true; readonly key: string; readonly part: JudgePart; readonly attempt: Attempt }
  | { readonly ok: false; readonly key: string; readonly errorType: ErrorType | 'not_sent'; readonly message: string; readonly attempt?: Attempt };

export interface JudgeOptions {
  readonly client: Anthropic;
  readonly model: ModelInfo;
  readonly limiter: RateLimiter;
  readonly retry: RetryPolicy;
  readonly concurrency: number;
  readonly onError?: 'continue' | 'stop';
  readonly budgetUsd?: number;
  readonly address?: string;
  readonly clock?: Clock;
  /** Every attempt, as it ends (to record judge cost). */
  readonly onAttempt?: (attempt: Attempt) => unknown;
  readonly started?: (engine: GenerationEngine) => void;
  /** Cancels the judging when aborted (the generation's engine signal, say). */
  readonly signal?: AbortSignal;
}

/** Judges conversations through the engine; one outcome per item, in the items' order. */
export async function judgeConversations(items: readonly JudgeItem[], o: JudgeOptions): Promise<{ outcomes: JudgeOutcome[]; summary: BatchSummary }> {
  const engine = new GenerationEngine({
    client: o.client,
    model: o.model,
    limiter: o.limiter,
    retry: o.retry,
    concurrency: o.concurrency,
    maxTokens: JUDGE_MAX_TOKENS,
    temperature: 0,
    onError: o.onError ?? 'continue',
    call: JUDGE_CALL,
    ...(o.budgetUsd !== undefined ? { budgetUsd: o.budgetUsd } : {}),
    ...(o.address ? { address: o.address } : {}),
    ...(o.clock ? { clock: o.clock } : {}),
  });
  o.started?.(engine);
  if (o.signal?.aborted) engine.cancel();
  o.signal?.addEventListener('abort', () => engine.cancel(), { once: true });
  const byKey = new Map(items.map((i) => [i.key, i]));
  const outcomes = new Map<string, JudgeOutcome>();
  const summary = await engine.run(
    items.map((i) => ({ key: i.key, prompt: judgePrompt(i.turns) })),
    async (a) => {
      await o.onAttempt?.(a);
      if (a.status === 'succeeded') {
        const item = byKey.get(a.key)!;
        const raw = a.output as JudgeGrade;
        const grade: JudgeGrade = { ...raw, turnsAtFault: raw.turnsAtFault.filter((f) => f.turn <= item.turns.length) };
        outcomes.set(a.key, { ok: true, key: a.key, part: judgePart(grade, o.model.id, a.costUsd), attempt: a });
      } else if (a.final) {
        outcomes.set(a.key, { ok: false, key: a.key, errorType: a.errorType ?? 'unknown', message: `the judge's call failed (${a.errorType ?? 'unknown'})`, attempt: a });
      }
    },
  );
  const why = summary.stopReason ? `the judge stopped: ${summary.stopReason}` : 'the judge did not run';
  return { outcomes: items.map((i) => outcomes.get(i.key) ?? { ok: false, key: i.key, errorType: 'not_sent', message: why }), summary };
}

/** Rough cost of judging conversations, for a warning before paying: characters / 4 in, a grade out. */
export function estimateJudgeCost(model: ModelInfo, conversations: readonly (readonly Turn[])[]): number {
  const rubric = Math.ceil((JUDGE_SYSTEM.length + JSON.stringify(JUDGE_TOOL).length) / 4);
  let total = 0;
  conversations.forEach((turns, i) => {
    const input = Math.ceil(judgePrompt(turns).length / 4);
    // The first call writes the rubric to the cache (1.25×), the others read it (0.1×).
    const prefix = rubric * (i === 0 ? 1.25 : 0.1);
    total += ((input + prefix) * model.inputPrice + 300 * model.outputPrice) / 1_000_000;
  });
  return total;
}
