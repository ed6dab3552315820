/** `promptloom stats` and `promptloom export`: read-only views of the workspace database, or of the team's with --database-url. */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, lstatSync, openSync, readlinkSync, realpathSync, renameSync, rmSync, writeFileSync, type Stats as FileStats } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { computeStats, statsCsv, type Stats } from '../core/analytics';
import { DEFAULT_SPLIT_SEED, ExportError, datasetFileNames, exportDataset, type DatasetExport, type DatasetOptions, type ExportFilters, type ExportFormat, type ExportStatus } from '../core/export';
import { backfillSignatures } from '../core/dataset';
import type { Store } from '../core/store';
import type { Database } from '../core/store/database';
import { existingStore } from './database';
import { teamDatabaseUrl } from './db';
import { EXIT, UserError } from './errors';
import { reasonOf, workspaceFolder } from './files';
import { oneLine, writeFailure, type Output } from './output';
import { workspaceSettings } from './workspace';
import { withTeamStore } from './teamStore';

const NO_STATS: Stats = { templates: [], totals: { conversations: 0, generations: 0, costUsd: 0 } };

export async function runStats(flags: { workspace?: string; databaseUrl?: string; format: 'text' | 'json' | 'csv' }, out: Output, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const url = teamDatabaseUrl(flags.databaseUrl, env);
  // The team's figures: the same queries, through what its policies let this member read.
  if (url) return withTeamStore(url, async (db) => printStats(await computeStats(db), flags.format, out));
  const { store, folder } = await existingStore(flags.workspace, out);
  if (!store) out.note(`promptloom: no workspace database in ${folder} yet`);
  try {
    if (store) await signMissing(store, folder);
    return printStats(store ? await computeStats(store) : NO_STATS, flags.format, out);
  } finally {
    store?.close();
  }
}

