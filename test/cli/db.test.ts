/**
 * `promptloom db init | status | push` as users run them (the built CLI), against a real
 * PostgreSQL started for this file.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { SCHEMA_VERSION } from '../../src/core/store';
import { PG_MIGRATIONS, TEAM_SCHEMA_VERSION } from '../../src/core/store/postgres/migrations';
import { promptloom, workspace, type Run } from '../helpers/cli';
import { startPostgres, type PostgresServer } from '../helpers/postgres';
import { contentsOf, fillWorkspace } from '../helpers/teamWorkspace';

/** Passwords no other output could contain by chance. */
const OWNER_PASSWORD = 'Own3r-pa55-zq';
const ALICE_PASSWORD = 'al1ce-S3cret-qx';

/** The CLI with no team database in its environment but what a test gives. */
function run(args: readonly string[], env: Readonly<Record<string, string>> = {}): Run {
  return promptloom(args, { env: { PROMPTLOOM_DATABASE_URL: '', ...env } });
}

function assertOneLine(result: Run, pattern: RegExp, secret?: string): void {
  assert.equal(result.code, 2, result.stderr);
  assert.equal(result.stdout, '');
  assert.equal(result.stderr.trimEnd().split('\n').length, 1, result.stderr);
  assert.match(result.stderr.trimEnd(), pattern);
  assert.doesNotMatch(result.stderr, /internal error/);
  if (secret) for (const text of [result.stdout, result.stderr]) assert.ok(!text.includes(secret), `the password appears in: ${text}`);
}

