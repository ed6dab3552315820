/**
 * `db init` and `db status` of the team database: creating (or bringing up to date) its schema,
 * the group role and the policies, and saying what a connection is to it.
 */
import { inTransaction, type Queryable } from './connection';
import { MEMBER_ROLE, PG_MIGRATIONS, TEAM_SCHEMA, type PgMigration } from './migrations';

export interface InitOutcome {
  /** Schema version before and after: equal when the database was up to date. */
  readonly from: number;
  readonly to: number;
  readonly roleCreated: boolean;
}

/** Refused for a reason the person running `db init` can act on. */
export class TeamSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TeamSetupError';
  }
}

/**
 * Run by the team's owner: creates the group role `promptloom_member` (when missing), makes the
 * owner a member (so the owner's own rows follow the same policies), then applies the migrations
 * the database lacks. One transaction under an advisory lock: two inits at once run one after the
 * other, and a failure leaves nothing half made. Running it again changes nothing.
 */
export async function initTeamDatabase(client: Queryable, migrations: readonly PgMigration[] = PG_MIGRATIONS): Promise<InitOutcome> {
  return inTransaction(client, async () => {
    await client.query("SELECT pg_advisory_xact_lock(hashtext('promptloom db init'))");
    const roleCreated = !(await roleExists(client, MEMBER_ROLE));
    if (roleCreated) await refusedAs(() => client.query(`CREATE ROLE ${MEMBER_ROLE} NOLOGIN`), `creating the role ${MEMBER_ROLE} needs CREATEROLE (or an admin creates it first: CREATE ROLE ${MEMBER_ROLE} NOLOGIN)`);
    const { rows } = await client.query<{ member: boolean }>(`SELECT pg_has_role(current_user, '${MEMBER_ROLE}', 'MEMBER') AS member`);
    if (!rows[0]!.member) await refusedAs(() => client.query(`GRANT ${MEMBER_ROLE} TO current_user`), `the owner must be a member of ${MEMBER_ROLE} (an admin runs: GRANT ${MEMBER_ROLE} TO <owner>)`);
    await refusedAs(() => client.query(`CREATE SCHEMA IF NOT EXISTS ${TEAM_SCHEMA}`), `creating the schema ${TEAM_SCHEMA} needs CREATE on the database (an admin runs: GRANT CREATE ON DATABASE <db> TO <owner>)`);
    await client.query(`SET LOCAL search_path = ${TEAM_SCHEMA}`);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_version (
       version INTEGER PRIMARY KEY,
       description TEXT NOT NULL,
       applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
       applied_by TEXT NOT NULL DEFAULT current_user
     )`);
    const from = await currentVersion(client);
    for (const migration of migrations) {
      if (migration.version <= from) continue;
      for (const statement of migration.sql) await client.query(statement);
      await client.query('INSERT INTO schema_version (version, description) VALUES ($1, $2)', [migration.version, migration.description]);
    }
    return { from, to: await currentVersion(client), roleCreated };
  });
}

export interface TeamStatus {
  /** 0: `db init` has not been run on this database. */
  readonly schemaVersion: number;
  /** Who the connection is: the role every row it writes records as created_by. */
  readonly member: string;
  /** Whether that role has the team's rights (an admin grants promptloom_member). */
  readonly isMember: boolean;
  readonly serverVersion: string;
}

export async function teamStatus(client: Queryable): Promise<TeamStatus> {
  const { rows } = await client.query<{ member: string; server: string; schema: boolean; role: boolean }>(
    `SELECT current_user AS member, current_setting('server_version') AS server,
            EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = '${TEAM_SCHEMA}' AND c.relname = 'schema_version') AS schema,
            EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${MEMBER_ROLE}') AS role`,
  );
  const row = rows[0]!;
  const isMember = row.role ? Boolean((await client.query<{ m: boolean }>(`SELECT pg_has_role(current_user, '${MEMBER_ROLE}', 'MEMBER') AS m`)).rows[0]!.m) : false;
  // The version table is readable by members only: anyone else sees no version, said as such.
  const schemaVersion = row.schema && isMember ? await currentVersion(client, `${TEAM_SCHEMA}.`) : 0;
  return { schemaVersion, member: row.member, isMember, serverVersion: row.server };
}

async function currentVersion(client: Queryable, qualifier = ''): Promise<number> {
  const { rows } = await client.query<{ version: number | null }>(`SELECT max(version) AS version FROM ${qualifier}schema_version`);
  return Number(rows[0]?.version ?? 0);
}

async function roleExists(client: Queryable, name: string): Promise<boolean> {
  return (await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).rows.length > 0;
}

/** A permission refusal turned into what to do about it; anything else goes up unchanged. */
async function refusedAs<T>(work: () => Promise<T>, message: string): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if ((error as { code?: string }).code === '42501') throw new TeamSetupError(message);
    throw error;
  }
}
