import { buildSync } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import type { Sample } from './measure';

/**
 * The quality scorer timed as shipped: qualityProbe.ts bundled the way esbuild.mjs bundles the
 * extension and the CLI, run in a fresh Node process.
 */
export function timeShippedScorer(): { score: Sample; parse: Sample; characters: number } {
  const { outputFiles } = buildSync({ entryPoints: [resolve(__dirname, 'qualityProbe.ts')], bundle: true, platform: 'node', format: 'cjs', target: 'node20', write: false });
  const file = join(mkdtempSync(join(tmpdir(), 'promptloom-bench-')), 'qualityProbe.js');
  writeFileSync(file, outputFiles[0]!.text);
  const run = spawnSync(process.execPath, [file], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`the quality probe failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as { score: Sample; parse: Sample; characters: number };
}
