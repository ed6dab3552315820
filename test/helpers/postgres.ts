/**
 * A real PostgreSQL server for tests: Debian's `postgresql` package, a throw-away data folder, a
 * free port on 127.0.0.1, scram passwords over TCP (so tests connect as different roles, each with
 * its own password, as a team would). PostgreSQL refuses to run as root, so under root (CI) the
 * server runs as the `postgres` system user, created when missing.
 *
 * One server per test file: `startPostgres()` in before(), `server.dispose()` in after(). Nothing
 * here depends on mocha: bench/teamStore.ts starts its server the same way.
 */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { connectTeamDatabase } from '../../src/core/store/postgres/connection';
import { initTeamDatabase } from '../../src/core/store/postgres/setup';

/** The bootstrap superuser of the test cluster. */
const SUPERUSER = 'promptloom_test_admin';

/** Servers not yet disposed: stopped when the test process exits without its after() hooks. */
const live = new Set<PostgresServer>();
process.on('exit', () => {
  for (const server of live) server.dispose();
});

export class PostgresServer {
  readonly host = '127.0.0.1';
  private running = false;

  private constructor(
    private readonly bin: string,
    private readonly runAs: { user: string; uid: number; gid: number } | undefined,
    readonly root: string,
    readonly port: number,
    readonly superuserPassword: string,
  ) {}

