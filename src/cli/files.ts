import { closeSync, constants, fstatSync, openSync, readdirSync, readSync, statSync, type Dirent, type Stats } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from './errors';

/** Templates bigger than this are refused: no real template comes near it. */
export const MAX_TEMPLATE_BYTES = 16 * 1024 * 1024;

const SKIPPED_DIRECTORIES: ReadonlySet<string> = new Set(['node_modules']);

/** O_NONBLOCK: opening a FIFO returns at once instead of waiting for a writer (not on Windows). */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);
const CHUNK = 64 * 1024;

/**
 * Opens a file the CLI reads on the user's behalf, accepting only regular files: a name in a
 * cloned repository may be a FIFO (reading would hang), a device such as /dev/zero (reading never
 * ends) or a socket, directly or through a symbolic link. Returns the open descriptor.
 */
export function openRegularFile(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (error) {
    throw asUserError(error, path);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new UserError(stat.isDirectory() ? `${path} is a folder, not a file` : `cannot read ${path}: ${kindOf(stat)}, not a regular file`);
    return fd;
  } catch (error) {
    closeSync(fd);
    throw asUserError(error, path);
  }
}

/**
 * Reads a regular file as UTF-8 (invalid bytes become U+FFFD), refusing what cannot be a template.
 * The limit is enforced while reading, so a file whose size the system does not report (or that
 * grows while it is read) still stops there.
 */
export function readTextFile(path: string, limit = MAX_TEMPLATE_BYTES): string {
  const fd = openRegularFile(path);
  try {
    const size = fstatSync(fd).size;
    if (size > limit) throw new UserError(`${path} is ${bytes(size)}; files over ${limitText(limit)} are not read`);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buffer = Buffer.allocUnsafe(Math.min(CHUNK, limit + 1 - total));
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      total += n;
      if (total > limit) throw new UserError(`${path} is over ${limitText(limit)}; files over ${limitText(limit)} are not read`);
      chunks.push(n === buffer.length ? buffer : buffer.subarray(0, n));
    }
    return new TextDecoder('utf-8').decode(Buffer.concat(chunks, total));
  } catch (error) {
    throw asUserError(error, path);
  } finally {
    closeSync(fd);
  }
}

/** A file's size: 17.0 MB, or bytes below a megabyte. */
function bytes(n: number): string {
  return n < 1048576 ? `${n} bytes` : `${(n / 1048576).toFixed(1)} MB`;
}

/** A limit: 16 MB, or bytes when it is no whole number of megabytes. */
function limitText(n: number): string {
  return n % 1048576 === 0 ? `${n / 1048576} MB` : `${n} bytes`;
}

function kindOf(stat: Stats): string {
  if (stat.isFIFO()) return 'a named pipe (FIFO)';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device';
  if (stat.isSocket()) return 'a socket';
  return 'a special file';
}

/**
 * Expands the given paths into `.prompt` files: files as given, folders searched recursively
 * (skipping dot-folders and node_modules; symbolic links to folders are not followed, so link
 * loops cannot trap the walk). Returns the files found and the paths that could not be read.
 */
export function findTemplates(paths: readonly string[]): { files: string[]; unreadable: UserError[] } {
  const files: string[] = [];
  const unreadable: UserError[] = [];
  const seen = new Set<string>();
  const add = (path: string): void => {
    const key = resolve(path);
    if (!seen.has(key)) {
      seen.add(key);
      files.push(path);
    }
  };
  const walk = (dir: string): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (error) {
      unreadable.push(asUserError(error, dir));
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!entry.name.startsWith('.') && !SKIPPED_DIRECTORIES.has(entry.name)) walk(path);
      } else if (entry.name.toLowerCase().endsWith('.prompt') && (entry.isFile() || entry.isSymbolicLink())) {
        add(path);
      }
    }
  };
  for (const path of paths) {
    try {
      if (statSync(path).isDirectory()) walk(path);
      else add(path);
    } catch (error) {
      unreadable.push(asUserError(error, path));
    }
  }
  return { files, unreadable };
}

const REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'is a folder, not a file',
  ENOTDIR: 'a part of the path is not a folder',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the name is too long',
  // open() of a socket file, or of a device without a driver
  ENXIO: 'a socket or device, not a regular file',
};

export function asUserError(error: unknown, path: string): UserError {
  if (error instanceof UserError) return error;
  return new UserError(`cannot read ${path}: ${reasonOf(error)}`);
}

/** Why a file operation failed, in words. */
export function reasonOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return (code && REASONS[code]) ?? (error instanceof Error ? error.message : String(error));
}

/**
 * The workspace folder a command works in: `--workspace` resolved, or the current folder. Every
 * command that takes --workspace checks it here first, so a typo is one clear line (exit 2) and
 * never a folder created, or a file taken for a workspace.
 */
export function workspaceFolder(flag: string | undefined): string {
  let folder: string;
  try {
    folder = resolve(flag ?? '.');
  } catch {
    throw new UserError('the current folder no longer exists');
  }
  let stat: Stats;
  try {
    stat = statSync(folder);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`workspace folder ${folder} does not exist`);
    throw new UserError(`cannot use ${folder} as the workspace folder: ${reasonOf(error)}`);
  }
  if (!stat.isDirectory()) throw new UserError(`workspace ${folder} is a file, not a folder`);
  return folder;
}
