import { parseTemplate, renderTemplate, sampleMissing } from '../core/template';
import { formatDiagnostic } from './check';
import { EXIT, UserError } from './errors';
import { readTextFile } from './files';
import type { Output } from './output';

export interface RenderOptions {
  readonly param: readonly string[];
  /** JSON files of values, merged in order (later files win). */
  readonly params: readonly string[];
  readonly format: 'text' | 'json';
  /** Fill each required value still missing with a sample (core/template/sampleValues.ts); given values win. */
  readonly sample?: boolean;
  readonly modelAliases?: readonly string[];
}

/** Most a values file may weigh: values are short texts, not documents. */
const MAX_PARAMS_BYTES = 8 * 1024 * 1024;

export function runRender(file: string, options: RenderOptions, out: Output, readStdin: () => string): number {
  const text = readTextFile(file);
  const values = collectValues(options.param, options.params, readStdin);

  const template = parseTemplate(text, { fileName: file, ...(options.modelAliases ? { modelAliases: options.modelAliases } : {}) });
  if (template.hasErrors) {
    for (const d of template.diagnostics) if (d.severity === 'error') out.note(formatDiagnostic(file, d));
    out.error(`cannot render ${file}: the template has errors (run promptloom check ${file})`);
    return EXIT.invalid;
  }
  if (options.sample) {
    const samples = sampleMissing(template.variables, values, template.settings);
    for (const [name, sample] of samples) values.set(name, sample.value);
    // On stderr, so standard output stays the prompt (or the JSON) alone.
    if (samples.size > 0) out.note(`sample values: ${[...samples].map(([name, s]) => `${name}=${JSON.stringify(s.value)}`).join(', ')}`);
  }
  const result = renderTemplate(template, values);
  if (!result.ok) {
    out.error(`cannot render ${file}: invalid values`);
    for (const problem of result.problems) out.note(problem.variable ? `  ${problem.variable}: ${problem.message}` : `  ${problem.message}`);
    return EXIT.invalid;
  }
  if (options.format === 'json') out.stdout(JSON.stringify(result.value, null, 2) + '\n');
  else out.stdout(result.value.prompt);
  return EXIT.ok;
}

/** Values from `--params` files (in order) and then `--param name=value` flags, which win. */
export function collectValues(param: readonly string[], params: readonly string[], readStdin: () => string): Map<string, unknown> {
  const values = new Map<string, unknown>();
  for (const path of params) {
    for (const [name, value] of Object.entries(readValuesFile(path, readStdin))) values.set(name, value);
  }
  for (const assignment of param) {
    const eq = assignment.indexOf('=');
    if (eq <= 0) throw new UserError(`--param expects name=value, got "${assignment}"`);
    values.set(assignment.slice(0, eq), assignment.slice(eq + 1));
  }
  return values;
}

function readValuesFile(path: string, readStdin: () => string): Record<string, unknown> {
  const text = path === '-' ? readStdin() : readTextFile(path, MAX_PARAMS_BYTES);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UserError(`${path === '-' ? 'standard input' : path} is not valid JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UserError(`${path === '-' ? 'standard input' : path} must hold one JSON object of values, such as {"persona": "Anxious Investor"}`);
  }
  return parsed as Record<string, unknown>;
}
