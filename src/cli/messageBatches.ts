/**
 * The CLI's side of Message Batches: running a batch through them with a progress line on a
 * terminal (`generate --batch-api`, `resume` of such a batch), and `promptloom cancel`.
 */
import { createClient } from '../core/generation/claude';
import { messageBatchRows } from '../core/generation/messageBatchRecords';
import { cancelMessageBatches, runMessageBatches, type MessageBatchInput, type MessageBatchOutcome, type MessageBatchProgress } from '../core/generation/messageBatches';
import { BatchRepository } from '../core/store';
import { existingStore } from './database';
import { EXIT, UserError } from './errors';
import type { Interrupt } from './generate';
import type { Output } from './output';
import { apiAddress, apiKey } from './workspace';

/**
 * Runs a batch through Message Batches. Ctrl+C stops waiting (the Message Batches go on at
 * Anthropic, already paid for or not: `resume` collects them), it does not cancel them.
 */
export async function runBatchesInTerminal(input: Omit<MessageBatchInput, 'signal' | 'onProgress'>, tty: boolean, interrupt: Interrupt): Promise<MessageBatchOutcome> {
  const stop = new AbortController();
  interrupt.started({ cancel: () => stop.abort() });
  let shown = false;
  try {
    return await runMessageBatches({
      ...input,
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

/** "Message Batches: 120 of 200 stored, 2 failed, 78 processing in 1 Message Batch, $0.4211". */
export function progressLine(p: MessageBatchProgress): string {
  return `Message Batches: ${p.stored} of ${p.total} stored, ${p.failed} failed, ${p.processing} processing in ${p.messageBatches} Message Batch${p.messageBatches === 1 ? '' : 'es'}, $${p.costUsd.toFixed(4)}`;
}

/**
 * `promptloom cancel`: cancels the Message Batches of a batch (the newest running one by
 * default). Requests already being processed may still finish; what they return is collected by
 * `resume`, which also sends the canceled requests again if asked to finish the batch.
 */
export async function runCancel(flags: { workspace?: string; batch?: string; apiBaseUrl?: string; format: 'text' | 'json' }, out: Output, env: NodeJS.ProcessEnv): Promise<number> {
  const { store, folder } = await existingStore(flags.workspace, out);
  if (!store) throw new UserError(flags.batch ? `no batch ${flags.batch} in ${folder}` : `no running batch in ${folder}`);
  try {
    const batches = new BatchRepository(store);
    const batch = flags.batch ? batches.get(flags.batch) : batches.unfinished().find((b) => b.status === 'running' || b.status === 'pending');
    if (!batch) throw new UserError(flags.batch ? `no batch ${flags.batch} in ${folder}` : `no running batch in ${folder}`);
    const live = messageBatchRows(store, batch.id).filter((r) => r.state === 'submitted' || r.state === 'submitting');
    if (live.length === 0 && batch.status !== 'running' && batch.status !== 'pending') throw new UserError(`batch ${batch.id} is not running (${batch.status})`);
    let canceled: string[] = [];
    if (live.length > 0) {
      const client = createClient({ apiKey: apiKey(env), ...(apiAddressOf(flags, env) ?? {}), timeoutMs: 60_000 });
      canceled = await cancelMessageBatches(store, client, batch.id);
    }
    // A direct batch's process sees this and stops; a Message Batch's run stops once the
    // canceled results come in.
    // Only if it still runs: a run that finished while the Message Batches were being canceled
    // keeps its 'completed' (the write catches up with other writers first).
    if (batch.status === 'running' || batch.status === 'pending') {
      await store.write((tx) => tx.run("UPDATE batches SET status = 'cancelled', updated_at = ? WHERE id = ? AND status IN ('running', 'pending')", [Date.now(), batch.id]));
    }
    if (flags.format === 'json') out.stdout(JSON.stringify({ batchId: batch.id, messageBatches: canceled }) + '\n');
    else out.stdout(`batch ${batch.id} cancelled${canceled.length ? `: Message Batch${canceled.length === 1 ? '' : 'es'} ${canceled.join(', ')}` : ''}\nfinish it later with: promptloom resume --batch ${batch.id}\n`);
    return EXIT.ok;
  } finally {
    store.close();
  }
}

function apiAddressOf(flags: { apiBaseUrl?: string }, env: NodeJS.ProcessEnv): { baseURL: string } | undefined {
  const baseURL = apiAddress(flags.apiBaseUrl, env);
  return baseURL ? { baseURL } : undefined;
}
