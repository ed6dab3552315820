/**
 * Generation settings: one typed object, from defaults, then `promptloom.*` keys of
 * `.vscode/settings.json` (or VS Code's configuration), then command-line flags. One table,
 * `SETTINGS`, says for each setting its `settings.json` key, its command-line flag and the values
 * it accepts (type and range), so the shells cannot disagree about what is valid. Invalid values
 * are refused with a message naming the key or the flag, never half-used.
 *
 * The API address is deliberately not a setting of this table: it decides where the API key is
 * sent, so it comes only from the user (see `apiAddress.ts`), never from a workspace file or
 * from a batch stored in the database.
 */
import type { Priority } from './priorityQueue';
import { DEFAULT_MODELS, resolveModel, type ModelInfo } from './engine';
import type { RetryStrategyName } from './retry';

export interface GenerationSettings {
  readonly model: string;
  readonly concurrency: number;
  /** Override the model table's limit for this run. */
  readonly requestsPerWindow?: number;
  readonly windowSeconds?: number;
  readonly retryStrategy: RetryStrategyName;
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly timeoutMs: number;
  readonly onError: 'continue' | 'stop';
  readonly budgetUsd?: number;
  readonly dailyBudgetUsd?: number;
  readonly priority: Priority;
  readonly maxTokens: number;
  readonly models: readonly ModelInfo[];
  /** From this estimated similarity to an earlier conversation of the template, a new one is a near-duplicate. */
  readonly nearDuplicateThreshold: number;
  /** Claude grades each new conversation as well (paid, opt-in): see src/core/quality/judge.ts. */
  readonly judge: 'off' | 'on';
  /** The judge's model; unset: the cheapest model of the table (see `judgeModelOf`). */
  readonly judgeModel?: string;
  /** Editor only: after a verdict in the Conversations view, the next conversation awaiting one is selected. */
  readonly advanceAfterVerdict: boolean;
  /** Direct Messages calls, Message Batches (half price, asynchronous), or batches from `AUTO_BATCH_FROM` conversations on. */
  readonly mode: GenerationMode;
}

export type GenerationMode = 'direct' | 'batch' | 'auto';

/** With mode `auto`, plans of this many conversations or more go through Message Batches. */
export const AUTO_BATCH_FROM = 50;

/** The path a plan of `count` conversations takes under `mode`. */
export function pathFor(mode: GenerationMode, count: number): 'direct' | 'batch' {
  return mode === 'batch' || (mode === 'auto' && count >= AUTO_BATCH_FROM) ? 'batch' : 'direct';
}

export const DEFAULT_SETTINGS: GenerationSettings = {
  model: 'sonnet',
  concurrency: 3,
  retryStrategy: 'exponential',
  maxAttempts: 3,
  baseDelayMs: 1000,
  maxDelayMs: 5 * 60_000,
  timeoutMs: 60_000,
  onError: 'continue',
  priority: 'normal',
  maxTokens: 4096,
  models: DEFAULT_MODELS,
  nearDuplicateThreshold: 0.8,
  judge: 'off',
  advanceAfterVerdict: true,
  mode: 'direct',
};

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A value accepted, or why not ("a whole number from 1 to 64"). */
export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly expected: string };

/** How a setting's value is read: from JSON (settings.json, a stored batch) and from a flag's text. */
export interface SettingKind<T> {
  readonly check: (v: unknown) => Checked<T>;
  /** Command-line text to a value (numbers are parsed; anything else is passed as is). */
  readonly parse: (text: string) => unknown;
  /** The values a choice accepts, for `--help`. */
  readonly choices?: readonly string[];
  /** A number's bounds (package.json's configuration schema repeats them; a test keeps them equal). */
  readonly range?: { readonly min: number; readonly max: number; readonly exclusiveMin?: boolean; readonly integer: boolean };
}

const fmt = (n: number) => n.toLocaleString('en-US');

/** Whole numbers in [min, max]. Timers in Node hold at most 2^31 − 1 ms, so time settings stay far below. */
export function wholeNumber(min: number, max: number): SettingKind<number> {
  const expected = `a whole number from ${fmt(min)} to ${fmt(max)}`;
  return {
    check: (v) => (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? { ok: true, value: v } : { ok: false, expected }),
    parse: (t) => (t.trim() === '' ? NaN : Number(t)),
    range: { min, max, integer: true },
  };
}

