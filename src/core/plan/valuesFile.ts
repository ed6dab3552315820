import { parse as parseCsv, CsvError } from 'csv-parse/sync';
import type { ParsedTemplate, RawParameters } from '../template';
import { validateCandidates, type Candidate } from './cells';
import { nearest } from '../template/issues';
import { PLAN_LIMITS, type PlanProblem, type PlanResult } from './types';

export type ValuesFileKind = 'csv' | 'jsonl';

/**
 * A values file as a plan: one value set per row, `count` conversations each. CSV has a header
 * row naming variables; JSONL has one JSON object per line. Every row is coerced and rendered
 * with the template's rules before anything is returned; a problem names the row by the 1-based
 * line of the file where it starts (a CSV header is line 1, so the first CSV row is line 2 or
 * later) and the variable. Empty CSV fields and JSON `null` mean "no value": the default applies,
 * or the variable is missing if it has none. Line breaks inside quoted CSV fields are read as `\n`.
 * Identical rows become one cell with their counts added. Variables without a column take
 * `given` values and defaults.
 */
export function parseValuesFile(text: string, kind: ValuesFileKind, template: ParsedTemplate, count: number, given: RawParameters = {}): PlanResult {
  const fail = (problems: PlanProblem[]): PlanResult => ({ ok: false, problems });
  if (template.hasErrors) return fail([{ message: 'The template has errors: fix them before using a values file (promptloom check).' }]);
  if (!Number.isInteger(count) || count < 1) return fail([{ message: `The count must be a positive whole number, not ${String(count)}.` }]);
  // One line-break convention, so line numbers are the ones an editor shows.
  const normalised = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  const read = kind === 'csv' ? readCsv(normalised) : readJsonl(normalised);
  if (!read.ok) return fail(read.problems);
  const { rows, columns } = read;

  const names = template.variables.map((v) => v.name);
  const unknown = columns.filter((name) => !names.includes(name));
  if (unknown.length > 0) {
    const listed = unknown
      .map((name) => {
        const suggestion = nearest(name, names);
        return `\`${name}\`${suggestion ? ` (did you mean \`${suggestion}\`?)` : ''}`;
      })
      .join(', ');
    const line = read.firstLine.get(unknown[0]!)!;
    return fail([
      {
        message: `line ${line}: the values file has ${unknown.length === 1 ? 'a column that is not a variable' : 'columns that are not variables'} of this template: ${listed}. Variables: ${names.join(', ') || 'none'}.`,
        ...(unknown.length === 1 ? { variable: unknown[0]! } : {}),
        line,
      },
    ]);
  }
  if (rows.length === 0) return fail([{ message: 'The values file has no rows.' }]);
  if (rows.length * count > PLAN_LIMITS.conversations) {
    return fail([
      {
        message: `${rows.length.toLocaleString('en-US')} rows × ${count.toLocaleString('en-US')} is over the limit of ${PLAN_LIMITS.conversations.toLocaleString('en-US')} conversations per plan.`,
      },
    ]);
  }

  const base = toMap(given);
  for (const column of columns) base.delete(column);
  const candidates = function* (): Generator<Candidate> {
    for (const row of rows) {
      const raw = new Map(base);
      for (const [name, value] of row.values) if (value !== null && value !== undefined) raw.set(name, value);
      yield { raw, count, line: row.line, label: `line ${row.line}` };
    }
  };
  const validated = validateCandidates(template, candidates());
  if (!validated.ok) return fail(validated.problems);
  const order = template.variables.map((v) => v.name).filter((name) => columns.includes(name));
  const sum = validated.cells.reduce((n, cell) => n + cell.count, 0);
  return { ok: true, plan: { cells: validated.cells, varied: order, conversations: sum } };
}

interface Row {
  readonly line: number;
  readonly values: ReadonlyMap<string, unknown>;
}

type Read = { ok: true; rows: Row[]; columns: string[]; firstLine: Map<string, number> } | { ok: false; problems: PlanProblem[] };

function readCsv(text: string): Read {
  let records: { record: string[]; raw: string; info: { lines: number } }[];
  try {
    // Arrays rather than `columns: true`: the header is checked here (repeats, blanks), and no
    // object is built from the file's own names.
    records = parseCsv(text, {
      bom: true,
      trim: false,
      skip_empty_lines: true,
      relax_column_count: false,
      info: true,
      raw: true,
      to: PLAN_LIMITS.rows + 2,
    }) as typeof records;
  } catch (error) {
    if (!(error instanceof CsvError)) throw error;
    const line = (error as CsvError & { lines?: number }).lines;
    return { ok: false, problems: [{ message: `${typeof line === 'number' ? `line ${line}: ` : ''}the CSV cannot be read: ${error.message}.`, ...(typeof line === 'number' ? { line } : {}) }] };
  }
  if (records.length === 0) return { ok: false, problems: [{ message: 'The values file is empty: a CSV needs a header row naming variables.' }] };
  const startLine = (r: (typeof records)[number]): number => {
    // `info.lines` is where the record ends; `raw` holds any skipped blank lines before it and its line break.
    const body = r.raw.replace(/^\n+/, '').replace(/\n$/, '');
    let breaks = 0;
    for (let i = body.indexOf('\n'); i >= 0; i = body.indexOf('\n', i + 1)) breaks++;
    return r.info.lines - breaks;
  };
  const header = records[0]!;
  const headerLine = startLine(header);
  const columns = header.record;
  const problems: PlanProblem[] = [];
  columns.forEach((name, i) => {
    if (name.trim() === '') problems.push({ message: `line ${headerLine}: column ${i + 1} of the header has no name.`, line: headerLine });
    else if (columns.indexOf(name) !== i) problems.push({ message: `line ${headerLine}: the header names \`${name}\` twice.`, variable: name, line: headerLine });
  });
  if (problems.length > 0) return { ok: false, problems };
  if (records.length - 1 > PLAN_LIMITS.rows) return { ok: false, problems: [tooManyRows()] };
  const rows = records.slice(1).map((r): Row => ({
    line: startLine(r),
    values: new Map(columns.map((name, i) => [name, r.record[i] === '' ? undefined : r.record[i]])),
  }));
  return { ok: true, rows, columns, firstLine: new Map(columns.map((name) => [name, headerLine])) };
}

