import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/** The built CLI, exactly as users run it (`npm test` builds first). */
export const CLI = resolve(__dirname, '../../dist/cli.js');

export interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly cwd?: string;
  readonly input?: string;
  readonly nodeFlags?: readonly string[];
  /** Added to this process's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** A descriptor to give the CLI as its standard output instead of a pipe (stdout is then ''). */
  readonly stdoutFd?: number;
}

export function promptloom(args: readonly string[], options: RunOptions = {}): Run {
  const result = spawnSync(process.execPath, [...(options.nodeFlags ?? []), CLI, ...args], {
    cwd: options.cwd,
    input: options.input ?? '',
    encoding: 'utf8',
    timeout: 30_000,
    ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
    ...(options.stdoutFd !== undefined ? { stdio: ['pipe', options.stdoutFd, 'pipe'] } : {}),
  });
  return { code: result.status, stdout: result.stdout ?? '', stderr: result.stderr };
}

/** A fresh folder holding `files` (relative path → content). */
export function workspace(files: Readonly<Record<string, string>>): string {
  const root = mkdtempSync(join(tmpdir(), 'promptloom-test-'));
  for (const [path, content] of Object.entries(files)) {
    const full = join(root, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
  return root;
}