/** Numbers in (0, max] (budgets, windows). */
export function positiveNumber(max: number): SettingKind<number> {
  const expected = `a number above 0 and at most ${fmt(max)}`;
  return {
    check: (v) => (typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= max ? { ok: true, value: v } : { ok: false, expected }),
    parse: (t) => (t.trim() === '' ? NaN : Number(t)),
    range: { min: 0, max, exclusiveMin: true, integer: false },
  };
}

/** Numbers in [min, max] (fractions such as similarity thresholds). */
export function fractionIn(min: number, max: number): SettingKind<number> {
  const expected = `a number from ${fmt(min)} to ${fmt(max)}`;
  return {
    check: (v) => (typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max ? { ok: true, value: v } : { ok: false, expected }),
    parse: (t) => (t.trim() === '' ? NaN : Number(t)),
    range: { min, max, integer: false },
  };
}

export function oneOf<T extends string>(values: readonly T[]): SettingKind<T> {
  const expected = `one of ${values.join(', ')}`;
  return {
    check: (v) => (typeof v === 'string' && (values as readonly string[]).includes(v) ? { ok: true, value: v as T } : { ok: false, expected }),
    parse: (t) => t,
    choices: values,
  };
}

/** true or false (package.json declares it `boolean`; a test keeps them equal). */
export const yesNo: SettingKind<boolean> = {
  check: (v) => (typeof v === 'boolean' ? { ok: true, value: v } : { ok: false, expected: 'true or false' }),
  parse: (t) => (t === 'true' ? true : t === 'false' ? false : t),
};

const text: SettingKind<string> = {
  check: (v) => (typeof v === 'string' && v.trim() !== '' && v.length <= 200 ? { ok: true, value: v.trim() } : { ok: false, expected: 'a non-empty name' }),
  parse: (t) => t,
};

/** Limits of the model table's numbers, shared with the table's own entries. */
const WINDOW_MS = wholeNumber(1_000, 86_400_000);
const REQUESTS = wholeNumber(1, 1_000_000);
const TOKENS = wholeNumber(1, 1_000_000_000);
const PRICE = positiveNumber(10_000);

const models: SettingKind<readonly ModelInfo[]> = {
  check: (v) => {
    const expected = 'a list of models, each with an id, inputPrice and outputPrice (US dollars per million tokens, above 0 and at most 10,000), and optional alias, windowMs (1,000 to 86,400,000), requestsPerWindow (1 to 1,000,000), inputTokensPerWindow, outputTokensPerWindow and minCacheableTokens';
    if (!Array.isArray(v) || v.length === 0 || v.length > 100) return { ok: false, expected };
    const out: ModelInfo[] = [];
    for (const m of v) {
      if (!m || typeof m !== 'object') return { ok: false, expected };
      const o = m as Record<string, unknown>;
      const id = text.check(o.id);
      const alias = o.alias === undefined ? undefined : text.check(o.alias);
      const input = PRICE.check(o.inputPrice);
      const output = PRICE.check(o.outputPrice);
      const windowMs = o.windowMs === undefined ? undefined : WINDOW_MS.check(o.windowMs);
      const requests = o.requestsPerWindow === undefined ? undefined : REQUESTS.check(o.requestsPerWindow);
      const inTokens = o.inputTokensPerWindow === undefined ? undefined : TOKENS.check(o.inputTokensPerWindow);
      const outTokens = o.outputTokensPerWindow === undefined ? undefined : TOKENS.check(o.outputTokensPerWindow);
      const minCache = o.minCacheableTokens === undefined ? undefined : TOKENS.check(o.minCacheableTokens);
      const parts = [id, alias, input, output, windowMs, requests, inTokens, outTokens, minCache];
      if (parts.some((p) => p && !p.ok)) return { ok: false, expected };
      const value = <T>(c: Checked<T> | undefined): T | undefined => (c && c.ok ? c.value : undefined);
      out.push({
        id: value(id)!,
        ...(alias ? { alias: value(alias)! } : {}),
        inputPrice: value(input)!,
        outputPrice: value(output)!,
        windowMs: value(windowMs) ?? 60_000,
        requestsPerWindow: value(requests) ?? 50,
        ...(inTokens ? { inputTokensPerWindow: value(inTokens)! } : {}),
        ...(outTokens ? { outputTokensPerWindow: value(outTokens)! } : {}),
        // A model of the table keeps its built-in minimum unless the entry names one.
        ...(minCache ? { minCacheableTokens: value(minCache)! } : builtInMinimum(value(id)!)),
      });
    }
    return { ok: true, value: out };
  },
  parse: () => NaN,
};

