import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

const HOLDER = resolve(__dirname, '../fixtures/store/lockHolder.ts');

/** A real process holding a workspace's lock (and beating its heartbeat) until killed. */
export async function lockHolder(workspace: string, staleMs?: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', HOLDER, workspace, ...(staleMs ? [String(staleMs)] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((held, failed) => {
    child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('held') && held());
    child.on('exit', (code) => failed(new Error(`the lock holder exited with ${code}`)));
  });
  return child;
}

/** Kills a process with SIGKILL and waits until it is gone. */
export async function killed(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.on('exit', done));
  child.kill('SIGKILL');
  await exited;
}
