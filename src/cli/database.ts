import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../core/store';
import { workspaceFolder } from './files';
import type { Output } from './output';

/**
 * The workspace database for commands that only read it or review what is in it: undefined when
 * the workspace has none yet, so a typo in --workspace never leaves a new `.promptloom/` behind.
 * A workspace folder that does not exist is a usage error.
 */
export async function existingStore(workspace: string | undefined, out: Output): Promise<{ store: Store | undefined; folder: string }> {
  const folder = workspaceFolder(workspace);
  const dir = join(folder, '.promptloom');
  if (!['promptloom.db', 'promptloom.journal'].some((f) => existsSync(join(dir, f)))) return { store: undefined, folder };
  const store = await Store.open(folder);
  for (const notice of store.notices) out.note(`promptloom: ${notice}`);
  return { store, folder };
}