function builtInMinimum(id: string): { minCacheableTokens?: number } {
  const known = DEFAULT_MODELS.find((m) => m.id === id)?.minCacheableTokens;
  return known !== undefined ? { minCacheableTokens: known } : {};
}

export interface SettingSpec {
  /** `settings.json` key, under `promptloom.`. */
  readonly key: string;
  /** The field of `GenerationSettings`. */
  readonly name: keyof GenerationSettings;
  /** The command-line flag of `generate`, where there is one. */
  readonly flag?: string;
  /** The flag's line in `--help`. */
  readonly help?: string;
  readonly kind: SettingKind<unknown>;
}

/** Every generation setting: its key, its flag and what it accepts. */
export const SETTINGS: readonly SettingSpec[] = [
  { key: 'model', name: 'model', flag: '--model', help: 'model alias or id (wins over the template\'s model:)', kind: text },
  { key: 'concurrency', name: 'concurrency', flag: '--concurrency', help: 'requests in flight at once', kind: wholeNumber(1, 64) },
  { key: 'limits.requestsPerWindow', name: 'requestsPerWindow', flag: '--requests-per-window', help: 'request limit per window', kind: REQUESTS },
  { key: 'limits.windowSeconds', name: 'windowSeconds', flag: '--window-seconds', help: 'length of the rate-limit window, in seconds', kind: positiveNumber(86_400) },
  { key: 'retry.strategy', name: 'retryStrategy', flag: '--retry-strategy', help: 'how retry delays grow', kind: oneOf(['exponential', 'linear', 'fixed'] as const) },
  { key: 'retry.maxAttempts', name: 'maxAttempts', flag: '--max-attempts', help: 'attempts per conversation, the first included', kind: wholeNumber(1, 100) },
  { key: 'retry.baseDelayMs', name: 'baseDelayMs', flag: '--base-delay-ms', help: 'delay before the first retry', kind: wholeNumber(1, 3_600_000) },
  { key: 'retry.maxDelayMs', name: 'maxDelayMs', flag: '--max-delay-ms', help: 'longest delay before a retry', kind: wholeNumber(1, 3_600_000) },
  { key: 'timeoutMs', name: 'timeoutMs', flag: '--timeout-ms', help: 'timeout per request', kind: wholeNumber(1, 3_600_000) },
  { key: 'onError', name: 'onError', flag: '--on-error', help: 'after a conversation fails for good', kind: oneOf(['continue', 'stop'] as const) },
  { key: 'budget.batchUsd', name: 'budgetUsd', flag: '--budget-usd', help: 'spending this batch may not cross', kind: positiveNumber(1_000_000) },
  { key: 'budget.dailyUsd', name: 'dailyBudgetUsd', kind: positiveNumber(1_000_000) },
  { key: 'priority', name: 'priority', flag: '--priority', help: 'queue priority', kind: oneOf(['high', 'normal', 'low'] as const) },
  { key: 'maxTokens', name: 'maxTokens', flag: '--max-tokens', help: 'largest answer per request, in tokens, when the template sets no max_tokens', kind: wholeNumber(1, 1_000_000) },
  { key: 'models', name: 'models', kind: models },
  { key: 'quality.nearDuplicateThreshold', name: 'nearDuplicateThreshold', kind: fractionIn(0.5, 1) },
  { key: 'quality.judge', name: 'judge', kind: oneOf(['off', 'on'] as const) },
  { key: 'quality.judgeModel', name: 'judgeModel', kind: text },
  { key: 'review.advanceAfterVerdict', name: 'advanceAfterVerdict', kind: yesNo },
  { key: 'generation.mode', name: 'mode', kind: oneOf(['direct', 'batch', 'auto'] as const) },
];

/** The `promptloom.*` keys (without the prefix) that hold generation settings. */
export const SETTING_KEYS: readonly string[] = SETTINGS.map((s) => s.key);

/** A setting by its flag (`--timeout-ms`). */
export function settingByFlag(flag: string): SettingSpec | undefined {
  return SETTINGS.find((s) => s.flag === flag);
}

/** One problem with one setting: which key, the value given (shortened) and what it must be. */
export interface SettingProblem {
  readonly key: string;
  readonly message: string;
}

