/**
 * One call to the Messages API through @anthropic-ai/sdk (its own retries off: the engine
 * decides), asking for the conversation as a forced `record_conversation` tool call. Failures
 * come back as facts (status, API error type, retry-after, kind) for the classifier; the API key
 * never appears in them.
 */
import type Anthropic from '@anthropic-ai/sdk';
import type { FailureFacts } from './retry';

export interface Turn {
  readonly role: 'user' | 'assistant';
  readonly content: string;
}

export interface ClaudeRequest {
  readonly model: string;
  readonly system?: string;
  readonly prompt: string;
  readonly maxTokens: number;
  readonly temperature?: number;
  /** Mark the shared prefix (tool and system prompt) for the prompt cache (see promptCache.ts). */
  readonly cachePrefix?: boolean;
}

export interface ClaudeAnswer {
  readonly turns: Turn[];
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly headers: Record<string, string>;
  /** Tokens written to and read from the prompt cache (priced apart: see `answerCost`). */
  readonly cacheCreationInputTokens?: number;
  readonly cacheReadInputTokens?: number;
  /** What a call other than a generation returns (the judge's grade), handed on to `onAttempt`. */
  readonly output?: unknown;
}

export class ClaudeFailure extends Error {
  constructor(
    readonly facts: FailureFacts,
    readonly headers: Record<string, string>,
    message: string,
  ) {
    super(message);
    this.name = 'ClaudeFailure';
  }
}

const RECORD_TOOL = {
  name: 'record_conversation',
  description: 'Record the generated training conversation.',
  input_schema: {
    type: 'object' as const,
    properties: {
      turns: {
        type: 'array',
        items: {
          type: 'object',
          properties: { role: { type: 'string', enum: ['user', 'assistant'] }, content: { type: 'string' } },
          required: ['role', 'content'],
        },
      },
    },
    required: ['turns'],
  },
};

/** The tool definition's size, for the length of the prefix that caching would cover. */
export const RECORD_TOOL_CHARS = JSON.stringify(RECORD_TOOL).length;

const CACHED = { type: 'ephemeral' as const };

/**
 * The Messages API parameters of a generation request: the same for a direct call and a Message
 * Batches request. With `cachePrefix`, one cache breakpoint closes the prefix: on the system
 * prompt (which covers the tool before it), or on the tool when there is no system prompt.
 */
export function messageParams(request: ClaudeRequest): Anthropic.MessageCreateParamsNonStreaming {
  const cache = request.cachePrefix === true;
  return {
    model: request.model,
    max_tokens: request.maxTokens,
    ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    // An empty system prompt cannot carry the mark (the API refuses an empty text block): the tool does.
    ...(request.system !== undefined ? { system: cache && request.system !== '' ? [{ type: 'text' as const, text: request.system, cache_control: CACHED }] : request.system } : {}),
    messages: [{ role: 'user', content: request.prompt }],
    tools: [cache && !request.system ? { ...RECORD_TOOL, cache_control: CACHED } : RECORD_TOOL],
    tool_choice: { type: 'tool', name: RECORD_TOOL.name },
  };
}

/** The SDK, loaded on first use so that merely opening the editor does not load it. */
function sdk(): typeof Anthropic {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('@anthropic-ai/sdk') as { default: typeof Anthropic }).default;
}

export function createClient(options: { apiKey: string; baseURL?: string; timeoutMs: number }): Anthropic {
  const Anthropic = sdk();
  return new Anthropic({ apiKey: options.apiKey, ...(options.baseURL ? { baseURL: options.baseURL } : {}), maxRetries: 0, timeout: options.timeoutMs });
}

export async function generateConversation(client: Anthropic, request: ClaudeRequest, signal?: AbortSignal): Promise<ClaudeAnswer> {
  let data: Anthropic.Message;
  let headers: Record<string, string>;
  try {
    const result = await client.messages.create(messageParams(request), signal ? { signal } : {}).withResponse();
    data = result.data;
    headers = headerRecord(result.response.headers);
  } catch (error) {
    throw toFailure(error);
  }
  const turns = extractTurns(data);
  if (!turns) throw new ClaudeFailure({ kind: 'unparseable', status: 200 }, headers, 'the answer held no conversation (no record_conversation call, no JSON turns)');
  return {
    turns,
    inputTokens: data.usage.input_tokens,
    outputTokens: data.usage.output_tokens,
    // Cached prefix tokens are counted apart from input_tokens, and priced apart (answerCost).
    ...(data.usage.cache_creation_input_tokens ? { cacheCreationInputTokens: data.usage.cache_creation_input_tokens } : {}),
    ...(data.usage.cache_read_input_tokens ? { cacheReadInputTokens: data.usage.cache_read_input_tokens } : {}),
    headers,
  };
}

