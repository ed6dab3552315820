import { IDENTIFIER, issue, invalidNameReason, type Issue } from './issues';
import type { BlockKind, BodyNode, Span, VariableUse } from './types';

/**
 * Parses template text (`<<name>>`, `<<#if>>…<<else>>…<</if>>`, `<<if name "a" "b">>`,
 * `<<! comment >>`, `\<<`) into a tree, in one left-to-right pass with no backtracking, so any
 * input — megabytes, NUL bytes, unbalanced tags — parses in linear time and never throws.
 *
 * Tags end on their own line; only comments may span lines. A stray `<<` therefore costs one
 * PL001 on its line instead of swallowing the text up to some distant `>>`.
 */
export interface BodyParse {
  readonly nodes: BodyNode[];
  readonly uses: VariableUse[];
  readonly issues: Issue[];
}

const BLOCK_KINDS: ReadonlySet<string> = new Set<BlockKind>(['if', 'unless']);
/** Deeper nesting is refused, so no later tree walk (render, outline) can exhaust the stack. */
export const MAX_BLOCK_DEPTH = 64;
const TAG_SYNTAX = 'a tag holds a variable name, `#if name`, `#unless name`, `else`, `/if`, `/unless`, `if name "yes" "no"` or a `!` comment';

interface Frame {
  readonly keyword: string;
  /** False for blocks we report and keep only so their closing tag matches. */
  readonly valid: boolean;
  readonly name: string;
  readonly openSpan: Span;
  readonly nameSpan: Span;
  readonly body: BodyNode[];
  readonly elseBody: BodyNode[];
  elseSpan?: Span;
}

