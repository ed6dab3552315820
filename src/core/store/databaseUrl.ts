/**
 * Which store is in use: the team's PostgreSQL or the workspace database. One rule for the CLI and
 * the editor (issue 16, team-store step 6).
 *
 * The team database's URL carries a member's password, so only the member chooses it: a flag, the
 * environment, or the editor's user setting (read by the extension, which passes it in). A file
 * that came with a cloned repository (`.vscode/settings.json`) never does: it could send the
 * password to its own server. No message built here repeats the URL or any part of it a password
 * could hide in.
 */

export const DATABASE_URL_ENV = 'PROMPTLOOM_DATABASE_URL';
export const DATABASE_URL_SETTING = 'promptloom.database.url';

/** Where a team database's URL came from, in the words status lines use. */
export type DatabaseUrlSource = '--database-url' | typeof DATABASE_URL_ENV | 'the user setting promptloom.database.url';

export type StoreChoice =
  | { readonly store: 'workspace' }
  | { readonly store: 'postgresql'; readonly url: string; readonly from: DatabaseUrlSource };

/** What the caller knows; each empty value counts as not given. */
export interface StoreInputs {
  /** `--database-url` (the CLI). */
  readonly flag?: string | undefined;
  readonly env?: NodeJS.ProcessEnv | undefined;
  /** The editor's `promptloom.database.url`, its user (global) value only. */
  readonly setting?: string | undefined;
}

/** The URL given cannot be a PostgreSQL URL: one line, never quoting it. */
export class DatabaseUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatabaseUrlError';
  }
}

/**
 * The store in use: the first URL given of `--database-url`, `PROMPTLOOM_DATABASE_URL` and the
 * editor's user setting, else the workspace database. A URL given but malformed is an error, not a
 * reason to fall back: the member asked for the team database.
 */
export function chooseStore(inputs: StoreInputs): StoreChoice {
  // An empty flag is most often an unset shell variable (`--database-url "$TEAM_URL"`): falling back
  // to the environment or the workspace would write where the member did not ask.
  if (inputs.flag !== undefined && !inputs.flag.trim()) {
    throw new DatabaseUrlError(`--database-url is empty: give ${EXPECTED}, or leave the flag out for the workspace database`);
  }
  const sources: [DatabaseUrlSource, string | undefined][] = [
    ['--database-url', inputs.flag],
    [DATABASE_URL_ENV, inputs.env?.[DATABASE_URL_ENV]],
    ['the user setting promptloom.database.url', inputs.setting],
  ];
  for (const [from, value] of sources) {
    const url = value?.trim();
    if (url) return { store: 'postgresql', url: checkedUrl(url, from), from };
  }
  return { store: 'workspace' };
}

const EXPECTED = 'postgresql://USER:PASSWORD@HOST:PORT/DATABASE';

/**
 * The URL when it has a PostgreSQL URL's shape; else a DatabaseUrlError naming the source.
 */
export function checkedUrl(url: string, from: DatabaseUrlSource): string {
  const problem = urlShapeProblem(url);
  if (problem) throw new DatabaseUrlError(`${problem} (from ${from})`);
  return url;
}

/**
 * What is wrong with a URL's shape, undefined when it is a PostgreSQL URL. The words name the
 * expected shape, never what was given: not even its scheme, since a password pasted alone
 * ("s3cret:x") parses as a URL whose scheme is the password's first part. One rule for the choice
 * (`checkedUrl`) and for the driver's door (`checkDatabaseUrl`).
 */
export function urlShapeProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // A malformed port or host: the WHATWG parser refuses it; what it saw is not repeated.
    return `the database URL is not a URL: expected ${EXPECTED}`;
  }
  if (parsed.protocol !== 'postgresql:' && parsed.protocol !== 'postgres:') return 'the database URL must start with postgresql:// or postgres://';
  if (!parsed.hostname && !socketFolder(parsed)) return `the database URL names no host: expected ${EXPECTED} (or ${SOCKET_FORM} for a local socket)`;
  if (!queryPortFits(parsed)) return `the database URL's port is not a port number: expected ${EXPECTED}`;
  return undefined;
}

const SOCKET_FORM = 'postgresql:///DATABASE?host=/SOCKET/FOLDER&user=USER';

/**
 * The folder of a local (Unix) socket named by `?host=/folder`, as libpq and pg read it: a server
 * on the same machine, reached without TCP (`postgresql:///promptloom?host=/var/run/postgresql`).
 */
export function socketFolder(parsed: URL): string | undefined {
  const host = parsed.searchParams.get('host');
  return host?.startsWith('/') ? host : undefined;
}

/**
 * Whether a port given in the query string (`?port=`, which the driver's parser takes over the
 * host's) is a port number. The WHATWG parser checks the host's port, not this one; the driver
 * fails to open a socket to "abc" or 99999 in a way that leaves its client never ending.
 */
export function queryPortFits(parsed: URL): boolean {
  const port = parsed.searchParams.get('port');
  return port === null || (/^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535);
}

/**
 * Whether parsed settings (a `.vscode/settings.json`) name the setting, flat or nested, with any
 * value: such a value is ignored, and the member is told why the URL they see there does nothing.
 */
export function namesDatabaseUrl(settings: unknown): boolean {
  if (!settings || typeof settings !== 'object') return false;
  const flat = (settings as Record<string, unknown>)[DATABASE_URL_SETTING];
  const nested = (settings as { promptloom?: { database?: { url?: unknown } } }).promptloom?.database?.url;
  return flat !== undefined || nested !== undefined;
}

/** Whether the URL carries a password of its own (before the host, or as `?password=`). */
export function hasPassword(url: string): boolean {
  return passwordsIn(url).length > 0;
}

/** The passwords a URL holds, as written: before the host and in the query string (`?password=`). */
export function passwordsIn(url: string): string[] {
  try {
    const parsed = new URL(url);
    // The query's as written (searchParams would decode it): callers blot out the decoded form too.
    const inQuery = parsed.search
      .slice(1)
      .split('&')
      .filter((pair) => pair.startsWith('password='))
      .map((pair) => pair.slice('password='.length));
    return [parsed.password, ...inQuery, parsed.searchParams.get('password') ?? ''].filter((p) => p !== '');
  } catch {
    return [];
  }
}

/**
 * A password-less URL with the password kept apart (the editor's secret storage): the URL as the
 * driver needs it. A URL with its own password, or no stored password, is left as it is.
 */
export function withPassword(url: string, password: string | undefined): string {
  if (!password || hasPassword(url)) return url;
  const parsed = new URL(url);
  if (parsed.username) {
    // Encoded whole: the URL setter leaves '%' as it is, and the driver decodes the password it
    // reads, so "rd%41" would reach the server as "rdA".
    parsed.password = encodeURIComponent(password);
  } else if (parsed.searchParams.has('user')) {
    // The socket form names its user in the query string; the password goes beside it.
    parsed.searchParams.set('password', password);
  }
  // Else no user name for a password to go with.
  return parsed.toString();
}
