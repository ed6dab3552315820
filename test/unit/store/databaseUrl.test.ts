/**
 * Which store is in use (team-store step 6): the order of the sources, the shape check, and the
 * password kept out of every message.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseConnectionString } from 'pg-connection-string';
import { SETTING_KEYS } from '../../../src/core/generation/settings';
import { checkDatabaseUrl, TeamDatabaseError } from '../../../src/core/store/postgres/connection';
import { chooseStore, DATABASE_URL_SETTING, DatabaseUrlError, hasPassword, namesDatabaseUrl, withPassword } from '../../../src/core/store/databaseUrl';
import { statusLines, workspaceStoreStatus } from '../../../src/core/store/storeStatus';

const FLAG = 'postgresql://flag@db.example:5432/team';
const ENV = 'postgres://env@db.example/team';
const SETTING = 'postgresql://setting@db.example/team';

/** The message `work` throws. */
function messageOf(work: () => unknown): string {
  try {
    work();
  } catch (error) {
    return (error as Error).message;
  }
  assert.fail('expected an error');
}

describe('the store in use', () => {
  it('--database-url, then PROMPTLOOM_DATABASE_URL, then the user setting, then the workspace database', () => {
    const env = { PROMPTLOOM_DATABASE_URL: ENV };
    assert.deepEqual(chooseStore({ flag: FLAG, env, setting: SETTING }), { store: 'postgresql', url: FLAG, from: '--database-url' });
    assert.deepEqual(chooseStore({ env, setting: SETTING }), { store: 'postgresql', url: ENV, from: 'PROMPTLOOM_DATABASE_URL' });
    assert.deepEqual(chooseStore({ env: {}, setting: SETTING }), { store: 'postgresql', url: SETTING, from: 'the user setting promptloom.database.url' });
    assert.deepEqual(chooseStore({ env: {} }), { store: 'workspace' });
    assert.deepEqual(chooseStore({}), { store: 'workspace' });
  });

  it('an empty (or blank) environment variable or setting counts as not given', () => {
    assert.deepEqual(chooseStore({ env: { PROMPTLOOM_DATABASE_URL: '  ' }, setting: SETTING }).store, 'postgresql');
    assert.deepEqual(chooseStore({ env: { PROMPTLOOM_DATABASE_URL: '' }, setting: '' }), { store: 'workspace' });
  });

  it('an empty --database-url is an error, not a fall back (an unset shell variable would write elsewhere)', () => {
    for (const flag of ['', '   ']) {
      assert.throws(() => chooseStore({ flag, env: { PROMPTLOOM_DATABASE_URL: FLAG } }), (e: unknown) => e instanceof DatabaseUrlError && /^--database-url is empty: give postgresql:\/\/USER:PASSWORD@HOST:PORT\/DATABASE, or leave the flag out/.test(e.message));
    }
  });

  it('a malformed URL given first is an error naming its source, not a fall back to the next', () => {
    assert.throws(() => chooseStore({ flag: 'mysql://a@h/d', setting: SETTING }), (e: unknown) => e instanceof DatabaseUrlError && /must start with postgresql:\/\/ or postgres:\/\/ \(from --database-url\)$/.test(e.message));
    assert.throws(() => chooseStore({ env: { PROMPTLOOM_DATABASE_URL: 'postgresql:///team' } }), /names no host: .* \(from PROMPTLOOM_DATABASE_URL\)$/);
  });

  it('no message repeats the password, whatever is wrong with the URL', () => {
    const secret = 'S3cr3t-pw-zq';
    const given = [
      `postgresql://alice:${secret}@db.example:54x2/team`, // malformed port
      `postgresql://alice:${secret}@db.example:99999/team`, // port out of range
      `postgresql://alice:${secret}@/team`, // no host
      `mysql://alice:${secret}@db.example/team`, // another scheme
      `${secret}:rest`, // a password pasted alone: its first part parses as the scheme
      `alice:${secret}`,
      `postgresql://alice:${secret}/team`, // the host forgotten: the password would be the port
    ];
    for (const url of given) {
      for (const source of [{ flag: url }, { env: { PROMPTLOOM_DATABASE_URL: url } }, { setting: url }]) {
        const message = messageOf(() => chooseStore(source));
        assert.ok(!message.includes(secret), `the password appears in: ${message}`);
        assert.ok(!message.includes('alice'), `a part of the URL appears in: ${message}`);
        assert.match(message, /^the database URL /);
      }
    }
  });

  it('the driver-level check never quotes the scheme either, which a password pasted alone is the start of; the choice is checked first', () => {
    const secret = 'S3cr3t-pw-zq';
    const driverLevel = messageOf(() => checkDatabaseUrl(`${secret}:rest`));
    assert.ok(!driverLevel.toLowerCase().includes(secret.toLowerCase()), driverLevel);
    assert.throws(() => checkDatabaseUrl(`${secret}:rest`), TeamDatabaseError);
    assert.throws(() => chooseStore({ flag: `${secret}:rest` }), DatabaseUrlError);
  });
});

