/**
 * Editor intelligence over a parsed template, as pure functions of (template, offset): what is
 * under the cursor, what to complete, the outline, rename and quick-fix edits. The extension
 * only converts these to VS Code's types, so all of it is tested without an editor.
 */
import { IDENTIFIER, RESERVED_NAMES } from './issues';
import type { ParsedTemplate } from './parse';
import { FRONT_MATTER_KEYS, VARIABLE_KEYS } from './schema';
import { DEFAULT_MODEL_ALIASES } from './frontMatter';
import { ESCAPE_MODES, TIERS, VARIABLE_TYPES, type BodyNode, type Diagnostic, type KeyInfo, type Span, type VariableDecl } from './types';

export interface TextEdit {
  readonly span: Span;
  readonly newText: string;
}

const contains = (span: Span, offset: number): boolean => offset >= span.start && offset <= span.end;

// ---- what is under the cursor ---------------------------------------------------------------

export type Target =
  | { readonly kind: 'variable'; readonly name: string; readonly span: Span; readonly decl?: VariableDecl }
  | { readonly kind: 'key'; readonly key: KeyInfo };

export function targetAt(t: ParsedTemplate, offset: number): Target | undefined {
  const byName = (name: string) => t.variables.find((v) => v.name === name);
  for (const use of t.uses) {
    if (contains(use.span, offset)) {
      const decl = byName(use.name);
      return { kind: 'variable', name: use.name, span: use.span, ...(decl ? { decl } : {}) };
    }
  }
  for (const decl of t.variables) {
    if (!decl.inferred && contains(decl.nameSpan, offset)) return { kind: 'variable', name: decl.name, span: decl.nameSpan, decl };
  }
  // The innermost key wins: `type` inside `variables.persona` rather than `variables`.
  let best: KeyInfo | undefined;
  for (const key of t.frontMatter?.keys ?? []) {
    if (contains(key.keySpan, offset) && (!best || key.path.length > best.path.length)) best = key;
  }
  return best ? { kind: 'key', key: best } : undefined;
}

/** Markdown for a hover, or undefined when there is nothing to say. */
export function hoverAt(t: ParsedTemplate, offset: number): { markdown: string; span: Span } | undefined {
  const target = targetAt(t, offset);
  if (!target) return undefined;
  if (target.kind === 'variable') {
    // A code span, not bold: a name such as `__init__` would otherwise render as emphasis.
    if (!target.decl) return { markdown: `\`${target.name}\` is not declared in \`variables:\`. Declare it there (a quick fix does), or correct the name.`, span: target.span };
    return { markdown: describeVariable(target.decl), span: target.span };
  }
  const { path } = target.key;
  const last = path[path.length - 1]!;
  if (path.length === 1 && last in FRONT_MATTER_KEYS) {
    return { markdown: `**${last}**: ${FRONT_MATTER_KEYS[last as keyof typeof FRONT_MATTER_KEYS]}`, span: target.key.keySpan };
  }
  if (path.length === 2 && path[0] === 'variables') {
    const decl = t.variables.find((v) => v.name === last);
    return decl ? { markdown: describeVariable(decl), span: target.key.keySpan } : undefined;
  }
  if (path.length === 3 && path[0] === 'variables' && last in VARIABLE_KEYS) {
    return { markdown: `**${last}**: ${VARIABLE_KEYS[last as keyof typeof VARIABLE_KEYS]}`, span: target.key.keySpan };
  }
  return undefined;
}

