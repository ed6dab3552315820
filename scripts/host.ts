/**
 * The real VS Code host for `npm start` and the editor tests: code-server 4.100.3 (VS Code
 * 1.100.3), installed on demand into a git-ignored cache, started on 127.0.0.1 with this
 * extension loaded as an Extension Development Host, and stopped with its whole process group.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..');
export const CACHE = join(ROOT, '.promptloom-cache');
const HOST_DIR = join(CACHE, 'vscode-host');
const CODE_SERVER = join(HOST_DIR, 'node_modules', '.bin', 'code-server');

/** Installs code-server (and the Debian packages it needs) unless it is already there. */
export function ensureHost(): void {
  const result = spawnSync('bash', [join(ROOT, 'scripts', 'install-vscode-host.sh')], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error('installing the VS Code host failed (see above)');
}

export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? done(address.port) : fail(new Error('no port'))));
    });
  });
}

export interface HostOptions {
  readonly port: number;
  /** The folder the workbench opens. */
  readonly folder: string;
  /** Where the host keeps its user data, logs and temporary files for this run. */
  readonly runDir: string;
  /** User settings written before start (the welcome page is always turned off). */
  readonly settings?: Readonly<Record<string, unknown>>;
  /** Extra environment for the server and the extension host. */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * How the extension is loaded. `installed`: linked into the extensions folder, as if installed,
   * so user settings (colour theme and all) apply; measured: in an Extension Development Host,
   * code-server 4.100 ignores the user's and the workspace's settings. `development`: through
   * the workbench's `extensionDevelopmentPath`, which the extension-host tests need.
   */
  readonly extension: 'installed' | 'development';
  /**
   * Workspace trust as VS Code decides it (the folder opens in Restricted Mode until trusted).
   * Off by default: the tests run in a trusted workspace.
   */
  readonly workspaceTrust?: boolean;
}

export class VsCodeHost {
  private constructor(
    private readonly child: ChildProcess,
    readonly options: HostOptions,
    readonly logFile: string,
  ) {}

  static async start(options: HostOptions): Promise<VsCodeHost> {
    const { runDir } = options;
    for (const dir of ['user/User', 'extensions', 'tmp', 'xdg']) mkdirSync(join(runDir, dir), { recursive: true });
    if (options.extension === 'installed') {
      const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { publisher: string; name: string; version: string };
      const link = join(runDir, 'extensions', `${manifest.publisher}.${manifest.name}-${manifest.version}`);
      rmSync(link, { force: true, recursive: true });
      symlinkSync(ROOT, link, 'dir');
    }
    writeFileSync(
      join(runDir, 'user', 'User', 'settings.json'),
      JSON.stringify(
        {
          'workbench.startupEditor': 'none',
          'workbench.tips.enabled': false,
          'telemetry.telemetryLevel': 'off',
          'extensions.autoCheckUpdates': false,
          'extensions.autoUpdate': false,
          'update.mode': 'none',
          'chat.commandCenter.enabled': false,
          // The run folders live inside this repository; do not offer to open it.
          'git.openRepositoryInParentFolders': 'never',
          ...options.settings,
        },
        null,
        2,
      ),
    );
    const logFile = join(runDir, 'code-server.log');
    const log = openSync(logFile, 'w');
    const child = spawn(
      CODE_SERVER,
      [
        '--bind-addr',
        `127.0.0.1:${options.port}`,
        '--auth',
        'none',
        '--config',
        join(runDir, 'config.yaml'),
        '--user-data-dir',
        join(runDir, 'user'),
        '--extensions-dir',
        join(runDir, 'extensions'),
        '--disable-telemetry',
        '--disable-update-check',
        ...(options.workspaceTrust ? [] : ['--disable-workspace-trust']),
        '--disable-getting-started-override',
        options.folder,
      ],
      {
        // Its own process group, so stop() also ends the extension host and file watcher.
        detached: true,
        stdio: ['ignore', log, log],
        env: {
          ...process.env,
          TMPDIR: join(runDir, 'tmp'),
          XDG_CONFIG_HOME: join(runDir, 'xdg'),
          XDG_DATA_HOME: join(runDir, 'xdg'),
          ...options.env,
        },
      },
    );
    const host = new VsCodeHost(child, options, logFile);
    await host.waitReady();
    return host;
  }

  /** The workbench URL; in development mode it loads this extension (and, optionally, its tests). */
  url(extensionTestsPath?: string): string {
    const authority = `127.0.0.1:${this.options.port}`;
    const base = `http://${authority}/?folder=${encodeURIComponent(this.options.folder)}`;
    if (this.options.extension === 'installed') return base;
    const payload: [string, string][] = [['extensionDevelopmentPath', `vscode-remote://${authority}${ROOT}`]];
    if (extensionTestsPath) payload.push(['extensionTestsPath', `vscode-remote://${authority}${extensionTestsPath}`]);
    return `${base}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  private async waitReady(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exited) throw new Error(`code-server exited during start; see ${this.logFile}`);
      if (await healthy(this.options.port)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    await this.stop();
    throw new Error(`code-server did not answer on port ${this.options.port} within ${timeoutMs / 1000} s; see ${this.logFile}`);
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    signalGroup(this.child.pid!, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(this.child.pid!, 'SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    // Stragglers of the group (the extension host may outlive the server for a moment).
    signalGroup(this.child.pid!, 'SIGKILL');
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

function healthy(port: number): Promise<boolean> {
  return new Promise((done) => {
    const req = get({ host: '127.0.0.1', port, path: '/healthz', timeout: 1000 }, (res) => {
      res.resume();
      done(res.statusCode === 200);
    });
    req.on('error', () => done(false));
    req.on('timeout', () => {
      req.destroy();
      done(false);
    });
  });
}
