import { readFileSync } from 'node:fs';
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { version } from '../../package.json';
import { runCheck } from './check';
import { EXIT, UserError } from './errors';
import { processOutput, stdoutFailure, stdoutFailureReported, type Output } from './output';
import { runRender } from './render';
import { runGenerate } from './generate';
import { runResume } from './resume';
import { runCancel } from './messageBatches';
import { runExport, runStats, type ExportFlags } from './data';
import { runConversations, type ConversationsStatus } from './conversations';
import { openWorkspace, workspaceFolder } from './workspace';
import { runScore } from './score';
import { REVIEW_ACTIONS, runReview, type ReviewAction } from './review';
import type { Tier } from '../core/quality';
import { SAMPLINGS, type Sampling } from '../core/plan';
import { SETTINGS, parseFlag, settingByFlag, type GenerationSettings, type SettingSpec } from '../core/generation/settings';
import type { RetryStrategyName } from '../core/generation/retry';
import { runSimulateRetries } from './simulate';
import { DATABASE_URL_ENV, runDbInit, runDbPush, runDbStatus } from './db';
import { StoreAccessError, StoreBusyError } from '../core/store';
import { BatchBusyError } from '../core/generation/batchLease';

/**
 * `promptloom`: the command-line twin of the extension. Builds the command table and maps every
 * outcome to the exit codes of the contract (0 ok, 1 input has errors, 2 usage/unreadable).
 */
