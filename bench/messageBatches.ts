/**
 * The two generation paths side by side, both against the fake Messages API over HTTP and both
 * storing every answer in a real workspace database: direct calls under the limiter, and Message
 * Batches. Figures: cost (Message Batches at half price) and the batch path's wall time against
 * the fake's processing time (what polling, streaming and storing add). Prompt caching's column
 * comes when caching lands.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runRecordedBatch } from '../src/core/generation/batch';
import { runMessageBatches } from '../src/core/generation/messageBatches';
import { Workspace, openWorkspaceStore } from '../src/core/workspace';
import { FakeMessagesApi } from '../test/fixtures/fakeMessagesApi';

const KEY = 'sk-bench';
export const MESSAGE_BATCH_CONVERSATIONS = Number(process.env.BENCH_MBATCH_N ?? 1000);
const PROCESSING_MS = 3_000;
const TEMPLATE = '---\nname: Bench\ntier: template\nsystem: You write realistic advisory conversations.\n---\nWrite a conversation about bonds.\n';

async function prepared(api: FakeMessagesApi) {
  const folder = mkdtempSync(join(tmpdir(), 'promptloom-bench-mbatch-'));
  writeFileSync(join(folder, 't.prompt'), TEMPLATE);
  const { store } = await openWorkspaceStore(folder);
  const batch = new Workspace(folder, [{ concurrency: 8, requestsPerWindow: 100_000 }]).prepareBatch({ file: join(folder, 't.prompt'), text: TEMPLATE, values: new Map(), count: MESSAGE_BATCH_CONVERSATIONS });
  if (!batch.ok) throw new Error('the bench template does not prepare');
  return { store, input: { ...batch.input, store, apiKey: KEY, baseURL: api.url } };
}

export async function benchMessageBatches(): Promise<string[][]> {
  const api = await FakeMessagesApi.start({ apiKey: KEY, requestsPerWindow: 100_000, latencyMs: 5, batchProcessingMs: PROCESSING_MS });
  const rows: string[][] = [];
  try {
    {
      const { store, input } = await prepared(api);
      const started = Date.now();
      const outcome = await runRecordedBatch(input);
      rows.push(['direct (8 in flight)', `${outcome.summary.succeeded}`, `$${outcome.summary.costUsd.toFixed(2)}`, `${((Date.now() - started) / 1000).toFixed(1)} s`, '-', `${outcome.summary.attempts} Messages calls`]);
      store.close();
    }
    {
      const { store, input } = await prepared(api);
      const started = Date.now();
      const outcome = await runMessageBatches(input);
      const wall = Date.now() - started;
      rows.push([
        'Message Batches',
        `${outcome.summary.succeeded}`,
        `$${outcome.summary.costUsd.toFixed(2)}`,
        `${(wall / 1000).toFixed(1)} s`,
        `${(PROCESSING_MS / 1000).toFixed(1)} s (+${((wall - PROCESSING_MS) / 1000).toFixed(1)} s polling, streaming, storing)`,
        `${outcome.messageBatches.length} Message Batch, ${api.stats.batchRetrieves} polls`,
      ]);
      store.close();
    }
    rows.push(['Message Batches + prompt caching', '-', '-', '-', '-', 'when prompt caching lands (issue 15)']);
  } finally {
    await api.stop();
  }
  return rows;
}
