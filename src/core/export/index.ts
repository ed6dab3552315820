/**
 * Fine-tuning export: stored conversations as JSONL, one per line, in the formats training tools
 * read. Pure over rows; the CLI and the editor only choose the filters and where lines go.
 *
 * Read through the `Database` handle: one implementation for the workspace database and the team
 * database (docs/team-store.md). The same rows give the same bytes on either: rows are ordered
 * bytewise (rows.ts), values are parsed from their JSON text (jsonb's key order does not matter:
 * lines never print values, and strata sort their keys), and the split sorts by id first.
 */
import type { Database } from '../store/database';
import { cardFigures, renderCard, type CardFigures } from './card';
import { dedup, nearDuplicateGroups, splitRows } from './dataset';
import { conversationRows, modelsOf, nearDuplicateLinks, normalise, turnsOfAll, type ConversationRow, type RowFilter } from './rows';
import { trainingSystemRenderer } from './trainingSystem';

export * from './rows';
export * from './dataset';
export * from './card';
export { renderTrainingSystem, type TrainingSystem } from './trainingSystem';

export type ExportFormat = 'openai' | 'anthropic' | 'sharegpt';
export type ExportStatus = 'approved' | 'all' | 'needs_revision' | 'rejected';

export interface ExportFilters {
  readonly status: ExportStatus;
  /** Workspace-relative template path. */
  readonly template?: string;
  readonly minQuality?: number;
}

interface Turn {
  readonly role: 'user' | 'assistant';
  readonly content: string;
}

export interface ExportedConversation {
  readonly id: string;
  /** The training system message (`training_system:` rendered); absent when the template has none. */
  readonly system?: string;
  readonly turns: readonly Turn[];
}

/** Why an export cannot be written: one line for the user (the CLI's exit 1). */
export class ExportError extends Error {
  override readonly name = 'ExportError';
}

/**
 * The conversations matching the filters, oldest first, with their turns and the system message
 * an export writes: the template's `training_system:` rendered with the conversation's values
 * (see trainingSystem.ts), never the generation system prompt. Throws ExportError when a
 * `training_system:` cannot be rendered for a conversation.
 */
export async function selectConversations(db: Database, filters: ExportFilters): Promise<ExportedConversation[]> {
  return withContent(db, await conversationRows(db, rowFilter(filters)));
}

/** What the filters select, as a row filter. */
export function rowFilter(filters: ExportFilters): RowFilter {
  return {
    ...(filters.status !== 'all' ? { status: filters.status } : {}),
    ...(filters.template !== undefined ? { template: filters.template } : {}),
    ...(filters.minQuality !== undefined ? { minQuality: filters.minQuality } : {}),
  };
}

/** Rows with their turns and their rendered training system message. */
export async function withContent<T extends ConversationRow>(db: Database, rows: readonly T[]): Promise<(T & ExportedConversation)[]> {
  const render = trainingSystemRenderer();
  // Each version's text is read once, before its first conversation renders (the renderer parses it once).
  const texts = new Map<number, string>();
  const out: (T & ExportedConversation)[] = [];
  const turns = await turnsOfAll(db, rows.map((r) => r.id));
  for (const row of rows) {
    if (!texts.has(row.versionId)) texts.set(row.versionId, String((await db.get('SELECT content FROM template_versions WHERE id = ?', [row.versionId]))?.content ?? ''));
    const system = render(row.versionId, () => texts.get(row.versionId)!, row.values);
    if (!system.ok) throw new ExportError(`conversation ${row.id.slice(0, 8)} (${row.template}, version ${row.version}): ${system.problem}`);
    out.push({ ...row, ...(system.system !== undefined ? { system: system.system } : {}), turns: turns.get(row.id)! });
  }
  return out;
}

/** One JSONL line for a conversation, or undefined when it has nothing a trainer could use. */
export function toLine(c: ExportedConversation, format: ExportFormat): string | undefined {
  if (c.turns.length === 0) return undefined;
  switch (format) {
    case 'openai':
      return JSON.stringify({ messages: [...(c.system !== undefined ? [{ role: 'system', content: c.system }] : []), ...c.turns.map((t) => ({ role: t.role, content: t.content }))] });
    case 'anthropic': {
      const messages = alternating(c.turns);
      if (messages.length === 0) return undefined;
      return JSON.stringify({ ...(c.system !== undefined ? { system: c.system } : {}), messages });
    }
    case 'sharegpt':
      return JSON.stringify({
        conversations: [
          ...(c.system !== undefined ? [{ from: 'system', value: c.system }] : []),
          ...c.turns.map((t) => ({ from: t.role === 'user' ? 'human' : 'gpt', value: t.content })),
        ],
      });
  }
}

/**
 * The Messages API's shape: strictly alternating, starting with the user. Consecutive turns of
 * one role are joined (blank line between); assistant turns before the first user turn are dropped.
 */
