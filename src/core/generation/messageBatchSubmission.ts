/**
 * Submitting Message Batches: requests split at the API's limits, each POST preceded by its
 * recorded intent and followed by its id, and a row whose POST got no answer matched against the
 * account's recent Message Batches before anything is sent again.
 */
import type Anthropic from '@anthropic-ai/sdk';
import type { Database } from '../store/database';
import { isUniqueViolation, MessageBatchRepository } from '../store/messageBatches';
import { toFailure } from './claude';
import type { Clock } from './engine';
import { classify } from './retry';
import type { MessageBatchRow } from './messageBatchRecords';

/** Polling (of a run's Message Batches, and of candidates while several run) waits 1 s, then doubles up to 60 s. */
export const FIRST_POLL_MS = 1_000;
export const LONGEST_POLL_MS = 60_000;

/**
 * How far before the time our row was written (read on the API's clock) a Message Batch's
 * `created_at` may be and the batch still be ours: the `Date` header's whole seconds, the time
 * the answer took, and our clock drifting between the row and the search.
 */
const SEARCH_MARGIN_MS = 2 * 60_000;
/** The same, when no answer carried a `Date` (a proxy dropped it): room for our clock running ahead of the API's. */
const CLOCK_SKEW_MS = 10 * 60_000;

/**
 * How far the API's clock is ahead of ours (ms; negative: behind), from an answer's `Date`
 * header and our clock when it came; undefined without a readable one. Times the API states
 * (`created_at`) are compared with ours through it, so a skewed clock here does not matter.
 */
export function apiClockOffset(response: Pick<Response, 'headers'>, receivedAt: number): number | undefined {
  const date = Date.parse(response.headers.get('date') ?? '');
  return Number.isNaN(date) ? undefined : date - receivedAt;
}

