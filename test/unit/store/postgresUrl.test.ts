import { strict as assert } from 'node:assert';
import { withExplicitSslMode } from '../../../src/core/store/postgres/connection';

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
