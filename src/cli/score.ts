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
import { judgeScoring, type JudgeScoring } from './scoreJudge';

/** One conversation file (or line) is read whole; nothing near this size is one conversation. */
const MAX_CONVERSATION_BYTES = 64 * 1024 * 1024;

export interface ScoreFlags {
  readonly tier: Tier;
  readonly format: 'text' | 'json';
  /** Claude grades each conversation too (paid; see scoreJudge.ts). */
  readonly judge?: boolean;
  readonly judgeModel?: string;
  readonly apiBaseUrl?: string;
  readonly workspace?: string;
}

export async function runScore(file: string, flags: ScoreFlags, out: Output, stdin: () => Readable, env: NodeJS.ProcessEnv = {}): Promise<number> {
  // Checked before anything is read: without --judge no API call is ever made.
  if (flags.judge) return runJudged(file, flags, out, stdin, judgeScoring(flags, env, out));
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

/**
 * With --judge: the conversations are read, scored, then judged together (through the engine:
 * concurrency, rate limits, retries), and printed in input order with the judge's part.
 */
async function runJudged(file: string, flags: ScoreFlags, out: Output, stdin: () => Readable, judging: JudgeScoring): Promise<number> {
  const items: ({ value: Record<string, unknown> } | { error: string })[] = [];
  let single = false;
  const take = (value: unknown) => {
    if (!isObject(value)) items.push({ error: 'not a conversation: expected an object with "turns"' });
    else items.push({ value });
  };
  const readLines = async (lines: AsyncIterable<Line> | Iterable<Line>) => {
    for await (const { text: line, tooLong } of lines) {
      if (tooLong) items.push({ error: `over ${MAX_CONVERSATION_BYTES / 1048576} MB; not read` });
      else if (line.trim() === '') items.push({ error: 'empty; each line holds one conversation' });
      else {
        const parsed = tryParse(line);
        if (parsed.ok) take(parsed.value);
        else items.push({ error: `not JSON (${parsed.error})` });
      }
    }
  };
  if (file === '-') {
    const text = await readAll(stdin());
    const whole = tryParse(text);
    if (whole.ok && !Array.isArray(whole.value)) {
      single = true;
      take(whole.value);
    } else {
      const lines = text.split(/\r?\n/);
      if (lines[lines.length - 1] === '') lines.pop();
      await readLines(lines.map((t) => ({ text: t })));
    }
  } else if (file.toLowerCase().endsWith('.jsonl')) {
    const fd = openRegularFile(file);
    try {
      await readLines(linesOf(createReadStream(file, { fd })));
    } catch (error) {
      throw asUserError(error, file);
    }
  } else {
    const parsed = tryParse(readTextFile(file, MAX_CONVERSATION_BYTES));
    if (!parsed.ok) {
      out.error(`${file}: not JSON (${parsed.error}); a .jsonl file holds one conversation per line`);
      return EXIT.invalid;
    }
    if (Array.isArray(parsed.value)) {
      out.error('the file holds a JSON array; put one conversation per line in a .jsonl file to score many');
      return EXIT.invalid;
    }
    single = true;
    take(parsed.value);
  }
  if (single && 'error' in items[0]!) {
    out.error('the file holds no conversation: expected an object with "turns"');
    return EXIT.invalid;
  }
  const conversations = items.map((i) => ('value' in i ? conversationOf(i.value) : undefined));
  const reports = conversations.map((c) => (c ? scoreConversation(c, flags.tier) : undefined));
  const judged = await judging.judge(conversations.map((c, i) => (c && reports[i] ? { index: i, conversation: c, report: reports[i] } : undefined)));
  let bad = 0;
  let unjudged = 0;
  items.forEach((item, i) => {
    const line = i + 1;
    if ('error' in item) {
      bad++;
      const error = `line ${line}: ${item.error}`;
      out.stdout(flags.format === 'json' ? JSON.stringify({ line, error }) + '\n' : `${error}\n`);
      return;
    }
    const j = judged[i]!;
    if (!j.ok) unjudged++;
    const result = j.ok ? j.result : toQualityResult(reports[i]!);
    const judge = j.ok ? j.judge : null;
    if (flags.format === 'json') out.stdout(JSON.stringify({ ...result, judge }) + '\n');
    else if (single) out.stdout(detailed(result) + (judge ? `  judge ${judge.score.toFixed(1).padStart(10)}  ${judge.model}: ${judge.reason} ($${judge.costUsd.toFixed(4)})\n` : `  judge: not graded (${j.ok ? '' : j.message})\n`));
    else out.stdout(`line ${line}: ${oneLine(result)}${judge ? ` · judge ${judge.score.toFixed(1)}` : ' · not judged'}\n`);
  });
  if (bad > 0) out.error(`${bad} ${bad === 1 ? 'line holds' : 'lines hold'} no conversation`);
  if (unjudged > 0) out.error(`the judge could not grade ${unjudged} ${unjudged === 1 ? 'conversation' : 'conversations'}${judging.stopReason() ? `: ${judging.stopReason()}` : ''}; "judge" is null there`);
  return bad > 0 || unjudged > 0 ? EXIT.invalid : EXIT.ok;
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
