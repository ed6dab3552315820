import { strict as assert } from 'node:assert';
import { chooseStore, hasPassword, withPassword } from '../../../src/core/store/databaseUrl';
import { checkDatabaseUrl, describeUrl, TeamDatabaseError, withExplicitSslMode, withoutSecret } from '../../../src/core/store/postgres/connection';

describe('team database URL: sslmode', () => {
  it('names verify-full where pg 8 would apply it anyway (and warn in many lines), leaving the rest of the URL as it was', () => {
    const url = withExplicitSslMode('postgresql://alice:p%40ss@db.example:5432/team?sslmode=require&application_name=x');
    const parsed = new URL(url);
    assert.equal(parsed.searchParams.get('sslmode'), 'verify-full');
    assert.equal(parsed.searchParams.get('application_name'), 'x');
    assert.equal(decodeURIComponent(parsed.password), 'p@ss');
    assert.equal(parsed.host, 'db.example:5432');
    for (const mode of ['prefer', 'verify-ca']) assert.match(withExplicitSslMode(`postgresql://a@h/d?sslmode=${mode}`), /sslmode=verify-full/);
  });

  it('leaves disable, verify-full, no sslmode and libpq-compatible URLs alone', () => {
    for (const url of ['postgresql://a@h/d', 'postgresql://a@h/d?sslmode=disable', 'postgresql://a@h/d?sslmode=verify-full', 'postgresql://a@h/d?uselibpqcompat=true&sslmode=require']) {
      assert.equal(withExplicitSslMode(url), url);
    }
  });
});

describe('team database URL: a local socket and a password in the query string', () => {
  const SOCKET = 'postgresql:///promptloom?host=/var/run/postgresql&user=alice';

  it('takes postgresql:///DATABASE?host=/folder as a URL (a server on this machine, through its socket)', () => {
    assert.equal(chooseStore({ flag: SOCKET }).store, 'postgresql');
    assert.doesNotThrow(() => checkDatabaseUrl(SOCKET));
    assert.equal(describeUrl(SOCKET), 'alice@/var/run/postgresql/promptloom');
    // A relative host is no socket folder: still a URL without a host.
    assert.throws(() => checkDatabaseUrl('postgresql:///promptloom?host=run/postgresql'), (e: Error) => e instanceof TeamDatabaseError && /names no host: expected .* \(or postgresql:\/\/\/DATABASE\?host=\/SOCKET\/FOLDER&user=USER for a local socket\)$/.test(e.message));
  });

  it('blots out a password given as ?password= as well as one before the host', () => {
    const url = `${SOCKET}&password=S3cr%40t-q`;
    assert.ok(hasPassword(url));
    const text = withoutSecret('auth failed for S3cr@t-q and S3cr%40t-q', url);
    assert.ok(!text.includes('S3cr'), text);
    assert.equal(describeUrl(url), 'alice@/var/run/postgresql/promptloom');
  });

  it('joins a stored password beside the socket form’s ?user=, and never where no user is named', () => {
    assert.equal(new URL(withPassword(SOCKET, 'p&w=1')).searchParams.get('password'), 'p&w=1');
    assert.equal(withPassword('postgresql:///promptloom?host=/s', 'pw'), 'postgresql:///promptloom?host=/s');
  });
});
