/**
 * The append-only journal of committed write transactions. Each transaction is one frame:
 *
 *     "PLJ1" | payload length (u32 LE) | CRC-32 of the payload (u32 LE) | payload (UTF-8 JSON)
 *
 * appended with one write and made durable with fsync. A crash can only leave a torn last
 * frame (short, or failing its CRC); reading stops there and the tail is cut off. The first
 * frame of a file is its header, naming the sequence number of the snapshot it follows.
 */
import { closeSync, fstatSync, lstatSync, readSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { StoreAccessError, accessError, openFile, readFile, replaceFile, syncFile, writeAll } from './safeFiles';
import type { SqlParam } from './types';

const MAGIC = 0x31_4a_4c_50; // "PLJ1" read as little-endian u32
const FRAME_HEADER = 12;
/** No transaction of ours comes near this; a larger length means a damaged frame, not a big one. */
const MAX_PAYLOAD = 256 * 1024 * 1024;

export interface Statement {
  readonly sql: string;
  readonly params: readonly SqlParam[];
}

export type JournalEntry =
  | { readonly kind: 'header'; readonly baseSeq: number; readonly journalId: string }
  | { readonly kind: 'tx'; readonly seq: number; readonly statements: readonly Statement[] };

export function encodeFrame(entry: JournalEntry): Buffer {
  const payload = Buffer.from(JSON.stringify(entry, encodeBinary), 'utf8');
  const frame = Buffer.allocUnsafe(FRAME_HEADER + payload.length);
  frame.writeUInt32LE(MAGIC, 0);
  frame.writeUInt32LE(payload.length, 4);
  frame.writeUInt32LE(crc32(payload), 8);
  payload.copy(frame, FRAME_HEADER);
  return frame;
}

/** Uint8Array parameters (blobs) travel as base64 in the JSON payload. */
function encodeBinary(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? { $b64: Buffer.from(value).toString('base64') } : value;
}

function decodeBinary(_key: string, value: unknown): unknown {
  if (value && typeof value === 'object' && '$b64' in value && typeof (value as { $b64: unknown }).$b64 === 'string') {
    return new Uint8Array(Buffer.from((value as { $b64: string }).$b64, 'base64'));
  }
  return value;
}

export interface ReadResult {
  readonly entries: JournalEntry[];
  /** Offset just after the last good frame. */
  readonly end: number;
  /** True when bytes after `end` could not be read as a frame (a torn or damaged tail). */
  readonly damagedTail: boolean;
}

/** Reads frames from `offset` to the end of the file (or to the first bad frame, or `limit` frames). */
export function readFrames(path: string, offset: number, limit = Infinity): ReadResult {
  const fd = openFile(path, 'read');
  if (fd === undefined) return { entries: [], end: 0, damagedTail: false };
  try {
    const size = fstatSync(fd).size;
    const entries: JournalEntry[] = [];
    let at = offset;
    const head = Buffer.allocUnsafe(FRAME_HEADER);
    while (at < size && entries.length < limit) {
      if (size - at < FRAME_HEADER || readSync(fd, head, 0, FRAME_HEADER, at) < FRAME_HEADER) return { entries, end: at, damagedTail: true };
      const length = head.readUInt32LE(4);
      if (head.readUInt32LE(0) !== MAGIC || length > MAX_PAYLOAD || at + FRAME_HEADER + length > size) return { entries, end: at, damagedTail: true };
      const payload = Buffer.allocUnsafe(length);
      readSync(fd, payload, 0, length, at + FRAME_HEADER);
      if (crc32(payload) !== head.readUInt32LE(8)) return { entries, end: at, damagedTail: true };
      let entry: JournalEntry;
      try {
        entry = JSON.parse(payload.toString('utf8'), decodeBinary) as JournalEntry;
      } catch {
        return { entries, end: at, damagedTail: true };
      }
      entries.push(entry);
      at += FRAME_HEADER + length;
    }
    return { entries, end: at, damagedTail: false };
  } catch (error) {
    throw accessError(error, path, 'read');
  } finally {
    closeSync(fd);
  }
}

/** Appends one frame and waits until it is on disk. */
export function appendDurably(path: string, entry: JournalEntry, expectedSize: number): number {
  const frame = encodeFrame(entry);
  const fd = openFile(path, 'update');
  if (fd === undefined) throw new StoreAccessError(path, 'access', `cannot write ${path}: it was removed while Promptloom held the lock`);
  try {
    // The caller holds the lock and has read (and cut) the file to its end: anything else means
    // a writer outside the lock, whose bytes must not be overwritten.
    const size = fstatSync(fd).size;
    if (size !== expectedSize) throw new Error(`the journal changed under the lock (${size} bytes, expected ${expectedSize})`);
    writeAll(fd, path, frame, expectedSize);
    syncFile(fd, path);
    return expectedSize + frame.length;
  } finally {
    closeSync(fd);
  }
}

/** Writes a fresh journal holding only its header, atomically replacing any old one. */
export function startJournal(path: string, baseSeq: number, journalId: string): number {
  const frame = encodeFrame({ kind: 'header', baseSeq, journalId });
  replaceFile(path, frame);
  return frame.length;
}

/** The size of the file at `path` itself (a link is not followed: its size differs, so a reader looks and refuses it). */
export function fileSize(path: string): number {
  try {
    return lstatSync(path).size;
  } catch {
    return 0;
  }
}

/** True when a frame marker appears after `from`: the bad bytes are damage, not a torn last write. */
export function hasFrameAfter(path: string, from: number): boolean {
  let data: Buffer | undefined;
  try {
    data = readFile(path);
  } catch {
    return false;
  }
  if (!data) return false;
  const marker = Buffer.alloc(4);
  marker.writeUInt32LE(MAGIC, 0);
  return data.indexOf(marker, from + 1) >= 0;
}
