/**
 * Which store the editor uses (team-store step 6), against a real PostgreSQL started in this
 * extension host: `promptloom.database.url` counts from user settings only, a workspace's value is
 * ignored however valid, the password may live in secret storage, and Show Database Status gives
 * the facts `promptloom db status` gives, never the password.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { SCHEMA_VERSION } from '../../src/core/store';
import { connectTeamDatabase } from '../../src/core/store/postgres/connection';
import { TEAM_SCHEMA_VERSION } from '../../src/core/store/postgres/migrations';
import { initTeamDatabase } from '../../src/core/store/postgres/setup';
import { startPostgres, type PostgresServer } from '../helpers/postgres';
import { workspaceFile } from './helpers';

const OWNER_PASSWORD = 'Own3r-host-pw-zq';
const ALICE_PASSWORD = 'al1ce-host-S3cret-qx';

type Status = Record<string, unknown>;

const status = (): Thenable<Status> => vscode.commands.executeCommand<Status>('promptloom.showDatabaseStatus');
const setPassword = (password: string): Thenable<boolean> => vscode.commands.executeCommand<boolean>('promptloom.setTeamDatabasePassword', password);
const config = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('promptloom');

/** `promptloom db status --format json` (the built CLI beside this bundle), as a terminal would run it. */
function cliStatus(args: readonly string[], url = ''): Status {
  const cli = join(__dirname, '..', 'cli.js');
  const result = spawnSync(process.execPath, [cli, 'db', 'status', '--format', 'json', ...args], { encoding: 'utf8', env: { ...process.env, ELECTRON_RUN_AS_NODE: '1', PROMPTLOOM_DATABASE_URL: url } });
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as Status;
}

/** Writes the workspace's `.vscode/settings.json` with `values` added; returns how to put it back. */
function addWorkspaceSettings(values: Readonly<Record<string, unknown>>): () => void {
  const file = workspaceFile('.vscode/settings.json').fsPath;
  const before = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, JSON.stringify({ ...(before ? (JSON.parse(before) as object) : {}), ...values }, null, 2));
  return () => (before === undefined ? rmSync(file, { force: true }) : writeFileSync(file, before));
}

function assertNoSecret(value: unknown, ...secrets: string[]): void {
  const text = JSON.stringify(value);
  for (const secret of secrets) assert.ok(!text.includes(secret), `the password appears in ${text}`);
}

describe('the store in use (Show Database Status)', function () {
  this.timeout(120_000);
  let server: PostgresServer;
  let aliceUrl: string;

  before(async () => {
    server = await startPostgres();
    await server.createTeam(OWNER_PASSWORD, { alice: ALICE_PASSWORD });
    const owner = await connectTeamDatabase(server.url('team_owner', OWNER_PASSWORD, 'team'));
    try {
      await initTeamDatabase(owner);
    } finally {
      await owner.end();
    }
    await server.admin(['GRANT promptloom_member TO alice']);
    aliceUrl = server.url('alice', ALICE_PASSWORD, 'team');
  });

  after(async () => {
    await config().update('database.url', undefined, vscode.ConfigurationTarget.Global);
    await setPassword('');
    server?.dispose();
  });

  it('a workspace’s promptloom.database.url is ignored, even a working one: the workspace database is in use', async () => {
    const restore = addWorkspaceSettings({ 'promptloom.database.url': aliceUrl });
    try {
      const result = await status();
      assert.equal(result.store, 'workspace');
      assert.equal(result.ignoredWorkspaceSetting, true);
      assert.equal(result.member, null);
      assertNoSecret(result, ALICE_PASSWORD, '127.0.0.1');
      // VS Code itself keeps a machine setting out of the workspace's values.
      assert.equal(vscode.workspace.getConfiguration().inspect('promptloom.database.url')?.globalValue, undefined);
    } finally {
      restore();
    }
  });

  it('the workspace database: the same facts as promptloom db status', async () => {
    const result = await status();
    const folder = vscode.workspace.workspaceFolders![0]!.uri.fsPath;
    assert.deepEqual(Object.keys(result).sort(), ['from', 'ignoredWorkspaceSetting', 'latestSchemaVersion', 'location', 'member', 'schemaVersion', 'store']);
    assert.equal(result.ignoredWorkspaceSetting, false);
    assert.equal(result.location, join(folder, '.promptloom', 'promptloom.db'));
    assert.equal(result.latestSchemaVersion, SCHEMA_VERSION);
    assert.ok(result.schemaVersion === 0 || result.schemaVersion === SCHEMA_VERSION, String(result.schemaVersion));
    const { ignoredWorkspaceSetting: _ignored, ...facts } = result;
    assert.deepEqual(facts, cliStatus(['--workspace', folder]));
  });

  it('a user setting without a password, the password in secret storage: the team database, its schema and member', async () => {
    await config().update('database.url', `postgresql://alice@${server.host}:${server.port}/team`, vscode.ConfigurationTarget.Global);
    await setPassword(ALICE_PASSWORD);
    const result = await status();
    assert.deepEqual(result, {
      store: 'postgresql',
      location: `alice@127.0.0.1:${server.port}/team`,
      from: 'the user setting promptloom.database.url',
      schemaVersion: TEAM_SCHEMA_VERSION,
      latestSchemaVersion: TEAM_SCHEMA_VERSION,
      member: 'alice',
      ignoredWorkspaceSetting: false,
    });
    // The CLI with the same database says the same, but for what chose it.
    const { ignoredWorkspaceSetting: _ignored, ...facts } = result;
    assert.deepEqual(cliStatus([], aliceUrl), { ...facts, from: 'PROMPTLOOM_DATABASE_URL' });
  });

  it('a wrong password, or a malformed URL: one line, never the password', async () => {
    await setPassword('Wr0ng-host-pa55');
    const wrong = await status();
    assert.deepEqual(wrong, { error: `team database: alice@127.0.0.1:${server.port}/team: password authentication failed`, ignoredWorkspaceSetting: false });
    await setPassword('');
    const secret = 'N0t-shown-host-77';
    await config().update('database.url', `postgresql://alice:${secret}@127.0.0.1:54x2/team`, vscode.ConfigurationTarget.Global);
    const malformed = await status();
    assert.deepEqual(malformed, { error: 'the database URL is not a URL: expected postgresql://USER:PASSWORD@HOST:PORT/DATABASE (from the user setting promptloom.database.url)', ignoredWorkspaceSetting: false });
    assertNoSecret([wrong, malformed], 'Wr0ng-host-pa55', secret);
  });
});
