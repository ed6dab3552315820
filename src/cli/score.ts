/**
 * `promptloom score`: the quality scorer on conversations in files. A `.json` file holds one
 * conversation and prints one result; a `.jsonl` file holds one per line and prints one result
 * per line, in order, streaming (a file of any size is read a line at a time); `-` reads stdin,
 * taking it as one conversation when it parses whole and as JSONL otherwise.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { conversationOf } from '../core/export';
import { scoreConversation, toQualityResult, type QualityResult, type Tier } from '../core/quality';
import { EXIT, UserError } from './errors';
import { asUserError, openRegularFile, readTextFile } from './files';
import type { Output } from './output';

/** One conversation file (or line) is read whole; nothing near this size is one conversation. */
const MAX_CONVERSATION_BYTES = 64 * 1024 * 1024;

export interface ScoreFlags {
  readonly tier: Tier;
  readonly format: 'text' | 'json';
}

export async function runScore(file: string, flags: ScoreFlags, out: Output, stdin: () => Readable): Promise<number> {
  if (file === '-') {
    const text = await readAll(stdin());
    const whole = tryParse(text);
    if (whole.ok) return scoreOne(whole.value, flags, out);
    const lines = text.split(/\r?\n/);
    if (lines[lines.length - 1] === '') lines.pop(); // the newline that ends the last line
    return scoreLines(lines.map((t) => ({ text: t })), flags, out);
  }
  if (file.toLowerCase().endsWith('.jsonl')) {
    // Regular files only (a FIFO or /dev/zero would never end); the stream closes the descriptor.
    const fd = openRegularFile(file);
    try {
      return await scoreLines(linesOf(createReadStream(file, { fd })), flags, out);
    } catch (error) {
      throw asUserError(error, file);
    }
  }
  const text = readTextFile(file, MAX_CONVERSATION_BYTES);
  const parsed = tryParse(text);
  if (!parsed.ok) {
    out.error(`${file}: not JSON (${parsed.error}); a .jsonl file holds one conversation per line`);
    return EXIT.invalid;
  }
  return scoreOne(parsed.value, flags, out);
}

function scoreOne(value: unknown, flags: ScoreFlags, out: Output): number {
  if (Array.isArray(value)) {
    out.error('the file holds a JSON array; put one conversation per line in a .jsonl file to score many');
    return EXIT.invalid;
  }
  if (!isObject(value)) {
    out.error('the file holds no conversation: expected an object with "turns"');
    return EXIT.invalid;
  }
  const result = toQualityResult(scoreConversation(conversationOf(value), flags.tier));
  out.stdout(flags.format === 'json' ? JSON.stringify(result) + '\n' : detailed(result));
  return EXIT.ok;
}

/**
 * One output line per input line, so line k of the output is about line k of the input: a line
 * that holds no conversation (not JSON, not an object, empty, too long) prints `{ line, error }`
 * in its place and makes the exit code 1.
 */
async function scoreLines(lines: AsyncIterable<Line> | Iterable<Line>, flags: ScoreFlags, out: Output): Promise<number> {
  let number = 0;
  let bad = 0;
  const fail = (message: string) => {
    bad++;
    const error = `line ${number}: ${message}`;
    out.stdout(flags.format === 'json' ? JSON.stringify({ line: number, error }) + '\n' : `${error}\n`);
  };
  for await (const { text: line, tooLong } of lines) {
    number++;
    if (tooLong) {
      fail(`over ${MAX_CONVERSATION_BYTES / 1048576} MB; not read`);
      continue;
    }
    if (line.trim() === '') {
      fail('empty; each line holds one conversation');
      continue;
    }
    const parsed = tryParse(line);
    if (!parsed.ok) {
      fail(`not JSON (${parsed.error})`);
      continue;
    }
    if (!isObject(parsed.value)) {
      fail('not a conversation: expected an object with "turns"');
      continue;
    }
    const result = toQualityResult(scoreConversation(conversationOf(parsed.value), flags.tier));
    out.stdout(flags.format === 'json' ? JSON.stringify(result) + '\n' : `line ${number}: ${oneLine(result)}\n`);
  }
  if (bad > 0) out.error(`${bad} ${bad === 1 ? 'line holds' : 'lines hold'} no conversation`);
  return bad > 0 ? EXIT.invalid : EXIT.ok;
}

function oneLine(r: QualityResult): string {
  const b = r.breakdown;
  const first = r.recommendations[0];
  return (
    `${r.overall.toFixed(1)} (turn count ${b.turnCount.score}, length ${b.length.score}, structure ${b.structure.score}, confidence ${b.confidence.score} ${b.confidence.level})` +
    (first ? ` — ${first}` : '')
  );
}

function detailed(r: QualityResult): string {
  const b = r.breakdown;
  const { user, assistant } = b.length.target;
  const rows: [string, number, string][] = [
    ['turn count', b.turnCount.score, `${b.turnCount.actual} turns; target ${b.turnCount.target.min}–${b.turnCount.target.max}`],
    ['length', b.length.score, `${b.length.actual.user} words per user turn (${user.min}–${user.max}), ${b.length.actual.assistant} per assistant turn (${assistant.min}–${assistant.max})`],
    ['structure', b.structure.score, b.structure.valid ? 'valid' : `${b.structure.issues.length} ${b.structure.issues.length === 1 ? 'problem' : 'problems'}`],
    ['confidence', b.confidence.score, `${b.confidence.level}: coherence and naturalness`],
  ];
  const lines = [`quality ${r.overall.toFixed(1)} / 10`, ...rows.map(([name, score, detail]) => `  ${name.padEnd(11)} ${score.toFixed(1).padStart(4)}  ${detail}`)];
  if (r.recommendations.length) lines.push('recommendations:', ...r.recommendations.map((x) => `  - ${x}`));
  return lines.join('\n') + '\n';
}

function tryParse(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text) as unknown };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

interface Line {
  readonly text: string;
  readonly tooLong?: boolean;
}

/**
 * The lines of a byte stream, decoded as UTF-8, holding at most MAX_CONVERSATION_BYTES of any one
 * line in memory: a longer line is skipped and reported, so a stray huge line cannot exhaust
 * memory or the string limit.
 */
async function* linesOf(stream: AsyncIterable<Buffer | string>): AsyncGenerator<Line> {
  const decoder = new TextDecoder('utf-8');
  let parts: Buffer[] = [];
  let size = 0;
  let skipping = false;
  const finish = (): Line => {
    const line = skipping ? { text: '', tooLong: true } : { text: decoder.decode(Buffer.concat(parts)).replace(/\r$/, '') };
    parts = [];
    size = 0;
    skipping = false;
    return line;
  };
  for await (const chunk of stream) {
    let buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    for (let newline = buffer.indexOf(10); newline >= 0; newline = buffer.indexOf(10)) {
      if (!skipping) parts.push(buffer.subarray(0, newline));
      size += newline;
      if (size > MAX_CONVERSATION_BYTES) skipping = true;
      yield finish();
      buffer = buffer.subarray(newline + 1);
    }
    size += buffer.length;
    if (size > MAX_CONVERSATION_BYTES) {
      skipping = true;
      parts = [];
    } else if (!skipping && buffer.length > 0) parts.push(buffer);
  }
  // A last line without a newline after it.
  if (parts.length > 0 || skipping) yield finish();
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    if (size > MAX_CONVERSATION_BYTES) throw new UserError(`standard input is over ${MAX_CONVERSATION_BYTES / 1048576} MB; pass a .jsonl file instead`);
    chunks.push(buffer);
  }
  return new TextDecoder('utf-8').decode(Buffer.concat(chunks));
}
