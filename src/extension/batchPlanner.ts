/**
 * The steps of Generate Batch…: which values to vary (each variable with the values it would take),
 * how to spread the conversations over them, how many, the queue priority and concurrency; then,
 * once the batch is prepared, its value sets and estimated cost, to confirm before anything is
 * spent.
 */
import * as vscode from 'vscode';
import type { BatchInput } from '../core/generation/batch';
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

/** The prepared batch's value sets, cost (the judge's too, when it is on) and time; true when the person says go. */
export async function confirmBatch(input: Pick<BatchInput, 'cells' | 'rendered' | 'count' | 'model'>, estimate: Estimate, extra: { readonly duration?: DurationBasis; readonly judge?: JudgeEstimate | undefined } = {}): Promise<boolean> {
  const { duration, judge } = extra;
  const cells = input.cells ?? [{ rendered: input.rendered, count: input.count }];
  const varied = cells.length > 1 ? Object.keys(cells[0]!.rendered.parameters).filter((name) => new Set(cells.map((c) => JSON.stringify(c.rendered.parameters[name]))).size > 1) : [];
  const shown = cells.slice(0, 12).map((c) => `${c.count} × ${varied.length > 0 ? varied.map((name) => `${name} ${String(c.rendered.parameters[name])}`).join(', ') : 'the form’s values'}`);
  const more = cells.length > shown.length ? [`… and ${cells.length - shown.length} more value sets`] : [];
  const usd = (x: number) => `$${x < 0.1 ? x.toFixed(4) : x.toFixed(2)}`;
  const cost = `Estimated cost ${usd(estimate.costUsd.low)}–${usd(estimate.costUsd.high)} with ${input.model.id} (${estimate.inputTokens.toLocaleString('en-US')} input tokens${estimate.counted === 'api' ? '' : ', estimated'}; up to ${estimate.maxOutputTokens.toLocaleString('en-US')} output tokens${estimate.pastOutputTokens === null ? '' : `, about ${Math.round(estimate.pastOutputTokens)} each as before`}).`;
  const choice = await vscode.window.showInformationMessage(
    `Generate ${input.count} conversation${input.count === 1 ? '' : 's'} in ${cells.length} value set${cells.length === 1 ? '' : 's'}?`,
    { modal: true, detail: [...shown, ...more, '', cost, `${cacheLine(estimate)}.`, ...(judge ? [judgeCostLine(judge)] : []), ...(duration ? [durationLine(duration)] : [])].join('\n') },
    'Generate',
  );
  return choice === 'Generate';
}

/** The judge's own line in the confirmation (promptloom.quality.judge on): one call per conversation. */
export function judgeCostLine(judge: JudgeEstimate): string {
  const usd = (x: number) => `$${x < 0.1 ? x.toFixed(4) : x.toFixed(2)}`;
  return `The judge (${judge.model}) grades each conversation too: ${judge.calls.toLocaleString('en-US')} call${judge.calls === 1 ? '' : 's'}, estimated ${usd(judge.costUsd.low)}–${usd(judge.costUsd.high)} on top.`;
}
