/** Exit codes of the CLI contract: 0 fine, 1 the input has errors, 2 bad usage or unreadable path. */
export const EXIT = { ok: 0, invalid: 1, usage: 2 } as const;

/**
 * An error the user can act on: printed as one line, never with a stack trace.
 * Anything else that reaches the top is a bug and is reported as one.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.usage,
  ) {
    super(message);
    this.name = 'UserError';
  }
}
