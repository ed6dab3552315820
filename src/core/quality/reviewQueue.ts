/**
 * Which conversation a reviewer sees next after giving a verdict in the review list, so a run of
 * keyboard verdicts walks the list instead of landing on the same row twice.
 */

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
 * The first conversation awaiting a verdict below the last of `reviewed` in `listing` (the view's
 * order), else the first one above it (rows the reviewer skipped); undefined when none is left.
 * `listing` is read after the verdicts, so the reviewed rows no longer await one.
 */
export function nextToReview<T extends Reviewable>(listing: readonly T[], reviewed: readonly string[]): T | undefined {
  const done = new Set(reviewed);
  const last = listing.reduce((at, c, i) => (done.has(c.id) ? i : at), -1);
  const after = listing.slice(last + 1);
  const before = listing.slice(0, Math.max(0, last));
  return [...after, ...before].find((c) => !done.has(c.id) && awaitsVerdict(c));
}
