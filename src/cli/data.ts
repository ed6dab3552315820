/** `promptloom stats` and `promptloom export`: read-only views of the workspace database. */
import { writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { computeStats, statsCsv, type Stats } from '../core/analytics';
import { exportJsonl, type ExportFormat, type ExportStatus } from '../core/export';
import { existingStore } from './database';
import { EXIT, UserError } from './errors';
import type { Output } from './output';

const NO_STATS: Stats = { templates: [], totals: { conversations: 0, generations: 0, costUsd: 0 } };

export async function runStats(flags: { workspace?: string; format: 'text' | 'json' | 'csv' }, out: Output): Promise<number> {
  const { store, folder } = await existingStore(flags.workspace, out);
  if (!store) out.note(`promptloom: no workspace database in ${folder} yet`);
  try {
    const stats = store ? computeStats(store) : NO_STATS;
    if (flags.format === 'json') out.stdout(JSON.stringify(stats, null, 2) + '\n');
    else if (flags.format === 'csv') out.stdout(statsCsv(stats));
    else {
      const fmt = (n: number | null, digits = 1) => (n === null ? '—' : n.toFixed(digits));
      for (const t of stats.templates) {
        out.stdout(
          `${t.file}  ${t.name} (${t.tier})\n  ${t.usageCount} generations (${t.succeeded} ok, ${t.failed} failed) · quality ${fmt(t.avgQuality)} [${fmt(t.minQuality)}–${fmt(t.maxQuality)}] ${t.trend}` +
            ` · approved ${t.approvalRate === null ? '—' : `${Math.round(t.approvalRate * 100)}%`} · ${fmt(t.avgDurationMs, 0)} ms avg · $${t.totalCostUsd.toFixed(4)}\n`,
        );
      }
      out.stdout(`total: ${stats.totals.conversations} conversations, ${stats.totals.generations} generations, $${stats.totals.costUsd.toFixed(4)}\n`);
    }
    return EXIT.ok;
  } finally {
    store?.close();
  }
}

export async function runExport(
  flags: { workspace?: string; status: ExportStatus; format: ExportFormat; template?: string; minQuality?: number; out?: string },
  out: Output,
): Promise<number> {
  const { store, folder: workspace } = await existingStore(flags.workspace, out);
  if (!store) out.note(`promptloom: no workspace database in ${workspace} yet`);
  try {
    // --template is a file: as given on the command line, relative to where it runs.
    const template = flags.template !== undefined ? relative(workspace, resolve(flags.template)).split('\\').join('/') : undefined;
    const filters = { status: flags.status, ...(template !== undefined ? { template } : {}), ...(flags.minQuality !== undefined ? { minQuality: flags.minQuality } : {}) };
    const { text, count } = store ? exportJsonl(store, filters, flags.format) : { text: '', count: 0 };
    if (flags.out) {
      try {
        writeFileSync(flags.out, text);
      } catch (error) {
        throw new UserError(`cannot write ${flags.out}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      }
    } else out.stdout(text);
    out.note(`exported ${count} conversation${count === 1 ? '' : 's'} (${flags.format}, status ${flags.status})`);
    return EXIT.ok;
  } finally {
    store?.close();
  }
}
