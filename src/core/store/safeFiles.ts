/**
 * The few file primitives every access to `<workspace>/.promptloom/` goes through.
 *
 * That folder comes with the workspace, and a cloned repository can ship it with symbolic links
 * (`promptloom.journal -> ~/.bashrc`) that a plain open would follow and overwrite. So here links
 * are never followed (O_NOFOLLOW, lstat), only regular files are read or written, new files are
 * created exclusively, and a file is replaced by writing a fresh one beside it and renaming it over
 * (a rename replaces the name, never what a link points to). Every refusal and every filesystem
 * failure becomes a StoreAccessError: one line naming the file and what is wrong.
 */
import { closeSync, constants, fstatSync, fsyncSync, ftruncateSync, lstatSync, mkdirSync, openSync, readSync, renameSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';

/** What is wrong: a link (refused), something that is not a regular file, or the filesystem said no. */
export type StoreProblem = 'link' | 'not-a-file' | 'access';

export class StoreAccessError extends Error {
  constructor(
    readonly path: string,
    readonly problem: StoreProblem,
    message: string,
  ) {
    super(message);
    this.name = 'StoreAccessError';
  }
}

// Windows has neither flag (0 there): lstat checks stand in for O_NOFOLLOW.
const NOFOLLOW = constants.O_NOFOLLOW ?? 0;
/** A FIFO planted in the folder would block a plain open for reading forever. */
const NONBLOCK = constants.O_NONBLOCK ?? 0;

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is used up',
  ENOTDIR: 'a file is in the way of a folder on that path',
  EISDIR: 'it is a folder',
  EIO: 'input/output error',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files',
  ENAMETOOLONG: 'the path is too long',
  EBUSY: 'the file is busy',
};

/** A filesystem error as one line naming the file; anything that is not one is returned as is (a bug). */
export function accessError(error: unknown, path: string, action: string): Error {
  if (error instanceof StoreAccessError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== 'string' || !code.startsWith('E')) return error instanceof Error ? error : new Error(String(error));
  return new StoreAccessError(path, 'access', `cannot ${action} ${path}: ${REASONS[code] ?? code}`);
}

export function linkRefused(path: string): StoreAccessError {
  return new StoreAccessError(path, 'link', `${path} is a symbolic link; Promptloom never follows links in .promptloom/: remove it`);
}

function notAFile(path: string, kind: string): StoreAccessError {
  return new StoreAccessError(path, 'not-a-file', `${path} is ${kind}, not a regular file: remove it`);
}

function describe(stats: Stats): string {
  if (stats.isDirectory()) return 'a folder';
  if (stats.isSymbolicLink()) return 'a symbolic link';
  if (stats.isFIFO()) return 'a named pipe';
  if (stats.isSocket()) return 'a socket';
  return 'a device';
}

export type EntryKind = 'missing' | 'file' | 'directory' | 'link' | 'other';

/** What is at `path` itself (links not followed). */
export function entryKind(path: string): EntryKind {
  try {
    return kindOf(path);
  } catch (error) {
    throw accessError(error, path, 'look at');
  }
}

