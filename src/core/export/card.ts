/**
 * The dataset card: a Markdown page beside an export saying what is in it and where it came from.
 * Every figure is computed here from the exported rows and the database (`cardFigures`), then
 * written out (`renderCard`); tests compare the two with the data.
 */
import type { Database } from '../store/database';
import type { ConversationStatus } from '../store/repositories';
import { canonicalValues } from './dataset';
import type { ConversationRow } from './rows';

export const STATUSES: readonly ConversationStatus[] = ['pending', 'approved', 'needs_revision', 'rejected'];

export interface CardFigures {
  /**
   * Which database the figures come from. On the team database they are what the member may read
   * (row-level security); `cost` is every member's attempts, added up by the server: see `generationCost`.
   */
  readonly store: 'workspace' | 'team';
  readonly format: string;
  readonly filters: { readonly status: string; readonly template: string | null; readonly minQuality: number | null };
  readonly dedup: boolean;
  /** Conversations matching the filters (with a usable line), before deduplication. */
  readonly selected: number;
  readonly exported: number;
  readonly templates: readonly { readonly template: string; readonly name: string; readonly versions: readonly { readonly version: number; readonly conversations: number }[]; readonly conversations: number }[];
  readonly models: readonly { readonly model: string; readonly conversations: number }[];
  /** Per status: conversations of the selected template(s) in the database, and how many are exported. */
  readonly statuses: readonly { readonly status: ConversationStatus; readonly inDatabase: number; readonly exported: number }[];
  readonly coverage: readonly { readonly template: string; readonly values: string; readonly exported: number; readonly approved: number; readonly train?: number; readonly validation?: number }[];
  /** Counts of scores in [0,1), [1,2) … [9,10] (index = bucket), and the unscored. */
  readonly quality: { readonly buckets: readonly number[]; readonly unscored: number; readonly mean: number | null };
  /** Near-duplicate groups of two or more among the exported rows, and the rows in them. */
  readonly nearDuplicateGroups: number;
  readonly inNearDuplicateGroups: number;
  /** Distinct groups (singletons included) ÷ exported rows; null without rows. */
  readonly diversity: number | null;
  readonly duplicatesRemoved: number;
  readonly split: { readonly ratio: number; readonly seed: number; readonly files: readonly { readonly file: string; readonly conversations: number }[] } | { readonly file: string | null; readonly conversations: number };
  readonly cost: { readonly usd: number; readonly attempts: number; readonly inputTokens: number; readonly outputTokens: number; readonly batches: number };
}

export interface CardInput {
  readonly format: string;
  readonly filters: CardFigures['filters'];
  readonly dedup: boolean;
  readonly selected: number;
  readonly exported: readonly ConversationRow[];
  readonly removed: number;
  readonly groupOf: (id: string) => string;
  readonly models: ReadonlyMap<string, string>;
  /** The split, with the file each side went to; or the one file (null: standard output). */
  readonly split: { readonly ratio: number; readonly seed: number; readonly train: readonly ConversationRow[]; readonly validation: readonly ConversationRow[]; readonly trainFile: string; readonly validationFile: string } | { readonly file: string | null };
}

