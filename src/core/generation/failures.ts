/**
 * Failures in words: a short label per cause for summaries ("3 failed: 2 timeout, 1 overloaded
 * (529)"), and, for a failure that stops a batch at once, one line naming the cause and the fix.
 */
import type { ErrorType } from './retry';

export interface FailureCount {
  readonly type: ErrorType;
  readonly status?: number;
  readonly count: number;
}

const LABELS: Readonly<Partial<Record<ErrorType, string>>> = {
  rate_limit: 'rate limited',
  spend_limit: 'spend limit reached',
  overloaded: 'overloaded',
  server_error: 'server error',
  connection: 'connection lost',
  connection_refused: 'connection refused',
  unreachable: 'host unreachable',
  bad_address: 'unusable address',
  timeout: 'timeout',
  unparseable: 'unreadable answer',
  invalid_request: 'invalid request',
  authentication: 'key rejected',
  permission: 'permission denied',
  not_found: 'not found',
  too_large: 'request too large',
  unknown: 'unknown error',
};

export function failureLabel(type: ErrorType, status?: number): string {
  const label = LABELS[type] ?? type.replace(/_/g, ' ');
  return status !== undefined && status !== 200 ? `${label} (${status})` : label;
}

/** "3 failed: 2 timeout, 1 overloaded (529)"; most frequent first. Empty when none failed. */
export function failureSummary(failures: readonly FailureCount[]): string {
  const total = failures.reduce((n, f) => n + f.count, 0);
  if (total === 0) return '';
  const parts = [...failures].sort((a, b) => b.count - a.count).map((f) => `${f.count} ${failureLabel(f.type, f.status)}`);
  return `${total} failed: ${parts.join(', ')}`;
}

/** Where a batch was going, for messages that name it. */
export interface FailureContext {
  /** The API address in use; undefined for Anthropic's default. */
  readonly address?: string;
  readonly model: string;
}

/** One line naming the cause of a batch-stopping failure and what fixes it. */
export function fatalMessage(type: ErrorType, status: number | undefined, apiErrorType: string | undefined, context: FailureContext): string {
  const address = context.address ?? 'https://api.anthropic.com';
  const answered = `${status ?? ''}${apiErrorType ? ` ${apiErrorType}` : ''}`.trim();
  switch (type) {
    case 'authentication':
      return `the API key was rejected (${answered || '401'}): set ANTHROPIC_API_KEY or run Promptloom: Set API Key`;
    case 'permission':
      return `the API key may not do this (${answered || '403'}): check the key's permissions and workspace in the Anthropic Console, or use another key`;
    case 'not_found':
      return `the API at ${address} has no model ${context.model} (${answered || '404'}): choose another model (--model, promptloom.model or the template's model:) or check the API address`;
    case 'spend_limit':
      return `the account cannot spend more now (${answered || '429'}): raise the spend limit or add credit in the Anthropic Console`;
    case 'connection_refused':
      return `nothing answers at ${address} (connection refused): check the API address and that the server runs`;
    case 'unreachable':
      return `the API at ${address} cannot be reached (host not found or unreachable): check the API address and the network`;
    case 'bad_address':
      return `the API address ${address} cannot be used (its port is refused for HTTP): check the API address`;
    default:
      return `the API failed (${failureLabel(type, status)}) at ${address}`;
  }
}
