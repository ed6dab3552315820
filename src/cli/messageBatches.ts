/**
 * The CLI's side of Message Batches: running a batch through them with a progress line on a
 * terminal (`generate --batch-api`, `resume` of such a batch), and `promptloom cancel`.
 */
import { createClient } from '../core/generation/claude';
import { liveMessageBatches } from '../core/generation/messageBatchRecords';
import { cancelBatch, progressLine, runMessageBatches, runTeamMessageBatches, teamBatchAuthor, type MessageBatchInput, type MessageBatchOutcome, type TeamMessageBatchInput } from '../core/generation/messageBatches';
import { TeamStoreUnsupportedError } from '../core/generation/batch';
import { WorkspaceBatchRepository } from '../core/store';
import { existingStore } from './database';
import { teamDatabaseUrl } from './db';
import { withTeamStore } from './teamStore';
import { EXIT, UserError } from './errors';
import type { Interrupt } from './generate';
import type { Output } from './output';
import { apiAddress, apiKey } from './workspace';

/**
 * Runs a batch through Message Batches. Ctrl+C stops waiting (the Message Batches go on at
 * Anthropic, already paid for or not: `resume` collects them), it does not cancel them.
 */
export async function runBatchesInTerminal(input: Omit<MessageBatchInput, 'signal' | 'onProgress'>, tty: boolean, interrupt: Interrupt): Promise<MessageBatchOutcome> {
  return inTerminal(tty, interrupt, (shell) => runMessageBatches({ ...input, ...shell }));
}

/** `runBatchesInTerminal` recording in the team database; what the team store cannot do yet (the judge) is a UserError (one line, exit 2). */
export async function runTeamBatchesInTerminal(input: Omit<TeamMessageBatchInput, 'signal' | 'onProgress'>, tty: boolean, interrupt: Interrupt): Promise<MessageBatchOutcome> {
  try {
    return await inTerminal(tty, interrupt, (shell) => runTeamMessageBatches({ ...input, ...shell }));
  } catch (error) {
    if (error instanceof TeamStoreUnsupportedError) throw new UserError(error.message);
    throw error;
  }
}

/** Ctrl+C stops the waiting; the progress line is drawn on a terminal's stderr. */
async function inTerminal(tty: boolean, interrupt: Interrupt, run: (shell: Pick<MessageBatchInput, 'signal' | 'onProgress'>) => Promise<MessageBatchOutcome>): Promise<MessageBatchOutcome> {
  const stop = new AbortController();
  interrupt.started({ cancel: () => stop.abort() });
  let shown = false;
  try {
    return await run({
      signal: stop.signal,
      onProgress: (p) => {
        if (!tty) return;
        shown = true;
        process.stderr.write(`\r${progressLine(p)}\u001b[K`);
      },
    });
  } finally {
    if (shown) process.stderr.write('\n');
  }
}

/**
 * `promptloom cancel`: cancels the Message Batches of a batch (the newest running one by
 * default). Requests already being processed may still finish; what they return is collected by
 * `resume`, which also sends the canceled requests again if asked to finish the batch.
 */
export async function runCancel(flags: { workspace?: string; batch?: string; apiBaseUrl?: string; databaseUrl?: string; format: 'text' | 'json' }, out: Output, env: NodeJS.ProcessEnv): Promise<number> {
  const teamUrl = teamDatabaseUrl(flags.databaseUrl, env);
  if (teamUrl) return cancelOnTeamStore(teamUrl, flags, out, env);
  const { store, folder } = await existingStore(flags.workspace, out);
  if (!store) throw new UserError(flags.batch ? `no batch ${flags.batch} in ${folder}` : `no running batch in ${folder}`);
  try {
    const batches = new WorkspaceBatchRepository(store);
    const batch = flags.batch ? await batches.get(flags.batch) : (await batches.unfinished()).find((b) => b.status === 'running' || b.status === 'pending');
    if (!batch) throw new UserError(flags.batch ? `no batch ${flags.batch} in ${folder}` : `no running batch in ${folder}`);
    const live = await liveMessageBatches(store, batch.id);
    if (live.length === 0 && batch.status !== 'running' && batch.status !== 'pending') throw new UserError(`batch ${batch.id} is not running (${batch.status})`);
    // A direct batch's process sees the status and stops; a Message Batch's run stops once the
    // canceled results come in.
    const canceled = await cancelBatch(store, batch, () => createClient({ apiKey: apiKey(env), ...(apiAddressOf(flags, env) ?? {}), timeoutMs: 60_000 }));
    if (flags.format === 'json') out.stdout(JSON.stringify({ batchId: batch.id, messageBatches: canceled }) + '\n');
    else out.stdout(`batch ${batch.id} cancelled${canceled.length ? `: Message Batch${canceled.length === 1 ? '' : 'es'} ${canceled.join(', ')}` : ''}\nfinish it later with: promptloom resume --batch ${batch.id}\n`);
    return EXIT.ok;
  } finally {
    store.close();
  }
}

/**
 * `cancel --database-url`: the shared batch's status set to cancelled (any member who may see the
 * batch may move its status). Every process running it sees that: a generate's cancel watch
 * stops its engine, a resume claims nothing more (it reads the status before each claim), and a
 * Message Batches run cancels its Message Batches. Those the member submitted are cancelled at
 * Anthropic here too, as in a workspace; a teammate's are theirs (their rows, their account): the
 * teammate's running process cancels them on seeing the status.
 */
async function cancelOnTeamStore(url: string, flags: { batch?: string; apiBaseUrl?: string; format: 'text' | 'json' }, out: Output, env: NodeJS.ProcessEnv): Promise<number> {
  return withTeamStore(url, async (db) => {
    const batches = new WorkspaceBatchRepository(db);
    const batch = flags.batch ? await batches.get(flags.batch) : (await batches.unfinished()).find((b) => b.status === 'running' || b.status === 'pending');
    if (!batch) throw new UserError(flags.batch ? `no batch ${flags.batch} on the team database that you may see` : 'no running batch on the team database');
    // The member's own Message Batches only: row-level security shows no one else's.
    const live = await liveMessageBatches(db, batch.id);
    if (live.length === 0 && batch.status !== 'running' && batch.status !== 'pending') throw new UserError(`batch ${batch.id} is not running (${batch.status})`);
    const canceled = await cancelBatch(db, batch, () => createClient({ apiKey: apiKey(env), ...(apiAddressOf(flags, env) ?? {}), timeoutMs: 60_000 }));
    const author = batch.settings.mode === 'batch' ? await teamBatchAuthor(db, batch.id) : undefined;
    if (flags.format === 'json') out.stdout(JSON.stringify({ batchId: batch.id, messageBatches: canceled }) + '\n');
    else {
      out.stdout(
        `batch ${batch.id} cancelled${canceled.length ? `: Message Batch${canceled.length === 1 ? '' : 'es'} ${canceled.join(', ')}` : ''}\n` +
          (author && !author.mine ? `its Message Batches are ${author.name}'s: a run of theirs cancels them at Anthropic when it sees this\n` : '') +
          `finish it later with: promptloom resume --batch ${batch.id} and the same --database-url\n`,
      );
    }
    return EXIT.ok;
  });
}

function apiAddressOf(flags: { apiBaseUrl?: string }, env: NodeJS.ProcessEnv): { baseURL: string } | undefined {
  const baseURL = apiAddress(flags.apiBaseUrl, env);
  return baseURL ? { baseURL } : undefined;
}