describe('a port given in the query string (the driver reads it over the host’s)', () => {
  it('must be a port number: the driver could not connect, and its client never ended', () => {
    for (const port of ['abc', '99999', '0', '-1', '']) {
      const url = `postgresql://alice:pw@db.example:5432/team?port=${port}`;
      assert.throws(() => chooseStore({ flag: url }), (e: Error) => e instanceof DatabaseUrlError && /port is not a port number/.test(e.message), port);
      assert.throws(() => checkDatabaseUrl(url), TeamDatabaseError, port);
    }
    assert.equal(chooseStore({ flag: 'postgresql://alice:pw@db.example/team?port=6432' }).store, 'postgresql');
    checkDatabaseUrl('postgresql://alice:pw@db.example/team?port=6432');
  });
});

describe('a password kept apart from the URL (the editor’s secret storage)', () => {
  it('joins a password-less URL with a user name; a URL with its own password keeps it', () => {
    const joined = withPassword('postgresql://alice@db.example:5432/team?sslmode=verify-full', 'p@ss:w/rd');
    assert.ok(hasPassword(joined));
    assert.equal(decodeURIComponent(new URL(joined).password), 'p@ss:w/rd');
    assert.equal(new URL(joined).host, 'db.example:5432');
    assert.equal(new URL(joined).search, '?sslmode=verify-full');
    assert.equal(withPassword('postgresql://alice:own@db.example/team', 'other'), 'postgresql://alice:own@db.example/team');
    assert.equal(withPassword('postgresql://alice@db.example/team', undefined), 'postgresql://alice@db.example/team');
    // No user name: nothing to log in as with it.
    assert.equal(withPassword('postgresql://db.example/team', 'pw'), 'postgresql://db.example/team');
  });

  it('joins the password as the driver will read it back, whatever it holds (a "%41" stays "%41", not "A")', () => {
    for (const password of ['p@ss:w/rd%41?x', '50%off', '100%', 'a b#c&d=e', "quo'te\"back\\slash", 'ünï€ode']) {
      assert.equal(parseConnectionString(withPassword('postgresql://alice@db.example:5432/team', password)).password, password, password);
    }
  });
});

describe('status lines', () => {
  it('name the store and what chose it, the schema version and the member', () => {
    assert.deepEqual(statusLines(workspaceStoreStatus('/w/.promptloom/promptloom.db', 0, 12)), ['store: workspace database /w/.promptloom/promptloom.db', 'schema version: none yet (this release: 12)']);
    assert.deepEqual(statusLines({ store: 'postgresql', location: 'alice@db:5432/team', from: 'PROMPTLOOM_DATABASE_URL', schemaVersion: 3, latestSchemaVersion: 3, member: 'alice' }), [
      'store: PostgreSQL (team) alice@db:5432/team (from PROMPTLOOM_DATABASE_URL)',
      'schema version: 3 (this release: 3)',
      'member: alice',
    ]);
  });
});

describe('the editor setting promptloom.database.url', () => {
  it('is contributed with scope machine (VS Code refuses it in workspace and folder settings), and is no generation setting (which the CLI reads from .vscode/settings.json)', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '../../../package.json'), 'utf8')) as { contributes: { configuration: { properties: Record<string, { scope?: string; type?: string }> }[] } };
    const properties = Object.assign({}, ...pkg.contributes.configuration.map((c) => c.properties)) as Record<string, { scope?: string; type?: string }>;
    assert.deepEqual({ scope: properties[DATABASE_URL_SETTING]?.scope, type: properties[DATABASE_URL_SETTING]?.type }, { scope: 'machine', type: 'string' });
    assert.ok(!SETTING_KEYS.includes(DATABASE_URL_SETTING.replace(/^promptloom\./, '')));
  });

  it('is found in a workspace’s settings flat or nested, with any value, to say it is ignored', () => {
    assert.ok(namesDatabaseUrl({ 'promptloom.database.url': 'postgresql://a@h/d' }));
    assert.ok(namesDatabaseUrl({ promptloom: { database: { url: '' } } }));
    for (const other of [undefined, null, 'text', [], {}, { promptloom: { database: {} } }, { 'promptloom.model': 'x' }]) assert.equal(namesDatabaseUrl(other), false);
  });
});
