import { DEFECT_COST, DEFECT_FIX, defectMessage, findDefects, type Defect } from './defects';
import { round1, wordNumber, type Scanned } from './text';
import type { ConfidenceLevel, Finding, ScoredTurn } from './types';

/**
 * Confidence: how coherent and natural the conversation reads. Every check looks for one way
 * conversations go wrong, marks the turns where it happens, and costs up to its weight in points,
 * in proportion to the share of the turns it could apply to (all of them once that share reaches
 * the check's saturation). The
 * checks are deliberately plain — word overlap, repeated phrases, reactions — so they mean the
 * same thing on any topic, and each can name the turn it is about.
 */

interface Check {
  /** Points it can cost, out of 10. */
  readonly weight: number;
  /** The share of eligible turns at which it costs all its points. */
  readonly saturation: number;
  /** Advice when it fires, after the first turn it concerns. */
  readonly advice: string;
}

const CHECKS = {
  garbled: { weight: 3, saturation: 0.25, advice: 'rewrite garbled text: broken words or stray punctuation' },
  repetition: { weight: 3, saturation: 0.25, advice: 'vary the wording; the speaker repeats phrases' },
  ignored: { weight: 3, saturation: 1, advice: 'make each answer take up what the user just said' },
  unanswered: { weight: 2, saturation: 0.5, advice: 'answer the user’s question before moving on' },
  breakdown: { weight: 2.5, saturation: 0.25, advice: 'the user’s reply signals confusion; fix the turn before it' },
  truncated: { weight: 4, saturation: 0.5, advice: 'finish the sentence; the turn looks cut off (raise max_tokens or shorten the conversation)' },
  filler: { weight: 1.5, saturation: 0.5, advice: 'replace generic filler with content specific to the conversation' },
  terse: { weight: 2, saturation: 0.5, advice: 'give one- or two-word turns some substance' },
} as const satisfies Record<string, Check>;

type CheckName = keyof typeof CHECKS;
const CHECK_NAMES = Object.keys(CHECKS) as CheckName[];

export interface ConfidenceResult {
  readonly score: number;
  readonly level: ConfidenceLevel;
  readonly findings: Finding[];
  /** Per check that fired, strongest cost first: advice naming the first turn. */
  readonly advice: string[];
  /** Per check, the share of the turns it applies to that it flagged (for validation). */
  readonly shares: Readonly<Record<string, number>>;
}

const DEFLECTION = /\b(i don'?t know|i do not know|i'?m not sure|i am not sure|no idea|not sure (what|about|if|how)|what do you mean)\b/;
const FILLER =
  /\b(as an ai\b|as a language model|i'?m (just )?an? (ai|bot|language model)|great question|good question|i hope (this|that) helps|is there anything else|let me know if (you|there)|feel free to (ask|reach)|happy to help|i'?m here to help|hope you have a (great|nice|good) day)/;
