/**
 * Which conversation a reviewer sees next after giving a verdict in the review list, so a run of
 * keyboard verdicts walks the list instead of landing on the same row twice.
 */

const STATUS_WORDS: Record<string, string> = { pending: 'pending review', approved: 'approved', rejected: 'rejected', needs_revision: 'needs revision' };

/** A review status as people read it ("needs revision", "pending review"). */
export function statusWords(status: string): string {
  return STATUS_WORDS[status] ?? status;
}

/** What the queue needs of a listed conversation. */
export interface Reviewable {
  readonly id: string;
  readonly status: 'pending' | 'approved' | 'rejected' | 'needs_revision';
  /** Set by the scorer when it flagged the conversation; a person's verdict from the list leaves none. */
  readonly statusReason: string | null;
}

/**
 * Still waiting for a person: never reviewed, or flagged by the scorer (needs revision with its
 * reason) but not yet looked at. A person's "needs revision" is a verdict, not a request for one.
 */
export function awaitsVerdict(c: Reviewable): boolean {
  return c.status === 'pending' || (c.status === 'needs_revision' && c.statusReason !== null);
}

/**
 * The first conversation awaiting a verdict below the last of `reviewed`, else the first one above
 * it (rows the reviewer skipped); undefined when none is left. `listing` is read after the
 * verdicts, so the reviewed rows no longer await one; `before` is the view's order as the reviewer
 * saw it, which places the reviewed rows even when the verdict took them out of a filtered list.
 */
export function nextToReview<T extends Reviewable>(listing: readonly T[], reviewed: readonly string[], before: readonly string[] = listing.map((c) => c.id)): T | undefined {
  const done = new Set(reviewed);
  const byId = new Map(listing.map((c) => [c.id, c]));
  const last = before.reduce((at, id, i) => (done.has(id) ? i : at), -1);
  const candidates = [...before.slice(last + 1), ...before.slice(0, Math.max(0, last))];
  const waiting = (c: T | undefined): c is T => c !== undefined && !done.has(c.id) && awaitsVerdict(c);
  const known = new Set(before);
  // Rows new since (a generation landed meanwhile) come after those the reviewer saw.
  return candidates.map((id) => byId.get(id)).find(waiting) ?? listing.find((c) => !known.has(c.id) && waiting(c));
}
