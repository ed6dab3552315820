/** `promptloom stats` and `promptloom export`: read-only views of the workspace database. */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, lstatSync, openSync, readlinkSync, realpathSync, renameSync, rmSync, writeFileSync, type Stats as FileStats } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { computeStats, statsCsv, type Stats } from '../core/analytics';
import { backfillSignatures } from '../core/dataset';
import { exportJsonl, type ExportFormat, type ExportStatus } from '../core/export';
import type { Store } from '../core/store';
import { existingStore } from './database';
import { EXIT, UserError } from './errors';
import { reasonOf, workspaceFolder } from './files';
import { writeFailure, type Output } from './output';
import { workspaceSettings } from './workspace';

const NO_STATS: Stats = { templates: [], totals: { conversations: 0, generations: 0, costUsd: 0 } };

export async function runStats(flags: { workspace?: string; format: 'text' | 'json' | 'csv' }, out: Output): Promise<number> {
  const { store, folder } = await existingStore(flags.workspace, out);
  if (!store) out.note(`promptloom: no workspace database in ${folder} yet`);
  try {
    if (store) await signMissing(store, folder);
    const stats = store ? computeStats(store) : NO_STATS;
    if (flags.format === 'json') out.stdout(JSON.stringify(stats, null, 2) + '\n');
    else if (flags.format === 'csv') out.stdout(statsCsv(stats));
    else {
      const fmt = (n: number | null, digits = 1) => (n === null ? '—' : n.toFixed(digits));
      for (const t of stats.templates) {
        out.stdout(
          `${t.file}  ${t.name} (${t.tier})\n  ${t.usageCount} generations (${t.succeeded} ok, ${t.failed} failed) · quality ${fmt(t.avgQuality)} [${fmt(t.minQuality)}–${fmt(t.maxQuality)}] ${t.trend}` +
            ` · approved ${t.approvalRate === null ? '—' : `${Math.round(t.approvalRate * 100)}%`} · ${fmt(t.avgDurationMs, 0)} ms avg · $${t.totalCostUsd.toFixed(4)}\n`,
        );
      }
      out.stdout(`total: ${stats.totals.conversations} conversations, ${stats.totals.generations} generations, $${stats.totals.costUsd.toFixed(4)}\n`);
    }
    return EXIT.ok;
  } finally {
    store?.close();
  }
}

/**
 * Conversations stored before signatures existed get theirs (and their near-duplicate links) now,
 * so diversity covers them. Best effort: a database another process keeps busy, or a folder that
 * cannot be written, leaves them out of diversity rather than failing the command.
 */
async function signMissing(store: Store, folder: string): Promise<void> {
  const quiet: Output = { stdout: () => undefined, error: () => undefined, note: () => undefined };
  try {
    const threshold = workspaceSettings(folder, quiet).nearDuplicateThreshold;
    await backfillSignatures(store, undefined, threshold !== undefined ? { threshold } : {});
  } catch {
    // Stats read what is there.
  }
}

export async function runExport(
  flags: { workspace?: string; status: ExportStatus; format: ExportFormat; template?: string; minQuality?: number; out?: string; force?: boolean },
  out: Output,
): Promise<number> {
  const workspace = workspaceFolder(flags.workspace);
  const target = flags.out !== undefined ? exportTarget(flags.out, workspace, flags.force === true) : undefined;
  const { store } = await existingStore(workspace, out);
  if (!store) out.note(`promptloom: no workspace database in ${workspace} yet`);
  try {
    // --template is a file: as given on the command line, relative to where it runs.
    const template = flags.template !== undefined ? relative(workspace, resolve(flags.template)).split('\\').join('/') : undefined;
    const filters = { status: flags.status, ...(template !== undefined ? { template } : {}), ...(flags.minQuality !== undefined ? { minQuality: flags.minQuality } : {}) };
    const { text, count } = store ? exportJsonl(store, filters, flags.format) : { text: '', count: 0 };
    if (target !== undefined) writeReplacing(target, text, flags.out!);
    else out.stdout(text);
    out.note(`exported ${count} conversation${count === 1 ? '' : 's'} (${flags.format}, status ${flags.status})`);
    return EXIT.ok;
  } finally {
    store?.close();
  }
}

/**
 * Where `export --out` may write, resolved: never into a `.promptloom/` folder (the workspace
 * database and its journal), however the path gets there (`..`, a symbolic link to a folder on
 * the way, or the file itself a link); over an existing regular file only with --force, and
 * never over a symbolic link, FIFO or device (renaming would replace it, not write to it).
 */
export function exportTarget(out: string, workspace: string, force: boolean): string {
  if (out === '') throw new UserError('--out needs a file name');
  const target = resolve(out);
  let existing: FileStats | undefined;
  try {
    existing = lstatSync(target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new UserError(`cannot write ${out}: ${reasonOf(error)}`);
  }
  let real: string;
  try {
    real = realTarget(target);
  } catch (error) {
    throw new UserError(`cannot write ${out}: ${reasonOf(error)}`);
  }
  const database = realIfExists(join(workspace, '.promptloom'));
  if (isInside(real, database) || dirname(real).split(sep).includes('.promptloom')) {
    throw new UserError(`refusing to write ${out}: it is inside .promptloom/, which holds the workspace’s history database`);
  }
  // `--out /dev/stdout --force` must not replace the link /dev/stdout.
  if (existing?.isSymbolicLink()) throw new UserError(`cannot write ${out}: it is a symbolic link; name the file itself`);
  if (existing?.isDirectory()) throw new UserError(`cannot write ${out}: it is a folder`);
  if (existing && !existing.isFile()) throw new UserError(`cannot write ${out}: it is not a regular file (leave out --out to write to standard output)`);
  if (existing && !force) throw new UserError(`${out} already exists; pass --force to replace it`);
  return target;
}

/** The path with its folders' symbolic links resolved, and its own links followed (even dangling). */
function realTarget(path: string): string {
  let current = join(realpathSync.native(dirname(path)), basename(path));
  for (let hops = 0; hops < 40; hops++) {
    let link: string;
    try {
      if (!lstatSync(current).isSymbolicLink()) return current;
      link = readlinkSync(current);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return current;
      throw error;
    }
    const next = resolve(dirname(current), link);
    current = join(realIfExists(dirname(next)), basename(next));
  }
  throw Object.assign(new Error('too many symbolic links'), { code: 'ELOOP' });
}

function realIfExists(path: string): string {
  try {
    return realpathSync.native(path);
  } catch {
    return path;
  }
}

function isInside(path: string, folder: string): boolean {
  const fold = process.platform === 'win32' || process.platform === 'darwin' ? (p: string) => p.toLowerCase() : (p: string) => p;
  const rel = relative(fold(folder), fold(path));
  return rel === '' || (!isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${sep}`));
}

/**
 * Writes a file whole or not at all: into a new temporary file beside it (created exclusively, so
 * nothing already there is followed or reused), then renamed over the target.
 */
function writeReplacing(target: string, text: string, shown: string): void {
  const temp = join(dirname(target), `.${basename(target).slice(0, 64)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fd = openSync(temp, 'wx', 0o666);
    try {
      writeFileSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, target);
  } catch (error) {
    rmSync(temp, { force: true });
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserError(`cannot write ${shown}: ${code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES' || code === 'EPERM' ? reasonOf(error) : writeFailure(error)}`);
  }
}
