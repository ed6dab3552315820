import { IDENTIFIER, RESERVED_NAMES, issue, type Issue } from './issues';
import type { BlockKind, BodyNode, Span, VariableUse } from './types';

/**
 * Parses template text (`<<name>>`, `<<#if>>…<<else>>…<</if>>`, `<<if name "a" "b">>`,
 * `<<! comment >>`, `\<<`) into a tree, in one left-to-right pass with no backtracking, so any
 * input — megabytes, NUL bytes, thousands of unbalanced tags — parses in linear time and never
 * throws.
 *
 * Tags end on their own line; only comments may span lines. A stray `<<` therefore costs one
 * PL001 on its line instead of swallowing the text up to some distant `>>`. A block tag or
 * comment that stands alone on its line takes the whole line with it (as Mustache's standalone
 * tags do), so block structure on separate lines leaves no blank lines in the prompt.
 */
export interface BodyParse {
  readonly nodes: BodyNode[];
  readonly uses: VariableUse[];
  readonly issues: Issue[];
}

/** Maps offsets in the parsed text to a span in the file (identity for the body). */
export type SpanMap = (start: number, end: number) => Span;
const identity: SpanMap = (start, end) => ({ start, end });

/** Deeper nesting is refused, so no later tree walk (render, outline) can exhaust the stack. */
export const MAX_BLOCK_DEPTH = 64;

const BLOCK_KINDS: ReadonlySet<string> = new Set<BlockKind>(['if', 'unless']);
const TAG_SYNTAX =
  'a tag holds a variable name, `#if name`, `#unless name`, `else`, `/if`, `/unless`, `if name "yes" "no"` or a `!` comment';
