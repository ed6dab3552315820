/**
 * Paid answers that could not be written to the database (it was busy, the disk was full…) are
 * kept beside it, one file each in `.promptloom/unstored/`, and imported the next time the
 * database opens. Each record carries its conversation id, so importing one twice (a crash
 * between storing it and removing its file) adds nothing.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Store, WorkspaceBatchRepository, WorkspaceGenerationRepository, type GenerationRecord, type StoreOptions } from '../store';
import type { WorkspaceDatabase } from '../store/database';
import { createFile, ensureFolder, entryKind, readFile, remove, rename, syncDirectory, syncFile, writeAll } from '../store/safeFiles';

export const UNSTORED_DIR = 'unstored';

/** Writes the record to a new file of its own (never through a link), synced before returning. */
export function keepAside(promptloomDir: string, record: GenerationRecord): string {
  const dir = join(promptloomDir, UNSTORED_DIR);
  ensureFolder(dir);
  const path = join(dir, `${record.conversationId ?? randomUUID()}.json`);
  const fd = createFile(path);
  if (fd === undefined) throw new Error(`${path} exists already`);
  try {
    writeAll(fd, path, Buffer.from(JSON.stringify(record)), 0);
    syncFile(fd, path);
  } finally {
    closeSync(fd);
  }
  syncDirectory(path);
  return path;
}

/** Most a kept record may weigh: a conversation is text, far below this. */
const MAX_RECORD_BYTES = 64 * 1024 * 1024;

/**
 * Imports what was kept aside into the database (through any handle on it: the files are read
 * from its `dir` on this thread, the rows written through the handle). Returns how many records
 * were imported and notices for files that could not be (left in place, named).
 */
export async function importKeptAside(store: WorkspaceDatabase): Promise<{ imported: number; notices: string[] }> {
  const dir = join(store.dir, UNSTORED_DIR);
  const kind = entryKind(dir);
  if (kind === 'missing') return { imported: 0, notices: [] };
  if (kind !== 'directory') return { imported: 0, notices: [`${dir} is not a folder: nothing imported from it`] };
  const names = readdirSync(dir).filter((n) => n.endsWith('.json')).sort();
  const generations = new WorkspaceGenerationRepository(store);
  const notices: string[] = [];
  let imported = 0;
  const batchIds = new Set<string>();
  for (const name of names) {
    const path = join(dir, name);
    try {
      const record = readRecord(path);
      await generations.record(record);
      remove(path);
      imported++;
      if (record.batchId) batchIds.add(record.batchId);
    } catch (error) {
      // One bad file must not hold back the others, nor be tried again at every open.
      const kept = setAside(dir, name);
      notices.push(`could not import ${path} (${(error as Error).message})${kept ? `; it was moved to ${kept}` : ''}`);
    }
  }
  // A batch that lacked only what was kept aside is complete now.
  const batches = new WorkspaceBatchRepository(store);
  for (const id of batchIds) {
    const batch = await batches.get(id);
    if (batch && batch.status === 'failed' && batch.completed >= batch.requested) await batches.setStatus(id, 'completed');
  }
  return { imported, notices };
}

/** Moves a file that cannot be imported to `unstored/rejected/`, for a person to look at. */
function setAside(dir: string, name: string): string | undefined {
  try {
    const rejected = join(dir, 'rejected');
    ensureFolder(rejected);
    const to = join(rejected, name);
    rename(join(dir, name), to);
    return to;
  } catch {
    return undefined;
  }
}

const finite = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);

function readRecord(path: string): GenerationRecord {
  // Regular files only, never through a link (readFile refuses both).
  const bytes = readFile(path);
  if (!bytes) throw new Error('it is gone');
  if (bytes.length > MAX_RECORD_BYTES) throw new Error('too large');
  const record = JSON.parse(bytes.toString('utf8')) as GenerationRecord;
  const turns = record?.conversation?.turns as unknown;
  const valid =
    record &&
    typeof record === 'object' &&
    Number.isInteger(record.templateId) &&
    Number.isInteger(record.versionId) &&
    typeof record.model === 'string' &&
    (record.status === 'succeeded' || record.status === 'failed') &&
    [record.attempt, record.inputTokens, record.outputTokens, record.costUsd, record.durationMs].every(finite) &&
    (record.conversation === undefined ||
      (Array.isArray(turns) && turns.every((t: unknown) => typeof t === 'object' && t !== null && ((t as { role?: unknown }).role === 'user' || (t as { role?: unknown }).role === 'assistant') && typeof (t as { content?: unknown }).content === 'string')));
  if (!valid) throw new Error('not a generation record');
  return record;
}

/**
 * Opens (creating if needed) a workspace's database the way both shells do: what a crash or a
 * busy database left in `.promptloom/unstored/` is imported first, so it is never lost.
 */
export async function openWorkspaceStore(folder: string, options: StoreOptions = {}): Promise<{ store: Store; notices: string[] }> {
  const store = await Store.open(folder, options);
  const notices = [...store.notices];
  try {
    const { imported, notices: problems } = await importKeptAside(store);
    if (imported > 0) notices.push(`imported ${imported} generation${imported === 1 ? '' : 's'} kept aside when the database could not take ${imported === 1 ? 'it' : 'them'}`);
    notices.push(...problems);
  } catch (error) {
    notices.push(`could not import what was kept in .promptloom/unstored/ yet (${(error as Error).message}); it stays there for the next open`);
  }
  return { store, notices };
}
