/**
 * The steps of Generate Batch…: which values to vary (each variable with the values it would take),
 * how to spread the conversations over them, how many, the queue priority and concurrency; then,
 * once the batch is prepared, its value sets and estimated cost, to confirm before anything is
 * spent.
 */
import * as vscode from 'vscode';
import type { BatchInput } from '../core/generation/batch';
import { BATCH_PRICE_FACTOR } from '../core/generation/messageBatches';
import type { GenerationMode } from '../core/generation/settings';
import { cacheLine, formatDuration, type DurationEstimate, type Estimate, type JudgeEstimate } from '../core/generation/estimate';
import { SAMPLINGS, variableDomains, type Sampling } from '../core/plan';
import type { ParsedTemplate } from '../core/template';

export interface BatchChoice {
  count: number;
  priority?: 'high' | 'normal' | 'low';
  concurrency?: number;
  plan?: { vary: string[]; sampling?: Sampling; seed?: number };
}

const SAMPLING_HELP: Readonly<Record<Sampling, string>> = {
  balanced: 'spread the count so every value (and combination) comes up as evenly as possible',
  grid: 'every combination, the count each',
  random: 'random value sets, the same each time for the same seed',
};

/** Asks for a batch; undefined when the person backs out at any step. */
export async function askBatch(template: ParsedTemplate, concurrency: number): Promise<BatchChoice | undefined> {
  const domains = variableDomains(template);
  let vary: string[] = [];
  let sampling: Sampling | undefined;
  if (domains.length > 0) {
    type Item = vscode.QuickPickItem & { name: string; canVary: boolean };
    const items: Item[] = domains.map((d) => ({
      label: d.name,
      name: d.name,
      canVary: d.canVary,
      description: d.domain ? `${d.domain.values.length} values: ${d.domain.values.slice(0, 4).map(String).join(', ')}${d.domain.values.length > 4 ? ', …' : ''}` : 'nothing to vary over',
      ...(!d.canVary && d.problem ? { detail: d.problem.message } : {}),
    }));
    const picked = await vscode.window.showQuickPick(items, {
      title: 'Generate batch (1/5): vary which values? (none: every conversation gets the preview form’s values)',
      canPickMany: true,
      ignoreFocusOut: true,
    });
    if (!picked) return undefined;
    const blocked = picked.filter((p) => !p.canVary);
    if (blocked.length > 0) {
      void vscode.window.showErrorMessage(`Promptloom: ${blocked.map((b) => domains.find((d) => d.name === b.name)!.problem!.message).join(' ')}`);
      return undefined;
    }
    vary = picked.map((p) => p.name);
    if (vary.length > 0) {
      const how = await vscode.window.showQuickPick(
        SAMPLINGS.map((s) => ({ label: s, description: SAMPLING_HELP[s] })),
        { title: 'Generate batch (2/5): how to spread the conversations', ignoreFocusOut: true },
      );
      if (!how) return undefined;
      sampling = how.label as Sampling;
    }
  }
  const whole = (min: number) => (v: string) => (/^\d+$/.test(v.trim()) && Number(v) >= min ? undefined : `A whole number, ${min} or more.`);
  const count = await vscode.window.showInputBox({
    title: 'Generate batch (3/5)',
    prompt: sampling === 'grid' ? 'How many conversations for each combination?' : 'How many conversations?',
    value: '10',
    validateInput: whole(1),
    ignoreFocusOut: true,
  });
  if (!count) return undefined;
  const picked = await vscode.window.showQuickPick(['normal', 'high', 'low'], { title: 'Generate batch (4/5): priority in the queue', ignoreFocusOut: true });
  if (!picked) return undefined;
  const parallel = await vscode.window.showInputBox({ title: 'Generate batch (5/5)', prompt: 'Requests in flight at once', value: String(concurrency), validateInput: whole(1), ignoreFocusOut: true });
  if (!parallel) return undefined;
  return {
    count: Number(count),
    priority: picked as NonNullable<BatchChoice['priority']>,
    concurrency: Number(parallel),
    ...(vary.length > 0 ? { plan: { vary, ...(sampling ? { sampling } : {}) } } : {}),
  };
}

/** What the time estimate was worked out from, to say beside it. */
export type DurationBasis = DurationEstimate & { readonly requestsPerWindow: number; readonly windowMs: number; readonly concurrency: number; readonly pastDurationMs: number | null };

/** The time line of the confirmation: how long, at which rate, and what holds it back. */
export function durationLine(d: DurationBasis): string {
  const rate = `${d.requestsPerWindow.toLocaleString('en-US')} requests per ${formatDuration(d.windowMs / 1000)}`;
  const each = d.pastDurationMs === null ? '' : `, about ${(d.pastDurationMs / 1000).toFixed(1)} s each as before`;
  return `Estimated time about ${formatDuration(d.seconds)} at ${rate} (${d.concurrency} in flight${each}; ${d.limitedBy === 'rate' ? 'the rate limit' : 'requests in flight'} set the pace).`;
}

/** The buttons of the confirmation, and the path each one takes. */
export const GENERATE = 'Generate';
export const GENERATE_WITH_MESSAGE_BATCHES = 'Generate with Message Batches';
export const GENERATE_DIRECTLY = 'Generate directly';