function describe(raw: unknown): string {
  const shown = JSON.stringify(raw) ?? String(raw);
  return shown.length > 60 ? `${shown.slice(0, 57)}…` : shown;
}

/**
 * Reads `promptloom.*` values from a settings object: flat keys (`"promptloom.retry.maxAttempts"`,
 * as settings.json writes them) or nested ones. Returns what was valid and a problem per bad key.
 */
export function readSettings(source: Readonly<Record<string, unknown>>): { settings: Partial<GenerationSettings>; problems: SettingProblem[] } {
  const settings: Partial<Mutable<GenerationSettings>> = {};
  const problems: SettingProblem[] = [];
  for (const { key, name, kind } of SETTINGS) {
    const full = `promptloom.${key}`;
    const raw = Object.prototype.hasOwnProperty.call(source, full) ? source[full] : nested(source, full.split('.'));
    if (raw === undefined) continue;
    const checked = kind.check(raw);
    if (checked.ok) (settings as Record<string, unknown>)[name] = checked.value;
    else problems.push({ key: full, message: `${full}: ${describe(raw)} is not valid: expected ${checked.expected}` });
  }
  return { settings, problems };
}

/** A flag's text as a setting's value, or why not (the message names the flag). */
export function parseFlag(spec: SettingSpec, textValue: string): Checked<unknown> {
  const checked = spec.kind.check(spec.kind.parse(textValue));
  return checked.ok ? checked : { ok: false, expected: `${spec.flag} ${describe(textValue)} is not valid: expected ${checked.expected}` };
}

function nested(source: Readonly<Record<string, unknown>>, path: string[]): unknown {
  let at: unknown = source;
  for (const part of path) {
    if (!at || typeof at !== 'object' || !Object.prototype.hasOwnProperty.call(at, part)) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

/**
 * Settings as stored with a batch (typed names), checked again as they are read back. Anything
 * else a batch row holds (an API address stored by an older release, say) is ignored.
 */
export function storedSettings(stored: Readonly<Record<string, unknown>>): Partial<GenerationSettings> {
  const settings: Record<string, unknown> = {};
  for (const { name, kind } of SETTINGS) {
    if (stored[name] === undefined) continue;
    const checked = kind.check(stored[name]);
    if (checked.ok) settings[name] = checked.value;
  }
  return settings as Partial<GenerationSettings>;
}

/** Later layers win. */
export function mergeSettings(...layers: Partial<GenerationSettings>[]): GenerationSettings {
  return Object.assign({}, DEFAULT_SETTINGS, ...layers) as GenerationSettings;
}

/**
 * A model table read from a file that came with the workspace, with no price below the built-in
 * table's (the same model's, or the cheapest model's for ids it does not know): a cloned
 * repository must not be able to make budgets count its requests as free. Returns the table and
 * the ids whose prices were raised.
 */
export function withPriceFloor(models: readonly ModelInfo[], builtIn: readonly ModelInfo[] = DEFAULT_MODELS): { models: ModelInfo[]; raised: string[] } {
  const cheapest = { inputPrice: Math.min(...builtIn.map((m) => m.inputPrice)), outputPrice: Math.min(...builtIn.map((m) => m.outputPrice)) };
  const raised: string[] = [];
  const floored = models.map((m) => {
    const floor = builtIn.find((b) => b.id === m.id) ?? cheapest;
    if (m.inputPrice >= floor.inputPrice && m.outputPrice >= floor.outputPrice) return m;
    raised.push(m.id);
    return { ...m, inputPrice: Math.max(m.inputPrice, floor.inputPrice), outputPrice: Math.max(m.outputPrice, floor.outputPrice) };
  });
  return { models: floored, raised };
}

/**
 * The judge's model: the `judgeModel` setting (an alias or id of the table, or a claude-… id), else
 * the cheapest model of the table (lowest input plus output price per million tokens).
 */
export function judgeModelOf(settings: Pick<GenerationSettings, 'judgeModel' | 'models'>): ModelInfo | undefined {
  if (settings.judgeModel !== undefined) return resolveModel(settings.judgeModel, settings.models);
  const table = settings.models.length > 0 ? settings.models : DEFAULT_MODELS;
  return [...table].sort((a, b) => a.inputPrice + a.outputPrice - (b.inputPrice + b.outputPrice))[0];
}