// Whole replies that only signal being lost, and phrases that say the other side went wrong.
// Only tried on short replies (LOST_REPLY_MAX characters): a reply that long is not "huh?", and
// the pattern then never meets a long run of question marks.
const LOST_REPLY = /^(huh|what|wut|wat|hm+|\?|what are you talking about|what do you mean|clarify|explain|i don'?t understand|sorry|pardon)[.?!]*$/;
const LOST_REPLY_MAX = 60;
const COMPLAINT =
  /doesn'?t make (any )?sense|makes no sense|you (already|just) (said|asked|told)|you said that (already|before)|not what i (said|asked|meant)|didn'?t answer|answer (my|the) question|are you (a )?(bot|robot)|\b(stupid|dumb|idiot|nonsense)\b|\bi hate (you|u)\b|confus(ed|ing)|stop repeating|you'?re repeating|off topic|change the subject|what are you talking about/;
// A turn of some length that ends on one of these stopped mid-sentence.
const DANGLING: ReadonlySet<number> = new Set(
  ['the', 'a', 'an', 'and', 'or', 'but', 'to', 'of', 'with', 'for', 'because', 'that', 'which', 'in', 'on', 'at', 'my', 'your', 'their', 'is', 'are', 'was', 'were'].map(wordNumber),
);

/** From here a conversation reads as coherent: its form points count in full (see index.ts). */
export const HIGH_CONFIDENCE = 8;

export function scoreConfidence(turns: readonly ScoredTurn[], scanned: readonly Scanned[]): ConfidenceResult {
  // Per check: the turns (positions) it flagged, and how many turns it applied to.
  const flagged = Object.fromEntries(CHECK_NAMES.map((n) => [n, [] as number[]])) as Record<CheckName, number[]>;
  const eligible = Object.fromEntries(CHECK_NAMES.map((n) => [n, 0])) as Record<CheckName, number>;
  const flag = (name: CheckName, turn: number) => {
    const list = flagged[name];
    if (list[list.length - 1] !== turn) list.push(turn);
  };

  // Each 4-word phrase (told apart by speaker) and the last turn (position) it was said in.
  const said = PHRASES.reset(scanned.reduce((n, s) => n + s.words.length, 0));
  // Whole turns already said, as numbers made from their words (told apart by speaker).
  const earlierTurns = new Map<number, number>();
  const defects: Defect[] = [];

  for (let i = 0; i < turns.length; i++) {
    const turn = turns[i]!;
    // Lower-cased once by the scan; every check here is case-blind.
    const text = scanned[i]!.lower.trim();
    const lower = text;
    const toks = scanned[i]!.words;
    const previous = i > 0 ? turns[i - 1] : undefined;
    if (text === '') continue; // an empty turn is a structure problem; nothing here to judge

    eligible.garbled++;
    if (isGarbled(text, scanned[i]!)) flag('garbled', i);

    // Repetition: a phrase said twice in one turn, or a turn that reuses much of the same
    // speaker's earlier wording (or repeats an earlier turn outright).
    eligible.repetition++;
    const speaker = turn.role === 'user' ? 1 : 0;
    let distinct = 0;
    let within = 0;
    let reused = 0;
    let source = -1;
    for (let at = 0; at + 4 <= toks.length; at++) {
      const where = said.see(gramKey(toks, at, 4) ^ speaker, i);
      if (where === i) within++;
      else {
        distinct++;
        if (where >= 0) {
          reused++;
          if (source < 0) source = where;
        }
      }
    }
    const whole = gramKey(toks, 0, toks.length) ^ speaker;
    const same = earlierTurns.get(whole);
    if (same !== undefined || within > Math.floor(toks.length / 80) || (distinct >= 3 && reused / distinct >= 0.3)) flag('repetition', i);
    if (same === undefined) earlierTurns.set(whole, i);
    // A defect: a turn of some length said again (outright or nearly), or one that says itself twice.
    if (toks.length >= 8) {
      if (same !== undefined) defects.push({ kind: 'repeated', position: i, what: `repeats turn ${turns[same]!.index + 1} word for word` });
      else if (distinct >= 6 && reused / distinct >= 0.5) defects.push({ kind: 'repeated', position: i, what: `nearly repeats ${source >= 0 ? `turn ${turns[source]!.index + 1}` : 'an earlier turn'}` });
      else if (within >= 6 && within / (within + distinct) >= 0.3) defects.push({ kind: 'repeated', position: i, what: 'repeats itself within the turn' });
    }

    if (turn.role === 'assistant' && previous?.role === 'user') {
      const topics = new Set<number>();
      for (const s of scanned[i - 1]!.stems) if (s >= 0) topics.add(s);
      let topicWords = 0;
      let pickedUp = false;
      for (const s of scanned[i]!.stems) {
        if (s < 0) continue;
        topicWords++;
        if (topics.has(s)) pickedUp = true;
      }
      if (topics.size > 0) {
        eligible.ignored++;
        if (!pickedUp) flag('ignored', i);
      }
      if (previous.content.includes('?')) {
        eligible.unanswered++;
        if (DEFLECTION.test(lower) || (text.endsWith('?') && topicWords <= 1)) flag('unanswered', i);
      }
      eligible.filler++;
      if (FILLER.test(lower)) flag('filler', i);
    }

    // The user's reaction tells on the assistant turn before it.
    if (turn.role === 'user' && previous?.role === 'assistant') {
      eligible.breakdown++;
      if ((lower.length <= LOST_REPLY_MAX && LOST_REPLY.test(lower)) || COMPLAINT.test(lower)) flag('breakdown', i - 1);
    }

    eligible.truncated++;
    if (isTruncated(text, toks)) flag('truncated', i);

    // Opening greetings and closing goodbyes are naturally short.
    if (i > 0 && i < turns.length - 1) {
      eligible.terse++;
      if (toks.length <= 2) flag('terse', i);
    }
  }

  PHRASES.release();
  defects.push(...findDefects(turns, scanned));
  const shares: Record<string, number> = {};
  for (const name of CHECK_NAMES) {
    const positions = flagged[name];
    // A conversation that ends mid-sentence is broken however long it is.
    const endsCut = name === 'truncated' && positions.includes(turns.length - 1);
    shares[name] = endsCut ? 1 : positions.length / Math.max(1, eligible[name]);
  }
  let cost = 0;
  const fired: { name: CheckName; cost: number; positions: number[] }[] = [];
  for (const name of CHECK_NAMES) {
    const positions = flagged[name];
    if (positions.length === 0) continue;
    const c = CHECKS[name].weight * Math.min(1, shares[name]! / CHECKS[name].saturation);
    cost += c;
    fired.push({ name, cost: c, positions });
  }
  fired.sort((a, b) => b.cost - a.cost);
  // Each kind of defect costs DEFECT_COST once, however many turns have it: one is enough to fail.
  const defectKinds = new Set(defects.map((d) => d.kind));
  cost += DEFECT_COST * defectKinds.size;
  const score = round1(Math.max(0, 10 - cost));
  const findings: Finding[] = [
    ...defects.map((d) => ({ turn: turns[d.position]!.index, part: 'confidence' as const, message: defectMessage(d, turns), rule: d.kind, defect: true as const })),
    ...fired.flatMap(({ name, positions }) => positions.map((p) => ({ turn: turns[p]!.index, part: 'confidence' as const, message: describe(name, p, turns), rule: name }))),
  ].sort((a, b) => a.turn - b.turn);
  // Defects first, one line per kind (its first turn), then the checks, costliest first.
  const advice = [
    ...[...defectKinds].map((kind) => {
      const first = defects.filter((d) => d.kind === kind).sort((a, b) => a.position - b.position)[0]!;
      return `${defectMessage(first, turns)}; ${DEFECT_FIX[kind]}`;
    }),
    ...fired.map(({ name, positions }) => `${where(positions.map((p) => turns[p]!.index))}: ${CHECKS[name].advice}`),
  ];
  return { score, level: score >= HIGH_CONFIDENCE ? 'high' : score >= 5 ? 'medium' : 'low', findings, advice, shares };
}

/** What a check found at one position (into the readable turns), naming neighbours by their number. */
function describe(name: CheckName, position: number, turns: readonly ScoredTurn[]): string {
  const role = turns[position]!.role;
  const number = (p: number) => turns[p]!.index + 1;
  switch (name) {
    case 'garbled':
      return `garbled text: broken words or stray punctuation`;
    case 'repetition':
      return `repeats wording the ${role} already used`;
    case 'ignored':
      return `does not take up anything from turn ${number(position - 1)} (user)`;
    case 'unanswered':
      return `leaves the question in turn ${number(position - 1)} unanswered`;
    case 'breakdown':
      return `the user's reply in turn ${number(position + 1)} signals confusion`;
    case 'truncated':
      return `looks cut off mid-sentence`;
    case 'filler':
      return `generic filler instead of specific content`;
    case 'terse':
      return `only one or two words`;
  }
}

/** "turns 2, 4, 6 and 3 more", from 0-based turn indexes. */
function where(turnsFlagged: readonly number[]): string {
  const shown = turnsFlagged.slice(0, 3).map((t) => t + 1);
  const more = turnsFlagged.length > 3 ? ` and ${turnsFlagged.length - 3} more` : '';
  return `${shown.length === 1 ? 'turn' : 'turns'} ${shown.join(', ')}${more}`;
}

function isGarbled(text: string, { words: toks, punctuation, unpronounceable }: Scanned): boolean {
  if (toks.length === 0) return true;
  // Letters, digits and spaces should make up most of a turn; runs of punctuation do not.
  return punctuation / text.length > 0.3 || /^[,.;:!?)\]}]/.test(text) || unpronounceable;
}

