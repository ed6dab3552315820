/**
 * Fine-tuning export: stored conversations as JSONL, one per line, in the formats training tools
 * read. Pure over rows; the CLI and the editor only choose the filters and where lines go.
 */
import type { Store } from '../store';
import type { SqlParam } from '../store/types';

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
  readonly system?: string;
  readonly turns: readonly Turn[];
}

/** The conversations matching the filters, oldest first, with their turns. */
export function selectConversations(store: Store, filters: ExportFilters): ExportedConversation[] {
  const where: string[] = [];
  const params: SqlParam[] = [];
  if (filters.status !== 'all') {
    where.push('c.status = ?');
    params.push(filters.status);
  }
  if (filters.template !== undefined) {
    where.push('t.path = ?');
    params.push(filters.template.replace(/\\/g, '/').replace(/^\.\//, ''));
  }
  if (filters.minQuality !== undefined) {
    where.push('q.overall >= ?');
    params.push(filters.minQuality);
  }
  const rows = store.all(
    `SELECT c.id, c.system_prompt FROM conversations c
       JOIN templates t ON t.id = c.template_id
       LEFT JOIN quality_scores q ON q.conversation_id = c.id
     ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY c.created_at, c.id`,
    params,
  );
  return rows.map((r) => ({
    id: String(r.id),
    ...(r.system_prompt !== null ? { system: String(r.system_prompt) } : {}),
    turns: store.all('SELECT role, content FROM turns WHERE conversation_id = ? ORDER BY position', [String(r.id)]).map((t) => ({ role: t.role as Turn['role'], content: String(t.content) })),
  }));
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
export function exportJsonl(store: Store, filters: ExportFilters, format: ExportFormat): { text: string; count: number } {
  const lines = selectConversations(store, filters)
    .map((c) => toLine(c, format))
    .filter((l): l is string => l !== undefined);
  return { text: lines.length > 0 ? lines.join('\n') + '\n' : '', count: lines.length };
}
