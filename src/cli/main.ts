import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { version } from '../../package.json';
import { runCheck } from './check';
import { EXIT, UserError } from './errors';
import { processOutput, type Output } from './output';
import { runRender } from './render';

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
    .addOption(format())
    .action((paths: string[], options: { format: 'text' | 'json' }) => setExit(runCheck(paths, options, out)));

  program
    .command('render')
    .description('render a template with parameter values')
    .argument('<file>', 'the .prompt file')
    .option('--param <name=value>', 'a parameter value (repeatable; wins over --params)', collect, [])
    .option('--params <file>', 'a JSON file holding an object of values, - for standard input (repeatable)', collect, [])
    .addOption(format())
    .action((file: string, options: { param: string[]; params: string[]; format: 'text' | 'json' }) =>
      setExit(runRender(file, options, out, readStdin)),
    );

  return program;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function main(argv: readonly string[], out: Output = processOutput): number {
  let exitCode: number = EXIT.ok;
  const program = buildProgram(out, (code) => (exitCode = code), () => readFileSync(0, 'utf8'));
  try {
    program.parse(argv, { from: 'user' });
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
  // A reader that closed the pipe early (`promptloom check . | head`) is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  process.exitCode = main(process.argv.slice(2));
}