export function buildProgram(out: Output, setExit: (code: number) => void, readStdin: () => string): Command {
  const program = new Command('promptloom')
    .description('Promptloom: .prompt templates for generating fine-tuning conversations with Claude')
    .version(version, '-V, --version', 'print the version')
    .option('--debug', 'show stack traces of unexpected errors')
    .showHelpAfterError('(run promptloom --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => out.stdout(s),
      writeErr: (s) => out.note(s.replace(/\n$/, '')),
    });

  const format = () => new Option('--format <format>', 'output format').choices(['text', 'json']).default('text');

  program
    .command('check')
    .description('check templates for errors; folders are searched for *.prompt')
    .argument('<paths...>', 'files or folders')
    .option('--workspace <dir>', 'the workspace whose .vscode/settings.json model table `model:` may name')
    .addOption(format())
    .action((paths: string[], options: { format: 'text' | 'json'; workspace?: string }) =>
      setExit(runCheck(paths, { format: options.format, ...workspaceAliases(options.workspace, out) }, out)),
    );

  program
    .command('render')
    .description('render a template with parameter values')
    .argument('<file>', 'the .prompt file')
    .option('--param <name=value>', 'a parameter value (repeatable; wins over --params)', collect, [])
    .option('--params <file>', 'a JSON file holding an object of values, - for standard input (repeatable)', collect, [])
    .option('--sample', 'fill each missing required value with a sample: its first example, default, first option, mid-range number, the "e.g." of its help, or its name in words (given values win)')
    .option('--workspace <dir>', 'the workspace whose .vscode/settings.json model table `model:` may name')
    .addOption(format())
    .action((file: string, options: { param: string[]; params: string[]; sample?: boolean; format: 'text' | 'json'; workspace?: string }) =>
      setExit(runRender(file, { ...options, ...workspaceAliases(options.workspace, out) }, out, readStdin)),
    );

  // The team database (PostgreSQL). Its URL holds a password: only ever from this flag or the environment.
  const databaseUrl = () => new Option('--database-url <url>', `the team database, postgresql://USER:PASSWORD@HOST:PORT/DATABASE; default: ${DATABASE_URL_ENV}`);
  const generate = program
    .command('generate')
    .description('generate conversations from a template through the Claude API, recorded in the workspace database, or the team database with --database-url')
    .argument('<file>', 'the .prompt file')
    .option('--param <name=value>', 'a parameter value (repeatable; wins over --params)', collect, [])
    .option('--params <file>', 'a JSON file holding an object of values, - for standard input (repeatable)', collect, [])
    .option('--count <n>', 'how many conversations', positiveInt, 1)
    .option('--workspace <dir>', 'the workspace folder (database and .vscode/settings.json); default: the current folder')
    .addOption(apiBaseUrl())
    .option('--vary <names>', 'vary these variables over their values (comma-separated): a dropdown’s options, true/false, a number’s values: or min..max by step:, a text’s examples:', names)
    .option('--vary-all', 'vary every variable that has values to vary over')
    .addOption(new Option('--sample <how>', 'how a plan spreads --count conversations: balanced (default), grid (every combination, --count each), random').choices(SAMPLINGS))
    .option('--seed <n>', 'the seed of a plan (the same seed gives the same plan)', nonNegativeInt)
    .option('--values-file <file>', 'a CSV or JSONL file: one value set per row, --count conversations each')
    .option('--dry-run', 'print the plan and its estimated cost; send no Messages request')
    .option('--batch-api', 'send the conversations as Message Batches: half the price, results within 24 hours (usually one); default: promptloom.generation.mode')
    .option('--detach', 'with Message Batches: submit, print their ids and exit; promptloom resume collects them')
    .addOption(databaseUrl());
  // The generation settings' flags come from the one settings table, with its ranges.
  for (const spec of SETTINGS) if (spec.flag) generate.addOption(settingOption(spec));
  generate.addOption(format());
  generate.action(async (file: string, o: Record<string, unknown>) => {
    if (o.vary && o.varyAll) throw new UserError('--vary and --vary-all: choose one');
    const settings = Object.fromEntries(SETTINGS.filter((s) => s.flag && o[optionKey(s.flag)] !== undefined).map((s) => [s.name, o[optionKey(s.flag!)]])) as Partial<GenerationSettings>;
    setExit(
      await runGenerate(
        file,
        {
          param: o.param as string[],
          params: o.params as string[],
          count: o.count as number,
          ...(o.workspace ? { workspace: o.workspace as string } : {}),
          ...(o.apiBaseUrl ? { apiBaseUrl: o.apiBaseUrl as string } : {}),
          ...(o.vary ? { vary: o.vary as string[] } : o.varyAll ? { vary: 'all' as const } : {}),
          ...(o.sample ? { sample: o.sample as Sampling } : {}),
          ...(o.seed !== undefined ? { seed: o.seed as number } : {}),
          ...(o.valuesFile ? { valuesFile: o.valuesFile as string } : {}),
          ...(o.dryRun ? { dryRun: true } : {}),
          ...(o.batchApi ? { batchApi: true } : {}),
          ...(o.detach ? { detach: true } : {}),
          ...(o.databaseUrl ? { databaseUrl: o.databaseUrl as string } : {}),
          format: o.format as 'text' | 'json',
          settings,
        },
        out,
        process.env,
        readStdin,
        Boolean(process.stderr.isTTY),
      ),
    );
  });

  program
    .command('resume')
    .description('finish an interrupted batch with its own template, values and settings; re-attaches to its submitted Message Batches')
    .option('--workspace <dir>', 'the workspace folder; default: the current folder')
    .option('--batch <id>', 'the batch to resume; default: the newest unfinished one')
    .addOption(apiBaseUrl())
    .addOption(databaseUrl())
    .addOption(format())
    .action(async (o: { workspace?: string; batch?: string; apiBaseUrl?: string; databaseUrl?: string; format: 'text' | 'json' }) => setExit(await runResume(o, out, process.env)));

  program
    .command('cancel')
    .description('cancel a running batch: its Message Batches at Anthropic, or a direct batch running in another process; resume finishes it later')
    .option('--workspace <dir>', 'the workspace folder; default: the current folder')
    .option('--batch <id>', 'the batch to cancel; default: the newest running one')
    .addOption(apiBaseUrl())
    .addOption(databaseUrl())
    .addOption(format())
    .action(async (o: { workspace?: string; batch?: string; apiBaseUrl?: string; databaseUrl?: string; format: 'text' | 'json' }) => setExit(await runCancel(o, out, process.env)));


  program
    .command('stats')
    .description('per-template analytics from the workspace database, or the team database with --database-url')
    .option('--workspace <dir>', 'the workspace folder; default: the current folder')
    .addOption(databaseUrl())
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'csv']).default('text'))
    .action(async (o: { workspace?: string; databaseUrl?: string; format: 'text' | 'json' | 'csv' }) => setExit(await runStats(o, out, process.env)));

  program
    .command('export')
    .description('conversations as fine-tuning JSONL, one per line; with --split, --card: a dataset (the workspace’s, or the team’s with --database-url)')
    .option('--workspace <dir>', 'the workspace folder; default: the current folder')
    .addOption(databaseUrl())
    .addOption(new Option('--status <status>', 'which conversations').choices(['approved', 'all', 'needs_revision', 'rejected']).default('approved'))
    .addOption(new Option('--format <format>', 'JSONL shape').choices(['openai', 'anthropic', 'sharegpt']).default('openai'))
    .option('--template <file>', 'only this template’s conversations')
    .option('--min-quality <x>', 'only conversations scoring at least this (0–10)', nonNegativeNumber)
    .option('--out <file>', 'write to a file instead of standard output (never inside .promptloom/)')
    .option('--force', 'let --out replace existing files')
    .option('--dedup', 'one conversation per near-duplicate group: the best scored, ties by earliest')
    .option('--split <ratio>', 'train share, between 0 and 1 (such as 0.9): writes NAME.train.EXT and NAME.validation.EXT for --out NAME.EXT, stratified by values; needs --out')
    .option('--seed <n>', 'seed of --split (default 1): the same seed gives the same split')
    .option('--card', 'also write the dataset card NAME.card.md beside --out')
    .action(async (o: ExportFlags) => setExit(await runExport(o, out, process.env)));

  program
    .command('conversations')
    .description('the stored conversations (the workspace’s, or the team’s with --database-url): id, template, version, values, quality, status, near-duplicate link')
    .option('--workspace <dir>', 'the workspace folder; default: the current folder')
    .addOption(databaseUrl())
    .option('--template <file>', 'only this template’s conversations')
    .addOption(new Option('--status <status>', 'which conversations').choices(['pending', 'approved', 'needs_revision', 'rejected', 'all']).default('all'))
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'csv']).default('text'))
    .action(async (o: { workspace?: string; databaseUrl?: string; template?: string; status: ConversationsStatus; format: 'text' | 'json' | 'csv' }) =>
      setExit(await runConversations(o, out, process.env)),
    );

  const simulate = program
    .command('simulate-retries')
    .description('what a retry strategy does, on a simulated clock with the engine’s own code: one run’s attempts, or --runs N’s distribution')
    .option('--workspace <dir>', 'the workspace whose settings give the defaults; default: the current folder');
  // The strategy's flags are the settings table's, with its ranges.
  for (const flag of ['--retry-strategy', '--max-attempts', '--base-delay-ms', '--max-delay-ms']) {
    const option = settingOption(settingByFlag(flag)!);
    simulate.addOption(flag === '--retry-strategy' ? new Option('--strategy <value>', option.description).choices(settingByFlag(flag)!.kind.choices!) : option);
  }
  simulate
    .option('--failure-rate <x>', 'the share of attempts that fail, 0 to 1', rate, 0.3)
    .option('--runs <n>', 'simulate this many runs and print their distribution', positiveInt)
    .option('--seed <n>', 'the seed of the simulated failures and jitter', nonNegativeInt, 1)
    .addOption(format())
    .action((o: { workspace?: string; strategy?: RetryStrategyName; maxAttempts?: number; baseDelayMs?: number; maxDelayMs?: number; failureRate: number; runs?: number; seed: number; format: 'text' | 'json' }) =>
      setExit(runSimulateRetries(o, out)),
    );

  program
    .command('score')
    .description('score conversations: a .json file holds one, a .jsonl file one per line; - reads standard input')
    .argument('<file>', 'a .json or .jsonl file, or - for standard input')
    .addOption(new Option('--tier <tier>', 'the length targets to score against').choices(['template', 'scenario', 'edge_case']).default('template'))
    .addOption(format())
    .option('--judge', 'Claude grades each conversation too (paid: one call each; needs ANTHROPIC_API_KEY); the grade enters the score')
    .option('--judge-model <model>', 'the judge’s model; default: promptloom.quality.judgeModel, else the cheapest model of the table')
    .addOption(apiBaseUrl())
    .option('--workspace <dir>', 'the workspace whose .vscode/settings.json gives the model table, retries and limits (with --judge)')
    .action(async (file: string, o: { tier: Tier; format: 'text' | 'json'; judge?: boolean; judgeModel?: string; apiBaseUrl?: string; workspace?: string }) =>
      setExit(await runScore(file, o, out, () => process.stdin, process.env)),
    );

  program
    .command('review')
    .description('approve, reject or send back a generated conversation')
    .argument('<conversation-id>', 'the conversation, or the start of its id')
    .addArgument(new Argument('<action>', 'the review').choices(REVIEW_ACTIONS))
    .option('--note <text>', 'why, kept with the review')
    .option('--workspace <dir>', 'the workspace folder; default: the current folder')
    .addOption(databaseUrl())
    .action(async (id: string, action: ReviewAction, o: { note?: string; workspace?: string; databaseUrl?: string }) => setExit(await runReview(id, action, o, out, process.env)));

  // The team database (PostgreSQL). Its URL holds a password: only ever from this flag or the environment.
  const db = program.command('db').description('the store: the workspace database, or a team’s PostgreSQL (init, status, push)');
  db.command('init')
    .description('create or update the team schema, its policies and the role promptloom_member (run by the owner; safe to run again)')
    .addOption(databaseUrl())
    .action(async (o: { databaseUrl?: string }) => setExit(await runDbInit(o, out, process.env)));
  db.command('status')
    .description('which store is in use (the workspace database, or PostgreSQL with --database-url), its schema version and the member')
    .option('--workspace <dir>', 'the workspace folder; default: the current folder')
    .addOption(databaseUrl())
    .addOption(format())
    .action(async (o: { workspace?: string; databaseUrl?: string; format: 'text' | 'json' }) => setExit(await runDbStatus(o, out, process.env)));
  db.command('push')
    .description('copy the workspace database into the team database, as its member (pushing again adds nothing)')
    .option('--workspace <dir>', 'the workspace folder; default: the current folder')
    .addOption(databaseUrl())
    .addOption(format())
    .action(async (o: { workspace?: string; databaseUrl?: string; format: 'text' | 'json' }) => setExit(await runDbPush(o, out, process.env)));

  return program;
}