function readJsonl(text: string): Read {
  const rows: Row[] = [];
  const columns: string[] = [];
  const firstLine = new Map<string, number>();
  const problems: PlanProblem[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length && problems.length < PLAN_LIMITS.problems; i++) {
    const source = lines[i]!;
    if (source.trim() === '') continue;
    const line = i + 1;
    if (rows.length >= PLAN_LIMITS.rows) return { ok: false, problems: [tooManyRows()] };
    let value: unknown;
    try {
      value = JSON.parse(source);
    } catch (error) {
      problems.push({ message: `line ${line}: not valid JSON (${(error as Error).message}).`, line });
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problems.push({ message: `line ${line}: expected a JSON object of values, such as {"tone": "calm"}.`, line });
      continue;
    }
    const values = new Map<string, unknown>();
    for (const name of Object.keys(value)) {
      values.set(name, (value as Record<string, unknown>)[name]);
      if (!firstLine.has(name)) {
        firstLine.set(name, line);
        columns.push(name);
      }
    }
    rows.push({ line, values });
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, rows, columns, firstLine };
}

function tooManyRows(): PlanProblem {
  return { message: `The values file has more than ${PLAN_LIMITS.rows.toLocaleString('en-US')} rows, the limit.` };
}

function toMap(raw: RawParameters): Map<string, unknown> {
  if (raw instanceof Map) return new Map(raw);
  return new Map(Object.keys(raw).map((k) => [k, (raw as Record<string, unknown>)[k]]));
}
