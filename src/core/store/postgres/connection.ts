/**
 * Connecting to the team database. The URL carries the member's password, so nothing built here
 * ever repeats the URL: errors say what failed in words, and any text that could hold the password
 * (a driver message quoting its input) has it blotted out first.
 */
import { Client, type ClientConfig } from 'pg';
import { passwordsIn, socketFolder, urlShapeProblem } from '../databaseUrl';
import { TEAM_SCHEMA } from './migrations';

/** The team database could not be used: one line for the user, free of the password. */
export class TeamDatabaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TeamDatabaseError';
  }
}

/** What a team-store function needs of a connection: pg's Client, or a pool's client. */
export interface Queryable {
  query<R extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<{ rows: R[]; rowCount: number | null }>;
}

/** PostgreSQL's SQLSTATEs worth their own words. */
const REASONS: Readonly<Record<string, string>> = {
  '28P01': 'password authentication failed',
  '28000': 'the server refused this role (check the user name and pg_hba.conf)',
  '3D000': 'the database does not exist',
  '42501': 'permission denied',
  // A table or view the schema should have: none yet, or an older one.
  '42P01': 'the team database has no Promptloom schema, or an older one (its owner runs promptloom db init)',
  '57P03': 'the server is starting up or shutting down',
  '53300': 'too many connections',
};

const NETWORK: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused (is PostgreSQL running there?)',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  ETIMEDOUT: 'the connection timed out',
  ECONNRESET: 'the connection was reset',
  EHOSTUNREACH: 'host unreachable',
};

/** The parts of a URL worth naming in a message: user, host (or socket folder), port and database, never the password. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    const name = u.username ? decodeURIComponent(u.username) : u.searchParams.get('user');
    const host = u.hostname || socketFolder(u) || '';
    return `${name ? `${name}@` : ''}${host}${u.port ? `:${u.port}` : ''}${u.pathname.length > 1 ? u.pathname : ''}`;
  } catch {
    return 'the database URL';
  }
}

/** Checks the URL's shape before any driver sees it (a driver's parse error may quote it whole). */
export function checkDatabaseUrl(url: string): void {
  const problem = urlShapeProblem(url);
  if (problem) throw new TeamDatabaseError(problem);
}

/**
 * `text` with the URL and its passwords (each as written and decoded) blotted out: for any message
 * from the driver or the server, which may quote what it was given.
 */
export function withoutSecret(text: string, url: string): string {
  let out = text.split(url).join('<database URL>');
  for (const secret of passwordsIn(url)) for (const form of new Set([secret, safeDecode(secret)])) if (form) out = out.split(form).join('***');
  return out;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * The driver's words when the server asks for a password and it has none (the URL gives none,
 * nor PGPASSWORD, nor the editor's secret storage): an internal detail of its SCRAM exchange.
 */
const NO_PASSWORD = /client password must be a string/;

/** Why `error` happened, in one line without the password. */
export function teamErrorMessage(error: unknown, url: string): string {
  const e = error as { code?: string; message?: string } | undefined;
  const reason =
    (e?.code && (REASONS[e.code] ?? NETWORK[e.code])) ??
    (NO_PASSWORD.test(e?.message ?? '') ? 'the server asks for a password and none was given (in the URL, PGPASSWORD, or the editor’s Set Team Database Password)' : undefined) ??
    e?.message ??
    String(error);
  return withoutSecret(`${describeUrl(url)}: ${reason}`.replace(/\s*\n[\s\S]*$/, ''), url);
}

/**
 * A connection to the team database whose tables are found without qualifying them (search_path
 * is the team schema). Fails with a TeamDatabaseError.
 */
/**
 * pg 8 treats sslmode prefer, require and verify-ca as verify-full, and says so in a warning of
 * many lines on every connection. Naming verify-full keeps that behaviour (the safest) and the
 * CLI's output to one line; a URL that opts into libpq's meanings (uselibpqcompat) is left alone.
 */
export function withExplicitSslMode(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url; // checkDatabaseUrl has said what is wrong with it
  }
  const mode = parsed.searchParams.get('sslmode');
  if (!mode || !['prefer', 'require', 'verify-ca'].includes(mode) || parsed.searchParams.has('uselibpqcompat')) return url;
  parsed.searchParams.set('sslmode', 'verify-full');
  return parsed.toString();
}

/** How every connection to the team database is made: the search path, a name, a time limit. */
export function teamConnectionConfig(url: string, options: { connectTimeoutMs?: number; keepAliveMs?: number } = {}): ClientConfig {
  return {
    connectionString: withExplicitSslMode(url),
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    // TCP keep-alive probes after this idle time: a connection that only waits (a listener) would
    // otherwise never learn that a vanished peer is gone.
    ...(options.keepAliveMs !== undefined ? { keepAlive: true, keepAliveInitialDelayMillis: options.keepAliveMs } : {}),
    application_name: 'promptloom',
    options: `-c search_path=${TEAM_SCHEMA}`,
  };
}

export async function connectTeamDatabase(url: string, options: { connectTimeoutMs?: number; keepAliveMs?: number } = {}): Promise<Client> {
  checkDatabaseUrl(url);
  const client = new Client(teamConnectionConfig(url, options));
  // A connection lost later (the server restarted) surfaces on the next query; without a listener
  // the 'error' event would end the process with the driver's message.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    // Not awaited: a client whose socket never opened never ends, and awaiting it left the
    // process with nothing to wait on (the CLI exited 0 without a word).
    void client.end().catch(() => undefined);
    throw new TeamDatabaseError(teamErrorMessage(error, url));
  }
  return client;
}

/** Runs `work` in one transaction: committed when it returns, rolled back when it throws. */
export async function inTransaction<T>(client: Queryable, work: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await work();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
