/**
 * `promptloom generate`: prepares the batch through the core's `Workspace` (the same preparation
 * as the editor's), runs it through the engine, and records every attempt as it happens: in the
 * workspace database, or with --database-url (or PROMPTLOOM_DATABASE_URL) in the team database,
 * where the workspace folder gives only its settings and nothing is written in it.
 */
import { resolve } from 'node:path';
import { runRecordedBatch, runTeamBatch, TeamStoreUnsupportedError, type BatchInput, type BatchOutcome, type TeamBatchInput } from '../core/generation/batch';
import type { TeamDatabase } from '../core/store/postgres/teamDatabase';
import { teamDatabaseUrl } from './db';
import { withTeamStore } from './teamStore';
import { SpoolPendingError } from '../core/generation/teamSpool';
import type { GenerationEngine } from '../core/generation/engine';
import { failureSummary } from '../core/generation/failures';
import { BatchProgress } from '../core/generation/progress';
import { pathFor, type GenerationSettings } from '../core/generation/settings';
import { BATCH_PRICE_FACTOR, type MessageBatchOutcome } from '../core/generation/messageBatches';
import { runBatchesInTerminal, runTeamBatchesInTerminal } from './messageBatches';
import { countInputTokens, createClient, type ClaudeRequest } from '../core/generation/claude';
import { cacheLine, estimateBatch, estimateJudge, formatDuration, pastOutputTokens, type JudgeEstimate } from '../core/generation/estimate';
import { judgeModelOf } from '../core/generation/settings';
import type { PlanProblem, Sampling } from '../core/plan';
import { findingLine, flaggedRuns, type FlaggedRun } from '../core/analytics/runReasons';
import { openWorkspaceStore, replayTeamSpool, type BatchRequest } from '../core/workspace';
import { cliStoreOptions, existingStore as readOnlyStore } from './database';
import { formatDiagnostic } from './check';
import { EXIT, UserError } from './errors';
import { readTextFile } from './files';
import { oneLine, type Output } from './output';
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
  /** Variables to vary over their domains (`--vary a,b`), or all that have one (`--vary-all`). */
  readonly vary?: readonly string[] | 'all';
  readonly sample?: Sampling;
  readonly seed?: number;
  readonly valuesFile?: string;
  readonly dryRun?: boolean;
  /** Through the Message Batches API (half price, asynchronous), whatever the mode setting says. */
  readonly batchApi?: boolean;
  /** With Message Batches: submit, print their ids and exit; `resume` collects. */
  readonly detach?: boolean;
  /** The team database (PostgreSQL) to record in, instead of the workspace's; else PROMPTLOOM_DATABASE_URL. */
  readonly databaseUrl?: string;
}

