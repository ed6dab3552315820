/** `promptloom conversations`: the stored conversations (the workspace's, or with --database-url the team's), the command-line twin of the Conversations view. */
import { relative, resolve } from 'node:path';
import { conversationRows, type ConversationRow } from '../core/export';
import type { ConversationStatus } from '../core/store/repositories';
import type { Database } from '../core/store/database';
import { existingStore } from './database';
import { teamDatabaseUrl } from './db';
import { EXIT } from './errors';
import { workspaceFolder } from './files';
import type { Output } from './output';
import { withTeamStore } from './teamStore';

export type ConversationsStatus = ConversationStatus | 'all';

/** The JSON contract: exactly these keys, in this order (CSV uses them as its header). */
export const CONVERSATION_COLUMNS = ['id', 'template', 'version', 'values', 'quality', 'status', 'createdAt', 'nearDuplicateOf', 'similarity'] as const;

export interface ConversationJson {
  readonly id: string;
  /** The template's workspace-relative path. */
  readonly template: string;
  /** The version's ordinal within its template: 1, 2, 3… in the order recorded. */
  readonly version: number;
  readonly values: Record<string, unknown>;
  readonly quality: number | null;
  readonly status: ConversationStatus;
  /** ISO 8601. */
  readonly createdAt: string;
  readonly nearDuplicateOf: string | null;
  readonly similarity: number | null;
}

export function conversationJson(r: ConversationRow): ConversationJson {
  return {
    id: r.id,
    template: r.template,
    version: r.version,
    values: r.values,
    quality: r.quality,
    status: r.status,
    createdAt: new Date(r.createdAt).toISOString(),
    nearDuplicateOf: r.nearDuplicateOf,
    similarity: r.similarity,
  };
}

export async function runConversations(
  flags: { workspace?: string; databaseUrl?: string; template?: string; status: ConversationsStatus; format: 'text' | 'json' | 'csv' },
  out: Output,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const workspace = workspaceFolder(flags.workspace);
  // --template is a file: as given on the command line, relative to where it runs (the team
  // store keeps the same workspace-relative paths).
  const template = flags.template !== undefined ? relative(workspace, resolve(flags.template)).split('\\').join('/') : undefined;
  const filter = { ...(flags.status !== 'all' ? { status: flags.status } : {}), ...(template !== undefined ? { template } : {}) };
  const url = teamDatabaseUrl(flags.databaseUrl, env);
  if (url) return withTeamStore(url, async (db) => printConversations(db, filter, flags.format, out));
  const { store } = await existingStore(workspace, out);
  if (!store) out.note(`promptloom: no workspace database in ${workspace} yet`);
  try {
    return await printConversations(store, filter, flags.format, out);
  } finally {
    store?.close();
  }
}

async function printConversations(db: Database | undefined, filter: Parameters<typeof conversationRows>[1], format: 'text' | 'json' | 'csv', out: Output): Promise<number> {
  const list = (db ? await conversationRows(db, filter) : []).map(conversationJson);
  if (format === 'json') out.stdout(JSON.stringify(list, null, 2) + '\n');
  else if (format === 'csv') out.stdout(conversationsCsv(list));
  else {
    for (const c of list) out.stdout(textLine(c) + '\n');
    out.note(`${list.length} conversation${list.length === 1 ? '' : 's'}`);
  }
  return EXIT.ok;
}

/** `1a2b3c4d  approved  8.4  t.prompt v2  2025-01-01T10:00:00.000Z  {"persona":"Ann"}  ≈ 5e6f7a8b 0.93` */
function textLine(c: ConversationJson): string {
  const quality = c.quality === null ? '—' : c.quality.toFixed(1);
  const dup = c.nearDuplicateOf !== null ? `  ≈ ${c.nearDuplicateOf.slice(0, 8)}${c.similarity !== null ? ` ${c.similarity.toFixed(2)}` : ''}` : '';
  return `${c.id.slice(0, 8)}  ${c.status.padEnd(14)}  ${quality.padStart(4)}  ${c.template} v${c.version}  ${c.createdAt}  ${JSON.stringify(c.values)}${dup}`;
}

/**
 * CSV (RFC 4180): a header row of the JSON names, `values` as a JSON string, CRLF line ends.
 * Written here rather than with a library: no CSV writer is a dependency, and quoting is the
 * whole of the format (a field with a comma, quote, CR or LF is quoted, its quotes doubled).
 */
export function conversationsCsv(list: readonly ConversationJson[]): string {
  const rows = [CONVERSATION_COLUMNS as readonly string[], ...list.map((c) => CONVERSATION_COLUMNS.map((k) => csvText(c[k])))];
  return rows.map((r) => r.map(csvField).join(',') + '\r\n').join('');
}

function csvText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