/** Input tokens of a request, for the pre-flight cost estimate. */
export async function countInputTokens(client: Anthropic, request: ClaudeRequest): Promise<number> {
  const result = await client.messages.countTokens({
    model: request.model,
    ...(request.system !== undefined ? { system: request.system } : {}),
    messages: [{ role: 'user', content: request.prompt }],
    tools: [RECORD_TOOL],
  });
  return result.input_tokens;
}

/** The turns from the forced tool call, or from a text answer holding that JSON. */
export function extractTurns(message: Pick<Anthropic.Message, 'content'>): Turn[] | undefined {
  for (const block of message.content) {
    if (block.type === 'tool_use' && block.name === RECORD_TOOL.name) return validTurns(block.input);
  }
  for (const block of message.content) {
    if (block.type !== 'text') continue;
    const start = block.text.indexOf('{');
    const end = block.text.lastIndexOf('}');
    if (start < 0 || end <= start) continue;
    try {
      const turns = validTurns(JSON.parse(block.text.slice(start, end + 1)));
      if (turns) return turns;
    } catch {
      // not JSON: keep looking
    }
  }
  return undefined;
}

function validTurns(input: unknown): Turn[] | undefined {
  const turns = (input as { turns?: unknown } | null)?.turns;
  if (!Array.isArray(turns) || turns.length === 0) return undefined;
  const out: Turn[] = [];
  for (const t of turns) {
    const { role, content } = (t ?? {}) as { role?: unknown; content?: unknown };
    if ((role !== 'user' && role !== 'assistant') || typeof content !== 'string') return undefined;
    out.push({ role, content });
  }
  return out;
}

export function headerRecord(headers: Headers | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  headers?.forEach((value, key) => {
    out[key.toLowerCase()] = value;
  });
  return out;
}

/** SDK errors → facts. Read from status and the API's error type, never from message text. */
export function toFailure(error: unknown): ClaudeFailure {
  if (error instanceof ClaudeFailure) return error;
  const Anthropic = sdk();
  if (error instanceof Anthropic.APIUserAbortError) return new ClaudeFailure({ kind: 'cancelled' }, {}, 'cancelled');
  if (error instanceof Anthropic.APIConnectionTimeoutError) return new ClaudeFailure({ kind: 'timeout' }, {}, 'the request timed out');
  if (error instanceof Anthropic.APIConnectionError) return connectionFailure(error);
  if (error instanceof Anthropic.APIError) {
    const headers = headerRecord(error.headers as Headers | undefined);
    const body = error.error as { error?: { type?: unknown } } | undefined;
    const apiErrorType = typeof body?.error?.type === 'string' ? body.error.type : undefined;
    const retryAfter = Number(headers['retry-after']);
    return new ClaudeFailure(
      {
        ...(error.status !== undefined ? { status: error.status } : {}),
        ...(apiErrorType ? { apiErrorType } : {}),
        ...(Number.isFinite(retryAfter) ? { retryAfterSeconds: retryAfter } : {}),
      },
      headers,
      `the API answered ${error.status ?? 'an error'}${apiErrorType ? ` (${apiErrorType})` : ''}`,
    );
  }
  // A 200 whose body is not JSON (truncated) surfaces as a SyntaxError from the SDK.
  if (error instanceof SyntaxError) return new ClaudeFailure({ kind: 'unparseable', status: 200 }, {}, 'the answer was not complete JSON');
  return new ClaudeFailure({}, {}, error instanceof Error ? error.message : String(error));
}

/** Socket error codes that say nobody at the address will ever answer: retrying cannot help. */
const REFUSED = new Set(['ECONNREFUSED']);
const UNREACHABLE = new Set(['ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * A connection failure, told apart by the socket error code under the SDK's error (fetch wraps
 * it in a TypeError): a refused connection or an unknown host stops the batch; a reset is retried.
 */
function connectionFailure(error: Error): ClaudeFailure {
  for (let cause: unknown = error.cause, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause, depth++) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code && REFUSED.has(code)) return new ClaudeFailure({ kind: 'refused' }, {}, 'the connection was refused');
    if (code && UNREACHABLE.has(code)) return new ClaudeFailure({ kind: 'unreachable' }, {}, 'the host could not be found or reached');
    // fetch refuses ports it considers unsafe before connecting; it says so only in words.
    if (!code && cause.message === 'bad port') return new ClaudeFailure({ kind: 'bad_address' }, {}, 'the address uses a port that cannot be used for HTTP');
  }
  return new ClaudeFailure({ kind: 'connection' }, {}, 'the connection failed');
}
