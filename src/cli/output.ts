import { UserError } from './errors';

/** Where the CLI writes: injected so commands are testable in-process and stdout stays clean. */
export interface Output {
  /** The command's result: what pipelines parse. */
  stdout(text: string): void;
  /** A problem, prefixed with the program name. */
  error(message: string): void;
  /** A human summary on stderr (never mixed into stdout). */
  note(message: string): void;
}

/**
 * Characters a terminal may act on: C0 controls but tab and newline (and a carriage return that
 * ends a CRLF line), DEL, C1 controls (U+009B is a CSI) and the bidi overrides and isolates, which
 * make text read differently from what it is.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|\r(?!\n)/g;

/**
 * Text as it may reach a terminal: each unsafe character becomes its `\uXXXX` escape. Inside a
 * JSON string that is the escape of the same character, so JSON output stays valid and parses to
 * the same values (JSON never holds these raw outside strings, and a raw one is never preceded by
 * an unpaired backslash); text output shows the escape instead of obeying it.
 */
export function neutralise(text: string): string {
  return text.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A value printed inside a line of text output (a template's name, a file name): its own line
 * breaks are shown as `\n`, so it cannot start a line that looks like another record.
 */
export function oneLine(text: string): string {
  return text.replace(/\r?\n|\r/g, '\\n');
}

/** Why writing failed, in words (Node's messages carry the syscall and errno). */
const WRITE_FAILURES: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'the file is too large',
  EIO: 'input/output error',
  EBADF: 'it is not open',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
  ECONNRESET: 'the connection was reset',
};

export function writeFailure(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return (code && WRITE_FAILURES[code]) ?? code ?? (error instanceof Error ? error.message : String(error));
}

/** A failed write to standard output: one line and exit 2 (a closed pipe is not one: see main). */
export function stdoutFailure(error: unknown): UserError {
  return new UserError(`cannot write to standard output: ${writeFailure(error)}`);
}

/** Set once a failed write to standard output has been thrown to the command (main reports it). */
let stdoutFailureThrown = false;
export const stdoutFailureReported = (): boolean => stdoutFailureThrown;

export const processOutput: Output = {
  stdout: (text) => {
    let error: unknown;
    try {
      process.stdout.write(neutralise(text));
      // A file or /dev/full is written synchronously: the stream knows of the failure now and
      // emits 'error' only later, so stop the command here rather than let it report success.
      error = process.stdout.errored;
    } catch (thrown) {
      error = thrown;
    }
    if (!error || (error as NodeJS.ErrnoException).code === 'EPIPE') return;
    stdoutFailureThrown = true;
    throw stdoutFailure(error);
  },
  error: (message) => void process.stderr.write(`promptloom: ${neutralise(message)}\n`),
  note: (message) => void process.stderr.write(`${neutralise(message)}\n`),
};
