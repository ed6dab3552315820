/**
 * Generation settings: one typed object, from defaults, then `promptloom.*` keys of
 * `.vscode/settings.json` (or VS Code's configuration), then command-line flags. Invalid values
 * are dropped with a warning naming the key, never half-used.
 */
import type { Priority } from './priorityQueue';
import { DEFAULT_MODELS, type ModelInfo } from './engine';
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
  readonly apiBaseUrl?: string;
  readonly models: readonly ModelInfo[];
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
};

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const positiveInt = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined);
const positive = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined);
const oneOf = <T extends string>(values: readonly T[]) => (v: unknown) => (typeof v === 'string' && (values as readonly string[]).includes(v) ? (v as T) : undefined);
const text = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

/** `settings.json` key (under `promptloom.`) → setting and the check its value must pass. */
const KEYS: readonly [string, keyof GenerationSettings, (v: unknown) => unknown][] = [
  ['model', 'model', text],
  ['concurrency', 'concurrency', positiveInt],
  ['limits.requestsPerWindow', 'requestsPerWindow', positiveInt],
  ['limits.windowSeconds', 'windowSeconds', positive],
  ['retry.strategy', 'retryStrategy', oneOf(['exponential', 'linear', 'fixed'] as const)],
  ['retry.maxAttempts', 'maxAttempts', positiveInt],
  ['retry.baseDelayMs', 'baseDelayMs', positiveInt],
  ['retry.maxDelayMs', 'maxDelayMs', positiveInt],
  ['timeoutMs', 'timeoutMs', positiveInt],
  ['onError', 'onError', oneOf(['continue', 'stop'] as const)],
  ['budget.batchUsd', 'budgetUsd', positive],
  ['budget.dailyUsd', 'dailyBudgetUsd', positive],
  ['priority', 'priority', oneOf(['high', 'normal', 'low'] as const)],
  ['maxTokens', 'maxTokens', positiveInt],
  ['apiBaseUrl', 'apiBaseUrl', text],
  ['models', 'models', validModels],
];

function validModels(v: unknown): ModelInfo[] | undefined {
  if (!Array.isArray(v) || v.length === 0) return undefined;
  const models: ModelInfo[] = [];
  for (const m of v) {
    const o = m as Partial<ModelInfo>;
    if (!text(o.id) || positive(o.inputPrice) === undefined || positive(o.outputPrice) === undefined) return undefined;
    models.push({
      id: o.id!,
      ...(text(o.alias) ? { alias: o.alias! } : {}),
      inputPrice: o.inputPrice!,
      outputPrice: o.outputPrice!,
      windowMs: positive(o.windowMs) ?? 60_000,
      requestsPerWindow: positiveInt(o.requestsPerWindow) ?? 50,
      ...(positiveInt(o.inputTokensPerWindow) ? { inputTokensPerWindow: o.inputTokensPerWindow! } : {}),
      ...(positiveInt(o.outputTokensPerWindow) ? { outputTokensPerWindow: o.outputTokensPerWindow! } : {}),
    });
  }
  return models;
}

/** The `promptloom.*` keys (without the prefix) that hold generation settings. */
export const SETTING_KEYS: readonly string[] = KEYS.map(([key]) => key);

/**
 * Reads `promptloom.*` values from a settings object: flat keys (`"promptloom.retry.maxAttempts"`,
 * as settings.json writes them) or nested ones. Returns what was valid and a warning per bad key.
 */
export function readSettings(source: Readonly<Record<string, unknown>>): { settings: Partial<GenerationSettings>; warnings: string[] } {
  const settings: Partial<Mutable<GenerationSettings>> = {};
  const warnings: string[] = [];
  for (const [key, name, check] of KEYS) {
    const full = `promptloom.${key}`;
    const raw = Object.prototype.hasOwnProperty.call(source, full) ? source[full] : nested(source, full.split('.'));
    if (raw === undefined) continue;
    const value = check(raw);
    if (value === undefined) warnings.push(`ignored ${full}: ${JSON.stringify(raw)} is not a valid value`);
    else (settings as Record<string, unknown>)[name] = value;
  }
  return { settings, warnings };
}

function nested(source: Readonly<Record<string, unknown>>, path: string[]): unknown {
  let at: unknown = source;
  for (const part of path) {
    if (!at || typeof at !== 'object' || !Object.prototype.hasOwnProperty.call(at, part)) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

/** Settings as stored with a batch (typed names), checked again as they are read back. */
export function storedSettings(stored: Readonly<Record<string, unknown>>): Partial<GenerationSettings> {
  const settings: Record<string, unknown> = {};
  for (const [, name, check] of KEYS) {
    const value = stored[name] === undefined ? undefined : check(stored[name]);
    if (value !== undefined) settings[name] = value;
  }
  return settings as Partial<GenerationSettings>;
}

/** Later layers win. */
export function mergeSettings(...layers: Partial<GenerationSettings>[]): GenerationSettings {
  return Object.assign({}, DEFAULT_SETTINGS, ...layers) as GenerationSettings;
}
