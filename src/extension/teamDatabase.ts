/**
 * The editor's side of choosing the store (team-store step 6): the user setting
 * `promptloom.database.url`, a password kept in secret storage, and `Promptloom: Show Database
 * Status`. The choice itself is the core's `chooseStore`, the CLI's too.
 *
 * The setting is contributed with scope `machine`, and read here from user settings alone
 * (`inspect().globalValue`): a workspace's `.vscode/settings.json` came with the repository, and a
 * URL there would choose where the member's password is sent. Such a value is ignored, and the log
 * says so without repeating it. Nothing here logs or shows a URL, only `describeUrl`'s parts.
 */
import * as vscode from 'vscode';
import { parse as parseJsonc } from 'jsonc-parser';
import { SCHEMA_VERSION } from '../core/store';
import { chooseStore, DATABASE_URL_SETTING, DatabaseUrlError, hasPassword, namesDatabaseUrl, withPassword, type StoreChoice } from '../core/store/databaseUrl';
import type { StoreStatus } from '../core/store/storeStatus';
import { Disposable } from './disposable';
import type { Log } from './log';
import type { WorkspaceDb } from './workspaceDb';

/** Secret storage's key for the team database's password. */
const PASSWORD_SECRET = 'promptloom.database.password';

/** What Show Database Status returns (to tests, other extensions): the CLI's `db status --format json`, and the ignored setting. */
export type DatabaseStatusResult =
  | (StoreStatus & { readonly ignoredWorkspaceSetting: boolean })
  | { readonly error: string; readonly ignoredWorkspaceSetting: boolean };

export class TeamDatabase extends Disposable {
  /** The workspace value has been warned of (once a session is enough). */
  private warned = false;
  private readonly choiceChanged = this.register(new vscode.EventEmitter<void>());
  /**
   * Fires when what `choice()` answers may have changed: the user setting, or the password in
   * secret storage (set here or in another window).
   */
  readonly onDidChangeChoice = this.choiceChanged.event;

