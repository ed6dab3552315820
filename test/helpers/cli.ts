import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
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

/**
 * Runs the built CLI asynchronously, so that a fake API living in this process can answer it.
 * The environment is `env` alone (with PATH): nothing of the test runner's leaks in. `during`
 * may act on the running process (send it a signal).
 */
export function runCli(args: readonly string[], cwd: string, env: Readonly<Record<string, string | undefined>>, during?: (child: ChildProcess) => void): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { PATH: process.env.PATH, ...env } as NodeJS.ProcessEnv });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    during?.(child);
  });
}
