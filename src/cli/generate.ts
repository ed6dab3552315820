/**
 * `promptloom generate`: prepares the batch through the core's `Workspace` (the same preparation
 * as the editor's), runs it through the engine, and records every attempt in the workspace
 * database as it happens.
 */
import { resolve } from 'node:path';
import { runRecordedBatch, type BatchInput, type BatchOutcome } from '../core/generation/batch';
import type { GenerationEngine } from '../core/generation/engine';
import { failureSummary } from '../core/generation/failures';
import { BatchProgress } from '../core/generation/progress';
import type { GenerationSettings } from '../core/generation/settings';
import { openWorkspaceStore } from '../core/workspace';
import { formatDiagnostic } from './check';
import { EXIT, UserError } from './errors';
import { readTextFile } from './files';
import type { Output } from './output';
import { collectValues } from './render';
import { apiAddress, apiKey, openWorkspace, workspaceFolder } from './workspace';

/** The engine's queue holds this many requests; a batch is queued whole. */
const MAX_BATCH = 10_000;

export interface GenerateFlags {
  readonly param: readonly string[];
  readonly params: readonly string[];
  readonly count: number;
  readonly workspace?: string;
  readonly apiBaseUrl?: string;
  readonly format: 'text' | 'json';
  readonly settings: Partial<GenerationSettings>;
}

export async function runGenerate(file: string, flags: GenerateFlags, out: Output, env: NodeJS.ProcessEnv, readStdin: () => string, isTty: boolean): Promise<number> {
  if (flags.count > MAX_BATCH) throw new UserError(`--count ${flags.count} is more than a batch holds (${MAX_BATCH}); run several batches`);
  const folder = workspaceFolder(flags.workspace);
  const key = apiKey(env);
  const baseURL = apiAddress(flags.apiBaseUrl, env);
  // --model is asked for explicitly, so it wins over the template's model:; the rest are settings.
  const { model: askedModel, ...settingFlags } = flags.settings;
  const workspace = openWorkspace(folder, out, { flags: settingFlags, strict: true });

  const text = readTextFile(file);
  const values = collectValues(flags.param, flags.params, readStdin);
  const prepared = workspace.prepareBatch({ file: resolve(file), text, values, count: flags.count, ...(askedModel ? { model: askedModel } : {}) });
  if (!prepared.ok) {
    if (prepared.reason === 'model') throw new UserError(prepared.message);
    if (prepared.reason === 'template') {
      for (const d of prepared.diagnostics) out.note(formatDiagnostic(file, d));
      out.error(`cannot generate from ${file}: the template has errors`);
    } else {
      out.error(`cannot generate from ${file}: invalid values`);
      for (const p of prepared.problems) out.note(p.variable ? `  ${p.variable}: ${p.message}` : `  ${p.message}`);
    }
    return EXIT.invalid;
  }

  const interrupt = new Interrupt(out);
  try {
    const { store, notices } = await openWorkspaceStore(folder);
    try {
      for (const notice of notices) out.note(`promptloom: ${notice}`);
      const outcome = await runInTerminal({ ...prepared.input, store, apiKey: key, ...(baseURL ? { baseURL } : {}) }, flags.format === 'text' && isTty, interrupt);
      printOutcome(outcome, flags.format, out);
      return exitCode(outcome);
    } finally {
      store.close();
    }
  } finally {
    interrupt.dispose();
  }
}

/**
 * Ctrl+C for the whole of a generating command, from its first moment: it cancels the batch (a
 * resume finishes it), also while the database is still being opened or the batch set up; a
 * second Ctrl+C does not kill the process while answers already paid for are being stored.
 */
export class Interrupt {
  private engine: GenerationEngine | undefined;
  private interrupted = false;
  private readonly handler = () => {
    if (this.interrupted) this.out.note('promptloom: cancelling: the answers in flight are being stored; this ends by itself');
    this.interrupted = true;
    this.engine?.cancel();
  };

  constructor(private readonly out: Output) {
    process.on('SIGINT', this.handler);
  }

  started(engine: GenerationEngine): void {
    this.engine = engine;
    if (this.interrupted) engine.cancel();
  }

  dispose(): void {
    process.off('SIGINT', this.handler);
  }
}

/** Runs a batch with a progress bar on a terminal. */
export async function runInTerminal(input: Omit<BatchInput, 'started' | 'onAttempt'>, tty: boolean, interrupt: Interrupt): Promise<BatchOutcome> {
  const progress = new ProgressBar(input.count, tty);
  try {
    return await runRecordedBatch({ ...input, started: (e) => interrupt.started(e), onAttempt: (a) => progress.update(a) });
  } finally {
    progress.done();
  }
}

/** 0 when every conversation was generated and stored; 1 otherwise. */
export function exitCode(outcome: BatchOutcome): number {
  const { summary } = outcome;
  return summary.succeeded === summary.requested && outcome.keptAside === 0 && summary.unstored === 0 ? EXIT.ok : EXIT.invalid;
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
    // Additions to the contract: how the batch ended and why.
    stopped: summary.stopped ?? null,
    remaining: summary.remaining,
    failures: summary.failures.map((f) => ({ type: f.type, ...(f.status !== undefined ? { status: f.status } : {}), count: f.count })),
    keptAside: outcome.keptAside,
    unstored: summary.unstored,
  };
  if (summary.stopReason && summary.stopped !== 'cancelled') out.error(summary.stopped === 'fatal' ? summary.stopReason : `the batch stopped: ${summary.stopReason}`);
  if (outcome.keptAside > 0) {
    out.error(`${outcome.keptAside} paid conversation${outcome.keptAside === 1 ? '' : 's'} could not be written to the database; kept in .promptloom/unstored/ and imported the next time it opens`);
  }
  if (summary.stopped === 'cancelled') out.note(`cancelled: ${summary.remaining} of ${summary.requested} not generated; finish with: promptloom resume --batch ${batchId}`);
  if (format === 'json') out.stdout(JSON.stringify(result) + '\n');
  else {
    const failures = failureSummary(summary.failures);
    out.stdout(
      `${result.succeeded} of ${result.requested} conversations generated${summary.stopped === 'cancelled' ? ' (cancelled)' : ''}` +
        ` in ${(result.durationMs / 1000).toFixed(1)} s: ${result.attempts} requests (${result.retries} retries), ` +
        `${result.inputTokens} input + ${result.outputTokens} output tokens, $${result.costUsd.toFixed(4)}\n` +
        (outcome.quality.average !== null ? `quality ${outcome.quality.average.toFixed(1)} on average, ${outcome.quality.flagged} flagged for revision\n` : '') +
        `batch ${batchId}\n` +
        (failures ? `${failures}\n` : ''),
    );
  }
}

/** A one-line progress bar on a terminal's stderr; silent elsewhere. */
class ProgressBar {
  private readonly counts: BatchProgress;

  constructor(
    total: number,
    private readonly enabled: boolean,
  ) {
    this.counts = new BatchProgress(total);
  }

  update(a: Parameters<BatchProgress['add']>[0]): void {
    this.counts.add(a);
    if (!this.enabled) return;
    const width = 30;
    const filled = Math.round(this.counts.fraction * width);
    const c = this.counts;
    process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${c.done}/${c.total} done, ${c.failed} failed, $${c.costUsd.toFixed(4)}`);
  }

  done(): void {
    if (this.enabled) process.stderr.write('\n');
  }
}