export function describeVariable(decl: VariableDecl): string {
  const lines = [`**${decl.name}**: ${decl.type}, ${decl.required ? 'required' : 'optional'}${decl.inferred ? ' (inferred: no `variables:` block)' : ''}`];
  if (decl.help) lines.push('', decl.help);
  const facts: string[] = [];
  if (decl.default !== undefined) facts.push(`default: \`${JSON.stringify(decl.default)}\``);
  if (decl.options) facts.push(`options: ${decl.options.map((o) => `\`${String(o)}\``).join(', ')}`);
  if (decl.min !== undefined) facts.push(`min: ${decl.min}`);
  if (decl.max !== undefined) facts.push(`max: ${decl.max}`);
  if (decl.maxLength !== undefined) facts.push(`max length: ${decl.maxLength} characters`);
  if (decl.values) facts.push(`values: ${decl.values.map((v) => `\`${v}\``).join(', ')}`);
  if (decl.step !== undefined) facts.push(`step: ${decl.step}`);
  if (decl.examples) facts.push(`examples: ${decl.examples.map((e) => `\`${e}\``).join(', ')}`);
  if (facts.length > 0) lines.push('', facts.map((f) => `- ${f}`).join('\n'));
  return lines.join('\n');
}

/** Where a placeholder's variable is declared. */
export function definitionAt(t: ParsedTemplate, offset: number): Span | undefined {
  const target = targetAt(t, offset);
  if (target?.kind !== 'variable' || !target.decl || target.decl.inferred) return undefined;
  return target.decl.nameSpan;
}

// ---- rename ------------------------------------------------------------------------------------

export type RenameResult = { readonly ok: true; readonly edits: TextEdit[] } | { readonly ok: false; readonly reason: string };

/** The variable name under the cursor and its span, if it can be renamed. */
export function renameTargetAt(t: ParsedTemplate, offset: number): { name: string; span: Span } | undefined {
  const target = targetAt(t, offset);
  return target?.kind === 'variable' ? { name: target.name, span: target.span } : undefined;
}

/** Renames a variable in its declaration and every use, in the body and the system prompt. */
export function renameVariable(t: ParsedTemplate, name: string, newName: string): RenameResult {
  if (!IDENTIFIER.test(newName)) return { ok: false, reason: `\`${newName}\` is not a valid variable name: use letters, digits and _, not starting with a digit.` };
  if (RESERVED_NAMES.has(newName)) return { ok: false, reason: `\`${newName}\` is reserved.` };
  if (newName !== name && (t.variables.some((v) => v.name === newName) || t.uses.some((u) => u.name === newName))) {
    return { ok: false, reason: `The template already has a variable \`${newName}\`.` };
  }
  const edits: TextEdit[] = [];
  const decl = t.variables.find((v) => v.name === name);
  if (decl && !decl.inferred) edits.push({ span: decl.nameSpan, newText: newName });
  for (const use of t.uses) {
    if (use.name !== name) continue;
    // A use inside an escaped YAML scalar may map to the whole scalar; never overwrite that.
    if (t.text.slice(use.span.start, use.span.end) !== name) {
      return { ok: false, reason: `\`${name}\` appears inside an escaped YAML string that cannot be edited safely; rename it there by hand.` };
    }
    edits.push({ span: use.span, newText: newName });
  }
  return edits.length > 0 ? { ok: true, edits } : { ok: false, reason: `No variable \`${name}\` here.` };
}

// ---- quick fixes --------------------------------------------------------------------------------

export interface Fix {
  readonly title: string;
  readonly edits: TextEdit[];
  readonly preferred: boolean;
}

/** Quick fixes for one diagnostic of `t`: PL009 → `<<x>>`, PL007 → the suggested key, PL002 → declare. */
export function fixesFor(t: ParsedTemplate, d: Diagnostic): Fix[] {
  const span: Span = { start: t.lines.offset(d.range.start), end: t.lines.offset(d.range.end) };
  switch (d.code) {
    case 'PL009': {
      const name = d.data?.name;
      return name ? [{ title: `Convert to <<${name}>>`, edits: [{ span, newText: `<<${name}>>` }], preferred: true }] : [];
    }
    case 'PL007': {
      const suggestion = d.data?.suggestion;
      return suggestion ? [{ title: `Change to '${suggestion}'`, edits: [{ span, newText: suggestion }], preferred: true }] : [];
    }
    case 'PL002': {
      const name = d.data?.name;
      const fixes: Fix[] = [];
      if (d.data?.suggestion) fixes.push({ title: `Change to '${d.data.suggestion}'`, edits: [{ span, newText: d.data.suggestion }], preferred: true });
      const declare = name ? declareVariable(t, name) : undefined;
      if (declare) fixes.push({ title: `Declare '${name}' in variables:`, edits: [declare], preferred: !d.data?.suggestion });
      return fixes;
    }
    case 'PL004': {
      if (d.data?.replace) return [{ title: `Change to ${d.data.replace}`, edits: [{ span, newText: d.data.replace }], preferred: true }];
      const close = d.data?.close;
      const at = Number(d.data?.at);
      if (!close || !Number.isInteger(at) || at < 0 || at > t.text.length) return [];
      // At the end of the body, on a line of its own.
      const eol = /\r\n/.test(t.text) ? '\r\n' : '\n';
      const atLineStart = at === 0 || t.text[at - 1] === '\n';
      return [{ title: `Close with ${close} at the end`, edits: [{ span: { start: at, end: at }, newText: atLineStart ? `${close}${eol}` : `${eol}${close}` }], preferred: true }];
    }
    default:
      return [];
  }
}

