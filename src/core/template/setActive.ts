/**
 * Marking a template active or inactive: the one text edit that sets the front-matter key
 * `active:` and leaves every other byte of the file as it was (comments, key order, line ends),
 * so the shells can apply it as an undoable editor edit or write it to disk.
 */
import type { TextEdit } from './language';
import type { ParsedTemplate } from './parse';

export type SetActiveResult =
  | { readonly ok: true; readonly edit: TextEdit | undefined }
  | { readonly ok: false; readonly reason: string };

/**
 * The edit that makes `active:` read `true` or `false`; `edit` is undefined when the file already
 * says so. Refused when the front matter cannot be read (unclosed or invalid YAML): writing into
 * it blind could change what the rest of it means.
 */
export function setActiveEdit(template: ParsedTemplate, active: boolean): SetActiveResult {
  const { text } = template;
  const value = active ? 'true' : 'false';
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const fm = template.frontMatter;
  if (!fm) {
    // No front matter: an inactive mark needs one; an active template needs none (the default).
    if (active) return { ok: true, edit: undefined };
    const bom = text.startsWith('\uFEFF') ? 1 : 0;
    return { ok: true, edit: { span: { start: bom, end: bom }, newText: `---${eol}active: false${eol}---${eol}` } };
  }
  const unreadable = template.diagnostics.some((d) => d.code === 'PL005');
  if (unreadable) return { ok: false, reason: 'its front matter cannot be read: fix it first (see the Problems panel)' };
  const key = fm.keys.find((k) => k.path.length === 1 && k.path[0] === 'active');
  if (key) {
    if (template.settings.active === active && key.valueSpan && /^(true|false)$/.test(text.slice(key.valueSpan.start, key.valueSpan.end))) return { ok: true, edit: undefined };
    if (key.valueSpan && key.valueSpan.end > key.valueSpan.start) return { ok: true, edit: { span: { start: key.valueSpan.start, end: key.valueSpan.end }, newText: value } };
    // `active:` with no value: the whole key line is rewritten (the key starts it: top level).
    return { ok: true, edit: { span: { start: key.keySpan.start, end: lineEnd(text, key.keySpan.end) }, newText: `active: ${value}` } };
  }
  if (active) return { ok: true, edit: undefined };
  // A new line after `tier:` (or `name:`), where a reader looks for what kind of template it is;
  // else right after the opening `---`.
  const anchor = ['tier', 'name'].map((name) => fm.keys.find((k) => k.path.length === 1 && k.path[0] === name)).find((k) => k !== undefined);
  const after = anchor ? lineEnd(text, (anchor.valueSpan ?? anchor.keySpan).end) : lineEnd(text, fm.region.start);
  const at = nextLine(text, after);
  // A front matter whose line is the last of the file without a line end: add one first.
  const lead = at === after ? eol : '';
  return { ok: true, edit: { span: { start: at, end: at }, newText: `${lead}active: ${value}${eol}` } };
}

/** Applies an edit to a text (the CLI's and the tests' way; the editor applies it as a WorkspaceEdit). */
export function applyTextEdit(text: string, edit: TextEdit): string {
  return text.slice(0, edit.span.start) + edit.newText + text.slice(edit.span.end);
}

function lineEnd(text: string, from: number): number {
  let i = from;
  while (i < text.length && text[i] !== '\n' && text[i] !== '\r') i++;
  return i;
}

function nextLine(text: string, end: number): number {
  if (text[end] === '\r' && text[end + 1] === '\n') return end + 2;
  return end < text.length ? end + 1 : end;
}