/** Splits requests at the limits: at most `requests` per Message Batch, at most `bytes` of JSON. */
export function split<T>(items: readonly T[], size: (item: T) => number, limits: { readonly requests: number; readonly bytes: number }): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  // Room for the envelope: `{"requests":[` and the commas between requests.
  const envelope = 64;
  for (const item of items) {
    const n = size(item) + 1;
    if (current.length > 0 && (current.length >= limits.requests || bytes + n + envelope > limits.bytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += n;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * POSTs the row's requests and records the Message Batch id. If the POST fails without an
 * answer (the connection dropped), the batch may exist: the account's list is checked before
 * giving up; an answer with a status means it was not created.
 */
export async function submit(db: Database, client: Anthropic, row: MessageBatchRow, requests: Anthropic.Messages.BatchCreateParams.Request[], clock: Clock): Promise<string> {
  const records = new MessageBatchRepository(db);
  let created: Anthropic.Messages.MessageBatch;
  try {
    created = await client.messages.batches.create({ requests });
  } catch (error) {
    if (typeof (error as { status?: unknown }).status === 'number') {
      // Answered with a status: not created. Its slots go back to be submitted by a later run.
      await records.markLost(row.id);
      throw error;
    }
    // No answer: it may have been created (or be created still). Found now, it is adopted;
    // otherwise the row stays 'submitting' and the next run looks again before sending anything.
    const adopted = await reconcile(db, client, row, clock);
    if (adopted) return adopted;
    throw error;
  }
  // On the API's clock, as `ended_at` is: a request's duration is the one less the other.
  const createdAt = Date.parse(created.created_at);
  await records.markSubmitted(row.id, created.id, Number.isNaN(createdAt) ? clock.now() : createdAt);
  return created.id;
}

/**
 * A row written before a POST whose answer was never recorded: the POST may have created the
 * Message Batch. The account's recent Message Batches (newest first, back to the row's time) are
 * searched for one of the row's size that no row claims: an ended one must hold the row's custom
 * ids; a running one is adopted when it is the only candidate (its results are checked by custom
 * id when they come: someone else's sends the row back to 'submitting', to be searched for again); when several run,
 * they are waited for and told apart by their results. Only when none is found is the row
 * submitted again (given `resubmit`), with the same custom ids.
 *
 * "No row claims": those the store lets us read. On the team store a teammate's rows are theirs
 * alone (row-level security), so a teammate's Message Batch in the same Anthropic account may
 * look unclaimed; recording its id then meets the unique key on `anthropic_id`, and the search
 * goes on without it (the database's uniqueness decides, not what this client could see). For the
 * same reason the team store never adopts on a guess: a lone running candidate may be a teammate's
 * whose id their row has not recorded yet, and taking it would make their proven match meet the
 * unique key and submit (pay for) their work again. There the candidates are waited for until
 * their results tell.
 */
export async function reconcile(db: Database, client: Anthropic, row: MessageBatchRow, clock: Clock, resubmit?: () => Anthropic.Messages.BatchCreateParams.Request[]): Promise<string | undefined> {
  const records = new MessageBatchRepository(db);
  const claimed = await records.claimed();
  let candidates: Anthropic.Messages.MessageBatch[] = [];
  const { data: listed, response } = await client.messages.batches.list({ limit: 100 }).withResponse();
  // Our row's time on the API's clock: `created_at` is the API's, our row's is ours.
  const offset = apiClockOffset(response, clock.now());
  const earliest = offset === undefined ? row.createdAt - CLOCK_SKEW_MS : row.createdAt + offset - SEARCH_MARGIN_MS;
  for await (const b of listed) {
    if (Date.parse(b.created_at) < earliest) break;
    const counts = b.request_counts;
    const total = counts.processing + counts.succeeded + counts.errored + counts.canceled + counts.expired;
    if (!claimed.has(b.id) && total === row.customIds.length) candidates.push(b);
  }
  const mine = new Set(row.customIds);
  const checked = new Set<string>();
  const mayGuess = db.dialect.name === 'sqlite';
  for (;;) {
    let match: Anthropic.Messages.MessageBatch | undefined;
    // True when results proved it ours; false when it is adopted as the only running candidate.
    let proven = false;
    for (let delay = FIRST_POLL_MS; ; delay = Math.min(LONGEST_POLL_MS, delay * 2)) {
      for (const b of candidates.filter((c) => c.processing_status === 'ended' && c.results_url && !checked.has(c.id))) {
        checked.add(b.id);
        for await (const line of await client.messages.batches.results(b.id)) {
          if (mine.has(line.custom_id)) {
            match = b;
            proven = true;
          }
          break; // one line tells: custom ids start with the row's own id
        }
        if (match) break;
      }
      if (match) break;
      const running = candidates.filter((c) => c.processing_status !== 'ended');
      if (running.length === 0 || (mayGuess && running.length === 1)) {
        match = running[0];
        break;
      }
      // Several of the row's size still run (or one, on the team store): only their results can tell which is ours.
      await clock.sleep(delay);
      candidates = await Promise.all(candidates.map((c) => (c.processing_status === 'ended' ? c : client.messages.batches.retrieve(c.id))));
    }
    if (!match) break;
    try {
      await records.markSubmitted(row.id, match.id, Date.parse(match.created_at), proven);
      return match.id;
    } catch (error) {
      // Claimed by a row we cannot see (a teammate's): not ours. Look on among the others.
      if (!isUniqueViolation(error)) throw error;
      const taken = match.id;
      candidates = candidates.filter((c) => c.id !== taken);
    }
  }
  if (!resubmit) return undefined;
  return submit(db, client, row, resubmit(), clock);
}

/**
 * Polls the Message Batches (1 s, doubling to 60 s) and collects each as it ends. Progress comes
 * from `request_counts`.
 */
export async function waitAndCollect(
  client: Anthropic,
  rows: readonly MessageBatchRow[],
  clock: Clock,
  signal: AbortSignal | undefined,
  collect: (row: MessageBatchRow, endedAt: number) => Promise<void>,
  progress: (processing: number) => void,
  /** Called before each round of polls (a run looks for a cancel made elsewhere). */
  eachTurn: () => Promise<void> = async () => undefined,
): Promise<void> {
  let open = [...rows];
  let delay = FIRST_POLL_MS;
  while (open.length > 0 && !signal?.aborted) {
    await eachTurn();
    let processing = 0;
    const still: MessageBatchRow[] = [];
    for (const row of open) {
      let b: Anthropic.Messages.MessageBatch;
      try {
        b = await client.messages.batches.retrieve(row.anthropicId!);
      } catch (error) {
        // A dropped connection or an overloaded API while polling: look again at the next turn.
        if (!classify(toFailure(error).facts).retryable) throw error;
        still.push(row);
        continue;
      }
      if (b.processing_status === 'ended') await collect(row, b.ended_at ? Date.parse(b.ended_at) : clock.now());
      else {
        processing += b.request_counts.processing;
        still.push(row);
      }
    }
    open = still;
    progress(processing);
    if (open.length === 0) break;
    await clock.sleep(delay, signal);
    delay = Math.min(LONGEST_POLL_MS, delay * 2);
  }
}
