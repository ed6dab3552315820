/** Where the CLI writes: injected so commands are testable in-process and stdout stays clean. */
export interface Output {
  /** The command's result: what pipelines parse. */
  stdout(text: string): void;
  /** A problem, prefixed with the program name. */
  error(message: string): void;
  /** A human summary on stderr (never mixed into stdout). */
  note(message: string): void;
}

export const processOutput: Output = {
  stdout: (text) => void process.stdout.write(text),
  error: (message) => void process.stderr.write(`promptloom: ${message}\n`),
  note: (message) => void process.stderr.write(`${message}\n`),
};