export function parseBody(text: string, from: number, to: number, where: 'body' | 'system'): BodyParse {
  const issues: Issue[] = [];
  const uses: VariableUse[] = [];
  const root: BodyNode[] = [];
  const stack: Frame[] = [];

  let textStart = from;
  let textParts = '';

  const current = (): BodyNode[] => {
    const top = stack[stack.length - 1];
    if (!top) return root;
    return top.elseSpan ? top.elseBody : top.body;
  };
  const flushText = (end: number): void => {
    if (textParts.length > 0) current().push({ kind: 'text', text: textParts, span: { start: textStart, end } });
    textParts = '';
  };
  const startTextAt = (offset: number): void => {
    if (textParts.length === 0) textStart = offset;
  };
  const addUse = (name: string, span: Span): void => {
    uses.push({ name, span, in: where });
  };

  const marker = /\\<<|<<|\{\{/g;
  let pos = from;
  while (pos < to) {
    marker.lastIndex = pos;
    const m = marker.exec(text);
    if (!m || m.index >= to) break;
    const at = m.index;
    startTextAt(pos);
    textParts += text.slice(pos, at);

    if (m[0] === '\\<<') {
      if (textParts.length === 0) textStart = at;
      textParts += '<<';
      pos = at + 3;
      continue;
    }
    if (m[0] === '{{') {
      checkMustache(text, at, to, issues);
      textParts += '{{';
      pos = at + 2;
      continue;
    }

    // A `<<` tag.
    if (text.charCodeAt(at + 2) === 33 /* ! */) {
      const close = text.indexOf('>>', at + 3);
      if (close < 0 || close + 2 > to) {
        issues.push(issue('PL001', { start: at, end: at + 3 }, 'This comment `<<!` is never closed: end it with `>>`.'));
        textParts += '<<';
        pos = at + 2;
        continue;
      }
      flushText(at);
      current().push({ kind: 'comment', span: { start: at, end: close + 2 } });
      pos = close + 2;
      continue;
    }

    const close = findTagEnd(text, at + 2, to);
    if (close.end < 0) {
      const end = trimEnd(text, at, close.stop);
      issues.push(
        issue(
          'PL001',
          { start: at, end: Math.max(end, at + 2) },
          'This `<<` has no closing `>>` on its line. Close the tag, or write `\\<<` for a literal `<<`.',
        ),
      );
      textParts += '<<';
      pos = at + 2;
      continue;
    }

    flushText(at);
    const tagSpan: Span = { start: at, end: close.end + 2 };
    readTag(text, tagSpan, at + 2, close.end);
    pos = close.end + 2;
  }
  startTextAt(pos);
  textParts += text.slice(pos, to);
  flushText(to);

  // Whatever is still open at the end was never closed.
  while (stack.length > 0) {
    const frame = stack.pop()!;
    issues.push(
      issue(
        'PL004',
        frame.openSpan,
        `\`${openTag(frame)}\` is never closed: add \`<</${frame.keyword}>>\`.`,
      ),
    );
    closeFrame(frame, undefined, to);
  }
  return { nodes: root, uses, issues };

  function readTag(src: string, tagSpan: Span, innerStart: number, innerEnd: number): void {
    const inner = src.slice(innerStart, innerEnd);
    const lead = inner.length - inner.trimStart().length;
    const content = inner.trim();
    const contentStart = innerStart + lead;
    const contentSpan: Span = { start: contentStart, end: contentStart + content.length };

    if (content.length === 0) {
      issues.push(issue('PL010', tagSpan, `Empty tag \`<<>>\`: ${TAG_SYNTAX}.`));
      return;
    }
    if (content[0] === '#') return openBlock(content, contentStart, tagSpan);
    if (content[0] === '/') return closeBlock(content, tagSpan);
    if (content === 'else') return elseTag(tagSpan);
    if (/^if\s/.test(content)) return inlineIf(content, contentStart, tagSpan);

    if (IDENTIFIER.test(content)) {
      const reason = invalidNameReason(content);
      if (reason) {
        issues.push(issue('PL008', contentSpan, `${reason}.`));
        return;
      }
      addUse(content, contentSpan);
      current().push({ kind: 'placeholder', name: content, span: tagSpan, nameSpan: contentSpan });
      return;
    }
    if (/^[^\s"'(){}[\]|=<>!.,+*]+$/.test(content)) {
      issues.push(issue('PL008', contentSpan, `${invalidNameReason(content)}.`));
      return;
    }
    issues.push(issue('PL010', tagSpan, `\`<<${content}>>\` is not supported: ${TAG_SYNTAX}.`));
  }

  function openBlock(content: string, contentStart: number, tagSpan: Span): void {
    const m = /^#(\S*)\s*(.*)$/s.exec(content)!;
    const keyword = m[1]!;
    const arg = m[2]!;
    const argStart = contentStart + content.length - arg.length;
    const nameSpan: Span = { start: argStart, end: argStart + arg.length };
    let valid = BLOCK_KINDS.has(keyword);
    if (!valid) {
      issues.push(
        issue('PL010', tagSpan, `\`<<#${keyword}>>\` blocks are not supported: use \`<<#if name>>\` or \`<<#unless name>>\`.`),
      );
    } else if (arg.length === 0) {
      valid = false;
      issues.push(issue('PL010', tagSpan, `\`<<#${keyword}>>\` needs a variable name: \`<<#${keyword} name>>\`.`));
    } else if (!IDENTIFIER.test(arg) || invalidNameReason(arg)) {
      valid = false;
      const reason = invalidNameReason(arg);
      if (/^\S+$/.test(arg) && !/[.()=<>!|]/.test(arg) && reason) issues.push(issue('PL008', nameSpan, `${reason}.`));
      else
        issues.push(
          issue(
            'PL010',
            nameSpan,
            `\`#${keyword}\` takes one variable name; expressions such as \`${arg}\` are not supported. Test a boolean variable instead.`,
          ),
        );
    } else if (stack.length >= MAX_BLOCK_DEPTH) {
      valid = false;
      issues.push(issue('PL010', tagSpan, `Blocks nest deeper than ${MAX_BLOCK_DEPTH} levels here: flatten the conditions.`));
    } else {
      addUse(arg, nameSpan);
    }
    stack.push({ keyword, valid, name: valid ? arg : '', openSpan: tagSpan, nameSpan, body: [], elseBody: [] });
  }

  function closeBlock(content: string, tagSpan: Span): void {
    const keyword = content.slice(1).trim();
    if (!/^\S+$/.test(keyword)) {
      issues.push(issue('PL010', tagSpan, `\`<<${content}>>\` is not a closing tag: write \`<</if>>\` or \`<</unless>>\`.`));
      return;
    }
    const depth = findOpen(keyword);
    if (depth < 0) {
      const top = stack.pop();
      if (!top) {
        issues.push(issue('PL004', tagSpan, `\`<</${keyword}>>\` closes nothing: no \`<<#${keyword}>>\` block is open.`));
        return;
      }
      // The wrong tag still ends the innermost block: one error, not a cascade to the end of the file.
      issues.push(
        issue('PL004', tagSpan, `\`<</${keyword}>>\` does not match the open \`${openTag(top)}\`: expected \`<</${top.keyword}>>\`.`),
      );
      closeFrame(top, tagSpan, tagSpan.end);
      return;
    }
    // Blocks opened after the matching one were closed by the wrong tag.
    while (stack.length - 1 > depth) {
      const inner = stack.pop()!;
      issues.push(
        issue(
          'PL004',
          inner.openSpan,
          `\`${openTag(inner)}\` is closed by \`<</${keyword}>>\`: close it with \`<</${inner.keyword}>>\` first.`,
        ),
      );
      closeFrame(inner, undefined, tagSpan.start);
    }
    closeFrame(stack.pop()!, tagSpan, tagSpan.end);
  }

  function elseTag(tagSpan: Span): void {
    const top = stack[stack.length - 1];
    if (!top) {
      issues.push(issue('PL004', tagSpan, '`<<else>>` stands outside a block: it belongs between `<<#if name>>` and `<</if>>`.'));
      return;
    }
    if (top.elseSpan) {
      issues.push(issue('PL004', tagSpan, `This \`<<#${top.keyword}>>\` block already has an \`<<else>>\`.`));
      return;
    }
    top.elseSpan = tagSpan;
  }

  function inlineIf(content: string, contentStart: number, tagSpan: Span): void {
    const parsed = parseInlineIf(content);
    if (typeof parsed === 'string') {
      issues.push(issue('PL010', tagSpan, `${parsed} Write \`<<if name "yes text" "no text">>\`.`));
      return;
    }
    const nameSpan: Span = { start: contentStart + parsed.nameOffset, end: contentStart + parsed.nameOffset + parsed.name.length };
    const reason = invalidNameReason(parsed.name);
    if (reason) {
      issues.push(issue('PL008', nameSpan, `${reason}.`));
      return;
    }
    addUse(parsed.name, nameSpan);
    current().push({
      kind: 'inlineIf',
      name: parsed.name,
      whenTrue: parsed.whenTrue,
      whenFalse: parsed.whenFalse,
      span: tagSpan,
      nameSpan,
    });
  }

  function findOpen(keyword: string): number {
    for (let i = stack.length - 1; i >= 0; i--) if (stack[i]!.keyword === keyword) return i;
    return -1;
  }

  function closeFrame(frame: Frame, closeSpan: Span | undefined, end: number): void {
    if (!frame.valid) {
      // Keep the content so nothing disappears from outlines; the tag itself is already reported.
      const into = current();
      for (const node of frame.body) into.push(node);
      for (const node of frame.elseBody) into.push(node);
      return;
    }
    current().push({
      kind: 'block',
      block: frame.keyword as BlockKind,
      name: frame.name,
      body: frame.body,
      elseBody: frame.elseBody,
      span: { start: frame.openSpan.start, end },
      openSpan: frame.openSpan,
      nameSpan: frame.nameSpan,
      ...(frame.elseSpan ? { elseSpan: frame.elseSpan } : {}),
      ...(closeSpan ? { closeSpan } : {}),
    });
  }
}

function openTag(frame: Frame): string {
  return `<<#${frame.keyword}${frame.name ? ' ' + frame.name : ''}>>`;
}

/**
 * Finds the `>>` that ends a tag starting at `from`, skipping `>>` inside double-quoted strings.
 * Stops (end = -1) at a line break, the region end, or another `<<` outside a string.
 */
function findTagEnd(text: string, from: number, to: number): { end: number; stop: number } {
  let inString = false;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || c === 13) return { end: -1, stop: i };
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 62 /* > */ && text.charCodeAt(i + 1) === 62 && i + 1 < to) return { end: i, stop: i };
    else if (c === 60 /* < */ && text.charCodeAt(i + 1) === 60 && i + 1 < to) return { end: -1, stop: i };
  }
  return { end: -1, stop: to };
}

