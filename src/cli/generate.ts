/**
 * `promptloom generate`: renders a template, runs the batch through the engine, and records every
 * attempt in the workspace database as it happens.
 */
import { relative, resolve } from 'node:path';
import { runRecordedBatch, type BatchOutcome } from '../core/generation/batch';
import { resolveModel, type Attempt, type GenerationEngine } from '../core/generation/engine';
import { mergeSettings, type GenerationSettings } from '../core/generation/settings';
import { workspaceSettings } from './workspace';
import { Store } from '../core/store';
import { parseTemplate, renderTemplate } from '../core/template';
import { formatDiagnostic } from './check';
import { EXIT, UserError } from './errors';
import { readTextFile, workspaceFolder } from './files';
import type { Output } from './output';
import { collectValues } from './render';

/** The engine's queue holds this many requests; a batch is queued whole. */
const MAX_BATCH = 10_000;

export interface GenerateFlags {
  readonly param: readonly string[];
  readonly params: readonly string[];
  readonly count: number;
  readonly workspace?: string;
  readonly format: 'text' | 'json';
  readonly settings: Partial<GenerationSettings>;
}

export async function runGenerate(file: string, flags: GenerateFlags, out: Output, env: NodeJS.ProcessEnv, readStdin: () => string, isTty: boolean): Promise<number> {
  if (flags.count > MAX_BATCH) throw new UserError(`--count ${flags.count} is more than a batch holds (${MAX_BATCH}); run several batches`);
  const workspace = workspaceFolder(flags.workspace);
  const settings = mergeSettings(workspaceSettings(workspace, out), flags.settings);
  const apiKey = env.ANTHROPIC_API_KEY;
  if (!apiKey) throw new UserError('set ANTHROPIC_API_KEY to your Anthropic API key (it is read from the environment only)');
  const model = resolveModel(settings.model, settings.models);
  if (!model) throw new UserError(`unknown model "${settings.model}": use an alias (${settings.models.map((m) => m.alias ?? m.id).join(', ')}) or a claude-… id`);

  const text = readTextFile(file);
  const template = parseTemplate(text, { fileName: file, modelAliases: settings.models.flatMap((m) => (m.alias ? [m.alias] : [])) });
  if (template.hasErrors) {
    for (const d of template.diagnostics) if (d.severity === 'error') out.note(formatDiagnostic(file, d));
    out.error(`cannot generate from ${file}: the template has errors`);
    return EXIT.invalid;
  }
  const values = collectValues(flags.param, flags.params, readStdin);
  const rendered = renderTemplate(template, values);
  if (!rendered.ok) {
    out.error(`cannot generate from ${file}: invalid values`);
    for (const p of rendered.problems) out.note(p.variable ? `  ${p.variable}: ${p.message}` : `  ${p.message}`);
    return EXIT.invalid;
  }

  const store = await Store.open(workspace);
  try {
    for (const notice of store.notices) out.note(`promptloom: ${notice}`);
    const baseURL = env.ANTHROPIC_BASE_URL ?? settings.apiBaseUrl;
    const progress = new Progress(flags.count, flags.format === 'text' && isTty);
    let engine: GenerationEngine | undefined;
    const interrupt = () => engine?.cancel();
    process.once('SIGINT', interrupt);
    let outcome: Awaited<ReturnType<typeof runRecordedBatch>>;
    try {
      outcome = await runRecordedBatch({
        store,
        templatePath: relative(workspace, resolve(file)).split('\\').join('/'),
        templateText: text,
        template,
        rendered: rendered.value,
        settings,
        model,
        apiKey,
        ...(baseURL ? { baseURL } : {}),
        count: flags.count,
        started: (e) => (engine = e),
        onAttempt: (a) => progress.update(a),
      });
    } finally {
      process.off('SIGINT', interrupt);
      progress.done();
    }
    printOutcome(outcome, flags.format, out);
    return outcome.summary.succeeded === outcome.summary.requested ? EXIT.ok : EXIT.invalid;
  } finally {
    store.close();
  }
}

/** The result lines of `generate` and `resume` (the JSON line is the contract other tools read). */
export function printOutcome(outcome: BatchOutcome, format: 'text' | 'json', out: Output): void {
  const { summary, batchId, conversations } = outcome;
  const result = {
    requested: summary.requested,
    succeeded: summary.succeeded,
    failed: summary.failed,
    attempts: summary.attempts,
    retries: summary.retries,
    inputTokens: summary.inputTokens,
    outputTokens: summary.outputTokens,
    costUsd: Number(summary.costUsd.toFixed(6)),
    durationMs: summary.durationMs,
    batchId,
    conversations,
  };
  if (summary.stopReason && summary.stopped !== 'cancelled') out.error(`the batch stopped: ${summary.stopReason}`);
  if (format === 'json') out.stdout(JSON.stringify(result) + '\n');
  else {
    out.stdout(
      `${result.succeeded} of ${result.requested} conversations generated${result.failed ? `, ${result.failed} failed` : ''}` +
        ` in ${(result.durationMs / 1000).toFixed(1)} s: ${result.attempts} requests (${result.retries} retries), ` +
        `${result.inputTokens} input + ${result.outputTokens} output tokens, $${result.costUsd.toFixed(4)}\n` +
        (outcome.quality.average !== null ? `quality ${outcome.quality.average.toFixed(1)} on average, ${outcome.quality.flagged} flagged for revision\n` : '') +
        `batch ${batchId}\n`,
    );
  }
}

/** A one-line progress bar on a terminal's stderr; silent elsewhere. */
class Progress {
  private done_ = 0;
  private failed = 0;
  private costUsd = 0;

  constructor(
    private readonly total: number,
    private readonly enabled: boolean,
  ) {}

  update(a: Attempt): void {
    if (a.status === 'succeeded') this.done_++;
    else if (a.final) this.failed++;
    this.costUsd += a.costUsd;
    if (!this.enabled) return;
    const width = 30;
    const filled = Math.round(((this.done_ + this.failed) / this.total) * width);
    process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done_}/${this.total} done, ${this.failed} failed, $${this.costUsd.toFixed(4)}`);
  }

  done(): void {
    if (this.enabled) process.stderr.write('\n');
  }
}
