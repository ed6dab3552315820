/**
 * What `promptloom db status` and the editor's `Promptloom: Show Database Status` say: which store
 * is in use, where it came from, its schema version and the member. Built here once, so both give
 * the same facts in the same words.
 */
import type { DatabaseUrlSource } from './databaseUrl';
import { connectTeamDatabase, describeUrl, TeamDatabaseError, teamErrorMessage, withoutSecret } from './postgres/connection';
import { MEMBER_ROLE, TEAM_SCHEMA_VERSION } from './postgres/migrations';
import { teamStatus } from './postgres/setup';

export interface StoreStatus {
  readonly store: 'workspace' | 'postgresql';
  /** The workspace database's file, or the team database as user@host:port/database (never the password). */
  readonly location: string;
  /** What chose the team database; null for the workspace database (nothing chose another). */
  readonly from: DatabaseUrlSource | null;
  /** 0: no database (or schema) yet. */
  readonly schemaVersion: number;
  /** The newest schema version this release knows. */
  readonly latestSchemaVersion: number;
  /** The PostgreSQL role rows are recorded as; null for the workspace database. */
  readonly member: string | null;
}

export interface TeamStoreReport {
  readonly status: StoreStatus;
  /** What the member (or an admin) must do before the team database is usable, if anything. */
  readonly advice?: string;
}

export function workspaceStoreStatus(location: string, schemaVersion: number, latestSchemaVersion: number): StoreStatus {
  return { store: 'workspace', location, from: null, schemaVersion, latestSchemaVersion, member: null };
}

/**
 * Connects to the team database and asks who we are and which schema it has. Every failure of the
 * server or the network is a TeamDatabaseError of one line without the password.
 */
export async function teamStoreStatus(url: string, from: DatabaseUrlSource): Promise<TeamStoreReport> {
  const client = await connectTeamDatabase(url);
  try {
    const s = await teamStatus(client);
    const status: StoreStatus = { store: 'postgresql', location: describeUrl(url), from, schemaVersion: s.schemaVersion, latestSchemaVersion: TEAM_SCHEMA_VERSION, member: s.member };
    return { status, ...advice(s.isMember, s.member, s.schemaVersion) };
  } catch (error) {
    // A server's refusal (it has a SQLSTATE) or a network failure (an errno code).
    if (typeof (error as { code?: unknown }).code === 'string') throw new TeamDatabaseError(teamErrorMessage(error, url));
    // A bug: reported as one, still without the password (the editor logs the stack, whose first
    // line is the message as it was when thrown).
    if (error instanceof Error) {
      error.message = withoutSecret(error.message, url);
      if (error.stack) error.stack = withoutSecret(error.stack, url);
    }
    throw error;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function advice(isMember: boolean, member: string, schemaVersion: number): { advice?: string } {
  if (!isMember) return { advice: `${member} is not a member of ${MEMBER_ROLE}: an admin runs GRANT ${MEMBER_ROLE} TO ${member};` };
  if (schemaVersion === 0) return { advice: 'the team database has no Promptloom schema yet: its owner runs promptloom db init' };
  return {};
}

/** The status as lines for a terminal or a log; the first says which store, the rest what it holds. */
export function statusLines(status: StoreStatus): string[] {
  const version = status.schemaVersion === 0 ? 'none yet' : String(status.schemaVersion);
  const store = status.store === 'postgresql' ? `PostgreSQL (team) ${status.location} (from ${status.from})` : `workspace database ${status.location}`;
  return [`store: ${store}`, `schema version: ${version} (this release: ${status.latestSchemaVersion})`, ...(status.member !== null ? [`member: ${status.member}`] : [])];
}
