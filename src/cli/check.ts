import { parseTemplate, type Diagnostic } from '../core/template';
import { EXIT } from './errors';
import { asUserError, findTemplates, readTextFile } from './files';
import { oneLine, type Output } from './output';

export interface CheckOptions {
  readonly format: 'text' | 'json';
  /** Model aliases `model:` may use (the workspace's model table). */
  readonly modelAliases?: readonly string[];
}

/** One entry of `promptloom check --format json` (the contract other tools parse). */
export interface FileReport {
  readonly file: string;
  readonly diagnostics: readonly Pick<Diagnostic, 'code' | 'severity' | 'message' | 'range'>[];
}

export function runCheck(paths: readonly string[], options: CheckOptions, out: Output): number {
  const { files, unreadable } = findTemplates(paths);
  const reports: FileReport[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readTextFile(file);
    } catch (error) {
      unreadable.push(asUserError(error, file));
      continue;
    }
    const diagnostics = parseTemplate(text, { fileName: file, ...(options.modelAliases ? { modelAliases: options.modelAliases } : {}) }).diagnostics.map(({ code, severity, message, range }) => ({
      code,
      severity,
      message,
      range,
    }));
    reports.push({ file, diagnostics });
  }

  if (options.format === 'json') out.stdout(JSON.stringify(reports, null, 2) + '\n');
  else for (const report of reports) for (const d of report.diagnostics) out.stdout(formatDiagnostic(report.file, d) + '\n');

  for (const error of unreadable) out.error(error.message);
  const all = reports.flatMap((r) => r.diagnostics);
  const errors = all.filter((d) => d.severity === 'error').length;
  const warnings = all.filter((d) => d.severity === 'warning').length;
  if (files.length === 0 && unreadable.length === 0) out.note(`no .prompt files found in ${paths.join(', ')}`);
  else out.note(`checked ${plural(reports.length, 'file')}: ${plural(errors, 'error')}, ${plural(warnings, 'warning')}`);

  if (unreadable.length > 0) return EXIT.usage;
  return errors > 0 ? EXIT.invalid : EXIT.ok;
}

/** `file:line:col severity CODE message`, 1-based like a compiler's. */
export function formatDiagnostic(file: string, d: Pick<Diagnostic, 'code' | 'severity' | 'message' | 'range'>): string {
  return `${oneLine(file)}:${d.range.start.line + 1}:${d.range.start.character + 1} ${d.severity} ${d.code} ${d.message}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