/** An edit adding `name` as a text variable at the end of a block-style `variables:` map. */
export function declareVariable(t: ParsedTemplate, name: string): TextEdit | undefined {
  const keys = t.frontMatter?.keys ?? [];
  const block = keys.find((k) => k.path.length === 1 && k.path[0] === 'variables');
  if (!block) return undefined;
  const variables = keys.filter((k) => k.path.length === 2 && k.path[0] === 'variables');
  const text = t.text;
  const eol = /\r\n/.test(text) ? '\r\n' : '\n';
  const lastOf = (k: KeyInfo) => (k.valueSpan ?? k.keySpan).end;
  if (variables.length === 0) {
    // `variables:` with nothing under it: put the first one on the next line.
    if (block.valueSpan && block.valueSpan.end > block.valueSpan.start) return undefined; // a flow map `{}` or other value
    const at = endOfLine(text, block.keySpan.end);
    return { span: { start: at, end: at }, newText: `${eol}  ${name}:${eol}    type: text` };
  }
  const first = variables[0]!;
  if (text[first.keySpan.start - 1] === '{' || text.slice(block.valueSpan?.start ?? 0).startsWith('{')) return undefined;
  const indent = t.lines.position(first.keySpan.start).character;
  const last = variables.reduce((a, b) => (lastOf(b) > lastOf(a) ? b : a));
  const at = endOfLine(text, Math.max(lastOf(last) - 1, last.keySpan.end));
  const pad = ' '.repeat(indent);
  return { span: { start: at, end: at }, newText: `${eol}${pad}${name}:${eol}${pad}  type: text` };
}

function endOfLine(text: string, offset: number): number {
  let i = offset;
  while (i < text.length && text[i] !== '\n' && text[i] !== '\r') i++;
  return i;
}

// ---- outline --------------------------------------------------------------------------------

export interface OutlineItem {
  readonly name: string;
  readonly detail: string;
  readonly kind: 'variable' | 'block' | 'setting';
  readonly span: Span;
  readonly selectionSpan: Span;
  readonly children: OutlineItem[];
}

/** Front-matter settings with the variables under `variables`, then the blocks of the body. */
export function outline(t: ParsedTemplate): OutlineItem[] {
  const items: OutlineItem[] = [];
  const keys = t.frontMatter?.keys ?? [];
  for (const key of keys.filter((k) => k.path.length === 1)) {
    const span = { start: key.keySpan.start, end: Math.max(key.keySpan.end, key.valueSpan?.end ?? 0) };
    const children =
      key.path[0] === 'variables'
        ? t.variables
            .filter((v) => !v.inferred)
            .map((v): OutlineItem => {
              const info = keys.find((k) => k.path.length === 2 && k.path[1] === v.name);
              const end = Math.max(v.nameSpan.end, info?.valueSpan?.end ?? 0);
              return { name: v.name, detail: v.type + (v.required ? '' : ' (optional)'), kind: 'variable', span: { start: v.nameSpan.start, end }, selectionSpan: v.nameSpan, children: [] };
            })
        : [];
    const value = key.valueSpan ? t.text.slice(key.valueSpan.start, Math.min(key.valueSpan.end, key.valueSpan.start + 40)) : '';
    items.push({ name: key.path[0]!, detail: children.length > 0 ? '' : value.split(/\r?\n/)[0]!, kind: 'setting', span, selectionSpan: key.keySpan, children });
  }
  if (!t.declaresVariables) {
    for (const v of t.variables) items.push({ name: v.name, detail: 'text (inferred)', kind: 'variable', span: v.nameSpan, selectionSpan: v.nameSpan, children: [] });
  }
  items.push(...blocks(t.body.nodes));
  return items;
}