function isTruncated(text: string, toks: readonly number[]): boolean {
  if (toks.length < 6) return false;
  if (/[,;:(\-–—]$/.test(text)) return true;
  return !/[.!?…"')\]*`]$/.test(text) && DANGLING.has(toks[toks.length - 1]!);
}

/** A small integer standing for the n words from `at`, mixed from their numbers. */
export function gramKey(words: readonly number[], at: number, n: number): number {
  let h = 0x811c9dc5 | 0;
  for (let k = 0; k < n; k++) h = Math.imul(h ^ words[at + k]!, 0x9e3779b1);
  return (h ^ (h >>> 15)) >>> 2;
}

/**
 * For each phrase number, the last turn it was seen in: an open-addressing table over typed
 * arrays (a Map here costs more than the rest of the scorer put together). One table serves
 * every call: `reset` bumps a generation stamp instead of clearing, and grows it when needed.
 */
class PhraseTable {
  private keys = new Int32Array(0);
  private turns = new Int32Array(0);
  private stamps = new Int32Array(0);
  private stamp = 0;
  private mask = 0;

  reset(capacity: number): this {
    let size = 16;
    while (size < capacity * 2) size *= 2;
    if (size > this.keys.length) {
      this.keys = new Int32Array(size);
      this.turns = new Int32Array(size);
      this.stamps = new Int32Array(size);
      this.stamp = 0;
    }
    this.mask = Math.min(size, this.keys.length) - 1;
    if (++this.stamp === 0x7fffffff) {
      this.stamps.fill(0);
      this.stamp = 1;
    }
    return this;
  }

  /** Drops a table grown for an unusually long conversation, so it is not kept for good. */
  release(): void {
    if (this.keys.length > KEEP_SLOTS) {
      this.keys = new Int32Array(0);
      this.turns = new Int32Array(0);
      this.stamps = new Int32Array(0);
    }
  }

  /** Records `key` as seen in `turn` and returns the turn it was last seen in, or -1. */
  see(key: number, turn: number): number {
    for (let slot = key & this.mask; ; slot = (slot + 1) & this.mask) {
      if (this.stamps[slot] !== this.stamp) {
        this.stamps[slot] = this.stamp;
        this.keys[slot] = key;
        this.turns[slot] = turn;
        return -1;
      }
      if (this.keys[slot] === key) {
        const last = this.turns[slot]!;
        this.turns[slot] = turn;
        return last;
      }
    }
  }
}

/** Slots worth keeping between calls: ample for conversations of a few thousand words. */
const KEEP_SLOTS = 1 << 16;
const PHRASES = new PhraseTable();
