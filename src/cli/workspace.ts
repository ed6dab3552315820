/**
 * The workspace a command works in, assembled by the core's `Workspace` from what the CLI has:
 * the folder's `.vscode/settings.json` (JSON with comments) and the command's flags.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseJsonc } from 'jsonc-parser';
import { ApiAddressError, resolveApiAddress } from '../core/generation/apiAddress';
import { readSettings, withPriceFloor, type GenerationSettings } from '../core/generation/settings';
import { Workspace } from '../core/workspace';
import { UserError } from './errors';
import { readTextFile } from './files';

export { workspaceFolder } from './files';
import type { Output } from './output';

export interface WorkspaceOptions {
  /** Flags, the highest layer. */
  readonly flags?: Partial<GenerationSettings>;
  /**
   * Bad values in settings.json stop the command (generation: a setting must never be half-used)
   * rather than being skipped with a warning (checking and rendering only need the model table).
   */
  readonly strict?: boolean;
}

/** Most a settings file may weigh. */
const MAX_SETTINGS_BYTES = 1024 * 1024;

export function openWorkspace(folder: string | undefined, out: Output, options: WorkspaceOptions = {}): Workspace {
  const root = resolve(folder ?? '.');
  return new Workspace(root, [workspaceSettings(root, out, options.strict ?? false), options.flags ?? {}]);
}

/** `promptloom.*` settings of the workspace's `.vscode/settings.json`. */
export function workspaceSettings(workspace: string, out: Output, strict = false): Partial<GenerationSettings> {
  const path = resolve(workspace, '.vscode', 'settings.json');
  if (!existsSync(path)) return {};
  let text: string;
  try {
    text = readTextFile(path, MAX_SETTINGS_BYTES); // a regular file only: a FIFO there would hang every command
  } catch (error) {
    // Generation must not run on half its settings; checking only loses the model table's aliases.
    if (strict) throw error;
    out.note(`promptloom: ${(error as Error).message}; its settings are not used`);
    return {};
  }
  const parsed = parseJsonc(text, [], { allowTrailingComma: true }) as unknown;
  if (!parsed || typeof parsed !== 'object') return {};
  const source = parsed as Record<string, unknown>;
  if (source['promptloom.apiBaseUrl'] !== undefined || (source.promptloom as Record<string, unknown> | undefined)?.apiBaseUrl !== undefined) {
    // The address decides where the API key goes: a cloned repository must not choose it.
    out.note('promptloom: ignored promptloom.apiBaseUrl in .vscode/settings.json: the API address comes only from --api-base-url or ANTHROPIC_BASE_URL');
  }
  const { settings, problems } = readSettings(source);
  if (strict && problems.length > 0) throw new UserError(`.vscode/settings.json: ${problems.map((p) => p.message).join('; ')}`);
  for (const p of problems) out.note(`promptloom: .vscode/settings.json: ignored ${p.message}`);
  if (!settings.models) return settings;
  const { models, raised } = withPriceFloor(settings.models);
  if (raised.length > 0) out.note(`promptloom: .vscode/settings.json prices ${raised.join(', ')} below the built-in model table; costs and budgets use the built-in prices`);
  return { ...settings, models };
}

/** The API key: from the environment only (never a file, a flag or the database). */
export function apiKey(env: NodeJS.ProcessEnv): string {
  const key = env.ANTHROPIC_API_KEY;
  if (!key) throw new UserError('set ANTHROPIC_API_KEY to your Anthropic API key (it is read from the environment only)');
  return key;
}

/** Where the key is sent: --api-base-url, else ANTHROPIC_BASE_URL, else Anthropic's; checked first. */
export function apiAddress(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  try {
    return resolveApiAddress([
      flag !== undefined ? { value: flag, from: '--api-base-url' } : undefined,
      env.ANTHROPIC_BASE_URL !== undefined ? { value: env.ANTHROPIC_BASE_URL, from: 'ANTHROPIC_BASE_URL' } : undefined,
    ]);
  } catch (error) {
    if (error instanceof ApiAddressError) throw new UserError(error.message);
    throw error;
  }
}