export async function runGenerate(file: string, flags: GenerateFlags, out: Output, env: NodeJS.ProcessEnv, readStdin: () => string, isTty: boolean): Promise<number> {
  // A plan holds at least --count conversations: refuse the impossible before anything is read.
  if (flags.count > MAX_BATCH) throw new UserError(`--count ${flags.count} is more than a batch holds (${MAX_BATCH}); run several batches`);
  const folder = workspaceFolder(flags.workspace);
  const plan = planRequest(flags);
  // A dry run sends nothing: it needs no key (with one, the API counts the input tokens).
  const key = flags.dryRun ? env.ANTHROPIC_API_KEY : apiKey(env);
  const baseURL = apiAddress(flags.apiBaseUrl, env);
  // --model is asked for explicitly, so it wins over the template's model:; the rest are settings.
  const { model: askedModel, ...settingFlags } = flags.settings;
  const workspace = openWorkspace(folder, out, { flags: settingFlags, strict: true });

  const text = readTextFile(file);
  const values = collectValues(flags.param, flags.params, readStdin);
  const prepared = workspace.prepareBatch({ file: resolve(file), text, values, count: flags.count, ...(plan ? { plan } : {}), ...(askedModel ? { model: askedModel } : {}) });
  if (!prepared.ok) {
    if (prepared.reason === 'model') throw new UserError(prepared.message);
    if (prepared.reason === 'template') {
      for (const d of prepared.diagnostics) out.note(formatDiagnostic(file, d));
      out.error(`cannot generate from ${file}: the template has errors`);
    } else if (prepared.reason === 'plan') {
      out.error(`cannot generate from ${file}: the plan cannot be made`);
      for (const line of planProblemLines(prepared.problems, file)) out.note(line);
    } else {
      out.error(`cannot generate from ${file}: invalid values`);
      for (const p of prepared.problems) out.note(p.variable ? `  ${p.variable}: ${p.message}` : `  ${p.message}`);
    }
    return EXIT.invalid;
  }
  // Inactive is the author's "out of rotation", not a lock: a script that names the file means it.
  if (!prepared.input.template.settings.active) out.note(`promptloom: warning: ${file} is marked inactive (active: false); generating anyway`);
  if (prepared.input.count > MAX_BATCH) throw new UserError(`the batch would hold ${prepared.input.count} conversations, more than a batch holds (${MAX_BATCH}); run several batches`);
  const path = flags.batchApi ? 'batch' : pathFor(workspace.settings.mode, prepared.input.count);
  // The team store: chosen (and checked) before anything is sent.
  const teamUrl = teamDatabaseUrl(flags.databaseUrl, env);
  if (flags.dryRun) {
    const options = { format: flags.format, path, ...(key ? { apiKey: key } : {}), ...(baseURL ? { baseURL } : {}) };
    // Past output tokens from the store the run would record in.
    if (teamUrl) return withTeamStore(teamUrl, (db) => dryRun(prepared.input, { ...options, pastOutputTokens: () => pastOutputTokens(db, prepared.input.templatePath) }, out));
    return dryRun(prepared.input, { ...options, pastOutputTokens: () => storedOutputTokens(folder, prepared.input.templatePath, out) }, out);
  }

  if (flags.detach && path !== 'batch') throw new UserError('--detach leaves Message Batches running: use it with --batch-api (or promptloom.generation.mode batch, or auto for 50 conversations or more)');
  const interrupt = new Interrupt(out);
  try {
    if (teamUrl) {
      const tty = flags.format === 'text' && isTty;
      return await withTeamStore(teamUrl, async (db) => {
        // Answers an earlier run kept while the server was unreachable are written first.
        for (const notice of await replayTeamSpool(folder, db)) out.note(`promptloom: ${notice}`);
        const team = { ...prepared.input, db, folder, apiKey: key!, ...(baseURL ? { baseURL } : {}) };
        const outcome = path === 'batch' ? await runTeamBatchesInTerminal({ ...team, ...(flags.detach ? { detach: true } : {}) }, tty, interrupt) : await runOnTeamStore(team, tty, interrupt);
        // Conversations a resume of this batch (another terminal or machine) claimed first: its share, not this run's.
        const shared = path === 'batch' ? 0 : prepared.input.count - outcome.summary.requested;
        if (shared > 0) out.note(`promptloom: ${shared} of the batch's ${prepared.input.count} conversations were claimed by another run of it (a resume)`);
        printOutcome(outcome, flags.format, out, await flaggedRuns(db, outcome.conversations, prepared.input.template.settings.qualityThreshold), false);
        return exitCode(outcome);
      });
    }
    const { store, notices } = await openWorkspaceStore(folder, cliStoreOptions(out));
    try {
      for (const notice of notices) out.note(`promptloom: ${notice}`);
      const input = { ...prepared.input, store, apiKey: key!, ...(baseURL ? { baseURL } : {}) };
      const tty = flags.format === 'text' && isTty;
      const outcome = path === 'batch' ? await runBatchesInTerminal({ ...input, ...(flags.detach ? { detach: true } : {}) }, tty, interrupt) : await runInTerminal(input, tty, interrupt);
      printOutcome(outcome, flags.format, out, await flaggedRuns(store, outcome.conversations, prepared.input.template.settings.qualityThreshold));
      return exitCode(outcome);
    } finally {
      store.close();
    }
  } finally {
    interrupt.dispose();
  }
}

/**
 * Plan problems as lines: a diagnostic in compiler style; the same problem in many value sets
 * (a required value not given) once, saying how many.
 */
