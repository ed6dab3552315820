/**
 * Store figures: time to make one generation durable as the database grows, open time and memory,
 * beside the naive baseline the design avoids (rewriting the whole SQLite file after each write).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkspaceGenerationRepository, Store, WorkspaceTemplateRepository } from '../src/core/store';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
function p95(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length * 0.95)]!;
}
const mb = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MB`;

const TURNS = Array.from({ length: 12 }, (_, i) => ({ role: i % 2 === 0 ? ('user' as const) : ('assistant' as const), content: `Turn ${i}: ${'a realistic sentence of a conversation. '.repeat(6)}` }));

export async function benchStore(): Promise<string[][]> {
  const rows: string[][] = [];
  for (const size of [1_000, 100_000, 1_000_000]) {
    const dir = mkdtempSync(join(tmpdir(), 'promptloom-bench-'));
    const store = await Store.open(dir);
    const templates = new WorkspaceTemplateRepository(store);
    const t = await templates.ensure('bench.prompt', { name: 'Bench', tier: 'template' });
    const v = await templates.recordVersion(t.id, 'body');
    // Seed `size` generation logs with one small statement (a tiny journal frame), then fold it in.
    await store.write((tx) =>
      tx.run(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
         INSERT INTO generation_logs (template_id, version_id, parameters, model, attempt, status, input_tokens, output_tokens, cost_usd, duration_ms, created_at)
         SELECT ?, ?, '{"persona":"Anxious Investor","years":' || (i % 60) || '}', 'claude-sonnet-4-5', 1, 'succeeded', 900, 2400, 0.0387, 21000 + i % 5000, 1700000000000 + i * 1000 FROM n`,
        [size, t.id, v.id],
      ),
    );
    await store.checkpoint();
    const generations = new WorkspaceGenerationRepository(store);
    const durable: number[] = [];
    for (let i = 0; i < 100; i++) {
      const t0 = performance.now();
      await generations.record({
        templateId: t.id,
        versionId: v.id,
        parameters: { persona: 'Anxious Investor' },
        model: 'claude-sonnet-4-5',
        attempt: 1,
        status: 'succeeded',
        inputTokens: 900,
        outputTokens: 2400,
        costUsd: 0.0387,
        durationMs: 21000,
        conversation: { systemPrompt: 'You advise.', turns: TURNS, quality: { overall: 7.8, breakdown: {}, recommendations: [] } },
      });
      durable.push(performance.now() - t0);
    }
    const fileBytes = statSync(store.snapshotPath).size;

    // The baseline: export the whole database and rewrite the file, durably, after a write.
    const naive: number[] = [];
    for (let i = 0; i < (size >= 1_000_000 ? 3 : 10); i++) {
      const t0 = performance.now();
      const bytes = (store as unknown as { db: { export(): Uint8Array } }).db.export();
      const fd = openSync(join(dir, 'naive.db'), 'w');
      writeSync(fd, bytes);
      fsyncSync(fd);
      closeSync(fd);
      naive.push(performance.now() - t0);
    }
    store.close();

    const probe = spawnSync(process.execPath, ['--expose-gc', '--require', 'tsx/cjs', join(__dirname, 'openProbe.ts'), dir], { encoding: 'utf8' });
    const { openMs, heldBytes, rows: counted } = JSON.parse(probe.stdout) as { openMs: number; heldBytes: number; rows: number };
    if (counted !== size + 100) throw new Error(`expected ${size + 100} rows, found ${counted}`);
    rmSync(dir, { recursive: true, force: true });

    rows.push([
      `${size.toLocaleString('en')} rows (${mb(fileBytes)})`,
      `${median(durable).toFixed(2)} ms (p95 ${p95(durable).toFixed(2)})`,
      `${median(naive).toFixed(1)} ms`,
      `${openMs.toFixed(0)} ms`,
      mb(heldBytes),
    ]);
  }
  return rows;
}
