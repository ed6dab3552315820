import type { SpanMap } from './body';
import type { Span } from './types';

const SKIPPABLE = new Set([' ', '\t', '\n', '\r', '"', "'", '\\']);

/**
 * Maps offsets in a YAML scalar's value back to the file, so diagnostics in `system:` point at
 * what the author wrote. The value is what gets rendered; YAML turns the source into it by
 * dropping quotes and indentation, folding lines and decoding escapes. Each value character is
 * matched to the next equal source character, stepping over those YAML may have dropped
 * (whitespace, quotes, backslashes). Where that fails (an escape such as `\x3C` decodes to a
 * different character), spans from there on cover the whole scalar: imprecise, never wrong.
 */
export function scalarSpanMap(value: string, source: string, scalar: Span): SpanMap {
  let j = 0;
  // A block scalar's header (`|`, `>-`, `|2`…) ends at the first line break; a quoted one opens with its quote.
  if (source[0] === '|' || source[0] === '>') {
    const newline = source.search(/[\r\n]/);
    j = newline < 0 ? source.length : newline;
  }
  const positions = new Int32Array(value.length);
  let mapped = 0; // value[0, mapped) have exact positions
  for (; mapped < value.length; mapped++) {
    const v = value[mapped]!;
    let k = j;
    while (k < source.length && source[k] !== v && SKIPPABLE.has(source[k]!)) k++;
    if (k < source.length && source[k] === v) {
      positions[mapped] = k;
      j = k + 1;
    } else if ((v === '\n' || v === ' ') && k > j) {
      positions[mapped] = j; // a folded or escaped line break: its source is the run just skipped
      j = k;
    } else break;
  }
  return (start, end) => {
    if (end > start) {
      if (end > mapped) return scalar;
      return { start: scalar.start + positions[start]!, end: scalar.start + positions[end - 1]! + 1 };
    }
    if (start < mapped) return { start: scalar.start + positions[start]!, end: scalar.start + positions[start]! };
    return start === value.length && mapped === value.length ? { start: scalar.start + j, end: scalar.start + j } : scalar;
  };
}
