import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../src/core/store/store';
import { CLI, promptloom, type Run } from '../helpers/cli';

/** A workspace holding a database with one conversation (so stats and review have something to open). */
async function workspaceWithDatabase(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'promptloom-cli-store-'));
  const store = await Store.open(dir);
  await store.write((tx) => {
    tx.run("INSERT INTO templates (id, path, name, tier, created_at) VALUES (1, 'a.prompt', 'A', 'template', 1)");
    tx.run("INSERT INTO template_versions (id, template_id, content_hash, content, created_at) VALUES (1, 1, 'h', 'x', 1)");
    tx.run("INSERT INTO conversations (id, template_id, version_id, parameters, created_at) VALUES ('conv-1', 1, 1, '{}', 1)");
  });
  store.close();
  return dir;
}

function assertOneLine(run: Run, pattern: RegExp): void {
  assert.equal(run.code, 2, run.stderr);
  assert.doesNotMatch(run.stderr, /internal error/);
  assert.equal(run.stderr.trimEnd().split('\n').length, 1, run.stderr);
  assert.match(run.stderr, pattern);
}

describe('promptloom CLI and the workspace database', () => {
  it('a journal linked to a file outside: stats and review refuse in one line and the file stays as it was', async () => {
    const dir = await workspaceWithDatabase();
    const outside = join(mkdtempSync(join(tmpdir(), 'promptloom-outside-')), 'notes.txt');
    writeFileSync(outside, 'not a journal: my own notes\n');
    const journal = join(dir, '.promptloom', 'promptloom.journal');
    rmSync(journal);
    symlinkSync(outside, journal);
    for (const args of [['stats'], ['review', 'conv-1', 'approve']]) {
      const run = promptloom([...args, '--workspace', dir]);
      assertOneLine(run, /^promptloom: .*\.promptloom\/promptloom\.journal is a symbolic link; Promptloom never follows links in \.promptloom\/: remove it$/m);
      assert.equal(readFileSync(outside, 'utf8'), 'not a journal: my own notes\n');
    }
  });

  it('a read-only .promptloom/: one clear line naming the file, exit 2', async () => {
    const dir = await workspaceWithDatabase();
    const folder = join(dir, '.promptloom');
    const before = readdirSync(folder).sort();
    // mkdtemp makes the workspace private; the unprivileged user below must be able to reach it.
    chmodSync(dir, 0o755);
    chmodSync(folder, 0o555);
    try {
      // root writes through any permission, so there the CLI runs as an unprivileged user, for whom the folder really is read-only.
      const asRoot = process.getuid?.() === 0;
      const result = spawnSync(process.execPath, [CLI, 'review', 'conv-1', 'approve', '--workspace', dir], { encoding: 'utf8', ...(asRoot ? { uid: 65534, gid: 65534 } : {}) });
      assertOneLine({ code: result.status, stdout: result.stdout, stderr: result.stderr }, /^promptloom: cannot create .*\.promptloom\/promptloom\.lock: permission denied$/m);
      assert.deepEqual(readdirSync(folder).sort(), before, 'nothing was written');
    } finally {
      chmodSync(folder, 0o755);
    }
  });

  it('a workspace that is a file: one clear line, exit 2', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'promptloom-cli-store-')), 'not-a-folder');
    writeFileSync(file, 'x');
    const run = spawnSync(process.execPath, [CLI, 'resume', '--workspace', file], { encoding: 'utf8', env: { ...process.env, ANTHROPIC_API_KEY: 'sk-test' } });
    assertOneLine({ code: run.status, stdout: run.stdout, stderr: run.stderr }, /^promptloom: workspace .*not-a-folder is a file, not a folder$/m);
  });
});
