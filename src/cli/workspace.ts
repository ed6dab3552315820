/** The workspace a command works in: its `.vscode/settings.json` and its model aliases. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseJsonc } from 'jsonc-parser';
import { mergeSettings, readSettings, type GenerationSettings } from '../core/generation/settings';
import { readTextFile } from './files';
import type { Output } from './output';

/** `promptloom.*` settings of the workspace's `.vscode/settings.json` (JSON with comments). */
export function workspaceSettings(workspace: string, out: Output): Partial<GenerationSettings> {
  let text: string;
  const path = resolve(workspace, '.vscode', 'settings.json');
  try {
    text = readTextFile(path); // a regular file only: a FIFO there would hang every command
  } catch (error) {
    if (existsSync(path)) out.note(`promptloom: ${(error as Error).message}; its settings are not used`);
    return {};
  }
  const parsed = parseJsonc(text, [], { allowTrailingComma: true }) as unknown;
  if (!parsed || typeof parsed !== 'object') return {};
  const { settings, warnings } = readSettings(parsed as Record<string, unknown>);
  for (const w of warnings) out.note(`promptloom: .vscode/settings.json: ${w}`);
  return settings;
}


/** Model aliases the workspace's model table defines (the defaults when it has none). */
export function workspaceModelAliases(workspace: string | undefined, out: Output): string[] {
  const models = mergeSettings(workspace ? workspaceSettings(resolve(workspace), out) : {}).models;
  return models.flatMap((m) => (m.alias ? [m.alias] : []));
}