/**
 * The prepared batch's value sets, cost (the judge's too, when it is on) and time; the path to
 * take when the person says go, undefined when not. The cost is given for the path
 * `pathFor(mode, count)` chose and for the other beside it (Message Batches at half price; both
 * with prompt caching). With mode `auto` and a plan large enough for Message Batches, the person
 * chooses: "Generate with Message Batches" or "Generate directly".
 */
export async function confirmBatch(
  input: Pick<BatchInput, 'cells' | 'rendered' | 'count' | 'model'>,
  estimate: Estimate,
  extra: { readonly path?: 'direct' | 'batch'; readonly mode?: GenerationMode; readonly duration?: DurationBasis; readonly judge?: JudgeEstimate | undefined } = {},
): Promise<'direct' | 'batch' | undefined> {
  const { duration, judge } = extra;
  const path = extra.path ?? 'direct';
  const ask = extra.mode === 'auto' && path === 'batch';
  const cells = input.cells ?? [{ rendered: input.rendered, count: input.count }];
  const varied = cells.length > 1 ? Object.keys(cells[0]!.rendered.parameters).filter((name) => new Set(cells.map((c) => JSON.stringify(c.rendered.parameters[name]))).size > 1) : [];
  const shown = cells.slice(0, 12).map((c) => `${c.count} × ${varied.length > 0 ? varied.map((name) => `${name} ${String(c.rendered.parameters[name])}`).join(', ') : 'the form’s values'}`);
  const more = cells.length > shown.length ? [`… and ${cells.length - shown.length} more value sets`] : [];
  const lines = [...shown, ...more, '', ...costLines(input.model.id, estimate, path, ask), `${cacheLine(estimate)}.`, ...(judge ? [judgeCostLine(judge)] : [])];
  if (ask) lines.push(...(duration ? [`Directly: ${lowerFirst(durationLine(duration))}`] : []), `With Message Batches: ${BATCH_TIME}`);
  else if (path === 'batch') lines.push(`${BATCH_TIME[0]!.toUpperCase()}${BATCH_TIME.slice(1)}`);
  else if (duration) lines.push(durationLine(duration));
  const buttons = ask ? [GENERATE_WITH_MESSAGE_BATCHES, GENERATE_DIRECTLY] : [GENERATE];
  const choice = await vscode.window.showInformationMessage(
    `Generate ${input.count} conversation${input.count === 1 ? '' : 's'} in ${cells.length} value set${cells.length === 1 ? '' : 's'}${path === 'batch' && !ask ? ' through Message Batches' : ''}?`,
    { modal: true, detail: lines.join('\n') },
    ...buttons,
  );
  if (choice === GENERATE_WITH_MESSAGE_BATCHES) return 'batch';
  if (choice === GENERATE_DIRECTLY) return 'direct';
  return choice === GENERATE ? path : undefined;
}

/** How long Message Batches take: Anthropic's word, not a rate. */
const BATCH_TIME = 'results within 24 hours, usually within one; progress shows in a notification and the queue (Promptloom: Show Generation Queue), and a window closed meanwhile collects them at its next start.';

const lowerFirst = (text: string) => `${text[0]!.toLowerCase()}${text.slice(1)}`;

/**
 * The cost lines: the chosen path's estimate first and the other's beside it, or, when the person
 * chooses, both side by side. Message Batches cost `BATCH_PRICE_FACTOR` of the direct price.
 */
export function costLines(model: string, estimate: Estimate, path: 'direct' | 'batch', both: boolean): string[] {
  const usd = (x: number) => `$${x < 0.1 ? x.toFixed(4) : x.toFixed(2)}`;
  const range = (factor: number) => `${usd(estimate.costUsd.low * factor)}–${usd(estimate.costUsd.high * factor)}`;
  const tokens = `(${estimate.inputTokens.toLocaleString('en-US')} input tokens${estimate.counted === 'api' ? '' : ', estimated'}; up to ${estimate.maxOutputTokens.toLocaleString('en-US')} output tokens${estimate.pastOutputTokens === null ? '' : `, about ${Math.round(estimate.pastOutputTokens)} each as before`})`;
  const direct = range(1);
  const batch = range(BATCH_PRICE_FACTOR);
  if (both) return [`Estimated cost with ${model} ${tokens}:`, `  directly: ${direct}`, `  with Message Batches (half price): ${batch}`];
  if (path === 'batch') return [`Estimated cost ${batch} with ${model} at Message Batches prices (half price) ${tokens}; directly it would be ${direct}.`];
  return [`Estimated cost ${direct} with ${model} ${tokens}; with Message Batches (half price) it would be ${batch}.`];
}

/** The judge's own line in the confirmation (promptloom.quality.judge on): one call per conversation. */
export function judgeCostLine(judge: JudgeEstimate): string {
  const usd = (x: number) => `$${x < 0.1 ? x.toFixed(4) : x.toFixed(2)}`;
  return `The judge (${judge.model}) grades each conversation too: ${judge.calls.toLocaleString('en-US')} call${judge.calls === 1 ? '' : 's'}, estimated ${usd(judge.costUsd.low)}–${usd(judge.costUsd.high)} on top.`;
}