  constructor(
    private readonly secrets: vscode.SecretStorage,
    private readonly db: WorkspaceDb,
    private readonly log: Log,
  ) {
    super();
    vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration(DATABASE_URL_SETTING) && this.choiceChanged.fire(), this, this.subscriptions);
    secrets.onDidChange((e) => e.key === PASSWORD_SECRET && this.choiceChanged.fire(), this, this.subscriptions);
  }

  /**
   * The store in use, with the URL ready for the driver (the stored password joined to the user
   * setting's URL when it has none). Throws a DatabaseUrlError when the URL chosen is malformed.
   */
  async choice(): Promise<StoreChoice> {
    await this.warnOfWorkspaceValue();
    const choice = chooseStore({ env: process.env, setting: userSetting() });
    if (choice.store !== 'postgresql' || choice.from !== 'the user setting promptloom.database.url') return choice;
    // Only with the setting's URL: the password was stored for the server the setting names.
    return { ...choice, url: withPassword(choice.url, await this.secrets.get(PASSWORD_SECRET)) };
  }

  /** Show Database Status: one notification line, the lines in the log, the facts returned. */
  async showStatus(): Promise<DatabaseStatusResult> {
    const result = await this.status();
    if ('error' in result) {
      this.log.error(`database status: ${result.error}`);
      void vscode.window.showErrorMessage(`Promptloom: ${result.error}`);
      return result;
    }
    const { statusLines } = await import('../core/store/storeStatus');
    const lines = statusLines(result);
    for (const line of lines) this.log.info(`database status: ${line}`);
    void vscode.window.showInformationMessage(`Promptloom: ${lines.join(' · ')}`);
    return result;
  }

  /** The same facts as `promptloom db status`; a failure as one line without the password. */
  async status(): Promise<DatabaseStatusResult> {
    const ignoredWorkspaceSetting = await this.warnOfWorkspaceValue();
    let choice: StoreChoice;
    try {
      choice = await this.choice();
    } catch (error) {
      if (error instanceof DatabaseUrlError) return { error: error.message, ignoredWorkspaceSetting };
      throw error;
    }
    if (choice.store === 'workspace') return { ...(await this.workspaceStatus()), ignoredWorkspaceSetting };
    // Loaded on first use: the PostgreSQL driver is not needed to activate the extension.
    const [{ teamStoreStatus }, { TeamDatabaseError }] = await Promise.all([import('../core/store/storeStatus'), import('../core/store/postgres/connection')]);
    try {
      const report = await teamStoreStatus(choice.url, choice.from);
      if (report.advice) void vscode.window.showWarningMessage(`Promptloom: ${report.advice}`);
      return { ...report.status, ignoredWorkspaceSetting };
    } catch (error) {
      if (error instanceof TeamDatabaseError) return { error: `team database: ${error.message}`, ignoredWorkspaceSetting };
      throw error;
    }
  }

  private async workspaceStatus(): Promise<StoreStatus> {
    const { workspaceStoreStatus } = await import('../core/store/storeStatus');
    const store = await this.db.getIfExists();
    const folder = this.db.folder;
    const location = folder ? vscode.Uri.joinPath(folder.uri, '.promptloom', 'promptloom.db').fsPath : 'no folder open';
    const version = store ? Number((await store.get<{ version: number | null }>('SELECT max(version) AS version FROM schema_version'))?.version ?? 0) : 0;
    return workspaceStoreStatus(location, version, SCHEMA_VERSION);
  }

  /**
   * `Promptloom: Set Team Database Password`: kept in secret storage for this machine, joined to the
   * user setting's URL when that has no password. An empty answer forgets it. `given` (tests)
   * skips the question.
   */
  async setPassword(given?: string): Promise<boolean> {
    const password =
      given ??
      (await vscode.window.showInputBox({
        title: 'Team database password',
        prompt: `Stored in VS Code’s secret storage for this machine, never in settings; used with the user setting ${DATABASE_URL_SETTING} when its URL holds none. Empty: forget it.`,
        password: true,
        ignoreFocusOut: true,
      }));
    if (password === undefined) return false;
    if (password === '') {
      await this.secrets.delete(PASSWORD_SECRET);
      void vscode.window.showInformationMessage('Promptloom: team database password removed from secret storage.');
      return true;
    }
    await this.secrets.store(PASSWORD_SECRET, password);
    const setting = userSetting();
    const note = setting && hasPassword(setting) ? ` The URL in ${DATABASE_URL_SETTING} holds a password of its own, which is used instead: take it out of the URL.` : '';
    void vscode.window.showInformationMessage(`Promptloom: team database password saved in secret storage.${note}`);
    return true;
  }

  /**
   * Whether a workspace (or folder) holds the setting; if so, logs once that it is ignored and why.
   * VS Code already leaves a machine setting out of workspace values, so the files are read too:
   * the member should learn why the URL they see there does nothing.
   */
  private async warnOfWorkspaceValue(): Promise<boolean> {
    const found = inspectedWorkspaceValue() || (await settingInWorkspaceFiles());
    if (found && !this.warned) {
      this.warned = true;
      this.log.warn(`ignored ${DATABASE_URL_SETTING} in workspace settings: a URL with credentials is read from user settings only (a cloned repository must not choose where your password goes)`);
    }
    return found;
  }
}

/** The setting's user value: never a workspace or folder value, whatever `get()` would merge. */
function userSetting(): string | undefined {
  const value = vscode.workspace.getConfiguration().inspect<string>(DATABASE_URL_SETTING)?.globalValue;
  return typeof value === 'string' ? value : undefined;
}

function inspectedWorkspaceValue(): boolean {
  const folders = vscode.workspace.workspaceFolders ?? [];
  const inspected = [vscode.workspace.getConfiguration().inspect(DATABASE_URL_SETTING), ...folders.map((f) => vscode.workspace.getConfiguration(undefined, f.uri).inspect(DATABASE_URL_SETTING))];
  return inspected.some((i) => i?.workspaceValue !== undefined || i?.workspaceFolderValue !== undefined);
}

/**
 * Whether a folder's `.vscode/settings.json`, or the `.code-workspace` file's settings, name the
 * setting with any value.
 */
async function settingInWorkspaceFiles(): Promise<boolean> {
  const files = (vscode.workspace.workspaceFolders ?? []).map((f) => ({ uri: vscode.Uri.joinPath(f.uri, '.vscode', 'settings.json'), key: undefined as string | undefined }));
  const workspaceFile = vscode.workspace.workspaceFile;
  if (workspaceFile?.scheme === 'file') files.push({ uri: workspaceFile, key: 'settings' });
  for (const { uri, key } of files) {
    let text: string;
    try {
      text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
    } catch {
      continue; // no settings file
    }
    const parsed = parseJsonc(text, [], { allowTrailingComma: true }) as Record<string, unknown> | undefined;
    if (namesDatabaseUrl(key ? parsed?.[key] : parsed)) return true;
  }
  return false;
}
