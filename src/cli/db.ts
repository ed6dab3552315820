/**
 * `promptloom db init | status | push`: the team database (PostgreSQL) from the terminal.
 *
 * Its URL carries a password, so it comes only from --database-url or PROMPTLOOM_DATABASE_URL
 * (never a workspace file: a cloned repository must not choose where a member's credentials go),
 * and no output, error included, ever repeats it.
 */
import { checkDatabaseUrl, connectTeamDatabase, describeUrl, TeamDatabaseError } from '../core/store/postgres/connection';
import { MEMBER_ROLE, TEAM_SCHEMA_VERSION } from '../core/store/postgres/migrations';
import { pushWorkspace, type PushCounts } from '../core/store/postgres/push';
import { initTeamDatabase, teamStatus, type TeamStatus } from '../core/store/postgres/setup';
import { SCHEMA_VERSION } from '../core/store';
import { existingStore } from './database';
import { EXIT, UserError } from './errors';
import type { Output } from './output';
import { teamFailure } from './teamStore';
import type { Client } from 'pg';

export const DATABASE_URL_ENV = 'PROMPTLOOM_DATABASE_URL';

/** The team database's URL: the flag, else the environment; undefined for the workspace database. */
export function teamDatabaseUrl(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const url = flag ?? env[DATABASE_URL_ENV];
  return url === undefined || url === '' ? undefined : url;
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

export interface DbStatus {
  readonly store: 'workspace' | 'postgresql';
  /** The workspace database's file, or the team database as user@host:port/database. */
  readonly location: string;
  /** 0: no database (or schema) yet. */
  readonly schemaVersion: number;
  /** The newest schema version this release knows. */
  readonly latestSchemaVersion: number;
  /** The PostgreSQL role rows are recorded as; null for the workspace database. */
  readonly member: string | null;
}

export async function runDbStatus(flags: { workspace?: string; databaseUrl?: string; format: 'text' | 'json' }, out: Output, env: NodeJS.ProcessEnv): Promise<number> {
  const url = teamDatabaseUrl(flags.databaseUrl, env);
  const status: DbStatus = url
    ? await withTeamDatabase(url, async (client) => teamDbStatus(url, await teamStatus(client), out))
    : await workspaceDbStatus(flags.workspace, out);
  if (flags.format === 'json') {
    out.stdout(`${JSON.stringify(status)}\n`);
    return EXIT.ok;
  }
  const version = status.schemaVersion === 0 ? 'none yet' : String(status.schemaVersion);
  out.stdout(
    [
      `store: ${status.store === 'postgresql' ? 'PostgreSQL (team)' : 'workspace database'} ${status.location}`,
      `schema version: ${version} (this release: ${status.latestSchemaVersion})`,
      ...(status.member !== null ? [`member: ${status.member}`] : []),
    ].join('\n') + '\n',
  );
  return EXIT.ok;
}

function teamDbStatus(url: string, s: TeamStatus, out: Output): DbStatus {
  if (!s.isMember) out.note(`promptloom: ${s.member} is not a member of ${MEMBER_ROLE}: an admin runs GRANT ${MEMBER_ROLE} TO ${s.member};`);
  else if (s.schemaVersion === 0) out.note('promptloom: the team database has no Promptloom schema yet: its owner runs promptloom db init');
  return { store: 'postgresql', location: describeUrl(url), schemaVersion: s.schemaVersion, latestSchemaVersion: TEAM_SCHEMA_VERSION, member: s.member };
}

async function workspaceDbStatus(workspace: string | undefined, out: Output): Promise<DbStatus> {
  const { store, folder } = await existingStore(workspace, out);
  try {
    return { store: 'workspace', location: store?.snapshotPath ?? `${folder}/.promptloom/promptloom.db`, schemaVersion: (await store?.schemaVersion()) ?? 0, latestSchemaVersion: SCHEMA_VERSION, member: null };
  } finally {
    store?.close();
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
      const added = await pushWorkspace(store, client);
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