/** Something meant as a name (`first-name`, `2nd`, `é`) rather than an expression (`a.b`, `a == b`). */
const NAME_LIKE = /^[^\s"'`(){}[\]|=<>!.,+*/\\&^%~?:;@#]+$/;
const INLINE_IF_START = /\s*if\s/y;

interface Frame {
  readonly keyword: string;
  /** False for blocks that are reported and kept only so their closing tag matches. */
  readonly valid: boolean;
  readonly name: string;
  readonly openSpan: Span;
  readonly nameSpan: Span;
  /** For an invalid frame both are the parent's list, so closing it moves nothing. */
  readonly body: BodyNode[];
  readonly elseBody: BodyNode[];
  elseSpan?: Span;
}

type NameProblem = { readonly code: 'PL008' | 'PL010'; readonly message: string };

/** Why `word` cannot be used as a variable reference, or undefined when it can. */
export function checkName(word: string): NameProblem | undefined {
  if (IDENTIFIER.test(word)) {
    return RESERVED_NAMES.has(word) ? { code: 'PL008', message: `\`${word}\` is reserved and cannot name a variable.` } : undefined;
  }
  if (NAME_LIKE.test(word)) {
    return {
      code: 'PL008',
      message: `\`${word}\` is not a valid variable name: use ASCII letters, digits and _, not starting with a digit.`,
    };
  }
  const hint = word.startsWith('!') ? ` To test that a value is false, use \`<<#unless ${word.slice(1)}>>\`.` : '';
  return { code: 'PL010', message: `Expressions such as \`${word}\` are not supported: name one variable.${hint}` };
}

export function parseBody(text: string, from: number, to: number, where: VariableUse['in'], map: SpanMap = identity): BodyParse {
  const issues: Issue[] = [];
  const uses: VariableUse[] = [];
  const root: BodyNode[] = [];
  const stack: Frame[] = [];
  /** Open frames per keyword, so a closing tag with no match is known without scanning the stack. */
  const openCount = new Map<string, number>();
  /** No `>>` exists at or after this offset (an earlier comment search proved it). */
  let noCloseFrom = Infinity;

  let textStart = from;
  let textParts = '';

  const report = (code: Issue['code'], start: number, end: number, message: string, data?: Record<string, string>): void => {
    issues.push(issue(code, map(start, end), message, data));
  };
  const current = (): BodyNode[] => {
    const top = stack[stack.length - 1];
    if (!top) return root;
    return top.elseSpan ? top.elseBody : top.body;
  };
  const appendText = (s: string, at: number): void => {
    if (textParts.length === 0) textStart = at;
    textParts += s;
  };
  /** Removes the spaces before a standalone tag; they were appended as plain text just before it. */
  const dropIndent = (width: number): void => {
    textParts = textParts.slice(0, Math.max(0, textParts.length - width));
  };
  const flushText = (end: number): void => {
    if (textParts.length > 0) current().push({ kind: 'text', text: textParts, span: map(textStart, end) });
    textParts = '';
  };

  const marker = /\\<<|<<|\{\{/g;
  let pos = from;
  while (pos < to) {
    marker.lastIndex = pos;
    const m = marker.exec(text);
    if (!m || m.index >= to) break;
    let at = m.index;
    appendText(text.slice(pos, at), pos);

    if (m[0] === '\\<<') {
      appendText('<<', at);
      pos = at + 3;
      continue;
    }
    if (m[0] === '{{') {
      checkMustache(at);
      appendText('{{', at);
      pos = at + 2;
      continue;
    }
    // `<<<name>>`: the first `<` is text, the tag starts at the second.
    while (text.charCodeAt(at + 2) === 60 /* < */ && at + 2 < to) {
      appendText('<', at);
      at++;
    }

    if (text.charCodeAt(at + 2) === 33 /* ! */) {
      pos = comment(at);
      continue;
    }

    const close = findTagEnd(text, at + 2, to, inlineIfAt(at + 2));
    if (close.end < 0) {
      const end = trimEnd(text, at, close.stop);
      const message = close.inString
        ? 'A quoted text in this tag is never closed: end it with `"`.'
        : 'This `<<` has no closing `>>` on its line. Close the tag, or write `\\<<` for a literal `<<`.';
      report('PL001', at, Math.max(end, at + 2), message);
      appendText('<<', at);
      pos = at + 2;
      continue;
    }
    const tagEnd = close.end + 2;
    const content = text.slice(at + 2, close.end).trim();
    const standalone = isLineTag(content) ? standaloneLine(at, tagEnd) : undefined;
    if (standalone) dropIndent(at - standalone.lineStart);
    flushText(at);
    readTag(at, tagEnd, at + 2, close.end);
    pos = standalone ? standalone.next : tagEnd;
  }
  appendText(text.slice(pos, to), pos);
  flushText(to);

  // Whatever is still open at the end was never closed.
  while (stack.length > 0) {
    const frame = pop();
    // In the body, a quick fix can close it where the body ends (in `system:` the YAML quoting varies).
    report('PL004', frame.openSpan.start, frame.openSpan.end, `\`${openTag(frame)}\` is never closed: add \`<</${frame.keyword}>>\`.`, where === 'body' ? { close: `<</${frame.keyword}>>`, at: String(to) } : undefined);
    closeFrame(frame, undefined, to);
  }
  return { nodes: root, uses, issues };

  // ---- pieces of the pass (closures over its state) --------------------------------------

  function comment(at: number): number {
    const close = at + 3 < noCloseFrom ? text.indexOf('>>', at + 3) : -1;
    if (close < 0 || close + 2 > to) {
      noCloseFrom = Math.min(noCloseFrom, at + 3);
      report('PL001', at, at + 3, 'This comment `<<!` is never closed: end it with `>>`.');
      appendText('<<', at);
      return at + 2;
    }
    const standalone = standaloneLine(at, close + 2);
    if (standalone) dropIndent(at - standalone.lineStart);
    flushText(at);
    current().push({ kind: 'comment', span: map(at, close + 2) });
    return standalone ? standalone.next : close + 2;
  }

  function inlineIfAt(offset: number): boolean {
    INLINE_IF_START.lastIndex = offset;
    return INLINE_IF_START.test(text);
  }

  /**
   * When the tag at [start, end) is the only thing on its line, where that line starts and where
   * the next one begins.
   */
  function standaloneLine(start: number, end: number): { lineStart: number; next: number } | undefined {
    let a = start;
    while (a > from && (text[a - 1] === ' ' || text[a - 1] === '\t')) a--;
    if (a > from && text[a - 1] !== '\n' && text[a - 1] !== '\r') return undefined;
    let b = end;
    while (b < to && (text[b] === ' ' || text[b] === '\t')) b++;
    if (b < to && text[b] !== '\n' && text[b] !== '\r') return undefined;
    const next = text[b] === '\r' && text[b + 1] === '\n' && b + 1 < to ? b + 2 : Math.min(b + 1, to);
    return { lineStart: a, next };
  }

  function readTag(start: number, end: number, innerStart: number, innerEnd: number): void {
    const inner = text.slice(innerStart, innerEnd);
    const lead = inner.length - inner.trimStart().length;
    const content = inner.trim();
    const contentStart = innerStart + lead;
    const contentEnd = contentStart + content.length;

    if (content.length === 0) return report('PL010', start, end, `Empty tag \`<<>>\`: ${TAG_SYNTAX}.`);
    if (content[0] === '#') return openBlock(content, contentStart, start, end);
    if (content[0] === '/') return closeBlock(content, start, end);
    if (content === 'else') return elseTag(start, end);
    if (/^if\s/.test(content)) return inlineIf(content, contentStart, start, end);

    const problem = checkName(content);
    if (!problem) {
      uses.push({ name: content, span: map(contentStart, contentEnd), in: where, role: 'value' });
      current().push({ kind: 'placeholder', name: content, span: map(start, end), nameSpan: map(contentStart, contentEnd) });
    } else if (problem.code === 'PL008') {
      report('PL008', contentStart, contentEnd, problem.message);
    } else {
      report('PL010', start, end, `\`<<${content}>>\` is not supported: ${TAG_SYNTAX}.`);
    }
  }

  function openBlock(content: string, contentStart: number, start: number, end: number): void {
    const m = /^#\s*(\S*)\s*(.*)$/s.exec(content)!;
    const keyword = m[1]!;
    const arg = m[2]!;
    const argStart = contentStart + content.length - arg.length;
    const nameSpan = map(argStart, argStart + arg.length);
    let valid = false;
    if (!BLOCK_KINDS.has(keyword)) {
      report('PL010', start, end, `\`<<#${keyword}>>\` blocks are not supported: use \`<<#if name>>\` or \`<<#unless name>>\`.`);
    } else if (arg.length === 0) {
      report('PL010', start, end, `\`<<#${keyword}>>\` needs a variable name: \`<<#${keyword} name>>\`.`);
    } else if (stack.length >= MAX_BLOCK_DEPTH) {
      report('PL010', start, end, `Blocks nest deeper than ${MAX_BLOCK_DEPTH} levels here: flatten the conditions.`);
    } else {
      const problem = checkName(arg);
      if (problem) report(problem.code, argStart, argStart + arg.length, problem.message);
      else {
        valid = true;
        uses.push({ name: arg, span: nameSpan, in: where, role: 'condition' });
      }
    }
    const parent = current();
    stack.push({
      keyword,
      valid,
      name: valid ? arg : '',
      openSpan: map(start, end),
      nameSpan,
      body: valid ? [] : parent,
      elseBody: valid ? [] : parent,
    });
    openCount.set(keyword, (openCount.get(keyword) ?? 0) + 1);
  }

  function closeBlock(content: string, start: number, end: number): void {
    const keyword = content.slice(1).trim();
    if (!/^\S+$/.test(keyword)) {
      report('PL010', start, end, `\`<<${content}>>\` is not a closing tag: write \`<</if>>\` or \`<</unless>>\`.`);
      return;
    }
    const closeSpan = map(start, end);
    if (!openCount.get(keyword)) {
      const top = stack[stack.length - 1];
      if (!top) {
        report('PL004', start, end, `\`<</${keyword}>>\` closes nothing: no \`<<#${keyword}>>\` block is open.`);
        return;
      }
      // The wrong tag still ends the innermost block: one error, not a cascade to the end of the file.
      report('PL004', start, end, `\`<</${keyword}>>\` does not match the open \`${openTag(top)}\`: expected \`<</${top.keyword}>>\`.`, { replace: `<</${top.keyword}>>` });
      closeFrame(pop(), closeSpan, closeSpan.end);
      return;
    }
    // Blocks opened after the matching one were closed by the wrong tag. Each is popped once,
    // so this loop is linear over the whole file.
    while (stack[stack.length - 1]!.keyword !== keyword) {
      const inner = pop();
      issues.push(
        issue('PL004', inner.openSpan, `\`${openTag(inner)}\` is closed by \`<</${keyword}>>\`: close it with \`<</${inner.keyword}>>\` first.`),
      );
      closeFrame(inner, undefined, closeSpan.start);
    }
    closeFrame(pop(), closeSpan, closeSpan.end);
  }

  function elseTag(start: number, end: number): void {
    const top = stack[stack.length - 1];
    if (!top) {
      report('PL004', start, end, '`<<else>>` stands outside a block: it belongs between `<<#if name>>` and `<</if>>`.');
    } else if (top.elseSpan) {
      report('PL004', start, end, `This \`${openTag(top)}\` block already has an \`<<else>>\`.`);
    } else {
      top.elseSpan = map(start, end);
    }
  }

  function inlineIf(content: string, contentStart: number, start: number, end: number): void {
    const parsed = parseInlineIf(content);
    if (typeof parsed === 'string') {
      report('PL010', start, end, `${parsed} Write \`<<if name "yes text" "no text">>\`.`);
      return;
    }
    const nameStart = contentStart + parsed.nameOffset;
    const nameEnd = nameStart + parsed.name.length;
    const problem = checkName(parsed.name);
    if (problem) {
      report(problem.code, nameStart, nameEnd, problem.message);
      return;
    }
    const nameSpan = map(nameStart, nameEnd);
    uses.push({ name: parsed.name, span: nameSpan, in: where, role: 'condition' });
    current().push({ kind: 'inlineIf', name: parsed.name, whenTrue: parsed.whenTrue, whenFalse: parsed.whenFalse, span: map(start, end), nameSpan });
  }

  function pop(): Frame {
    const frame = stack.pop()!;
    openCount.set(frame.keyword, openCount.get(frame.keyword)! - 1);
    return frame;
  }

  function closeFrame(frame: Frame, closeSpan: Span | undefined, end: number): void {
    if (!frame.valid) return; // its content already sits in the parent
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

  function checkMustache(at: number): void {
    const re = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/y;
    re.lastIndex = at;
    const found = re.exec(text);
    if (!found || at + found[0].length > to) return;
    const name = found[1]!;
    report(
      'PL009',
      at,
      at + found[0].length,
      `\`${found[0]}\` is not expanded in .prompt files and reaches the model as written: use \`<<${name}>>\`.`,
      { name },
    );
  }
}

/** Block tags and comments may stand alone on a line; placeholders and inline ifs are content. */
function isLineTag(content: string): boolean {
  return content.startsWith('#') || content.startsWith('/') || content === 'else';
}

function openTag(frame: Frame): string {
  return `<<#${frame.keyword}${frame.name ? ' ' + frame.name : ''}>>`;
}

/**
 * Finds the `>>` that ends a tag starting at `from`. In an inline if, `>>` inside a
 * double-quoted text does not count. Stops (end = -1) at a line break, the region end, or
 * another `<<` outside a string.
 */
function findTagEnd(text: string, from: number, to: number, strings: boolean): { end: number; stop: number; inString: boolean } {
  let inString = false;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || c === 13) return { end: -1, stop: i, inString };
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
      continue;
    }
    if (c === 34 && strings) inString = true;
    else if (c === 62 /* > */ && text.charCodeAt(i + 1) === 62 && i + 1 < to) return { end: i, stop: i, inString };
    else if (c === 60 /* < */ && text.charCodeAt(i + 1) === 60 && i + 1 < to) return { end: -1, stop: i, inString };
  }
  return { end: -1, stop: to, inString };
}

function trimEnd(text: string, from: number, to: number): number {
  let end = to;
  while (end > from && /\s/.test(text[end - 1]!)) end--;
  return end;
}

interface InlineIf {
  name: string;
  nameOffset: number;
  whenTrue: string;
  whenFalse: string;
}

const STRING_ESCAPES: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', n: '\n', t: '\t' };

/** Parses `if name "yes" ["no"]`; returns a reason when it is malformed. */
function parseInlineIf(content: string): InlineIf | string {
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
      if (c === '\\') {
        const escaped = STRING_ESCAPES[content[j + 1] ?? ''];
        if (escaped === undefined) return `Unknown escape \`\\${content[j + 1] ?? ''}\` in an inline if text: use \\" \\\\ \\n or \\t.`;
        value += escaped;
        j++;
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
  if (strings.length < 1 || strings.length > 2) return `An inline if takes one or two quoted texts, not ${strings.length}.`;
  return { name, nameOffset, whenTrue: strings[0]!, whenFalse: strings[1] ?? '' };
}
