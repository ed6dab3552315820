/**
 * `npm start`: runs Promptloom in a real VS Code for a person. Builds the extension, installs
 * the VS Code host when missing, starts it on 127.0.0.1:8080 with the extension loaded and
 * examples/ open, prints the URL, and stops everything on Ctrl+C.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { CACHE, ROOT, VsCodeHost, ensureHost } from './host';

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 8080);
  const build = spawnSync(process.execPath, [join(ROOT, 'esbuild.mjs')], { stdio: 'inherit', cwd: ROOT });
  if (build.status !== 0) process.exit(build.status ?? 1);
  ensureHost();

  const host = await VsCodeHost.start({ port, folder: join(ROOT, 'examples'), runDir: join(CACHE, 'run-start'), extension: 'installed' });
  process.stdout.write(`\nPromptloom is running in VS Code 1.100.3 (code-server 4.100.3). Open:\n\n  ${host.url()}\n\n`);
  process.stdout.write(`From another machine: ssh -L ${port}:127.0.0.1:${port} <this host>, then open the URL there.\n`);
  process.stdout.write(`Server log: ${host.logFile}\nPress Ctrl+C to stop.\n`);

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nStopping VS Code… ');
    await host.stop();
    process.stdout.write('stopped.\n');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  // If the server dies by itself, say so instead of waiting forever.
  const watch = setInterval(() => {
    if (host.exited && !stopping) {
      clearInterval(watch);
      process.stderr.write(`VS Code stopped unexpectedly; see ${host.logFile}\n`);
      process.exit(1);
    }
  }, 1000);
}

main().catch((error: unknown) => {
  process.stderr.write(`promptloom: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