function blocks(nodes: readonly BodyNode[]): OutlineItem[] {
  const out: OutlineItem[] = [];
  for (const node of nodes) {
    if (node.kind !== 'block') continue;
    out.push({
      name: `#${node.block} ${node.name}`,
      detail: node.elseSpan ? 'with else' : '',
      kind: 'block',
      span: node.span,
      selectionSpan: node.openSpan,
      children: [...blocks(node.body), ...blocks(node.elseBody)],
    });
  }
  return out;
}

// ---- completion -------------------------------------------------------------------------------

export interface Completion {
  readonly label: string;
  readonly kind: 'variable' | 'keyword' | 'key' | 'value';
  readonly detail?: string;
  readonly documentation?: string;
  /** Text to insert; `$0` marks where the cursor ends (a snippet). */
  readonly insertText?: string;
  /** The text the completion replaces (the partial word before the cursor). */
  readonly replace: Span;
  /** Where it stands in the list (editors sort by label otherwise). */
  readonly sortText?: string;
}

export interface CompletionOptions {
  readonly modelAliases?: readonly string[];
}

export function completionsAt(t: ParsedTemplate, offset: number, options: CompletionOptions = {}): Completion[] {
  const text = t.text;
  const lineStart = t.lines.offset({ line: t.lines.position(offset).line, character: 0 });
  const before = text.slice(lineStart, offset);
  const fm = t.frontMatter;
  const inFrontMatter = fm !== undefined && offset > fm.region.start && offset <= fm.region.end;
  const inScalar = (s: { readonly span: Span } | undefined) => s !== undefined && offset >= s.span.start && offset <= s.span.end;
  const inSystem = inScalar(t.system) || inScalar(t.trainingSystem);
  if (inFrontMatter && !inSystem) return frontMatterCompletions(t, offset, lineStart, before, options);
  return tagCompletions(t, offset, before);
}

function tagCompletions(t: ParsedTemplate, offset: number, before: string): Completion[] {
  const word = /[A-Za-z0-9_]*$/.exec(before)![0];
  const replace: Span = { start: offset - word.length, end: offset };
  const variables = (): Completion[] =>
    t.variables.map((v) => ({ label: v.name, kind: 'variable', detail: v.type + (v.required ? '' : ' (optional)'), documentation: describeVariable(v), replace }));

  if (/<<\/\s*[A-Za-z]*$/.test(before)) {
    return ['if', 'unless'].map((k) => ({ label: k, kind: 'keyword', detail: `close <<#${k}>>`, insertText: `${k}>>`, replace }));
  }
  if (/<<#\s*[A-Za-z]*$/.test(before)) {
    return ['if', 'unless'].map((k) => ({
      label: k,
      kind: 'keyword',
      detail: k === 'if' ? 'block shown when the variable is true' : 'block shown when the variable is false',
      insertText: `${k} $1>>$0<</${k}>>`,
      replace,
    }));
  }
  if (/<<#\s*(if|unless)\s+[A-Za-z0-9_]*$/.test(before) || /<<\s*if\s+[A-Za-z0-9_]*$/.test(before)) {
    // A condition is most often a boolean, then an optional value (shown when given); then the rest.
    const rank = (v: VariableDecl) => (v.type === 'boolean' ? 0 : v.required ? 2 : 1);
    return variables().map((c, i) => ({ ...c, sortText: `${rank(t.variables[i]!)}${String(i).padStart(4, '0')}` }));
  }
  if (/<<\s*[A-Za-z0-9_]*$/.test(before) && !/\\<<\s*[A-Za-z0-9_]*$/.test(before)) {
    const keywords: Completion[] = [
      { label: 'if', kind: 'keyword', detail: 'inline if: <<if name "yes" "no">>', insertText: 'if $1 "$2" "$3">>$0', replace },
      { label: 'else', kind: 'keyword', detail: 'the other branch of a block', insertText: 'else>>', replace },
    ];
    return [...variables(), ...keywords];
  }
  return [];
}