describe('promptloom db (a real PostgreSQL)', function () {
  this.timeout(60_000);
  let server: PostgresServer;
  let ownerUrl: string;
  let aliceUrl: string;

  before(async () => {
    server = await startPostgres();
    await server.createTeam(OWNER_PASSWORD, { alice: ALICE_PASSWORD });
    ownerUrl = server.url('team_owner', OWNER_PASSWORD, 'team');
    aliceUrl = server.url('alice', ALICE_PASSWORD, 'team');
  });

  after(() => server?.dispose());

  it('db init creates the schema and the role; run again, it changes nothing', async () => {
    const first = run(['db', 'init', '--database-url', ownerUrl]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, `team database team_owner@127.0.0.1:${server.port}/team: schema version ${TEAM_SCHEMA_VERSION} (was none); role promptloom_member created\n`);
    // The owner's URL from the environment this time.
    const second = run(['db', 'init'], { PROMPTLOOM_DATABASE_URL: ownerUrl });
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout, `team database team_owner@127.0.0.1:${server.port}/team: schema version ${TEAM_SCHEMA_VERSION}, already up to date; role promptloom_member exists\n`);
    for (const result of [first, second]) assert.ok(!(result.stdout + result.stderr).includes(OWNER_PASSWORD));
    const client = new Client({ connectionString: server.adminUrl('team') });
    await client.connect();
    try {
      const versions = await client.query('SELECT version FROM promptloom.schema_version');
      assert.equal(versions.rowCount, PG_MIGRATIONS.length);
    } finally {
      await client.end();
    }
  });

  it('db status: the workspace database by default, PostgreSQL with a URL, with its version and member', async () => {
    await server.admin(['GRANT promptloom_member TO alice']);
    const empty = workspace({});
    const none = run(['db', 'status', '--workspace', empty]);
    assert.equal(none.code, 0, none.stderr);
    assert.match(none.stdout, /^store: workspace database .*promptloom\.db\nschema version: none yet \(this release: \d+\)\n$/);

    const dir = await fillWorkspace();
    const local = run(['db', 'status', '--workspace', dir, '--format', 'json']);
    assert.equal(local.code, 0, local.stderr);
    assert.deepEqual(JSON.parse(local.stdout), { store: 'workspace', location: join(dir, '.promptloom', 'promptloom.db'), from: null, schemaVersion: SCHEMA_VERSION, latestSchemaVersion: SCHEMA_VERSION, member: null });

    const team = run(['db', 'status', '--database-url', aliceUrl]);
    assert.equal(team.code, 0, team.stderr);
    assert.equal(team.stdout, `store: PostgreSQL (team) alice@127.0.0.1:${server.port}/team (from --database-url)\nschema version: ${TEAM_SCHEMA_VERSION} (this release: ${TEAM_SCHEMA_VERSION})\nmember: alice\n`);
    assert.ok(!(team.stdout + team.stderr).includes(ALICE_PASSWORD));
    // The flag wins over the environment; the environment alone chooses too, and says so.
    const both = run(['db', 'status', '--database-url', aliceUrl, '--format', 'json'], { PROMPTLOOM_DATABASE_URL: 'postgresql://nobody:x@127.0.0.1:1/none' });
    assert.equal(both.code, 0, both.stderr);
    assert.deepEqual(JSON.parse(both.stdout), { store: 'postgresql', location: `alice@127.0.0.1:${server.port}/team`, from: '--database-url', schemaVersion: TEAM_SCHEMA_VERSION, latestSchemaVersion: TEAM_SCHEMA_VERSION, member: 'alice' });
    const viaEnv = run(['db', 'status'], { PROMPTLOOM_DATABASE_URL: aliceUrl });
    assert.match(viaEnv.stdout, /^store: PostgreSQL \(team\) alice@.* \(from PROMPTLOOM_DATABASE_URL\)\n/);
  });

  it('db status and stats through the server’s local socket (postgresql:///DATABASE?host=/folder), the password in the query never shown', async () => {
    await server.admin(['GRANT promptloom_member TO alice']);
    const socketUrl = `postgresql:///team?host=${encodeURIComponent(server.root)}&port=${server.port}&user=alice&password=${encodeURIComponent(ALICE_PASSWORD)}`;
    const status = run(['db', 'status', '--database-url', socketUrl]);
    assert.equal(status.code, 0, status.stderr);
    assert.equal(status.stdout, `store: PostgreSQL (team) alice@${server.root}/team (from --database-url)\nschema version: ${TEAM_SCHEMA_VERSION} (this release: ${TEAM_SCHEMA_VERSION})\nmember: alice\n`);
    const stats = run(['stats', '--format', 'json'], { PROMPTLOOM_DATABASE_URL: socketUrl });
    assert.equal(stats.code, 0, stats.stderr);
    const wrong = run(['db', 'status', '--database-url', socketUrl.replace(encodeURIComponent(ALICE_PASSWORD), 'Wr0ng-pw-42')]);
    assertOneLine(wrong, /^promptloom: alice@.*\/team: password authentication failed$/, 'Wr0ng-pw-42');
    for (const r of [status, stats]) assert.ok(!(r.stdout + r.stderr).includes(ALICE_PASSWORD));
  });

  it('a database URL in the workspace’s settings is never used', async () => {
    const dir = await fillWorkspace();
    mkdirSync(join(dir, '.vscode'), { recursive: true });
    writeFileSync(join(dir, '.vscode', 'settings.json'), JSON.stringify({ 'promptloom.database.url': aliceUrl }));
    const result = run(['db', 'status', '--workspace', dir]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^store: workspace database /);
    assert.equal(result.stderr, 'promptloom: ignored promptloom.database.url in .vscode/settings.json: the team database comes only from --database-url, PROMPTLOOM_DATABASE_URL or the editor\'s user settings\n');
    // Nested, as some write it: the same.
    writeFileSync(join(dir, '.vscode', 'settings.json'), JSON.stringify({ promptloom: { database: { url: aliceUrl } } }));
    assert.match(run(['db', 'status', '--workspace', dir]).stderr, /ignored promptloom\.database\.url/);
    const pushed = run(['db', 'push', '--workspace', dir]);
    assertOneLine(pushed, /^promptloom: db push needs the team database: --database-url .* or PROMPTLOOM_DATABASE_URL$/);
  });

  it('db push copies the workspace; pushing twice adds nothing', async () => {
    const dir = await fillWorkspace({ path: 'cli-push.prompt' });
    const local = await contentsOf(dir);
    const first = run(['db', 'push', '--workspace', dir, '--database-url', aliceUrl, '--format', 'json']);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(JSON.parse(first.stdout), { member: 'alice', added: local });
    const second = run(['db', 'push', '--workspace', dir], { PROMPTLOOM_DATABASE_URL: aliceUrl });
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout, `pushed ${dir} to alice@127.0.0.1:${server.port}/team as alice: nothing new\n`);
    for (const result of [first, second]) assert.ok(!(result.stdout + result.stderr).includes(ALICE_PASSWORD));
  });

  it('a wrong password: one line, exit 2, the password never echoed', async () => {
    const wrong = 'Wr0ng-pa55word-kv';
    for (const args of [['db', 'status'], ['db', 'init'], ['db', 'push', '--workspace', await fillWorkspace()]]) {
      const result = run([...args, '--database-url', server.url('alice', wrong, 'team')]);
      assertOneLine(result, new RegExp(`^promptloom: alice@127\\.0\\.0\\.1:${server.port}/team: password authentication failed$`), wrong);
    }
    // Through the environment too.
    const viaEnv = run(['db', 'status'], { PROMPTLOOM_DATABASE_URL: server.url('alice', wrong, 'team') });
    assertOneLine(viaEnv, /password authentication failed/, wrong);
  });

  it('a wrong URL: one line, exit 2, the password never echoed', async () => {
    const secret = 'N0t-echoed-77';
    const nobody = run(['db', 'status', '--database-url', `postgresql://alice:${secret}@127.0.0.1:1/team`]);
    assertOneLine(nobody, /^promptloom: alice@127\.0\.0\.1:1\/team: connection refused/, secret);
    const noDatabase = run(['db', 'status', '--database-url', server.url('alice', ALICE_PASSWORD, 'nonesuch')]);
    assertOneLine(noDatabase, /^promptloom: alice@127\.0\.0\.1:\d+\/nonesuch: the database does not exist$/, ALICE_PASSWORD);
    const notPostgres = run(['db', 'status', '--database-url', `mysql://alice:${secret}@127.0.0.1/team`]);
    assertOneLine(notPostgres, /^promptloom: the database URL must start with postgresql:\/\/ or postgres:\/\/ \(from --database-url\)$/, secret);
    const garbled = run(['db', 'status', '--database-url', `alice:${secret}`]);
    assertOneLine(garbled, /^promptloom: the database URL/, secret);
    // A password pasted alone parses as a URL whose scheme is its first part: never quoted.
    const pasted = run(['db', 'push', '--workspace', await fillWorkspace()], { PROMPTLOOM_DATABASE_URL: `${secret}:x` });
    assertOneLine(pasted, /^promptloom: the database URL must start with postgresql:\/\/ or postgres:\/\/ \(from PROMPTLOOM_DATABASE_URL\)$/, secret.toLowerCase());
    const badPort = run(['db', 'status', '--database-url', `postgresql://alice:${secret}@127.0.0.1:54x2/team`]);
    assertOneLine(badPort, /^promptloom: the database URL is not a URL: expected postgresql:\/\/USER:PASSWORD@HOST:PORT\/DATABASE \(from --database-url\)$/, secret);
    // An empty flag (an unset shell variable) must not fall back to the environment's team
    // database or to the workspace: either would write where the member did not ask.
    for (const args of [['db', 'status'], ['stats'], ['conversations']]) {
      const empty = run([...args, '--database-url', ''], { PROMPTLOOM_DATABASE_URL: server.url('alice', ALICE_PASSWORD, 'team') });
      assertOneLine(empty, /^promptloom: --database-url is empty: give postgresql:\/\/USER:PASSWORD@HOST:PORT\/DATABASE, or leave the flag out for the workspace database$/, ALICE_PASSWORD);
    }
    // A port in the query string (the driver's parser takes it over the host's): the driver could
    // not open a socket to it, and the CLI exited 0 with no output at all.
    for (const port of ['abc', '99999']) {
      for (const args of [['db', 'status'], ['stats'], ['conversations']]) {
        const queryPort = run([...args, '--database-url', `postgresql://alice:${secret}@127.0.0.1:${server.port}/team?port=${port}`]);
        assertOneLine(queryPort, /^promptloom: the database URL's port is not a port number: expected postgresql:\/\/USER:PASSWORD@HOST:PORT\/DATABASE \(from --database-url\)$/, secret);
      }
    }
  });

  it('db push before db init, or by a role that is no member: one line saying what to do', async () => {
    await server.admin(['CREATE DATABASE bare', `CREATE ROLE dave LOGIN PASSWORD 'dave-pw-123'`]);
    const dir = await fillWorkspace();
    const bare = run(['db', 'push', '--workspace', dir, '--database-url', server.url('alice', ALICE_PASSWORD, 'bare')]);
    assertOneLine(bare, /^promptloom: the team database has no Promptloom schema: its owner runs promptloom db init first$/, ALICE_PASSWORD);
    const dave = run(['db', 'push', '--workspace', dir, '--database-url', server.url('dave', 'dave-pw-123', 'team')]);
    assertOneLine(dave, /^promptloom: dave is not a member of promptloom_member: an admin runs GRANT promptloom_member TO dave;$/, 'dave-pw-123');
    // db init by a role without the rights it needs: what to ask the admin for, and nothing made.
    const init = run(['db', 'init', '--database-url', server.url('alice', ALICE_PASSWORD, 'bare')]);
    assertOneLine(init, /^promptloom: creating the schema promptloom needs CREATE on the database \(an admin runs: GRANT CREATE ON DATABASE <db> TO <owner>\)$/, ALICE_PASSWORD);
    const status = run(['db', 'status', '--database-url', server.url('alice', ALICE_PASSWORD, 'bare'), '--format', 'json']);
    assert.equal(JSON.parse(status.stdout).schemaVersion, 0);
  });
});
