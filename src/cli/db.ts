/**
 * `promptloom db init | status | push`: the team database (PostgreSQL) from the terminal.
 *
 * Its URL carries a password, so it comes only from --database-url or PROMPTLOOM_DATABASE_URL
 * (never a workspace file: a cloned repository must not choose where a member's credentials go),
 * and no output, error included, ever repeats it. The choice is the core's `chooseStore`, the
 * editor's too.
 */
import { join } from 'node:path';
import { parse as parseJsonc } from 'jsonc-parser';
import { checkDatabaseUrl, connectTeamDatabase, describeUrl, TeamDatabaseError } from '../core/store/postgres/connection';
import { MEMBER_ROLE, TEAM_SCHEMA_VERSION } from '../core/store/postgres/migrations';
import { pushWorkspace, PushRefusedError, type PushCounts } from '../core/store/postgres/push';
import { initTeamDatabase, teamStatus, TeamSetupError } from '../core/store/postgres/setup';
import { SCHEMA_VERSION } from '../core/store';
import { chooseStore, DATABASE_URL_ENV, DatabaseUrlError, namesDatabaseUrl } from '../core/store/databaseUrl';
import { statusLines, teamStoreStatus, workspaceStoreStatus, type StoreStatus, type TeamStoreReport } from '../core/store/storeStatus';
import { existingStore } from './database';
import { EXIT, UserError } from './errors';
import { readTextFile, workspaceFolder } from './files';
import type { Output } from './output';
import { teamFailure } from './teamStore';
import type { Client } from 'pg';

export { DATABASE_URL_ENV };

/**
 * The team database's URL: the flag, else the environment; undefined for the workspace database.
 * A URL given but malformed is a UserError naming where it came from.
 */
export function teamDatabaseUrl(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const choice = storeChoice(flag, env);
  return choice.store === 'postgresql' ? choice.url : undefined;
}

/** The CLI has no editor setting: the flag, else the environment, else the workspace database. */
function storeChoice(flag: string | undefined, env: NodeJS.ProcessEnv): ReturnType<typeof chooseStore> {
  try {
    return chooseStore({ flag, env });
  } catch (error) {
    if (error instanceof DatabaseUrlError) throw new UserError(error.message);
    throw error;
  }
}

function requiredUrl(flag: string | undefined, env: NodeJS.ProcessEnv, command: string): string {
  const url = teamDatabaseUrl(flag, env);
  if (!url) throw new UserError(`${command} needs the team database: --database-url postgresql://USER:PASSWORD@HOST:PORT/DATABASE, or ${DATABASE_URL_ENV}`);
  return url;
}

export async function runDbInit(flags: { databaseUrl?: string }, out: Output, env: NodeJS.ProcessEnv): Promise<number> {
  const url = requiredUrl(flags.databaseUrl, env, 'db init');
  return withTeamDatabase(url, async (client) => {
    const outcome = await initTeamDatabase(client);
    const schema = outcome.from === outcome.to ? `schema version ${outcome.to}, already up to date` : `schema version ${outcome.to} (was ${outcome.from === 0 ? 'none' : outcome.from})`;
    out.stdout(`team database ${describeUrl(url)}: ${schema}; role ${MEMBER_ROLE} ${outcome.roleCreated ? 'created' : 'exists'}\n`);
    out.note(`Add a member (as an admin): CREATE ROLE <name> LOGIN PASSWORD '…'; GRANT ${MEMBER_ROLE} TO <name>;`);
    return EXIT.ok;
  });
}

/** What `db status --format json` prints: the editor's Show Database Status gives the same. */
export type DbStatus = StoreStatus;

export async function runDbStatus(flags: { workspace?: string; databaseUrl?: string; format: 'text' | 'json' }, out: Output, env: NodeJS.ProcessEnv): Promise<number> {
  const choice = storeChoice(flags.databaseUrl, env);
  noteIgnoredWorkspaceUrl(workspaceFolder(flags.workspace), out);
  const status = choice.store === 'postgresql' ? teamDbStatus(await asUserError(() => teamStoreStatus(choice.url, choice.from)), out) : await workspaceDbStatus(flags.workspace, out);
  out.stdout(flags.format === 'json' ? `${JSON.stringify(status)}\n` : `${statusLines(status).join('\n')}\n`);
  return EXIT.ok;
}

/** Most a settings file may weigh (as src/cli/workspace.ts reads it). */
const MAX_SETTINGS_BYTES = 1024 * 1024;

/**
 * Says so when the workspace's `.vscode/settings.json` names promptloom.database.url (as the editor
 * logs it): a cloned repository's file never chooses the team database. An unreadable file is the
 * other commands' to report.
 */