  /** Creates a cluster in a new temporary folder and starts it. */
  static async start(): Promise<PostgresServer> {
    const bin = postgresBinDir();
    const runAs = process.getuid?.() === 0 ? systemUser('postgres') : undefined;
    const root = mkdtempSync(join(tmpdir(), 'promptloom-pg-'));
    const password = `admin-${Math.random().toString(36).slice(2)}`;
    const server = new PostgresServer(bin, runAs, root, await freePort(), password);
    try {
      writeFileSync(join(root, 'pwfile'), `${password}\n`, { mode: 0o600 });
      if (runAs) for (const path of [root, join(root, 'pwfile')]) chownSync(path, runAs.uid, runAs.gid);
      server.run('initdb', ['-D', server.dataDir, '-U', SUPERUSER, `--pwfile=${join(root, 'pwfile')}`, '--auth-local=scram-sha-256', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync']);
      // Only TCP on 127.0.0.1 and a socket in our own folder (not /var/run/postgresql); fsync off:
      // a test cluster survives a clean or fast stop, never a power cut.
      writeFileSync(
        join(server.dataDir, 'postgresql.auto.conf'),
        `port = ${server.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '${root}'\nfsync = off\nfull_page_writes = off\nsynchronous_commit = off\n`,
      );
      if (runAs) chownSync(join(server.dataDir, 'postgresql.auto.conf'), runAs.uid, runAs.gid);
      live.add(server);
      server.startServer();
      return server;
    } catch (error) {
      server.dispose();
      throw error;
    }
  }

  get dataDir(): string {
    return join(this.root, 'data');
  }

  /** A connection URL for `user` with `password` to `database`. */
  url(user: string, password: string, database = 'postgres'): string {
    return `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${this.host}:${this.port}/${encodeURIComponent(database)}`;
  }

  /** The superuser's URL: for setting up roles and databases, as an admin would. */
  adminUrl(database = 'postgres'): string {
    return this.url(SUPERUSER, this.superuserPassword, database);
  }

  /** Runs statements as the superuser, one connection, closed after. */
  async admin(sql: readonly string[], database = 'postgres'): Promise<void> {
    const client = new Client({ connectionString: this.adminUrl(database) });
    await client.connect();
    try {
      for (const statement of sql) await client.query(statement);
    } finally {
      await client.end();
    }
  }

  /**
   * A team's roles, as the README has an admin make them: the owner (who runs `db init`), the
   * database `team` it owns, and one login role per member (`name: password`).
   */
  async createTeam(ownerPassword: string, members: Readonly<Record<string, string>>): Promise<void> {
    await this.admin([
      `CREATE ROLE team_owner LOGIN CREATEROLE PASSWORD '${ownerPassword}'`,
      'CREATE DATABASE team OWNER team_owner',
      ...Object.entries(members).map(([name, password]) => `CREATE ROLE ${name} LOGIN PASSWORD '${password}'`),
    ]);
  }

  /**
   * A team ready to use, as `promptloom db init` and an admin's GRANT leave it: `createTeam`, the
   * schema brought up to date by the owner, and every member granted `promptloom_member`.
   */
  async startTeam(ownerPassword: string, members: Readonly<Record<string, string>>): Promise<void> {
    await this.createTeam(ownerPassword, members);
    const owner = await connectTeamDatabase(this.url('team_owner', ownerPassword, 'team'));
    try {
      await initTeamDatabase(owner);
    } finally {
      await owner.end();
    }
    await this.admin([`GRANT promptloom_member TO ${Object.keys(members).join(', ')}`]);
  }

  /** Stops the server (fast: open sessions are ended) and starts it again on the same port. */
  restart(): void {
    this.stopServer();
    this.startServer();
  }

  /** Stops the server and removes its folder; safe to call twice. */
  dispose(): void {
    live.delete(this);
    try {
      if (this.running) this.stopServer();
    } finally {
      rmSync(this.root, { recursive: true, force: true });
    }
  }

  stopServer(): void {
    this.run('pg_ctl', ['-D', this.dataDir, '-m', 'fast', '-w', '-t', '60', 'stop']);
    this.running = false;
  }

  startServer(): void {
    // -w waits until the server accepts connections (or fails, with its log below).
    const log = join(this.root, 'server.log');
    const started = this.run('pg_ctl', ['-D', this.dataDir, '-l', log, '-w', '-t', '60', 'start'], false);
    if (started.status !== 0) throw new Error(`PostgreSQL did not start: ${started.stderr}\n${existsSync(log) ? readFileSync(log, 'utf8') : ''}`);
    this.running = true;
  }

  private run(tool: string, args: readonly string[], check = true): { status: number | null; stderr: string } {
    const command = join(this.bin, tool);
    const options: SpawnSyncOptions = { cwd: this.root, encoding: 'utf8', timeout: 120_000 };
    const result = this.runAs ? spawnSync('runuser', ['-u', this.runAs.user, '--', command, ...args], options) : spawnSync(command, args, options);
    const stderr = String(result.stderr ?? '') + (result.error ? String(result.error) : '');
    if (check && result.status !== 0) throw new Error(`${tool} ${args.join(' ')} failed (${result.status}): ${stderr}${String(result.stdout ?? '')}`);
    return { status: result.status, stderr };
  }
}

export function startPostgres(): Promise<PostgresServer> {
  return PostgresServer.start();
}

/** The newest /usr/lib/postgresql/<version>/bin holding initdb (Debian's layout), else PATH's. */
export function postgresBinDir(): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base)
    ? readdirSync(base)
        .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
        .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a))
    : [];
  if (versions[0]) return join(base, versions[0], 'bin');
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  const initdb = which.stdout.trim();
  if (which.status === 0 && initdb) return join(initdb, '..');
  throw new Error('PostgreSQL is not installed: no initdb under /usr/lib/postgresql/*/bin nor on PATH (apt-get install postgresql)');
}

/** A system user to run the server as: `name` if it exists, else created (no home, no login). */
function systemUser(name: string): { user: string; uid: number; gid: number } {
  let id = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  if (id.status !== 0) {
    const created = spawnSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name], { encoding: 'utf8' });
    if (created.status !== 0) throw new Error(`cannot create the system user ${name}: ${created.stderr}`);
    id = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  }
  const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  return { user: name, uid: Number(id.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** A port nobody listens on now (the OS picks it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Raw SQL as `url`'s role, outside the CLI's queries, on a connection of its own. The search path
 * is the team schema's, as the CLI's connections have it (its trigger functions name its tables
 * unqualified). The rows, with how many rows the statement changed.
 */
export async function queryAs(url: string, sql: string, params: unknown[] = []): Promise<Record<string, unknown>[] & { changed: number }> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SET search_path = promptloom');
    const result = await client.query(sql, params);
    // Not enumerable: the rows compare equal to plain arrays of rows.
    return Object.defineProperty(result.rows as Record<string, unknown>[], 'changed', { value: result.rowCount ?? 0, enumerable: false }) as Record<string, unknown>[] & { changed: number };
  } finally {
    await client.end();
  }
}
