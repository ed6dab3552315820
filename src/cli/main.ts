import { readFileSync } from 'node:fs';
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { version } from '../../package.json';
import { runCheck } from './check';
import { EXIT, UserError } from './errors';
import { workspaceFolder } from './files';
import { processOutput, stdoutFailure, stdoutFailureReported, type Output } from './output';
import { runRender } from './render';
import { runGenerate } from './generate';
import { runResume } from './resume';
import { runExport, runStats } from './data';
import { workspaceModelAliases } from './workspace';
import { runScore } from './score';
import { REVIEW_ACTIONS, runReview, type ReviewAction } from './review';
import type { Tier } from '../core/quality';
import type { GenerationSettings } from '../core/generation/settings';

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
      setExit(runCheck(paths, { format: options.format, modelAliases: workspaceModelAliases(optionalWorkspace(options.workspace), out) }, out)),
    );

  program
    .command('render')
    .description('render a template with parameter values')
    .argument('<file>', 'the .prompt file')
    .option('--param <name=value>', 'a parameter value (repeatable; wins over --params)', collect, [])
    .option('--params <file>', 'a JSON file holding an object of values, - for standard input (repeatable)', collect, [])
    .option('--workspace <dir>', 'the workspace whose .vscode/settings.json model table `model:` may name')
    .addOption(format())
    .action((file: string, options: { param: string[]; params: string[]; format: 'text' | 'json'; workspace?: string }) =>
      setExit(runRender(file, { ...options, modelAliases: workspaceModelAliases(optionalWorkspace(options.workspace), out) }, out, readStdin)),
    );

  const generate = program
    .command('generate')
    .description('generate conversations from a template through the Claude API, recorded in the workspace database')
    .argument('<file>', 'the .prompt file')
    .option('--param <name=value>', 'a parameter value (repeatable; wins over --params)', collect, [])
    .option('--params <file>', 'a JSON file holding an object of values, - for standard input (repeatable)', collect, [])
    .option('--count <n>', 'how many conversations', positiveInt, 1)
    .option('--workspace <dir>', 'the workspace folder (database and .vscode/settings.json); default: the current folder')
    .option('--model <model>', 'model alias or id')
    .option('--concurrency <n>', 'requests in flight at once', positiveInt)
    .option('--requests-per-window <n>', 'request limit per window', positiveInt)
    .option('--window-seconds <s>', 'length of the rate-limit window', positiveNumber)
    .option('--max-attempts <n>', 'attempts per conversation, the first included', positiveInt)
    .addOption(new Option('--retry-strategy <strategy>', 'how retry delays grow').choices(['exponential', 'linear', 'fixed']))
    .option('--base-delay-ms <n>', 'delay before the first retry', positiveInt)
    .option('--timeout-ms <n>', 'timeout per request', positiveInt)
    .addOption(new Option('--on-error <mode>', 'after a conversation fails for good').choices(['continue', 'stop']))
    .option('--budget-usd <x>', 'spending this batch may not cross', positiveNumber)
    .addOption(new Option('--priority <level>', 'queue priority').choices(['high', 'normal', 'low']))
    .addOption(format());
  generate.action(async (file: string, o: Record<string, unknown>) => {
    const pick: [string, keyof GenerationSettings][] = [
      ['model', 'model'],
      ['concurrency', 'concurrency'],
      ['requestsPerWindow', 'requestsPerWindow'],
      ['windowSeconds', 'windowSeconds'],
      ['maxAttempts', 'maxAttempts'],
      ['retryStrategy', 'retryStrategy'],
      ['baseDelayMs', 'baseDelayMs'],
      ['timeoutMs', 'timeoutMs'],
      ['onError', 'onError'],
      ['budgetUsd', 'budgetUsd'],
      ['priority', 'priority'],
    ];
    const settings = Object.fromEntries(pick.filter(([flag]) => o[flag] !== undefined).map(([flag, key]) => [key, o[flag]])) as Partial<GenerationSettings>;
    setExit(
      await runGenerate(
        file,
        { param: o.param as string[], params: o.params as string[], count: o.count as number, ...(o.workspace ? { workspace: o.workspace as string } : {}), format: o.format as 'text' | 'json', settings },
        out,
        process.env,
        readStdin,
        Boolean(process.stderr.isTTY),
      ),
    );
  });

  program
    .command('resume')
    .description('finish an interrupted batch with its own template, values and settings')
    .option('--workspace <dir>', 'the workspace folder; default: the current folder')
    .option('--batch <id>', 'the batch to resume; default: the newest unfinished one')
    .addOption(format())
    .action(async (o: { workspace?: string; batch?: string; format: 'text' | 'json' }) => setExit(await runResume(o, out, process.env)));

  program
    .command('stats')
    .description('per-template analytics from the workspace database')
    .option('--workspace <dir>', 'the workspace folder; default: the current folder')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'csv']).default('text'))
    .action(async (o: { workspace?: string; format: 'text' | 'json' | 'csv' }) => setExit(await runStats(o, out)));

  program
    .command('export')
    .description('conversations as fine-tuning JSONL, one per line')
    .option('--workspace <dir>', 'the workspace folder; default: the current folder')
    .addOption(new Option('--status <status>', 'which conversations').choices(['approved', 'all', 'needs_revision', 'rejected']).default('approved'))
    .addOption(new Option('--format <format>', 'JSONL shape').choices(['openai', 'anthropic', 'sharegpt']).default('openai'))
    .option('--template <file>', 'only this template’s conversations')
    .option('--min-quality <x>', 'only conversations scoring at least this (0–10)', nonNegativeNumber)
    .option('--out <file>', 'write to a file instead of standard output (never inside .promptloom/)')
    .option('--force', 'let --out replace an existing file')
    .action(async (o: { workspace?: string; status: 'approved' | 'all' | 'needs_revision' | 'rejected'; format: 'openai' | 'anthropic' | 'sharegpt'; template?: string; minQuality?: number; out?: string; force?: boolean }) =>
      setExit(await runExport(o, out)),
    );

  program
    .command('score')
    .description('score conversations: a .json file holds one, a .jsonl file one per line; - reads standard input')
    .argument('<file>', 'a .json or .jsonl file, or - for standard input')
    .addOption(new Option('--tier <tier>', 'the length targets to score against').choices(['template', 'scenario', 'edge_case']).default('template'))
    .addOption(format())
    .action(async (file: string, o: { tier: Tier; format: 'text' | 'json' }) => setExit(await runScore(file, o, out, () => process.stdin)));

  program
    .command('review')
    .description('approve, reject or send back a generated conversation')
    .argument('<conversation-id>', 'the conversation, or the start of its id')
    .addArgument(new Argument('<action>', 'the review').choices(REVIEW_ACTIONS))
    .option('--note <text>', 'why, kept with the review')
    .option('--workspace <dir>', 'the workspace folder; default: the current folder')
    .action(async (id: string, action: ReviewAction, o: { note?: string; workspace?: string }) => setExit(await runReview(id, action, o, out)));

  return program;
}

/** check and render read no workspace unless --workspace names one; then it must be a folder. */
function optionalWorkspace(flag: string | undefined): string | undefined {
  return flag === undefined ? undefined : workspaceFolder(flag);
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

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
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