function frontMatterCompletions(t: ParsedTemplate, offset: number, lineStart: number, before: string, options: CompletionOptions): Completion[] {
  const keyLine = /^(\s*)([A-Za-z_][A-Za-z0-9_-]*)?$/.exec(before);
  if (keyLine) {
    const indent = keyLine[1]!.length;
    const replace: Span = { start: offset - (keyLine[2]?.length ?? 0), end: offset };
    const parent = parentKeyPath(t, lineStart, indent);
    const present = new Set((t.frontMatter?.keys ?? []).filter((k) => k.path.length === parent.length + 1 && parent.every((p, i) => k.path[i] === p)).map((k) => k.path[parent.length]!));
    if (parent.length === 0 && t.frontMatter) {
      // While the YAML is being typed it is often invalid and has no keys; read the top level as text.
      const region = t.text.slice(t.frontMatter.region.start, t.frontMatter.region.end);
      for (const m of region.matchAll(/^([A-Za-z_][A-Za-z0-9_-]*)[ \t]*:/gm)) present.add(m[1]!);
    }
    const table: Record<string, string> | undefined = parent.length === 0 ? FRONT_MATTER_KEYS : parent.length === 2 && parent[0] === 'variables' ? VARIABLE_KEYS : undefined;
    if (!table) return [];
    return Object.entries(table)
      .filter(([key]) => !present.has(key) || key === keyLine[2])
      .map(([key, doc]) => ({ label: key, kind: 'key', documentation: doc, insertText: `${key}: `, replace }));
  }
  const valueLine = /^(\s*)([A-Za-z_][A-Za-z0-9_]*)\s*:\s*([A-Za-z0-9_.-]*)$/.exec(before);
  if (!valueLine) return [];
  const key = valueLine[2]!;
  const replace: Span = { start: offset - valueLine[3]!.length, end: offset };
  const parent = parentKeyPath(t, lineStart, valueLine[1]!.length);
  const values = (list: readonly string[], detail: string): Completion[] => list.map((v) => ({ label: v, kind: 'value', detail, replace }));
  if (parent.length === 0) {
    if (key === 'tier') return values(TIERS, 'tier');
    if (key === 'escape') return values(ESCAPE_MODES, 'escape mode');
    if (key === 'model') return values(options.modelAliases ?? DEFAULT_MODEL_ALIASES, 'model alias');
    if (key === 'active') return values(['true', 'false'], 'boolean');
  }
  if (parent.length === 2 && parent[0] === 'variables' && key === 'type') return values(VARIABLE_TYPES, 'variable type');
  return [];
}

/**
 * The key path a line at `indent` belongs to, read from the lines above: the nearest line with
 * less indentation that holds a key is its parent, and so on up.
 */
function parentKeyPath(t: ParsedTemplate, lineStart: number, indent: number): string[] {
  const path: string[] = [];
  let want = indent;
  const start = t.frontMatter?.region.start ?? 0;
  let end = lineStart;
  while (want > 0 && end > start) {
    const prevEnd = end - 1 - (t.text[end - 2] === '\r' && t.text[end - 1] === '\n' ? 1 : 0);
    let s = prevEnd;
    while (s > start && t.text[s - 1] !== '\n' && t.text[s - 1] !== '\r') s--;
    const line = t.text.slice(s, prevEnd);
    end = s;
    const m = /^(\s*)([A-Za-z_][A-Za-z0-9_-]*)\s*:/.exec(line);
    if (!m || line.trim() === '' || m[1]!.length >= want) continue;
    path.unshift(m[2]!);
    want = m[1]!.length;
  }
  return path;
}
