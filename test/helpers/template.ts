import { strict as assert } from 'node:assert';
import { parseTemplate, type Diagnostic, type DiagnosticCode, type ParsedTemplate, type Range } from '../../src/core/template';

/** The text a range covers, so tests can say "PL002 points at `persna`" instead of numbers. */
export function textAt(template: ParsedTemplate, range: Range): string {
  return template.text.slice(template.lines.offset(range.start), template.lines.offset(range.end));
}

export function codes(template: ParsedTemplate): DiagnosticCode[] {
  return template.diagnostics.map((d) => d.code);
}

/** The only diagnostic with `code`; fails when there is none or several. */
export function only(template: ParsedTemplate, code: DiagnosticCode): Diagnostic {
  const found = template.diagnostics.filter((d) => d.code === code);
  assert.equal(found.length, 1, `expected one ${code}, got ${JSON.stringify(template.diagnostics, null, 1)}`);
  return found[0]!;
}

/** Parses `lines` joined with \n. */
export function parse(...lines: string[]): ParsedTemplate {
  return parseTemplate(lines.join('\n'), { fileName: 'fixture.prompt' });
}
