import { readdirSync, readFileSync, statSync, type Dirent } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from './errors';

/** Templates bigger than this are refused before reading: no real template comes near it. */
export const MAX_TEMPLATE_BYTES = 16 * 1024 * 1024;

const SKIPPED_DIRECTORIES: ReadonlySet<string> = new Set(['node_modules']);

/** Reads a text file as UTF-8 (invalid bytes become U+FFFD), refusing what cannot be a template. */
export function readTextFile(path: string, limit = MAX_TEMPLATE_BYTES): string {
  let size: number;
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) throw new UserError(`${path} is a folder, not a file`);
    size = stat.size;
  } catch (error) {
    throw asUserError(error, path);
  }
  if (size > limit) {
    throw new UserError(`${path} is ${(size / 1048576).toFixed(1)} MB; files over ${limit / 1048576} MB are not read`);
  }
  try {
    return new TextDecoder('utf-8').decode(readFileSync(path));
  } catch (error) {
    throw asUserError(error, path);
  }
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
};

export function asUserError(error: unknown, path: string): UserError {
  if (error instanceof UserError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reason = (code && REASONS[code]) ?? (error instanceof Error ? error.message : String(error));
  return new UserError(`cannot read ${path}: ${reason}`);
}