/** check and render know the model table's aliases of the workspace (the current folder by default), as generate does. */
function workspaceAliases(folder: string | undefined, out: Output): { modelAliases: string[] } {
  return { modelAliases: openWorkspace(workspaceFolder(folder), out).modelAliases };
}

/** The API address: only ever from the user (this flag or ANTHROPIC_BASE_URL), never a workspace file. */
function apiBaseUrl(): Option {
  return new Option('--api-base-url <url>', 'the Messages API address (https://, or http:// to this machine); default: ANTHROPIC_BASE_URL, else Anthropic’s');
}

/** A generation setting's flag, checked against the settings table (its type and range). */
function settingOption(spec: SettingSpec): Option {
  const argument = spec.name === 'model' ? 'model' : spec.kind.choices ? 'value' : 'n';
  const option = new Option(`${spec.flag!} <${argument}>`, spec.help ?? spec.key).argParser((value: string) => {
    const parsed = parseFlag(spec, value);
    if (!parsed.ok) throw new InvalidArgumentError(parsed.expected.replace(`${spec.flag} `, ''));
    return parsed.value;
  });
  if (spec.kind.choices) option.choices(spec.kind.choices);
  return option;
}

/** commander's property name of a flag: `--timeout-ms` → `timeoutMs`. */
function optionKey(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** `a,b, c` → ['a', 'b', 'c']. */
function names(value: string): string[] {
  const list = value.split(',').map((n) => n.trim()).filter((n) => n !== '');
  if (list.length === 0) throw new InvalidArgumentError('expected variable names, separated by commas');
  return list;
}

function rate(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('expected a number from 0 to 1');
  return n;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number, 0 or more');
  return n;
}

function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number, 0 or more');
  return n;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive whole number');
  return n;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export async function main(argv: readonly string[], out: Output = processOutput): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = buildProgram(out, (code) => (exitCode = code), () => readFileSync(0, 'utf8'));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and --version "exit" through commander with code 0; everything else is bad usage.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof UserError) {
      out.error(error.message);
      return error.exitCode;
    }
    // The workspace database could not be used (a link refused, a read-only folder, another
    // process holding it): the user's to fix, said in one line.
    if (error instanceof StoreAccessError || error instanceof StoreBusyError || error instanceof BatchBusyError) {
      out.error(error.message);
      return EXIT.usage;
    }
    const debug = argv.includes('--debug');
    out.error(`internal error: ${error instanceof Error ? error.message : String(error)}`);
    if (debug && error instanceof Error && error.stack) out.note(error.stack);
    else out.note('run again with --debug to see where it happened, and report it');
    return EXIT.usage;
  }
}

if (require.main === module) {
  // A reader that closed the pipe early (`promptloom check . | head`) is not an error; any other
  // failure to write the result (`> /dev/full`, a full disk, EIO) is one line and exit 2.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    if (stdoutFailureReported()) return; // the command stopped on it and main reports it
    process.stderr.write(`promptloom: ${stdoutFailure(error).message}\n`);
    process.exit(EXIT.usage);
  });
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
