/**
 * A workspace database at the analytics target's scale, built in SQL: 1,000 templates (with two
 * versions each), 100,000 generation logs over 30 days, a conversation with a quality score for
 * each succeeded log, and reviews for a third of them.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../src/core/store';

export const SCALE = { templates: 1_000, logs: 100_000, days: 30 } as const;
const START = Date.UTC(2026, 9, 1);

export async function analyticsDatabase(scale: { templates: number; logs: number; days: number } = SCALE): Promise<Store> {
  const store = await Store.open(mkdtempSync(join(tmpdir(), 'promptloom-analytics-')));
  await store.write((tx) => {
    tx.run(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
       INSERT INTO templates (id, path, name, tier, created_at)
       SELECT i, 'templates/t' || i || '.prompt', 'Template ' || i, CASE i % 3 WHEN 0 THEN 'template' WHEN 1 THEN 'scenario' ELSE 'edge_case' END, ? FROM n`,
      [scale.templates, START],
    );
    tx.run(
      `INSERT INTO template_versions (id, template_id, content_hash, content, created_at)
       SELECT t.id * 2 - 1 + v.k, t.id, 'h' || t.id || '-' || v.k, 'body ' || v.k, ? + v.k * 86400000 * 15
         FROM templates t, (SELECT 0 AS k UNION ALL SELECT 1) v`,
      [START],
    );
    // Logs spread over templates and days; one in ten failed; later logs use the second version.
    tx.run(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
       INSERT INTO generation_logs (id, template_id, version_id, conversation_id, parameters, model, attempt, status, error_type, input_tokens, output_tokens, cost_usd, duration_ms, created_at)
       SELECT i, (i % ?) + 1, ((i % ?) + 1) * 2 - 1 + (CASE WHEN i * 2 > ? THEN 1 ELSE 0 END),
              CASE WHEN i % 10 = 0 THEN NULL ELSE 'c' || i END, '{}', 'claude-sonnet-5-5', 1,
              CASE WHEN i % 10 = 0 THEN 'failed' ELSE 'succeeded' END, CASE WHEN i % 10 = 0 THEN 'server_error' ELSE NULL END,
              900, 2400, 0.0387, 15000 + (i * 7919) % 20000, ? + (i * ? / ?) * 1000
         FROM n`,
      [scale.logs, scale.templates, scale.templates, scale.logs, START, scale.days * 86400, scale.logs],
    );
    tx.run(
      `INSERT INTO conversations (id, template_id, version_id, parameters, status, quality, created_at)
       SELECT conversation_id, template_id, version_id, '{}', CASE WHEN id % 7 = 0 THEN 'needs_revision' WHEN id % 3 = 0 THEN 'approved' WHEN id % 11 = 0 THEN 'rejected' ELSE 'pending' END,
              ((id * 7919 + (id / 1000) * 13) % 100) / 10.0, created_at
         FROM generation_logs WHERE conversation_id IS NOT NULL`,
    );
    tx.run(
      `INSERT INTO quality_scores (conversation_id, overall, breakdown, recommendations, created_at)
       SELECT conversation_id, ((id * 7919 + (id / 1000) * 13) % 100) / 10.0, '{}', '[]', created_at FROM generation_logs WHERE conversation_id IS NOT NULL`,
    );
    tx.run(
      `INSERT INTO reviews (conversation_id, status, note, created_at)
       SELECT id, status, NULL, created_at + 60000 FROM conversations WHERE status IN ('approved', 'rejected')`,
    );

  });
  await store.checkpoint();
  return store;
}
