import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CACHE, ROOT, ensureHost } from '../../scripts/host';

describe('npm run package', () => {
  it('builds a .vsix that desktop VS Code (here code-server) installs', () => {
    const pack = spawnSync('npm', ['run', '-s', 'package'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.equal(pack.status, 0, pack.stderr + pack.stdout);
    const listing = spawnSync('unzip', ['-Z1', join(ROOT, 'promptloom.vsix')], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    for (const file of ['extension/package.json', 'extension/dist/extension.js', 'extension/dist/storeWorker.js', 'extension/dist/sql-wasm.wasm', 'extension/media/dist/preview.js', 'extension/syntaxes/prompt.tmLanguage.json', 'extension/docs/prompt-format.md']) {
      assert.ok(listing.includes(file), `${file} is packaged`);
    }
    assert.deepEqual(listing.filter((f) => /\.map$|\/src\/|node_modules|\.promptloom-cache/.test(f)), [], 'no sources, maps or caches');

    ensureHost();
    const dir = mkdtempSync(join(tmpdir(), 'promptloom-vsix-'));
    const install = spawnSync(
      join(CACHE, 'vscode-host', 'node_modules', '.bin', 'code-server'),
      ['--extensions-dir', join(dir, 'ext'), '--user-data-dir', join(dir, 'user'), '--config', join(dir, 'config.yaml'), '--install-extension', join(ROOT, 'promptloom.vsix')],
      { encoding: 'utf8', env: { ...process.env, XDG_CONFIG_HOME: join(dir, 'xdg'), XDG_DATA_HOME: join(dir, 'xdg') } },
    );
    assert.equal(install.status, 0, install.stderr);
    assert.match(install.stdout, /successfully installed/);
    assert.ok(readdirSync(join(dir, 'ext')).includes('promptloom.promptloom-0.1.0'));
    // The package build is a production build; leave the development build in place for the other tests.
    assert.equal(spawnSync(process.execPath, ['esbuild.mjs'], { cwd: ROOT }).status, 0);
  });
});