function planProblemLines(problems: readonly PlanProblem[], file: string): string[] {
  const lines: string[] = [];
  const repeated = new Map<string, number>();
  for (const p of problems) {
    if (p.diagnostic) lines.push(formatDiagnostic(file, p.diagnostic));
    else if (p.cell !== undefined && p.variable !== undefined) {
      const what = p.message.slice(p.message.indexOf('): ') + 3);
      const seen = repeated.get(what);
      repeated.set(what, (seen ?? 0) + 1);
      if (seen === undefined) lines.push(what);
    } else lines.push(p.message);
  }
  return lines.map((line) => {
    const n = repeated.get(line);
    return `  ${line}${n && n > 1 ? ` (in ${n} value sets)` : ''}`;
  });
}

/** The plan the flags ask for, checked for combinations that make no sense. */
function planRequest(flags: GenerateFlags): BatchRequest['plan'] {
  if (flags.valuesFile !== undefined) {
    if (flags.vary) throw new UserError('--values-file gives every value set itself: use it without --vary or --vary-all');
    if (flags.sample || flags.seed !== undefined) throw new UserError('--sample and --seed choose values to vary: a --values-file gives them');
    const lower = flags.valuesFile.toLowerCase();
    const kind = lower.endsWith('.csv') ? 'csv' : lower.endsWith('.jsonl') || lower.endsWith('.ndjson') ? 'jsonl' : undefined;
    if (!kind) throw new UserError(`--values-file ${flags.valuesFile}: expected a .csv or .jsonl file`);
    return { valuesFile: { text: readTextFile(flags.valuesFile, MAX_VALUES_FILE_BYTES), kind } };
  }
  if (!flags.vary) {
    if (flags.sample || flags.seed !== undefined) throw new UserError('--sample and --seed need --vary NAME[,NAME...] or --vary-all');
    return undefined;
  }
  return { vary: flags.vary, ...(flags.sample ? { sampling: flags.sample } : {}), ...(flags.seed !== undefined ? { seed: flags.seed } : {}) };
}

/** Most a values file may weigh (100,000 rows of short values). */
const MAX_VALUES_FILE_BYTES = 64 * 1024 * 1024;

/** `--dry-run`: the plan and what it would cost, without a Messages request. */
async function dryRun(
  input: Omit<BatchInput, 'store' | 'apiKey' | 'baseURL' | 'limiter' | 'started' | 'onAttempt' | 'resume'>,
  options: { format: 'text' | 'json'; path: 'direct' | 'batch'; apiKey?: string; baseURL?: string; pastOutputTokens: () => Promise<number | null> },
  out: Output,
): Promise<number> {
  const cells = input.cells ?? [{ rendered: input.rendered, count: input.count }];
  const maxTokens = input.template.settings.maxTokens ?? input.settings.maxTokens;
  const client = options.apiKey ? createClient({ apiKey: options.apiKey, ...(options.baseURL ? { baseURL: options.baseURL } : {}), timeoutMs: Math.min(input.settings.timeoutMs, 30_000) }) : undefined;
  const estimate = await estimateBatch(cells, {
    model: input.model,
    maxTokens,
    pastOutputTokens: await options.pastOutputTokens(),
    ...(client ? { countTokens: (request: ClaudeRequest) => countInputTokens(client, request) } : {}),
  });
  // With promptloom.quality.judge on, each conversation is graded too: its own figure, not in costUsd.
  const judgeModel = input.settings.judge === 'on' ? judgeModelOf(input.settings) : undefined;
  const judged: JudgeEstimate | undefined = judgeModel ? estimateJudge(input.count, { model: judgeModel, maxTokens, pastOutputTokens: estimate.pastOutputTokens }) : undefined;
  // Through Message Batches the judge grades in a Message Batch too: at batch prices.
  const judge: JudgeEstimate | undefined =
    judged && options.path === 'batch'
      ? { ...judged, costUsd: { low: Number((judged.costUsd.low * BATCH_PRICE_FACTOR).toFixed(6)), high: Number((judged.costUsd.high * BATCH_PRICE_FACTOR).toFixed(6)) } }
      : judged;
  const plan = cells.map((c) => ({ values: c.rendered.parameters, count: c.count }));
  // The estimate in the mode the run would take, and the other mode's beside it.
  const priced = (path: 'direct' | 'batch') => {
    const factor = path === 'batch' ? BATCH_PRICE_FACTOR : 1;
    return { low: Number((estimate.costUsd.low * factor).toFixed(6)), high: Number((estimate.costUsd.high * factor).toFixed(6)) };
  };
  const other = options.path === 'batch' ? 'direct' : 'batch';
  const costUsd = priced(options.path);
  if (options.format === 'json') {
    const judgeKey = judge ? { judge: { model: judge.model, calls: judge.calls, maxInputTokens: judge.maxInputTokens, maxOutputTokens: judge.maxOutputTokens, costUsd: judge.costUsd } } : {};
    out.stdout(
      JSON.stringify({
        plan,
        conversations: input.count,
        estimate: { inputTokens: estimate.inputTokens, maxOutputTokens: estimate.maxOutputTokens, costUsd, cache: estimate.cache, ...judgeKey },
        mode: options.path,
        otherMode: { mode: other, costUsd: priced(other) },
      }) + '\n',
    );
    return EXIT.ok;
  }
  const otherCost = priced(other);
  out.stdout(planTable(plan, input.cells ? Object.keys(plan[0]?.values ?? {}).filter((name) => new Set(plan.map((c) => JSON.stringify(c.values[name]))).size > 1) : []));
  out.stdout(
    `${input.count} conversation${input.count === 1 ? '' : 's'} with ${input.model.id}: ${estimate.inputTokens} input tokens (${estimate.counted === 'api' ? 'counted by the API' : 'estimated here'}), up to ${estimate.maxOutputTokens} output tokens\n` +
      `estimated cost $${costUsd.low.toFixed(4)}–$${costUsd.high.toFixed(4)}${options.path === 'batch' ? ' through Message Batches' : ''}` +
      (estimate.pastOutputTokens === null ? ' (no earlier conversations of this template: the low end counts input only)' : ` (low: ${Math.round(estimate.pastOutputTokens)} output tokens each, as before; high: max_tokens each)`) +
      `\n${other === 'batch' ? 'through Message Batches (--batch-api)' : 'directly'}: $${otherCost.low.toFixed(4)}–$${otherCost.high.toFixed(4)}` +
      `\n${cacheLine(estimate)}` +
      (judge ? `\njudge ${judge.model}: ${judge.calls} call${judge.calls === 1 ? '' : 's'} (one per conversation), estimated cost $${judge.costUsd.low.toFixed(4)}–$${judge.costUsd.high.toFixed(4)}${options.path === 'batch' ? ' through Message Batches' : ''} on top` : '') +
      '\nnothing was sent (--dry-run)\n',
  );
  return EXIT.ok;
}