export async function cardFigures(db: Database, input: CardInput): Promise<CardFigures> {
  const rows = input.exported;
  const count = <K>(keys: Iterable<K>) => {
    const m = new Map<K, number>();
    for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
    return m;
  };

  const byTemplate = new Map<string, ConversationRow[]>();
  for (const r of rows) byTemplate.set(r.template, [...(byTemplate.get(r.template) ?? []), r]);
  const templates = [...byTemplate.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([template, rs]) => ({
      template,
      name: rs[0]!.templateName,
      versions: [...count(rs.map((r) => r.version)).entries()].sort(([a], [b]) => a - b).map(([version, conversations]) => ({ version, conversations })),
      conversations: rs.length,
    }));

  const models = [...count(rows.map((r) => input.models.get(r.id) ?? 'unknown')).entries()]
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1))
    .map(([model, conversations]) => ({ model, conversations }));

  const inDatabase = new Map<string, number>();
  const poolSql =
    input.filters.template !== null
      ? `SELECT c.status, count(*) AS n FROM conversations c JOIN ${db.dialect.templates} t ON t.id = c.template_id WHERE t.path = ? GROUP BY c.status`
      : 'SELECT status, count(*) AS n FROM conversations GROUP BY status';
  for (const r of await db.all(poolSql, input.filters.template !== null ? [input.filters.template] : [])) inDatabase.set(String(r.status), Number(r.n));
  const exportedByStatus = count(rows.map((r) => r.status));
  const statuses = STATUSES.map((status) => ({ status, inDatabase: inDatabase.get(status) ?? 0, exported: exportedByStatus.get(status) ?? 0 }));

  const sideOf = new Map<string, 'train' | 'validation'>();
  if ('train' in input.split) {
    for (const r of input.split.train) sideOf.set(r.id, 'train');
    for (const r of input.split.validation) sideOf.set(r.id, 'validation');
  }
  const cells = new Map<string, { template: string; values: string; exported: number; approved: number; train: number; validation: number }>();
  for (const r of rows) {
    const values = canonicalValues(r.values);
    const key = JSON.stringify([r.template, values]);
    const cell = cells.get(key) ?? { template: r.template, values, exported: 0, approved: 0, train: 0, validation: 0 };
    cell.exported++;
    if (r.status === 'approved') cell.approved++;
    if (sideOf.get(r.id) === 'train') cell.train++;
    if (sideOf.get(r.id) === 'validation') cell.validation++;
    cells.set(key, cell);
  }
  const coverage = [...cells.values()]
    .sort((a, b) => (a.template !== b.template ? (a.template < b.template ? -1 : 1) : a.values < b.values ? -1 : a.values > b.values ? 1 : 0))
    .map(({ train, validation, ...c }) => ('train' in input.split ? { ...c, train, validation } : c));

  const buckets = new Array<number>(10).fill(0);
  let unscored = 0;
  let sum = 0;
  for (const r of rows) {
    if (r.quality === null) unscored++;
    else {
      buckets[Math.min(9, Math.max(0, Math.floor(r.quality)))]!++;
      sum += r.quality;
    }
  }
  const scored = rows.length - unscored;

  const groupSizes = count(rows.map((r) => input.groupOf(r.id)));
  const multi = [...groupSizes.values()].filter((n) => n > 1);

  const split: CardFigures['split'] =
    'train' in input.split
      ? {
          ratio: input.split.ratio,
          seed: input.split.seed,
          files: [
            { file: input.split.trainFile, conversations: input.split.train.length },
            { file: input.split.validationFile, conversations: input.split.validation.length },
          ],
        }
      : { file: input.split.file, conversations: rows.length };

  return {
    // The one figure the backend changes the meaning of (whose logs the cost adds up), so it is named, not inferred from the numbers.
    store: db.dialect.name === 'postgresql' ? 'team' : 'workspace',
    format: input.format,
    filters: input.filters,
    dedup: input.dedup,
    selected: input.selected,
    exported: rows.length,
    templates,
    models,
    statuses,
    coverage,
    quality: { buckets, unscored, mean: scored > 0 ? sum / scored : null },
    nearDuplicateGroups: multi.length,
    inNearDuplicateGroups: multi.reduce((a, b) => a + b, 0),
    diversity: rows.length > 0 ? groupSizes.size / rows.length : null,
    duplicatesRemoved: input.removed,
    split,
    cost: await generationCost(db, rows),
  };
}

/**
 * What generating the exported conversations cost: every attempt (succeeded or failed) logged
 * for the batches they come from, including conversations of those batches that are not exported;
 * plus the attempts of exported conversations generated outside a batch.
 *
 * On the team database a member reads only their own generation logs (row-level security): the
 * sums come from the dialect's generationCosts (team migration 12), everyone's attempts added
 * up per batch (and per conversation outside a batch) by the server, so a teammate's attempts in
 * these batches count without their logs being read. The card says so (`renderCard`).
 */
export async function generationCost(db: Database, rows: readonly ConversationRow[]): Promise<CardFigures['cost']> {
  const batches = new Set(rows.map((r) => r.batchId).filter((b): b is string => b !== null));
  const loose = new Set(rows.filter((r) => r.batchId === null).map((r) => r.id));
  let usd = 0;
  let attempts = 0;
  let inputTokens = 0;
  let outputTokens = 0;
  const add = (r: Record<string, unknown>) => {
    usd += Number(r.usd);
    attempts += Number(r.n);
    inputTokens += Number(r.input);
    outputTokens += Number(r.output);
  };
  const { total } = db.dialect;
  const logs = db.dialect.generationCosts;
  const sums = `${total('cost_usd')} AS usd, ${total('generations')} AS n, ${total('input_tokens')} AS input, ${total('output_tokens')} AS output`;
  for (const r of await db.all(`SELECT batch_id, ${sums} FROM ${logs} g WHERE batch_id IS NOT NULL GROUP BY batch_id`)) if (batches.has(String(r.batch_id))) add(r);
  if (loose.size > 0) {
    for (const r of await db.all(`SELECT conversation_id, ${sums} FROM ${logs} g WHERE batch_id IS NULL AND conversation_id IS NOT NULL GROUP BY conversation_id`)) {
      if (loose.has(String(r.conversation_id))) add(r);
    }
  }
  return { usd, attempts, inputTokens, outputTokens, batches: batches.size };
}

