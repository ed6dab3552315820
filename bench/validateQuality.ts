/**
 * How well the quality score agrees with human judgment.
 *
 *   npm run validate:quality -- [dialogs.jsonl]   (default: ../shared/data/dstc9/dstc9_dialogs.jsonl)
 *
 * Each line: { "overall": <human rating>, "turns": [{ "role", "content" }], "system"?: string }.
 * Prints Spearman's ρ and pairwise accuracy (pairs whose ratings differ by ≥ 1) for the overall
 * score and for each part. The data is research data: it is read from outside the repository
 * and never copied into it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { WEIGHTS, scoreConversation } from '../src/core/quality';
import { seededRandom } from '../src/core/generation/random';
import { pairwiseAccuracy, spearman } from './rankAgreement';
import { prepareJudgeRun, type JudgeRun } from './judgeAgreement';
import { evaluateDefects, printDefectTable } from './defects/evaluate';

// Arguments: [dialogs.jsonl] [--judge] [--limit n] [--judge-model m] [--misses]
const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args.splice(i, 2)[1] : undefined;
};
const judgeFlag = args.indexOf('--judge');
if (judgeFlag >= 0) args.splice(judgeFlag, 1);
const limitText = flag('--limit');
const judgeModel = flag('--judge-model');
const limit = limitText === undefined ? 200 : Number(limitText);
if (!Number.isInteger(limit) || limit < 1) {
  console.error(`--limit ${limitText}: expected a whole number above 0`);
  process.exit(2);
}
const missesFlag = args.indexOf('--misses');
if (missesFlag >= 0) args.splice(missesFlag, 1);
const file = resolve(args[0] ?? resolve(__dirname, '../../shared/data/dstc9/dstc9_dialogs.jsonl'));
/** The defect set: clean conversations against their corrupted copies, per kind. */
function printDefects(): void {
  const defects = evaluateDefects();
  printDefectTable(defects);
  if (missesFlag >= 0) for (const m of defects.misses) console.log(`  miss ${m.kind} ${m.id}: clean ${m.clean}, corrupted ${m.corrupted}${m.reason ? '' : ', not flagged'}`);
  console.log('');
}
if (!existsSync(file)) {
  printDefects();
  console.log(`DSTC9: no rated dialogues at ${file} (pass the path of a JSONL file); the defect table above stands alone.`);
  process.exit(0);
}
const rows = readFileSync(file, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as { overall: number; system?: string; turns: unknown });

// The judge is paid: its estimated cost comes first, before any call.
let judgeRun: JudgeRun | undefined;
if (judgeFlag >= 0) {
  try {
    judgeRun = prepareJudgeRun(rows, limit, process.env, (line) => console.log(line), judgeModel);
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
  console.log(`the judge (${judgeRun.model}) will grade up to ${Math.min(limit, rows.length)} dialogues: estimated cost $${judgeRun.estimateUsd.toFixed(4)}\n`);
}
// After the judge's cost (which must come first), the defect set, then DSTC9.
printDefects();

const ratings = rows.map((r) => r.overall);
const reports = rows.map((r) => scoreConversation({ turns: r.turns }));
const plainSum = reports.map((r) => {
  const b = r.breakdown;
  return WEIGHTS.turnCount * b.turnCount.score + WEIGHTS.length * b.length.score + WEIGHTS.structure * b.structure.score + WEIGHTS.confidence * b.confidence.score;
});
const words = (turns: unknown) => (Array.isArray(turns) ? turns.map((t: { content?: unknown }) => String(t.content ?? '').split(/\s+/).filter(Boolean).length) : []);
const measures: [string, number[]][] = [
  ['overall', reports.map((r) => r.overall)],
  ['turnCount', reports.map((r) => r.breakdown.turnCount.score)],
  ['length', reports.map((r) => r.breakdown.length.score)],
  ['structure', reports.map((r) => r.breakdown.structure.score)],
  ['confidence', reports.map((r) => r.breakdown.confidence.score)],
  // For comparison: the four parts summed with plain weights, and two structural baselines.
  ['plain sum', plainSum],
  ['raw turns', rows.map((r) => (Array.isArray(r.turns) ? r.turns.length : 0))],
  ['words/turn', rows.map((r) => {
    const w = words(r.turns);
    return w.length ? w.reduce((a, b) => a + b, 0) / w.length : 0;
  })],
];

console.log(`DSTC9: ${rows.length} rated dialogues from ${file}`);
console.log('before the defect detectors (docs/quality.md): overall ρ 0.144 [0.103, 0.185], pairwise 0.611; confidence ρ 0.195, pairwise 0.640\n');
console.log('score        Spearman ρ   95% interval      pairwise accuracy (rating gap ≥ 1)');
for (const [name, scores] of measures) {
  const [lo, hi] = bootstrapInterval(scores, ratings);
  console.log(
    `${name.padEnd(12)} ${spearman(scores, ratings).toFixed(3).padStart(9)}   [${lo.toFixed(3)}, ${hi.toFixed(3)}]   ${pairwiseAccuracy(scores, ratings).toFixed(3).padStart(8)}`,
  );
}

/** The middle 95% of ρ over 500 resamples with replacement (seeded, so runs agree). */
function bootstrapInterval(scores: readonly number[], truth: readonly number[]): [number, number] {
  const random = seededRandom(7);
  const rhos: number[] = [];
  for (let b = 0; b < 500; b++) {
    const ix = scores.map(() => Math.floor(random() * scores.length));
    rhos.push(spearman(ix.map((i) => scores[i]!), ix.map((i) => truth[i]!)));
  }
  rhos.sort((a, b) => a - b);
  return [rhos[12]!, rhos[487]!];
}

// Agreement inside each system shows whether the score ranks dialogues, not just systems.
const systems = [...new Set(rows.map((r) => r.system).filter((s): s is string => s !== undefined))];
if (systems.length > 1) {
  console.log('');
  for (const [name, scores] of measures.filter(([n]) => n === 'overall' || n === 'confidence')) {
    const within = systems.map((s) => {
      const ix = rows.flatMap((r, i) => (r.system === s ? [i] : []));
      return spearman(ix.map((i) => scores[i]!), ix.map((i) => ratings[i]!));
    });
    const mean = within.reduce((a, b) => a + b, 0) / within.length;
    console.log(`within-system ρ of ${name}: mean ${mean.toFixed(3)}, range ${Math.min(...within).toFixed(2)} to ${Math.max(...within).toFixed(2)} over ${systems.length} systems`);
  }
}

if (judgeRun)
  judgeRun.run().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  });
