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

export const processOutput: Output = {
  stdout: (text) => void process.stdout.write(neutralise(text)),
  error: (message) => void process.stderr.write(`promptloom: ${neutralise(message)}\n`),
  note: (message) => void process.stderr.write(`${neutralise(message)}\n`),
};