/** The card as Markdown. Numbers are printed from the figures, nothing else. */
export function renderCard(f: CardFigures): string {
  const out: string[] = [];
  const line = (s = '') => out.push(s);
  const table = (head: readonly string[], rows: readonly (readonly (string | number)[])[]) => {
    line(`| ${head.join(' | ')} |`);
    line(`|${head.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`);
    for (const r of rows) line(`| ${r.map((c) => cell(String(c))).join(' | ')} |`);
    line();
  };
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

  line('# Dataset card');
  line();
  line(
    f.store === 'team'
      ? 'Written by `promptloom export`. Every figure below is computed from the team database at export time, from what this member may read: conversations of active templates and of their own.'
      : 'Written by `promptloom export`. Every figure below is computed from the workspace database at export time.',
  );
  line();
  line('## Selection');
  line();
  line(`- Format: ${f.format}`);
  line(`- Status: ${f.filters.status}; template: ${f.filters.template ?? 'all'}; minimum quality: ${f.filters.minQuality ?? 'none'}`);
  line(`- Near-duplicates: ${f.dedup ? 'one conversation per group kept (--dedup)' : 'all kept'}`);
  line(`- Conversations: ${f.exported} exported (${f.selected} matched the filters)`);
  line();
  line('## Templates');
  line();
  line('Versions are numbered per template, 1 for the first recorded; in brackets, the exported conversations of each.');
  line();
  table(
    ['Template', 'Name', 'Versions', 'Conversations'],
    f.templates.map((t) => [t.template, t.name, t.versions.map((v) => `${v.version} (${v.conversations})`).join(', '), t.conversations]),
  );
  line('## Models');
  line();
  table(['Model', 'Conversations'], f.models.map((m) => [m.model, m.conversations]));
  line('## Status');
  line();
  line(`Conversations of ${f.filters.template ?? 'all templates'} in the database, per status, and how many of them are exported.`);
  line();
  table(
    ['Status', 'In the database', 'Exported'],
    [...f.statuses.map((s) => [s.status, s.inDatabase, s.exported]), ['total', f.statuses.reduce((a, s) => a + s.inDatabase, 0), f.statuses.reduce((a, s) => a + s.exported, 0)]],
  );
  line('## Coverage');
  line();
  line('Exported conversations per template and value combination, and how many of them are approved.');
  line();
  const split = 'files' in f.split;
  table(
    ['Template', 'Values', 'Exported', 'Approved', ...(split ? ['Train', 'Validation'] : [])],
    f.coverage.map((c) => [c.template, c.values, c.exported, c.approved, ...(split ? [c.train ?? 0, c.validation ?? 0] : [])]),
  );
  line('## Quality');
  line();
  line('Scores of the exported conversations (0–10), in buckets of 1 point; the last bucket includes 10.');
  line();
  const widest = Math.max(1, ...f.quality.buckets);
  const bar = (n: number) => '#'.repeat(n === 0 ? 0 : Math.max(1, Math.round((n / widest) * 40)));
  line('```');
  f.quality.buckets.forEach((n, i) => line(`${String(i).padStart(2)}–${String(i + 1).padEnd(2)} | ${bar(n).padEnd(40)} ${n}`));
  line(`unscored ${f.quality.unscored}`);
  line('```');
  line();
  line(`Mean score: ${f.quality.mean === null ? 'none scored' : f.quality.mean.toFixed(2)}`);
  line();
  line('## Diversity and duplicates');
  line();
  line(`- Near-duplicate groups among the exported conversations: ${f.nearDuplicateGroups}, holding ${plural(f.inNearDuplicateGroups, 'conversation')}`);
  line(
    `- Diversity: ${f.diversity === null ? 'none (nothing exported)' : f.diversity.toFixed(3)} (distinct groups ÷ conversations: 1 when no two exported conversations are near-duplicates)`,
  );
  line(`- Duplicates removed: ${f.duplicatesRemoved}${f.dedup ? '' : ' (export without --dedup)'}`);
  line();
  line('## Split');
  line();
  if ('files' in f.split) {
    line(`Ratio ${f.split.ratio}, seed ${f.split.seed}; stratified by template and values; a near-duplicate group is never in both files.`);
    line();
    table(['File', 'Conversations'], f.split.files.map((s) => [s.file, s.conversations]));
  } else {
    line(`Not split: ${plural(f.split.conversations, 'conversation')} in ${f.split.file ?? 'standard output'}.`);
    line();
  }
  line('## Generation cost');
  line();
  line(
    `US$ ${f.cost.usd.toFixed(4)}: ${plural(f.cost.attempts, 'generation attempt')} (${f.cost.inputTokens} input, ${f.cost.outputTokens} output tokens), every attempt, succeeded or failed, of the ${plural(f.cost.batches, 'batch').replace(/batchs$/, 'batches')} the exported conversations come from, including conversations of those batches that are not exported, and of exported conversations generated outside a batch.`,
  );
  if (f.store === 'team') {
    line();
    line("On the team database this counts every member's attempts, added up by the server: no member reads another's generation logs.");
  }
  return out.join('\n') + '\n';
}

/** A Markdown table cell: pipes escaped, line breaks flattened. */
function cell(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r\n|\r|\n/g, ' ');
}