function noteIgnoredWorkspaceUrl(folder: string, out: Output): void {
  let text: string;
  try {
    text = readTextFile(join(folder, '.vscode', 'settings.json'), MAX_SETTINGS_BYTES);
  } catch {
    return;
  }
  if (namesDatabaseUrl(parseJsonc(text, [], { allowTrailingComma: true }))) {
    out.note(`promptloom: ignored promptloom.database.url in .vscode/settings.json: the team database comes only from --database-url, ${DATABASE_URL_ENV} or the editor's user settings`);
  }
}

function teamDbStatus(report: TeamStoreReport, out: Output): DbStatus {
  if (report.advice) out.note(`promptloom: ${report.advice}`);
  return report.status;
}

async function workspaceDbStatus(workspace: string | undefined, out: Output): Promise<DbStatus> {
  const { store, folder } = await existingStore(workspace, out);
  try {
    return workspaceStoreStatus(store?.snapshotPath ?? `${folder}/.promptloom/promptloom.db`, (await store?.schemaVersion()) ?? 0, SCHEMA_VERSION);
  } finally {
    store?.close();
  }
}

/** A team database's failure (already one line without the password) as the CLI's usage error. */
async function asUserError<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof TeamDatabaseError || error instanceof TeamSetupError) throw new UserError(error.message);
    throw error;
  }
}

export async function runDbPush(flags: { workspace?: string; databaseUrl?: string; format: 'text' | 'json' }, out: Output, env: NodeJS.ProcessEnv): Promise<number> {
  const url = requiredUrl(flags.databaseUrl, env, 'db push');
  checkUrl(url);
  const { store, folder } = await existingStore(flags.workspace, out);
  if (!store) throw new UserError(`${folder} has no Promptloom database to push`);
  try {
    return await withTeamDatabase(url, async (client) => {
      const status = await teamStatus(client);
      if (!status.isMember) throw new UserError(`${status.member} is not a member of ${MEMBER_ROLE}: an admin runs GRANT ${MEMBER_ROLE} TO ${status.member};`);
      if (status.schemaVersion === 0) throw new UserError('the team database has no Promptloom schema: its owner runs promptloom db init first');
      if (status.schemaVersion > TEAM_SCHEMA_VERSION) throw new UserError(`the team database has schema version ${status.schemaVersion}, newer than this release knows (${TEAM_SCHEMA_VERSION}): update Promptloom`);
      if (status.schemaVersion < TEAM_SCHEMA_VERSION) throw new UserError(`the team database has schema version ${status.schemaVersion}; this release needs ${TEAM_SCHEMA_VERSION}: its owner runs promptloom db init`);
      let added: PushCounts;
      try {
        added = await pushWorkspace(store, client);
      } catch (error) {
        if (error instanceof PushRefusedError) throw new UserError(error.message);
        throw error;
      }
      out.stdout(flags.format === 'json' ? `${JSON.stringify({ member: status.member, added })}\n` : `pushed ${folder} to ${describeUrl(url)} as ${status.member}: ${summary(added)}\n`);
      return EXIT.ok;
    });
  } finally {
    store.close();
  }
}

const LABELS: Readonly<Record<keyof PushCounts, string>> = {
  templates: 'templates',
  versions: 'versions',
  batches: 'batches',
  conversations: 'conversations',
  turns: 'turns',
  scores: 'scores',
  generationLogs: 'generation logs',
  judgeCalls: 'judge calls',
  reviews: 'reviews',
  messageBatches: 'Message Batches',
  messageBatchResults: 'Message Batch results',
};

function summary(added: PushCounts): string {
  const parts = (Object.keys(LABELS) as (keyof PushCounts)[]).filter((k) => added[k] > 0).map((k) => `${added[k]} ${LABELS[k]}`);
  return parts.length === 0 ? 'nothing new' : `added ${parts.join(', ')}`;
}

function checkUrl(url: string): void {
  try {
    checkDatabaseUrl(url);
  } catch (error) {
    if (error instanceof TeamDatabaseError) throw new UserError(error.message);
    throw error;
  }
}

/**
 * Connects, runs `work`, disconnects. Every failure of the team database (connecting, a refused
 * statement, a lost connection) becomes one line for the user, without the password.
 */
async function withTeamDatabase<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  checkUrl(url);
  let client: Client;
  try {
    client = await connectTeamDatabase(url);
  } catch (error) {
    throw teamFailure(error, url);
  }
  try {
    return await work(client);
  } catch (error) {
    throw teamFailure(error, url);
  } finally {
    await client.end().catch(() => undefined);
  }
}
