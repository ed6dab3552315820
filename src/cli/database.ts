import { join } from 'node:path';
import type { Store, StoreOptions } from '../core/store';
import { entryKind } from '../core/store/safeFiles';
import { openWorkspaceStore } from '../core/workspace';
import { workspaceFolder } from './files';
import type { Output } from './output';

/** How the CLI opens the workspace database: a wait for another process's lock is said, once. */
export function cliStoreOptions(out: Output): StoreOptions {
  return { onLockWait: (holder) => out.note(`promptloom: waiting for the workspace database: ${holder} holds it`) };
}

/**
 * The workspace database for commands that only read it or review what is in it: undefined when
 * the workspace has none yet, so a typo in --workspace never leaves a new `.promptloom/` behind.
 * A workspace folder that does not exist is a usage error.
 */
export async function existingStore(workspace: string | undefined, out: Output): Promise<{ store: Store | undefined; folder: string }> {
  const folder = workspaceFolder(workspace);
  const dir = join(folder, '.promptloom');
  // lstat, not stat: a link there is not "no database" but something Store.open refuses by name.
  if (!['promptloom.db', 'promptloom.journal'].some((f) => entryKind(join(dir, f)) !== 'missing')) return { store: undefined, folder };
  const { store, notices } = await openWorkspaceStore(folder, cliStoreOptions(out));
  for (const notice of notices) out.note(`promptloom: ${notice}`);
  return { store, folder };
}
