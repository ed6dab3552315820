/**
 * The defect evaluation: each clean conversation against one corrupted copy per defect kind.
 * Per kind: the share of pairs where the clean one scores higher, the share of corrupted copies
 * flagged (as flagReason flags them, at the default threshold), and the share whose findings name
 * the kind. Overall: the share of clean conversations flagged.
 */
import { flagReason, scoreConversation, type QualityReport } from '../../src/core/quality';
import { CLEAN_A } from './cleanA';
import { CLEAN_B } from './cleanB';
import { corrupt, DEFECT_KINDS, type DefectKind } from './corrupt';
import type { CleanConversation } from './types';

export const CLEAN: readonly CleanConversation[] = [...CLEAN_A, ...CLEAN_B];

export interface KindRow {
  kind: DefectKind;
  pairs: number;
  /** Clean conversations the corruption could not change (no user fact to contradict, say): not counted. */
  unchanged: number;
  cleanAbove: number;
  flagged: number;
  /** Corrupted copies whose flag reason names a defect (not just a low score). */
  named: number;
}

export interface DefectEvaluation {
  clean: number;
  cleanFlagged: { id: string; overall: number; reason: string }[];
  rows: KindRow[];
  misses: { kind: DefectKind; id: string; clean: number; corrupted: number; reason: string | undefined }[];
}

export function evaluateDefects(): DefectEvaluation {
  const cleanReports = CLEAN.map((c) => scoreConversation({ turns: c.turns }, c.tier));
  const cleanFlagged = CLEAN.flatMap((c, i) => {
    const reason = flagReason(cleanReports[i]!, undefined);
    return reason ? [{ id: c.id, overall: cleanReports[i]!.overall, reason }] : [];
  });
  const misses: DefectEvaluation['misses'] = [];
  const rows = DEFECT_KINDS.map((kind, k) => {
    const row: KindRow = { kind, pairs: 0, unchanged: 0, cleanAbove: 0, flagged: 0, named: 0 };
    CLEAN.forEach((c, i) => {
      const turns = corrupt(kind, c, CLEAN, 1000 * (k + 1) + i);
      if (JSON.stringify(turns) === JSON.stringify(c.turns)) {
        row.unchanged++;
        return;
      }
      const r: QualityReport = scoreConversation({ turns }, c.tier);
      const reason = flagReason(r, undefined);
      row.pairs++;
      const above = cleanReports[i]!.overall > r.overall;
      if (above) row.cleanAbove++;
      if (reason) row.flagged++;
      if (reason && r.findings.some((f) => f.message.includes(KIND_WORDS[kind]))) row.named++;
      if (!above || !reason) misses.push({ kind, id: c.id, clean: cleanReports[i]!.overall, corrupted: r.overall, reason });
    });
    return row;
  });
  return { clean: CLEAN.length, cleanFlagged, rows, misses };
}

/** Words the finding for each kind uses (src/core/quality/defects.ts). */
const KIND_WORDS: Record<DefectKind, string> = {
  truncated: 'cut off',
  repetition: 'repeat',
  offTopic: 'does not answer',
  roleBreak: 'breaks role',
  residue: 'template residue',
  meta: 'meta commentary',
  swapped: 'swapped',
  incoherent: 'incoherent',
  language: 'language',
  contradiction: 'contradicts',
  noClose: 'no close',
};

export function printDefectTable(e: DefectEvaluation): boolean {
  const pct = (n: number, d: number) => `${((100 * n) / d).toFixed(0)}%`.padStart(5);
  console.log(`Defect set: ${e.clean} clean conversations, one corrupted copy per kind each (bench/defects)\n`);
  console.log('kind            clean > corrupted   corrupted flagged   defect named   targets (≥95%, ≥80%)');
  let ok = true;
  for (const r of e.rows) {
    const meets = r.cleanAbove / r.pairs >= 0.95 && r.flagged / r.pairs >= 0.8;
    ok &&= meets;
    const skipped = r.unchanged ? ` (${r.pairs} pairs; ${r.unchanged} clean with nothing to corrupt)` : '';
    console.log(`${r.kind.padEnd(15)} ${pct(r.cleanAbove, r.pairs).padStart(17)}   ${pct(r.flagged, r.pairs).padStart(17)}   ${pct(r.named, r.pairs).padStart(12)}   ${meets ? 'met' : 'MISSED'}${skipped}`);
  }
  const cleanShare = e.cleanFlagged.length / e.clean;
  ok &&= cleanShare <= 0.1;
  console.log(`\nclean conversations flagged: ${e.cleanFlagged.length} of ${e.clean} (${(100 * cleanShare).toFixed(0)}%, target ≤ 10%)`);
  for (const f of e.cleanFlagged) console.log(`  ${f.id}: ${f.reason}`);
  return ok;
}