function printStats(stats: Stats, format: 'text' | 'json' | 'csv', out: Output): number {
  if (format === 'json') out.stdout(JSON.stringify(stats, null, 2) + '\n');
  else if (format === 'csv') out.stdout(statsCsv(stats));
  else {
    const fmt = (n: number | null, digits = 1) => (n === null ? '—' : n.toFixed(digits));
    for (const t of stats.templates) {
      out.stdout(
        `${oneLine(t.file)}  ${oneLine(t.name)} (${t.tier})${t.author === null ? '' : ` by ${oneLine(t.author)}`}\n  ${t.usageCount} generations (${t.succeeded} ok, ${t.failed} failed${t.cancelled ? `, ${t.cancelled} cancelled` : ''}) · quality ${fmt(t.avgQuality)} [${fmt(t.minQuality)}–${fmt(t.maxQuality)}] ${t.trend}` +
          ` · approved ${t.approvalRate === null ? '—' : `${Math.round(t.approvalRate * 100)}%`} · ${fmt(t.avgDurationMs, 0)} ms avg · $${t.totalCostUsd.toFixed(4)}\n`,
      );
    }
    out.stdout(`total: ${stats.totals.conversations} conversations, ${stats.totals.generations} generations, $${stats.totals.costUsd.toFixed(4)}\n`);
  }
  return EXIT.ok;
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

export interface ExportFlags {
  workspace?: string;
  /** The team database (or PROMPTLOOM_DATABASE_URL): export what this member may read there. */
  databaseUrl?: string;
  status: ExportStatus;
  format: ExportFormat;
  template?: string;
  minQuality?: number;
  out?: string;
  force?: boolean;
  dedup?: boolean;
  /** The train share, as typed (checked here, so a bad one is one line). */
  split?: string;
  seed?: string;
  card?: boolean;
}

export async function runExport(flags: ExportFlags, out: Output, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const dataset = datasetRequest(flags);
  const workspace = workspaceFolder(flags.workspace);
  const url = teamDatabaseUrl(flags.databaseUrl, env);
  // Every file is checked (never into .promptloom/, not over a file without --force…) before any
  // is written, and before the team database is connected to: the same rules whichever store.
  const names = flags.out !== undefined ? datasetFileNames(flags.out) : undefined;
  const files: { key: 'all' | 'train' | 'validation' | 'card'; shown: string; target: string }[] = [];
  if (flags.out !== undefined && names) {
    const wanted: ['all' | 'train' | 'validation' | 'card', string][] = dataset.split ? [['train', names.train], ['validation', names.validation]] : [['all', flags.out]];
    if (flags.card) wanted.push(['card', names.card]);
    for (const [key, shown] of wanted) files.push({ key, shown, target: exportTarget(shown, workspace, flags.force === true) });
  }
  // --template is a file: as given on the command line, relative to where it runs (on the team
  // database too: paths there are workspace-relative, as pushed).
  const template = flags.template !== undefined ? relative(workspace, resolve(flags.template)).split('\\').join('/') : undefined;
  const filters: ExportFilters = { status: flags.status, ...(template !== undefined ? { template } : {}), ...(flags.minQuality !== undefined ? { minQuality: flags.minQuality } : {}) };
  const options: DatasetOptions = {
    ...dataset,
    card: flags.card === true,
    names: { ...(flags.out !== undefined ? { all: basename(flags.out) } : {}), ...(names ? { train: basename(names.train), validation: basename(names.validation) } : {}) },
  };
  // On the team database: one read-only snapshot, so the lines, the split and the card agree
  // while teammates generate and review; what the member may read (row-level security).
  const result = url
    ? await withTeamStore(url, (db) => db.snapshot((reader) => datasetOf(reader, filters, flags.format, options)))
    : await workspaceDataset(workspace, filters, flags.format, options, out);
  const written: string[] = [];
  for (const f of files) {
    const content = f.key === 'card' ? result.card! : result[f.key]!.text;
    writeReplacing(f.target, content, f.shown);
    written.push(f.key === 'card' ? `the card to ${f.shown}` : `${result[f.key]!.count} to ${f.shown}`);
  }
  if (flags.out === undefined) out.stdout(result.all!.text);
  const count = (result.all?.count ?? 0) + (result.train?.count ?? 0) + (result.validation?.count ?? 0);
  const removed = dataset.dedup ? `; ${result.removed.length} near-duplicate${result.removed.length === 1 ? '' : 's'} left out (--dedup)` : '';
  out.note(`exported ${count} conversation${count === 1 ? '' : 's'} (${flags.format}, status ${flags.status})${written.length ? `: ${written.join(', ')}` : ''}${removed}`);
  return EXIT.ok;
}

/** The dataset from the workspace database; empty (with a note) when there is none yet. */
async function workspaceDataset(workspace: string, filters: ExportFilters, format: ExportFormat, options: DatasetOptions, out: Output): Promise<DatasetExport> {
  const { store } = await existingStore(workspace, out);
  if (!store) {
    if (options.split || options.card) throw new UserError(`no workspace database in ${workspace} yet: nothing to export`, EXIT.invalid);
    out.note(`promptloom: no workspace database in ${workspace} yet`);
    return { all: { text: '', count: 0 }, selected: 0, removed: [] };
  }
  try {
    return await datasetOf(store, filters, format, options);
  } finally {
    store.close();
  }
}

/** exportDataset on either store; a training_system that does not render is the user's to fix (exit 1). */
async function datasetOf(db: Database, filters: ExportFilters, format: ExportFormat, options: DatasetOptions): Promise<DatasetExport> {
  try {
    return await exportDataset(db, filters, format, options);
  } catch (error) {
    if (error instanceof ExportError) throw new UserError(error.message, EXIT.invalid);
    throw error;
  }
}

/** The dataset flags, checked: bad usage is one line and exit 2, before anything is opened. */
function datasetRequest(flags: ExportFlags): { dedup?: boolean; split?: { ratio: number; seed: number } } {
  if (flags.split === undefined) {
    if (flags.seed !== undefined) throw new UserError('--seed only applies with --split');
    if (flags.card && flags.out === undefined) throw new UserError('--card needs --out: the card is written beside that file');
    return flags.dedup ? { dedup: true } : {};
  }
  const ratio = Number(flags.split);
  if (flags.split.trim() === '' || !Number.isFinite(ratio) || ratio <= 0 || ratio >= 1) {
    throw new UserError(`--split takes the train share, a number between 0 and 1 exclusive (such as 0.9), not ${JSON.stringify(flags.split)}`);
  }
  if (flags.out === undefined) throw new UserError('--split needs --out: the train and validation files are named after it');
  let seed = DEFAULT_SPLIT_SEED;
  if (flags.seed !== undefined) {
    seed = Number(flags.seed);
    if (!/^\d+$/.test(flags.seed.trim()) || !Number.isSafeInteger(seed) || seed > 0xffffffff) throw new UserError(`--seed takes a whole number from 0 to 4294967295, not ${JSON.stringify(flags.seed)}`);
  }
  return { ...(flags.dedup ? { dedup: true } : {}), split: { ratio, seed } };
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