/** The plan as a table: the varied values of each cell, and its count. */
function planTable(plan: readonly { values: Readonly<Record<string, unknown>>; count: number }[], varied: readonly string[]): string {
  const columns = varied.length > 0 ? varied : [];
  const rows = plan.map((c) => [...columns.map((name) => oneLine(String(c.values[name]))), String(c.count)]);
  const header = [...columns, 'count'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd() + '\n';
  return line(header) + rows.map(line).join('');
}

/** Mean output tokens of the template's earlier successful generations (null without any, or without a database). */
async function storedOutputTokens(folder: string, templatePath: string, out: Output): Promise<number | null> {
  const { store } = await readOnlyStore(folder, out);
  if (!store) return null;
  try {
    return await pastOutputTokens(store, templatePath);
  } finally {
    store.close();
  }
}

/**
 * Ctrl+C for the whole of a generating command, from its first moment: it cancels the batch (a
 * resume finishes it), also while the database is still being opened or the batch set up; a
 * second Ctrl+C does not kill the process while answers already paid for are being stored.
 */
export class Interrupt {
  /** The engine of a direct batch, or the waiting of a Message Batch run. */
  private engine: Pick<GenerationEngine, 'cancel'> | undefined;
  private interrupted = false;
  private readonly handler = () => {
    if (this.interrupted) this.out.note('promptloom: cancelling: the answers in flight are being stored; this ends by itself');
    this.interrupted = true;
    this.engine?.cancel();
  };

  constructor(private readonly out: Output) {
    process.on('SIGINT', this.handler);
  }

  started(engine: Pick<GenerationEngine, 'cancel'>): void {
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

/** `runInTerminal` recording in the team database; what the team store cannot do yet is a UserError (one line, exit 2). */
async function runOnTeamStore(input: Omit<TeamBatchInput, 'started' | 'onAttempt'> & { db: TeamDatabase }, tty: boolean, interrupt: Interrupt): Promise<BatchOutcome> {
  const progress = new ProgressBar(input.count, tty);
  try {
    return await runTeamBatch({ ...input, started: (e) => interrupt.started(e), onAttempt: (a) => progress.update(a) });
  } catch (error) {
    if (error instanceof TeamStoreUnsupportedError) throw new UserError(error.message);
    if (error instanceof SpoolPendingError) throw new UserError(error.message, EXIT.invalid);
    throw error;
  } finally {
    progress.done();
  }
}

/** 0 when every conversation was generated and stored, or all submitted with --detach; 1 otherwise. */
export function exitCode(outcome: BatchOutcome): number {
  const { summary } = outcome;
  if (summary.stopped === 'detached') return outcome.keptAside === 0 && summary.unstored === 0 && !summary.stopReason ? EXIT.ok : EXIT.invalid;
  return summary.succeeded === summary.requested && outcome.keptAside === 0 && summary.unstored === 0 ? EXIT.ok : EXIT.invalid;
}

/** Findings printed under a flagged conversation; the JSON has them all. */
const MAX_FINDINGS = 6;

/**
 * The result lines of `generate` and `resume` (the JSON line is the contract other tools read).
 * `flagged`: the conversations flagged or below the threshold, with why (see `flaggedRuns`).
 */
export function printOutcome(outcome: BatchOutcome | MessageBatchOutcome, format: 'text' | 'json', out: Output, flagged: readonly FlaggedRun[] = [], workspaceStore = true): void {
  const { summary, batchId, conversations } = outcome;
  const messageBatches = 'messageBatches' in outcome ? outcome.messageBatches : [];
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
    // The team store: answers kept in .promptloom/team-spool/ while the server was unreachable, written when it was back.
    ...('spooled' in outcome && outcome.spooled !== undefined ? { spooled: outcome.spooled } : {}),
    unstored: summary.unstored,
    coverage: outcome.coverage.map((c) => ({ values: c.values, requested: c.requested, succeeded: c.succeeded })),
    // Prompt caching: tokens written to and read from the cache, and the saving against the same
    // requests uncached (costUsd above is what was paid, caching included).
    cacheWriteTokens: summary.cacheWriteTokens,
    cacheReadTokens: summary.cacheReadTokens,
    savedUsd: Number(summary.savedUsd.toFixed(6)),
    // With promptloom.quality.judge on: the judge's grades and their cost (not in costUsd above).
    ...(outcome.judge ? { judge: { model: outcome.judge.model, judged: outcome.judge.judged.length, notJudged: outcome.judge.notJudged, costUsd: outcome.judge.costUsd } } : {}),
    // How it was generated, and the Message Batches (Anthropic's ids) it submitted or collected.
    mode: 'mode' in outcome ? outcome.mode : 'direct',
    messageBatches,
    // Why each flagged or below-threshold conversation is: its status in words and the findings
    // on its turns (turn: 0-based), as Test Template shows them.
    flagged: flagged.map((r) => ({ conversationId: r.conversationId, overall: r.overall, flagged: r.flagged, below: r.below, verdict: r.verdict, findings: r.findings })),
  };
  if (summary.stopped === 'detached') {
    out.note(`submitted: Message Batch${messageBatches.length === 1 ? '' : 'es'} ${messageBatches.join(', ')}; collect with: promptloom resume --batch ${batchId}${workspaceStore ? '' : ' and the same --database-url'}`);
  }
  // Detached after a stop of another kind (the budget let only part be submitted, answers that
  // could not be stored before Ctrl+C): said, as it would be without --detach.
  if (summary.stopped === 'detached' && summary.stopReason) out.error(`the batch stopped: ${summary.stopReason}`);
  if (summary.stopReason && summary.stopped !== 'cancelled' && summary.stopped !== 'detached') out.error(summary.stopped === 'fatal' ? summary.stopReason : `the batch stopped: ${summary.stopReason}`);
  if (outcome.keptAside > 0) {
    out.error(`${outcome.keptAside} paid conversation${outcome.keptAside === 1 ? '' : 's'} could not be written to the database; kept in .promptloom/unstored/ and imported the next time it opens`);
  }
  if ('spooled' in outcome && outcome.spooled) {
    out.note(`${outcome.spooled} answer${outcome.spooled === 1 ? ' was' : 's were'} kept in .promptloom/team-spool/ while the team database was unreachable, and written when it was back`);
  }
  if (summary.stopped === 'cancelled') {
    // On the team database, resume needs the same --database-url (or PROMPTLOOM_DATABASE_URL).
    out.note(`cancelled: ${summary.remaining} of ${summary.requested} not generated; finish with: promptloom resume --batch ${batchId}${workspaceStore ? '' : ' and the same --database-url'}`);
  }
  if (format === 'json') out.stdout(JSON.stringify(result) + '\n');
  else if (summary.stopped === 'detached') out.stdout(`${messageBatches.join('\n')}\n`);
  else {
    const failures = failureSummary(summary.failures);
    out.stdout(
      `${result.succeeded} of ${result.requested} conversations generated${summary.stopped === 'cancelled' ? ' (cancelled)' : ''}` +
        ` in ${(result.durationMs / 1000).toFixed(1)} s: ${result.attempts} requests (${result.retries} retries), ` +
        `${result.inputTokens} input + ${result.outputTokens} output tokens, $${result.costUsd.toFixed(4)}\n` +
        (result.cacheWriteTokens + result.cacheReadTokens > 0
          ? `prompt cache: ${result.cacheWriteTokens} tokens written, ${result.cacheReadTokens} read, $${result.savedUsd.toFixed(4)} saved\n`
          : '') +
        (outcome.quality.average !== null ? `quality ${outcome.quality.average.toFixed(1)} on average, ${outcome.quality.flagged} flagged for revision\n` : '') +
        flaggedLines(flagged) +
        (outcome.judge ? `judge ${outcome.judge.model}: ${outcome.judge.judged.length} graded${outcome.judge.notJudged ? `, ${outcome.judge.notJudged} not graded (scorer's score kept)` : ''}, $${outcome.judge.costUsd.toFixed(4)}\n` : '') +
        `batch ${batchId}${messageBatches.length ? ` (Message Batches at half price: ${messageBatches.join(', ')})` : ''}\n` +
        coverageLine(outcome.coverage) +
        (failures ? `${failures}\n` : ''),
    );
  }
}

/**
 * Each flagged conversation, its words and the findings behind it:
 * `  5e6f7a8b 9.8 flagged: near-duplicate of 1a2b3c4d (similarity 0.94)` then
 * `      turn 1 · near-duplicate · near-duplicate of 1a2b3c4d (similarity 0.94)`.
 */
function flaggedLines(flagged: readonly FlaggedRun[]): string {
  return flagged
    .map((r) => {
      const findings = r.findings.slice(0, MAX_FINDINGS).map((f) => `      ${findingLine(f)}\n`);
      const more = r.findings.length > MAX_FINDINGS ? `      and ${r.findings.length - MAX_FINDINGS} more findings (--format json has them all)\n` : '';
      return `  ${r.conversationId.slice(0, 8)} ${r.overall === null ? '—' : r.overall.toFixed(1)} ${r.verdict}\n${findings.join('')}${more}`;
    })
    .join('');
}

/** For a plan: how many cells got all they asked for, and which did not (the first few). */
function coverageLine(coverage: BatchOutcome['coverage']): string {
  if (coverage.length < 2) return '';
  const short = coverage.filter((c) => c.succeeded < c.requested);
  if (short.length === 0) return `plan: all ${coverage.length} value sets complete\n`;
  const shown = short.slice(0, 3).map((c) => `${oneLine(JSON.stringify(c.values))} ${c.succeeded}/${c.requested}`);
  return `plan: ${coverage.length - short.length} of ${coverage.length} value sets complete; short: ${shown.join(', ')}${short.length > 3 ? `, and ${short.length - 3} more` : ''}\n`;
}

/** A one-line progress bar on a terminal's stderr; silent elsewhere. */
export class ProgressBar {
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
    const eta = c.queued > 0 ? c.etaMs() : null;
    const left = eta === null ? '' : `, about ${formatDuration(eta / 1000)} left`;
    // \x1b[K clears what a longer line left behind (the ETA shrinks as the batch goes on).
    process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${c.done}/${c.total} done, ${c.failed} failed, $${c.costUsd.toFixed(4)}${left}\x1b[K`);
  }

  done(): void {
    if (this.enabled) process.stderr.write('\n');
  }
}
