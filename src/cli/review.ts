/** `promptloom review <conversation-id> approve|reject|needs-revision`: a review from the terminal. */
import { WorkspaceGenerationRepository, type GenerationRepository, type ReviewStatus } from '../core/store';
import { existingStore } from './database';
import { EXIT, UserError } from './errors';
import type { Output } from './output';

export const REVIEW_ACTIONS = ['approve', 'reject', 'needs-revision'] as const;
export type ReviewAction = (typeof REVIEW_ACTIONS)[number];

const STATUS: Record<ReviewAction, ReviewStatus> = { approve: 'approved', reject: 'rejected', 'needs-revision': 'needs_revision' };
/** Shorter than this, a prefix names too many conversations to be worth looking up. */
const MIN_PREFIX = 4;

export async function runReview(id: string, action: ReviewAction, flags: { note?: string; workspace?: string }, out: Output): Promise<number> {
  const { store, folder } = await existingStore(flags.workspace, out);
  if (!store) throw new UserError(`no conversation "${id}": ${folder} has no Promptloom database yet`, EXIT.invalid);
  try {
    const generations = new WorkspaceGenerationRepository(store);
    const full = await resolveId(generations, id.trim());
    await generations.review(full, STATUS[action], flags.note);
    out.stdout(`conversation ${full}: ${STATUS[action].replace('_', ' ')}${flags.note ? ` (${flags.note})` : ''}\n`);
    return EXIT.ok;
  } finally {
    store.close();
  }
}

/** The full id for an id or a unique prefix of one; unknown or ambiguous ids are the user's to fix. */
async function resolveId(generations: GenerationRepository, id: string): Promise<string> {
  if (await generations.conversation(id)) return id;
  const matches = id.length >= MIN_PREFIX ? await generations.idsStartingWith(id) : [];
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) throw new UserError(`"${id}" matches more than one conversation; give more of the id`, EXIT.invalid);
  throw new UserError(`no conversation "${id}" in this workspace's database (ids are printed by generate and shown in the Conversations view)`, EXIT.invalid);
}
