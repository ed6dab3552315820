/**
 * The team database (PostgreSQL) for the commands that read and review (`stats`, `conversations`,
 * `review` with --database-url or PROMPTLOOM_DATABASE_URL): the same queries as on the workspace
 * database, through the team's `Database` handle. Every failure is one line without the password.
 */
import { TeamDatabaseError, teamErrorMessage, withoutSecret } from '../core/store/postgres/connection';
import { TeamSetupError } from '../core/store/postgres/setup';
import { TeamDatabase } from '../core/store/postgres/teamDatabase';
import { UserError } from './errors';

/** Connects, runs `work`, disconnects; a refused connection or statement becomes a UserError (exit 2). */
export async function withTeamStore<T>(url: string, work: (db: TeamDatabase) => Promise<T>): Promise<T> {
  let db: TeamDatabase;
  try {
    db = await TeamDatabase.connect(url);
  } catch (error) {
    throw teamFailure(error, url);
  }
  try {
    return await work(db);
  } catch (error) {
    throw teamFailure(error, url);
  } finally {
    await db.close().catch(() => undefined);
  }
}

/**
 * What to throw for a failure while using the team database: the user's to fix (a UserError, one
 * line) when the server refused or the network failed, else the error itself (a bug), its
 * message still without the password.
 */
export function teamFailure(error: unknown, url: string): unknown {
  if (error instanceof UserError) return error;
  if (error instanceof TeamDatabaseError || error instanceof TeamSetupError) return new UserError(error.message);
  // A server's refusal (it has a SQLSTATE) or a network failure (an errno code).
  if (typeof (error as { code?: unknown } | undefined)?.code === 'string') return new UserError(teamErrorMessage(error, url));
  if (error instanceof Error) error.message = withoutSecret(error.message, url);
  return error;
}