export function alternating(turns: readonly Turn[]): Turn[] {
  const out: Turn[] = [];
  for (const t of turns) {
    if (out.length === 0 && t.role !== 'user') continue;
    const last = out[out.length - 1];
    if (last && last.role === t.role) out[out.length - 1] = { role: t.role, content: `${last.content}\n\n${t.content}` };
    else out.push({ role: t.role, content: t.content });
  }
  return out;
}

/**
 * The reverse of `toLine`, for scoring exported or third-party data: a `{ turns }` object as is,
 * or the turns of an openai/anthropic `{ messages }` or sharegpt `{ conversations }` line (system
 * messages dropped; the scorer judges the dialogue). Anything else is returned unchanged, so the
 * scorer's structure check can say what is wrong with it.
 */
export function conversationOf(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || 'turns' in value) return value;
  const record = value as Record<string, unknown>;
  if (Array.isArray(record.messages)) {
    return { turns: record.messages.filter((m) => !(isRecord(m) && m.role === 'system')) };
  }
  if (Array.isArray(record.conversations)) {
    const roles = new Map([
      ['human', 'user'],
      ['gpt', 'assistant'],
    ]);
    return {
      turns: record.conversations
        .filter((m) => !(isRecord(m) && m.from === 'system'))
        .map((m) => (isRecord(m) && typeof m.from === 'string' ? { role: roles.get(m.from) ?? m.from, content: m.value } : m)),
    };
  }
  return value;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** The whole export as JSONL text, and how many conversations it holds. */
export async function exportJsonl(db: Database, filters: ExportFilters, format: ExportFormat): Promise<{ text: string; count: number }> {
  const lines = (await selectConversations(db, filters))
    .map((c) => toLine(c, format))
    .filter((l): l is string => l !== undefined);
  return { text: lines.length > 0 ? lines.join('\n') + '\n' : '', count: lines.length };
}

export interface DatasetOptions {
  /** One conversation per near-duplicate group: the best scored, ties by earliest. */
  readonly dedup?: boolean;
  /** Train/validation split: the train share (0 < ratio < 1) and the seed. */
  readonly split?: { readonly ratio: number; readonly seed: number };
  /** Write the dataset card; `names` are the files it names. */
  readonly card?: boolean;
  /** The file names the card mentions (standard output when `all` is absent). */
  readonly names?: { readonly all?: string; readonly train?: string; readonly validation?: string };
}

export interface DatasetFile {
  readonly text: string;
  readonly count: number;
}

export interface DatasetExport {
  /** Without a split: the one file. */
  readonly all?: DatasetFile;
  readonly train?: DatasetFile;
  readonly validation?: DatasetFile;
  /** Conversations matching the filters that have a line in this format, before deduplication. */
  readonly selected: number;
  /** Ids left out by --dedup, oldest first. */
  readonly removed: readonly string[];
  readonly card?: string;
  readonly figures?: CardFigures;
}

/**
 * The export as a dataset: the conversations matching the filters that make a line in `format`,
 * deduplicated, split and described as asked. Throws ExportError (training_system that does not
 * render) and RangeError (a split ratio outside (0, 1)).
 */
export async function exportDataset(db: Database, filters: ExportFilters, format: ExportFormat, options: DatasetOptions = {}): Promise<DatasetExport> {
  const lined = (await withContent(db, await conversationRows(db, rowFilter(filters))))
    .map((c) => ({ row: c, line: toLine(c, format) }))
    .filter((x): x is { row: ConversationRow & ExportedConversation; line: string } => x.line !== undefined);
  const lineOf = new Map(lined.map((x) => [x.row.id, x.line]));
  const groupOf = nearDuplicateGroups(await nearDuplicateLinks(db));
  const selected = lined.map((x) => x.row);
  const { kept, removed } = options.dedup ? dedup(selected, groupOf) : { kept: selected, removed: [] };
  const file = (rows: readonly ConversationRow[]): DatasetFile => ({ text: rows.map((r) => lineOf.get(r.id)! + '\n').join(''), count: rows.length });
  const split = options.split ? splitRows(kept, options.split.ratio, options.split.seed, groupOf) : undefined;
  let figures: CardFigures | undefined;
  if (options.card) {
    figures = await cardFigures(db, {
      format,
      filters: { status: filters.status, template: filters.template !== undefined ? normalise(filters.template) : null, minQuality: filters.minQuality ?? null },
      dedup: options.dedup === true,
      selected: selected.length,
      exported: kept,
      removed: removed.length,
      groupOf,
      models: await modelsOf(db),
      split:
        split && options.split
          ? { ...options.split, ...split, trainFile: options.names?.train ?? 'train', validationFile: options.names?.validation ?? 'validation' }
          : { file: options.names?.all ?? null },
    });
  }
  return {
    ...(split ? { train: file(split.train), validation: file(split.validation) } : { all: file(kept) }),
    selected: selected.length,
    removed: removed.map((r) => r.id),
    ...(figures ? { figures, card: renderCard(figures) } : {}),
  };
}
