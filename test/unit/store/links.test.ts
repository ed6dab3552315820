import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../../src/core/store/store';
import { StoreAccessError } from '../../../src/core/store/safeFiles';

/**
 * A cloned repository can ship `.promptloom/` with symbolic links to files outside it. Whatever
 * the link, Promptloom refuses, names the file, and the file outside stays byte for byte as it was.
 */
const PRECIOUS = 'export PATH=/usr/bin\n# a file outside the workspace that must never change\n';

function setup(): { dir: string; db: string; outside: string } {
  const dir = mkdtempSync(join(tmpdir(), 'promptloom-links-'));
  const outside = join(mkdtempSync(join(tmpdir(), 'promptloom-outside-')), 'bashrc');
  writeFileSync(outside, PRECIOUS);
  return { dir, db: join(dir, '.promptloom'), outside };
}

/** A database that exists already, with a row, closed (its journal folded into promptloom.db). */
async function existing(dir: string): Promise<void> {
  const store = await Store.open(dir);
  await store.write((tx) => tx.run("INSERT INTO templates (path, name, tier, created_at) VALUES ('a.prompt', 'A', 'template', 1)"));
  store.close();
}

function refusesLink(name: string): (error: unknown) => boolean {
  return (error) => error instanceof StoreAccessError && error.message.includes(join('.promptloom', name)) && /is a symbolic link; Promptloom never follows links/.test(error.message);
}

describe('links in .promptloom/', () => {
  for (const name of ['promptloom.journal', 'promptloom.db', 'promptloom.lock', 'promptloom.db.tmp', 'promptloom.journal.tmp']) {
    it(`${name} linked to a file outside: opening refuses and the file outside is untouched`, async () => {
      const { dir, db, outside } = setup();
      await existing(dir);
      rmSync(join(db, name), { force: true });
      symlinkSync(outside, join(db, name));
      await assert.rejects(Store.open(dir), refusesLink(name));
      assert.equal(readFileSync(outside, 'utf8'), PRECIOUS);
    });
  }

  it('a journal linked outside in a workspace never opened before: nothing is written through it', async () => {
    const { dir, db, outside } = setup();
    mkdirSync(db);
    symlinkSync(outside, join(db, 'promptloom.journal'));
    await assert.rejects(Store.open(dir), refusesLink('promptloom.journal'));
    assert.equal(readFileSync(outside, 'utf8'), PRECIOUS);
  });

  it('a .tmp link planted while the database is open: the checkpoint refuses, the file outside is untouched', async () => {
    const { dir, db, outside } = setup();
    const store = await Store.open(dir);
    await store.write((tx) => tx.run("INSERT INTO templates (path, name, tier, created_at) VALUES ('a.prompt', 'A', 'template', 1)"));
    symlinkSync(outside, join(db, 'promptloom.db.tmp'));
    await assert.rejects(store.checkpoint(), refusesLink('promptloom.db.tmp'));
    assert.equal(readFileSync(outside, 'utf8'), PRECIOUS);
    store.close();
    assert.equal(readFileSync(outside, 'utf8'), PRECIOUS, 'closing folds the journal in only through files it may write');
  });

  it('a journal replaced by a link while open: writes and refreshes refuse, the file outside is untouched', async () => {
    const { dir, db, outside } = setup();
    const store = await Store.open(dir);
    rmSync(join(db, 'promptloom.journal'));
    symlinkSync(outside, join(db, 'promptloom.journal'));
    await assert.rejects(store.write((tx) => tx.run("INSERT INTO templates (path, name, tier, created_at) VALUES ('b.prompt', 'B', 'template', 1)")), refusesLink('promptloom.journal'));
    await assert.rejects(store.refresh(), refusesLink('promptloom.journal'));
    assert.equal(readFileSync(outside, 'utf8'), PRECIOUS);
  });

  it('.promptloom itself linked to a folder outside: refused, nothing created there', async () => {
    const { dir, outside } = setup();
    const elsewhere = join(outside, '..', 'folder');
    mkdirSync(elsewhere);
    symlinkSync(elsewhere, join(dir, '.promptloom'));
    await assert.rejects(Store.open(dir), (error) => error instanceof StoreAccessError && error.problem === 'link' && /\.promptloom is a symbolic link/.test(error.message));
    assert.deepEqual(readdirSync(elsewhere), []);
  });

  it('a workspace path that is a file: one clear error, not a crash', async () => {
    const { outside } = setup();
    await assert.rejects(Store.open(outside), (error) => error instanceof StoreAccessError && /cannot keep the workspace database in .*bashrc.\.promptloom: a file is in the way/.test(error.message));
    assert.equal(readFileSync(outside, 'utf8'), PRECIOUS);
  });
});
