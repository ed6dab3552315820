/**
 * `promptloom review <conversation-id> approve|reject|needs-revision`: a review from the terminal,
 * in the workspace database or, with --database-url, the team's (reviews are team work: every
 * member reviews the conversations they can see).
 */
import { systemClock, type ReviewStatus } from '../core/store';
import { ConversationReads } from '../core/store/conversationReads';
import type { Database } from '../core/store/database';
import { existingStore } from './database';
import { teamDatabaseUrl } from './db';
import { EXIT, UserError } from './errors';
import type { Output } from './output';
import { withTeamStore } from './teamStore';

export const REVIEW_ACTIONS = ['approve', 'reject', 'needs-revision'] as const;
export type ReviewAction = (typeof REVIEW_ACTIONS)[number];

const STATUS: Record<ReviewAction, ReviewStatus> = { approve: 'approved', reject: 'rejected', 'needs-revision': 'needs_revision' };
/** Shorter than this, a prefix names too many conversations to be worth looking up. */
const MIN_PREFIX = 4;

export async function runReview(id: string, action: ReviewAction, flags: { note?: string; workspace?: string; databaseUrl?: string }, out: Output, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const url = teamDatabaseUrl(flags.databaseUrl, env);
  if (url) return withTeamStore(url, (db) => review(db, 'the team database', id, action, flags.note, out));
  const { store, folder } = await existingStore(flags.workspace, out);
  if (!store) throw new UserError(`no conversation "${id}": ${folder} has no Promptloom database yet`, EXIT.invalid);
  try {
    return await review(store, "this workspace's database", id, action, flags.note, out);
  } finally {
    store.close();
  }
}

async function review(db: Database, where: string, id: string, action: ReviewAction, note: string | undefined, out: Output): Promise<number> {
  const conversations = new ConversationReads(db, systemClock);
  const full = await resolveId(conversations, id.trim(), where);
  if (!(await conversations.review(full, STATUS[action], note))) throw new UserError(`no conversation "${id}" in ${where}`, EXIT.invalid);
  out.stdout(`conversation ${full}: ${STATUS[action].replace('_', ' ')}${note ? ` (${note})` : ''}\n`);
  return EXIT.ok;
}

/** The full id for an id or a unique prefix of one; unknown or ambiguous ids are the user's to fix. */
async function resolveId(generations: ConversationReads, id: string, where: string): Promise<string> {
  if (await generations.conversation(id)) return id;
  const matches = id.length >= MIN_PREFIX ? await generations.idsStartingWith(id) : [];
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) throw new UserError(`"${id}" matches more than one conversation; give more of the id`, EXIT.invalid);
  throw new UserError(`no conversation "${id}" in ${where} (ids are printed by generate and shown in the Conversations view)`, EXIT.invalid);
}