function trimEnd(text: string, from: number, to: number): number {
  let end = to;
  while (end > from && /\s/.test(text[end - 1]!)) end--;
  return end;
}

function checkMustache(text: string, at: number, to: number, issues: Issue[]): void {
  const m = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/y;
  m.lastIndex = at;
  const found = m.exec(text);
  if (!found || at + found[0].length > to) return;
  const name = found[1]!;
  issues.push(
    issue(
      'PL009',
      { start: at, end: at + found[0].length },
      `\`{{${name}}}\` is not expanded in .prompt files and reaches the model as written: use \`<<${name}>>\`.`,
      { name },
    ),
  );
}

interface InlineIf {
  name: string;
  nameOffset: number;
  whenTrue: string;
  whenFalse: string;
}

/** Parses `if name "yes" ["no"]`; returns a reason string when it is malformed. */
export function parseInlineIf(content: string): InlineIf | string {
  const head = /^if\s+([^\s"]+)\s*/.exec(content);
  if (!head) return 'An inline `if` needs a variable name.';
  const name = head[1]!;
  const nameOffset = content.indexOf(name, 2);
  const strings: string[] = [];
  let i = head[0].length;
  while (i < content.length) {
    if (content[i] !== '"') return `Unexpected \`${content.slice(i, i + 12)}\` in an inline if: texts must be in double quotes.`;
    let value = '';
    let j = i + 1;
    let closed = false;
    for (; j < content.length; j++) {
      const c = content[j]!;
      if (c === '\\' && j + 1 < content.length) {
        value += content[++j];
      } else if (c === '"') {
        closed = true;
        break;
      } else value += c;
    }
    if (!closed) return 'A quoted text in this inline if is never closed.';
    strings.push(value);
    i = j + 1;
    while (i < content.length && /\s/.test(content[i]!)) i++;
  }
  if (strings.length < 1 || strings.length > 2) {
    return `An inline if takes one or two quoted texts, not ${strings.length}.`;
  }
  return { name, nameOffset, whenTrue: strings[0]!, whenFalse: strings[1] ?? '' };
}
