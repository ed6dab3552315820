/**
 * The two generation paths side by side, both against the fake Messages API over HTTP and both
 * storing every answer in a real workspace database: direct calls under the limiter, and Message
 * Batches. Figures: cost (Message Batches at half price) and the batch path's wall time against
 * the fake's processing time (what polling, streaming and storing add). The template's system
 * prompt is long enough to cache (about 1,400 tokens of stable instructions), so the first two rows
 * run with caching off (a model minimum no prefix reaches) and the third with the model's own.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runRecordedBatch } from '../src/core/generation/batch';
import { runMessageBatches } from '../src/core/generation/messageBatches';
import { DEFAULT_MODELS } from '../src/core/generation/engine';
import { Workspace, openWorkspaceStore } from '../src/core/workspace';
import { FakeMessagesApi } from '../test/fixtures/fakeMessagesApi';

const KEY = 'sk-bench';
export const MESSAGE_BATCH_CONVERSATIONS = Number(process.env.BENCH_MBATCH_N ?? 1000);
const PROCESSING_MS = 3_000;
const RULES = Array.from({ length: 60 }, (_, i) => `Rule ${i + 1}: the advisor answers the client's question before asking one of their own.`).join(' ');
const TEMPLATE = `---\nname: Bench\ntier: template\nsystem: ${JSON.stringify(`You write realistic advisory conversations. ${RULES}`)}\n---\nWrite a conversation about bonds.\n`;

async function prepared(api: FakeMessagesApi, caching: boolean) {
  const folder = mkdtempSync(join(tmpdir(), 'promptloom-bench-mbatch-'));
  writeFileSync(join(folder, 't.prompt'), TEMPLATE);
  const { store } = await openWorkspaceStore(folder);
  // Caching off: the same models, with a minimum no prefix reaches.
  const models = caching ? DEFAULT_MODELS : DEFAULT_MODELS.map((m) => ({ ...m, minCacheableTokens: 1_000_000_000 }));
  const batch = new Workspace(folder, [{ concurrency: 8, requestsPerWindow: 100_000, models }]).prepareBatch({ file: join(folder, 't.prompt'), text: TEMPLATE, values: new Map(), count: MESSAGE_BATCH_CONVERSATIONS });
  if (!batch.ok) throw new Error('the bench template does not prepare');
  return { store, input: { ...batch.input, store, apiKey: KEY, baseURL: api.url } };
}

export async function benchMessageBatches(): Promise<string[][]> {
  const api = await FakeMessagesApi.start({ apiKey: KEY, requestsPerWindow: 100_000, latencyMs: 5, batchProcessingMs: PROCESSING_MS });
  const rows: string[][] = [];
  try {
    {
      const { store, input } = await prepared(api, false);
      const started = Date.now();
      const outcome = await runRecordedBatch(input);
      rows.push(['direct (8 in flight)', `${outcome.summary.succeeded}`, `$${outcome.summary.costUsd.toFixed(2)}`, `${((Date.now() - started) / 1000).toFixed(1)} s`, '-', `${outcome.summary.attempts} Messages calls`]);
      store.close();
    }
    for (const caching of [false, true]) {
      const { store, input } = await prepared(api, caching);
      const retrievesBefore = api.stats.batchRetrieves;
      const started = Date.now();
      const outcome = await runMessageBatches(input);
      const wall = Date.now() - started;
      const s = outcome.summary;
      rows.push([
        caching ? 'Message Batches + prompt caching' : 'Message Batches',
        `${s.succeeded}`,
        `$${s.costUsd.toFixed(2)}`,
        `${(wall / 1000).toFixed(1)} s`,
        `${(PROCESSING_MS / 1000).toFixed(1)} s (+${((wall - PROCESSING_MS) / 1000).toFixed(1)} s polling, streaming, storing)`,
        `${outcome.messageBatches.length} Message Batch, ${api.stats.batchRetrieves - retrievesBefore} polls` +
          (caching ? `; cache ${s.cacheWriteTokens.toLocaleString('en-US')} tokens written, ${s.cacheReadTokens.toLocaleString('en-US')} read, $${s.savedUsd.toFixed(2)} saved` : ''),
      ]);
      store.close();
    }
  } finally {
    await api.stop();
  }
  return rows;
}
