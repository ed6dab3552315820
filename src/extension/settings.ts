/**
 * The editor's side of the core's `Workspace`: settings from VS Code's configuration (which keeps
 * workspace values of restricted settings out of untrusted workspaces), the same table, the same
 * precedence and the same model aliases as the CLI.
 */
import * as vscode from 'vscode';
import { ApiAddressError, resolveApiAddress } from '../core/generation/apiAddress';
import { SETTING_KEYS, readSettings, type GenerationSettings } from '../core/generation/settings';
import { Workspace } from '../core/workspace';
import type { Log } from './log';

/** `promptloom.*` generation settings for a resource; bad values are logged once each and skipped. */
export function editorSettings(resource: vscode.Uri | undefined, log?: Log): Partial<GenerationSettings> {
  const config = vscode.workspace.getConfiguration(undefined, resource);
  const source: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) {
    const value = config.get(`promptloom.${key}`);
    if (value !== undefined && value !== null && value !== '') source[`promptloom.${key}`] = value;
  }
  const { settings, problems } = readSettings(source);
  for (const p of problems) logOnce(log, `settings: ignored ${p.message}`);
  return settings;
}

const logged = new Set<string>();
function logOnce(log: Log | undefined, message: string): void {
  if (!log || logged.has(message)) return;
  logged.add(message);
  log.info(message);
}

/** The workspace of a resource (its folder, or the first one) with the editor's settings. */
export function editorWorkspace(resource: vscode.Uri | undefined, log?: Log): Workspace {
  const folder = (resource && vscode.workspace.getWorkspaceFolder(resource)) ?? vscode.workspace.workspaceFolders?.[0];
  return new Workspace(folder?.uri.fsPath ?? '', [editorSettings(resource, log)]);
}

/**
 * Where the API key is sent: `ANTHROPIC_BASE_URL`, else `promptloom.apiBaseUrl` (a machine
 * setting: user settings, or workspace settings of a trusted workspace only). Throws a message
 * for the user when the address is unusable or would send the key in clear over the network.
 */
export function editorApiAddress(): string | undefined {
  const setting = vscode.workspace.getConfiguration('promptloom').get<string>('apiBaseUrl');
  try {
    return resolveApiAddress([
      process.env.ANTHROPIC_BASE_URL !== undefined ? { value: process.env.ANTHROPIC_BASE_URL, from: 'ANTHROPIC_BASE_URL' } : undefined,
      setting ? { value: setting, from: 'the setting promptloom.apiBaseUrl' } : undefined,
    ]);
  } catch (error) {
    if (error instanceof ApiAddressError) throw new Error(`Promptloom: ${error.message}`);
    throw error;
  }
}