function kindOf(path: string): EntryKind {
  let stats: Stats;
  try {
    stats = lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
  if (stats.isSymbolicLink()) return 'link';
  if (stats.isFile()) return 'file';
  return stats.isDirectory() ? 'directory' : 'other';
}

/** Refuses when `path` is a link; anything else (missing included) is left to the caller. */
export function refuseLink(path: string): void {
  if (entryKind(path) === 'link') throw linkRefused(path);
}

/** Makes sure `dir` is a real folder (not a link to one), creating it when missing. */
export function ensureFolder(dir: string): void {
  const action = 'keep the workspace database in';
  let kind: EntryKind;
  try {
    kind = kindOf(dir);
    if (kind === 'missing') {
      mkdirSync(dir, { recursive: true });
      kind = kindOf(dir);
    }
  } catch (error) {
    throw accessError(error, dir, action);
  }
  if (kind === 'link') throw linkRefused(dir);
  if (kind !== 'directory') throw new StoreAccessError(dir, 'not-a-file', `cannot ${action} ${dir}: a file of that name is in the way`);
}

/**
 * Opens an existing regular file without following a link: for reading, or for reading and
 * writing. Undefined when there is no such file.
 */
export function openFile(path: string, mode: 'read' | 'update'): number | undefined {
  let fd: number;
  try {
    fd = openSync(path, (mode === 'read' ? constants.O_RDONLY : constants.O_RDWR) | NOFOLLOW | NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw linkRefused(path);
    if (code === 'EISDIR') throw notAFile(path, 'a folder');
    if (code === 'ENXIO') throw notAFile(path, 'a named pipe or socket');
    throw accessError(error, path, mode === 'read' ? 'read' : 'write');
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw notAFile(path, describe(stats));
    if (!NOFOLLOW) refuseLink(path);
  } catch (error) {
    closeSync(fd);
    throw accessError(error, path, 'read');
  }
  return fd;
}

/** Creates a new file, never reusing an existing name (a link included). Undefined when the name is taken. */
export function createFile(path: string): number | undefined {
  try {
    return openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, 0o666);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw accessError(error, path, 'create');
  }
}

/** The whole content of a regular file, or undefined when there is none. */
export function readFile(path: string): Buffer | undefined {
  const fd = openFile(path, 'read');
  if (fd === undefined) return undefined;
  try {
    return readAll(fd, path);
  } finally {
    closeSync(fd);
  }
}

/** The whole content of an open file. */
export function readAll(fd: number, path: string): Buffer {
  try {
    const size = fstatSync(fd).size;
    const bytes = Buffer.allocUnsafe(size);
    let at = 0;
    while (at < size) {
      const n = readSync(fd, bytes, at, size - at, at);
      if (n === 0) break;
      at += n;
    }
    return bytes.subarray(0, at);
  } catch (error) {
    throw accessError(error, path, 'read');
  }
}

/** Big writes go in chunks, so a long one can call `progress` (the lock's heartbeat) between them. */
const CHUNK = 4 * 1024 * 1024;

/** Writes all of `bytes` at `position`. */
export function writeAll(fd: number, path: string, bytes: Uint8Array, position: number, progress?: () => void): void {
  try {
    let written = 0;
    while (written < bytes.length) {
      written += writeSync(fd, bytes, written, Math.min(bytes.length - written, CHUNK), position + written);
      progress?.();
    }
  } catch (error) {
    throw accessError(error, path, 'write');
  }
}

export function syncFile(fd: number, path: string): void {
  try {
    fsyncSync(fd);
  } catch (error) {
    throw accessError(error, path, 'write');
  }
}

/** Cuts a regular file to `size` bytes. */
export function truncateFile(path: string, size: number): void {
  const fd = openFile(path, 'update');
  if (fd === undefined) return;
  try {
    ftruncateSync(fd, size);
  } catch (error) {
    throw accessError(error, path, 'write');
  } finally {
    closeSync(fd);
  }
}

/** Renames `from` to `to` (a rename moves the name: it never follows a link). */
export function rename(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (error) {
    throw accessError(error, from, 'move');
  }
}

export function remove(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw accessError(error, path, 'remove');
  }
}

/** Copies a regular file to a new name (the copy is created exclusively). */
export function copyFile(from: string, to: string): void {
  const bytes = readFile(from);
  if (bytes === undefined) return;
  const fd = createFile(to);
  if (fd === undefined) throw new StoreAccessError(to, 'access', `cannot create ${to}: a file of that name exists`);
  try {
    writeAll(fd, to, bytes, 0);
    syncFile(fd, to);
  } finally {
    closeSync(fd);
  }
}

/**
 * Replaces `path` with `bytes` so a crash leaves the old file or the new one, never a mix: written
 * to `<path>.tmp` (a leftover one is removed first, never written through), fsync'd, renamed over
 * `path`, and the folder fsync'd. `progress` is called during long writes.
 */
export function replaceFile(path: string, bytes: Uint8Array, progress?: () => void): void {
  refuseLink(path);
  const tmp = `${path}.tmp`;
  const leftover = entryKind(tmp);
  if (leftover === 'link') throw linkRefused(tmp);
  if (leftover === 'directory' || leftover === 'other') throw notAFile(tmp, leftover === 'directory' ? 'a folder' : 'a special file');
  // Even a regular leftover is removed rather than truncated: it may be a hard link to a file elsewhere.
  if (leftover === 'file') remove(tmp);
  const fd = createFile(tmp);
  if (fd === undefined) throw new StoreAccessError(tmp, 'access', `cannot create ${tmp}: another process created it meanwhile`);
  try {
    writeAll(fd, tmp, bytes, 0, progress);
    progress?.();
    syncFile(fd, tmp);
    progress?.();
  } finally {
    closeSync(fd);
  }
  rename(tmp, path);
  syncDirectory(path);
}

/** fsync the folder holding `path`, so a rename in it survives a power cut. */
export function syncDirectory(path: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dirname(path), 'r');
    fsyncSync(fd);
  } catch {
    // Some file systems cannot fsync a directory; the rename itself is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
