import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Store } from '../core/store';
import { UserError } from './errors';
import type { Output } from './output';

/**
 * The workspace database for commands that only read it or review what is in it: undefined when
 * the workspace has none yet, so a typo in --workspace never leaves a new `.promptloom/` behind.
 * A workspace folder that does not exist is a usage error.
 */
export async function existingStore(workspace: string | undefined, out: Output): Promise<{ store: Store | undefined; folder: string }> {
  const folder = resolve(workspace ?? '.');
  let isFolder = false;
  try {
    isFolder = statSync(folder).isDirectory();
  } catch {
    // reported below
  }
  if (!isFolder) throw new UserError(`${folder} is not a folder`);
  const dir = join(folder, '.promptloom');
  if (!['promptloom.db', 'promptloom.journal'].some((f) => existsSync(join(dir, f)))) return { store: undefined, folder };
  const store = await Store.open(folder);
  for (const notice of store.notices) out.note(`promptloom: ${notice}`);
  return { store, folder };
}
