import { parseBody } from './body';
import { parseFrontMatter } from './frontMatter';
import { issue, nearest, type Issue } from './issues';
import { scalarSpanMap } from './scalarMap';
import { LineIndex } from './lineIndex';
import type { BodyNode, Diagnostic, KeyInfo, Span, TemplateSettings, VariableDecl, VariableUse } from './types';

/** A `.prompt` file, parsed: everything the diagnostics, the editor and the renderer need. */
export interface ParsedTemplate {
  readonly text: string;
  readonly lines: LineIndex;
  readonly settings: TemplateSettings;
  /** True when the file declares its variables; false when they were inferred from placeholders. */
  readonly declaresVariables: boolean;
  /** In declaration order (or first-use order when inferred). */
  readonly variables: readonly VariableDecl[];
  readonly frontMatter?: { readonly region: Span; readonly keys: readonly KeyInfo[] };
  readonly body: { readonly nodes: readonly BodyNode[]; readonly span: Span };
  /** The system prompt as parsed from its YAML value (node spans are file spans, mapped back). */
  readonly system?: { readonly value: string; readonly nodes: readonly BodyNode[]; readonly span: Span };
  /** `training_system:`, the system message of exported training data, parsed like `system`. */
  readonly trainingSystem?: { readonly value: string; readonly nodes: readonly BodyNode[]; readonly span: Span };
  /** Every variable reference, in the body, `system:` and `training_system:`, with file spans. */
  readonly uses: readonly VariableUse[];
  /** Sorted by position. */
  readonly diagnostics: readonly Diagnostic[];
  readonly hasErrors: boolean;
}

export interface ParseOptions {
  /** Used for the default `name:`; any path works, only its base name is used. */
  readonly fileName?: string;
  /** Model aliases the `model:` key accepts besides full Claude ids (the model table's). */
  readonly modelAliases?: readonly string[];
}

export function templateNameFromFile(fileName: string | undefined): string {
  if (!fileName) return 'untitled';
  const base = fileName.split(/[\\/]/).pop() ?? fileName;
  return base.replace(/\.prompt$/i, '') || base;
}

/** Parses and checks a template. Never throws, whatever `text` holds. */
export function parseTemplate(text: string, options: ParseOptions = {}): ParsedTemplate {
  const lines = new LineIndex(text);
  const fm = parseFrontMatter(text, templateNameFromFile(options.fileName), options.modelAliases);
  const issues: Issue[] = [...fm.issues];

  const body = parseBody(text, fm.bodyStart, text.length, 'body');
  append(issues, body.issues);
  const uses: VariableUse[] = [...body.uses];

  // Parse a YAML value, which is what renders; map its spans back to the scalar as written.
  const scalar = (found: { value: string; span: Span }, where: 'system' | 'training_system') => {
    const { value, span } = found;
    const map = scalarSpanMap(value, text.slice(span.start, span.end), span);
    const parsed = parseBody(value, 0, value.length, where, map);
    append(issues, parsed.issues);
    append(uses, parsed.uses);
    return { value, nodes: parsed.nodes, span };
  };
  const system = fm.system ? scalar(fm.system, 'system') : undefined;
  const trainingSystem = fm.trainingSystem ? scalar(fm.trainingSystem, 'training_system') : undefined;

  const variables = fm.declared ?? inferVariables(uses);
  if (fm.declared) append(issues, checkUses(fm.declared, uses));

  const diagnostics = issues
    .map(
      (i): Diagnostic => ({
        code: i.code,
        severity: i.severity,
        message: i.message,
        range: lines.range(i.span),
        ...(i.data ? { data: i.data } : {}),
      }),
    )
    .sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character);

  return {
    text,
    lines,
    settings: fm.settings,
    declaresVariables: fm.declared !== undefined,
    variables,
    ...(fm.region ? { frontMatter: { region: fm.region, keys: fm.keys } } : {}),
    body: { nodes: body.nodes, span: { start: fm.bodyStart, end: text.length } },
    ...(system ? { system } : {}),
    ...(trainingSystem ? { trainingSystem } : {}),
    uses,
    diagnostics,
    hasErrors: diagnostics.some((d) => d.severity === 'error'),
  };
}

/** Array.push(...items) passes items as arguments and overflows the stack on huge inputs. */
function append<T>(into: T[], items: readonly T[]): void {
  for (const item of items) into.push(item);
}

/**
 * Without a `variables:` block, each name used is a text variable: required when its value is
 * inserted somewhere, optional when it is only tested (`#if`, `#unless`, inline `if`), since a
 * missing value is simply false there.
 */
function inferVariables(uses: readonly VariableUse[]): VariableDecl[] {
  const seen = new Map<string, { nameSpan: Span; required: boolean }>();
  for (const use of uses) {
    const known = seen.get(use.name);
    if (known) known.required ||= use.role === 'value';
    else seen.set(use.name, { nameSpan: use.span, required: use.role === 'value' });
  }
  return [...seen].map(([name, { nameSpan, required }]) => ({ name, type: 'text', required, inferred: true, nameSpan }));
}

/** PL002 for names used but not declared, PL003 for names declared but never used. */
function checkUses(declared: readonly VariableDecl[], uses: readonly VariableUse[]): Issue[] {
  const issues: Issue[] = [];
  const names = new Set(declared.map((d) => d.name));
  const used = new Set<string>();
  for (const use of uses) {
    used.add(use.name);
    if (names.has(use.name)) continue;
    const suggestion = nearest(use.name, names);
    const hint = suggestion ? ` Did you mean \`${suggestion}\`?` : ' Declare it under `variables:`.';
    issues.push(
      issue('PL002', use.span, `\`${use.name}\` is not declared in \`variables:\`.${hint}`, {
        name: use.name,
        ...(suggestion ? { suggestion } : {}),
      }),
    );
  }
  for (const decl of declared) {
    if (!used.has(decl.name)) {
      issues.push(
        issue('PL003', decl.nameSpan, `Variable \`${decl.name}\` is declared but never used in the body or a system prompt.`, {
          name: decl.name,
        }),
      );
    }
  }
  return issues;
}
