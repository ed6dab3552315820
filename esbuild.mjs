// Bundles the extension host code, the CLI and (later) webview scripts. Type-checking is
// `tsc --noEmit`'s job: esbuild strips types without checking them.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import * as esbuild from 'esbuild';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

/** @type {esbuild.BuildOptions} */
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  // Prefer ES modules: jsonc-parser's UMD build requires its parts at run time, which a bundle cannot.
  mainFields: ['module', 'main'],
};

/** @type {esbuild.BuildOptions[]} */
const builds = [
  {
    ...common,
    entryPoints: ['src/extension/main.ts'],
    outfile: 'dist/extension.js',
    // pg (the team database, loaded on first use) never asks for its native binding either.
    external: ['vscode', 'pg-native'],
    // Stamped first thing, so the activation figure includes loading the bundle itself.
    banner: { js: 'var __promptloomLoadStart = performance.now();' },
  },
  // The workspace database's read replica runs in a worker thread of its own (src/core/store/replica.ts).
  { ...common, entryPoints: ['src/core/store/replicaWorker.ts'], outfile: 'dist/storeWorker.js' },
  // pg's optional native binding (pg-native) is loaded only if asked for (`pg.native`), never by us.
  { ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' }, external: ['pg-native'] },
  // Webview scripts: browser code, one self-contained file per panel.
  { ...common, platform: 'browser', format: 'iife', target: 'es2022', entryPoints: ['webview/preview/main.ts'], outfile: 'media/dist/preview.js' },
  { ...common, platform: 'browser', format: 'iife', target: 'es2022', entryPoints: ['webview/quality/main.ts'], outfile: 'media/dist/quality.js' },
  // The dashboard also gets uPlot's stylesheet, emitted beside it as media/dist/dashboard.css.
  { ...common, platform: 'browser', format: 'iife', target: 'es2022', entryPoints: ['webview/dashboard/main.ts'], outfile: 'media/dist/dashboard.js' },
  { ...common, platform: 'browser', format: 'iife', target: 'es2022', entryPoints: ['webview/test/main.ts'], outfile: 'media/dist/test.js' },
  // The retry simulation also gets uPlot's stylesheet, as media/dist/retry.css.
  { ...common, platform: 'browser', format: 'iife', target: 'es2022', entryPoints: ['webview/retry/main.ts'], outfile: 'media/dist/retry.js' },
  // Integration suites, loaded by the real extension host; mocha comes from node_modules there.
  { ...common, entryPoints: ['test/integration/index.ts'], outfile: 'dist/test/integration.js', external: ['vscode', 'mocha', 'pg-native'] },
];

// A production build starts clean, so no stale source maps end up in the package.
if (production) for (const dir of ['dist', 'media/dist']) rmSync(dir, { recursive: true, force: true });

// SQLite's WebAssembly binary is loaded at run time from beside the bundles that use it.
mkdirSync('dist', { recursive: true });
copyFileSync('node_modules/sql.js/dist/sql-wasm.wasm', 'dist/sql-wasm.wasm');

if (watch) {
  for (const options of builds) await (await esbuild.context(options)).watch();
} else {
  await Promise.all(builds.map((options) => esbuild.build(options)));
}
