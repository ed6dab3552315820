/**
 * Defects: the ways a generated conversation is unusable as training data however well it reads
 * otherwise — the model breaking role, template residue, meta commentary, a cut-off ending, an
 * answer from another conversation, a language switch, swapped speakers, incoherent text, a
 * contradiction of what the user said, no close. Each defect is a finding on its turn, and any
 * defect makes the conversation fail (coherence.ts takes DEFECT_COST off confidence per kind).
 *
 * Every detector is one regular expression or one pass over words already scanned; the patterns
 * are compiled once, here. Repetition defects come from coherence.ts, which already tracks phrases.
 */
import { contradictionIn, userFacts, type UserFacts } from './contradictions';
import { wordNumber, type Scanned } from './text';
import type { ScoredTurn } from './types';

export type DefectKind =
  | 'truncated'
  | 'repeated'
  | 'offTopic'
  | 'roleBreak'
  | 'residue'
  | 'meta'
  | 'swapped'
  | 'incoherent'
  | 'language'
  | 'contradiction'
  | 'noClose';

export interface Defect {
  readonly kind: DefectKind;
  /** Position into the readable turns. */
  readonly position: number;
  /** What is wrong, without the turn label (added by `defectMessage`). */
  readonly what: string;
}

/** Confidence points a defect kind costs: one is enough to fail the conversation (see index.ts). */
export const DEFECT_COST = 5;

export const DEFECT_FIX: Record<DefectKind, string> = {
  truncated: 'regenerate or finish the last answer (raise max_tokens)',
  repeated: 'regenerate the repeated turns',
  offTopic: 'the answer must respond to the question just asked',
  roleBreak: 'remove out-of-role text; the assistant stays in its persona',
  residue: 'fill in or remove the template placeholder',
  meta: 'remove commentary about the conversation; turns hold only what the speaker says',
  swapped: 'the user and the assistant have traded lines; fix the roles',
  incoherent: 'rewrite the incoherent text',
  language: 'keep the conversation in one language',
  contradiction: 'keep to the facts the user gave',
  noClose: 'end with the assistant answering and closing the conversation',
};

export function defectMessage(d: Defect, turns: readonly ScoredTurn[]): string {
  const t = turns[d.position]!;
  return `turn ${t.index + 1} (${t.role}) ${d.what}`;
}

const APOS = "['’]";
const ROLE_BREAK = new RegExp(
  [
    String.raw`\bas an ai(?: language model)?\b`,
    String.raw`\b(?:an?|the) (?:ai|artificial intelligence)(?: language)? (?:model|assistant|system)\b`,
    String.raw`\blanguage model\b`,
    `\\bi(?:${APOS}m| am) (?:just |only )?an? (?:ai|bot|chatbot|virtual assistant)\\b`,
    `\\bi(?: cannot| can${APOS}?t| am unable to|${APOS}m unable to| am not able to|${APOS}m not able to) (?:provide|offer|give)(?: you)? (?:any |personali[sz]ed |personal |specific |professional |individual )*(?:financial |medical |legal |investment |tax |professional )?(?:advice|recommendations)\\b`,
    `\\bi${APOS}?m sorry,? but i(?: cannot| can${APOS}?t| won${APOS}?t| am unable| am not able|${APOS}m unable|${APOS}m not able)\\b`,
    `\\bi(?: cannot| can${APOS}?t| am unable to|${APOS}m unable to| won${APOS}?t) (?:help|assist) (?:you )?with (?:that|this|your) (?:request|question)`,
    String.raw`\bi must (?:decline|refuse)\b`,
    String.raw`\bnot an? (?:licensed|qualified|certified|registered) (?:professional|advisor|adviser|financial|doctor|physician|medical|attorney|lawyer|therapist)`,
    String.raw`\bfor (?:general )?informational purposes only\b`,
    `\\b(?:this|it) (?:is not|isn${APOS}?t|does not constitute|doesn${APOS}?t constitute) (?:professional |financial |medical |legal |investment )?advice\\b`,
    `\\bi (?:don${APOS}?t|do not) have (?:personal (?:experiences?|opinions|feelings|beliefs)|access to (?:your|real-time|personal|the internet))`,
  ].join('|'),
);

// Placeholders: <<name>>, {{name}}, {name}, [Client Name] (capitalised words in brackets, not a
// markdown link), and bracketed fill-ins ([insert date], [your company]).
const RESIDUE_CAPS = /\[[A-Z][a-z]+(?: [A-Z][a-z]+){0,3}\](?!\()/;
const RESIDUE_OTHER = /<<\s*[\w .-]{1,40}\s*>>|\{\{\s*[\w .-]{1,40}\s*\}\}|\{[a-z_][a-z0-9_]{1,30}\}|\[(?:insert|your|client|customer|user|name|company|date|product)\b[^\]\n]{0,30}\](?!\()/i;

const SPEAKERS = 'client|advisor|adviser|user|assistant|customer|agent|patient|student|tutor|teacher|nurse|human|ai|coach|traveler|traveller|representative|support|bot|system';
const META = new RegExp(
  [
    String.raw`^(?:(?:sure|certainly|okay|of course|absolutely)[!,.]?\s+)?here(?:['’]s| is| are) (?:the |a |an |your )?(?:\w+ ){0,3}(?:conversation|dialogue|dialog|transcript|exchange|script|role-?play)\b`,
    String.raw`\bi hope (?:this|the|that)(?: \w+){0,2} (?:meets|fits|matches|satisfies) your (?:requirements|needs|expectations|request|criteria)`,
    String.raw`\blet me know if you(?:['’]d| would)? (?:like|want) (?:me to )?(?:adjust|change|modify|revise|tweak|make (?:any )?(?:changes|adjustments))`,
    String.raw`\b(?:this|the above|the following) (?:dialogue|conversation|exchange|transcript) (?:shows|demonstrates|illustrates|is designed|features)\b`,
    String.raw`\(note: (?:this|the) (?:dialogue|conversation|response|example|assistant|user)`,
    // A speaker label inside a turn: at its start, on a new line, or after a sentence.
    String.raw`(?:^|\n|[.!?]\s+)[*_]{0,2}(?:${SPEAKERS})[*_]{0,2}\s*:\s`,
  ].join('|'),
);

/** Ends like a finished sentence (or a quote, bracket, code fence or emoticon closing one). */
const FINISHED = /[.!?…"'”’)\]*`>]$|\p{Extended_Pictographic}$/u;
const FAREWELL = /\b(?:good luck|enjoy|best wishes|take care|have a (?:good|great|nice|wonderful|lovely|safe)|i hope (?:she|he|you|it|everything|they|this)|glad|you['’]re welcome|congratulations|all the best|safe travels|bye|goodbye|anytime)\b/;
const NON_LATIN = /[\p{Script=Greek}\p{Script=Cyrillic}\p{Script=Hebrew}\p{Script=Arabic}\p{Script=Devanagari}\p{Script=Bengali}\p{Script=Tamil}\p{Script=Thai}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Han}\p{Script=Hangul}]/gu;

// Word classes, by the numbers `scan` gives words, in a small open-addressing table (a Map
// lookup per word would double the scorer's time).
const EN = 1;
const FOREIGN = 2;
const DET = 4;
const PREP = 8;
const CONJ = 16;
const YOU = 32;
const ME = 64;
/** Words without which a regular expression below cannot match: it only runs on turns that have one. */
const ROLE_WORD = 128;
const META_WORD = 256;
const CLAIM_WORD = 512;
const RELATIVE_WORD = 1024;
/** Words a sentence cannot end on. */
const DANGLING_WORD = 2048;
const TABLE_SIZE = 4096;
const TABLE_KEYS = new Int32Array(TABLE_SIZE);
const TABLE_BITS = new Uint16Array(TABLE_SIZE);
function slotOf(word: number): number {
  let slot = word & (TABLE_SIZE - 1);
  while (TABLE_KEYS[slot] !== 0 && TABLE_KEYS[slot] !== word + 1) slot = (slot + 1) & (TABLE_SIZE - 1);
  return slot;
}
function wordClass(word: number): number {
  const slot = slotOf(word);
  return TABLE_KEYS[slot] === 0 ? 0 : TABLE_BITS[slot]!;
}
function classify(words: string, bits: number): void {
  for (const w of words.split(' ')) {
    const slot = slotOf(wordNumber(w));
    TABLE_KEYS[slot] = wordNumber(w) + 1;
    TABLE_BITS[slot] = TABLE_BITS[slot]! | bits;
  }
}
classify(
  "the a an and or to of in on for with is are was be you your i it that this we my me have has can will not at as if so but do from by about would should what it's i'm you're don't there they their which when",
  EN,
);
classify('the a an your my our their', DET);
classify('of to in on for with from by into', PREP);
classify('and or but because', CONJ);
classify("you your you're yours yourself", YOU);
classify("i my me i'm i've i'll mine myself we our us we're we've we'll", ME);
// Function words of the languages a model most often slips into (none that English shares).
classify(
  'el la los las que y en un una es por con para lo más pero como muy del al le les et est pour dans vous je une des du pas ne sur qui avec nous der das und ist sie nicht mit ich zu ein eine den dem wir auf für sich il di che per non sono gli della è uma você não com ao os também está são sua seu mais e o',
  FOREIGN,
);
classify("ai model sorry unable able cannot can't decline refuse licensed qualified certified registered informational advice access personal bot chatbot won't", ROLE_WORD);
classify('here conversation conversations dialogue dialog transcript exchange script roleplay role requirements expectations criteria needs adjust modify revise tweak note client advisor adviser user assistant customer agent patient student tutor teacher nurse human coach traveler traveller representative support system', META_WORD);
classify('said mentioned told stated gave', CLAIM_WORD);
classify('daughter son aunt uncle father mother dad mom mum partner wife husband brother sister grandmother grandfather friend colleague manager dog cat', RELATIVE_WORD);
classify('the a an your my of with for and or but because from into', DANGLING_WORD);

interface TurnWords {
  words: number;
  en: number;
  foreign: number;
  you: number;
  me: number;
  /** Function-word pairs no English sentence has: "the of", "to and", "a the". */
  badPairs: number;
  /** Bits of the trigger classes its words fall in. */
  triggers: number;
}

function countWords(s: Scanned): TurnWords {
  const out = { words: s.words.length, en: 0, foreign: 0, you: 0, me: 0, badPairs: 0, triggers: 0 };
  let before = 0;
  for (const w of s.words) {
    const c = wordClass(w);
    if (c === 0) {
      before = 0;
      continue;
    }
    if (c & EN) out.en++;
    if (c & FOREIGN) out.foreign++;
    if (c & YOU) out.you++;
    if (c & ME) out.me++;
    out.triggers |= c;
    if ((before & DET && c & (DET | PREP | CONJ)) || (before & PREP && c & (PREP | CONJ)) || (before & CONJ && c & CONJ)) out.badPairs++;
    before = c;
  }
  return out;
}

/**
 * Sentence ends in a turn, found with indexOf: how many are followed by an upper-case word, how
 * many by a lower-case one ("drop. month"), and how many end on a word no sentence ends on
 * ("the.").
 */
function sentenceEnds(content: string, lower: string): { upper: number; lower: number; dangling: number } {
  const out = { upper: 0, lower: 0, dangling: 0 };
  for (const mark of SENTENCE_MARKS) {
    for (let at = content.indexOf(mark); at >= 0; at = content.indexOf(mark, at + 1)) {
      const before = content.charCodeAt(at - 1);
      // A letter or digit before it: "e.g." and "3.5" are caught below.
      if (!(isLower(before) || isUpper(before) || isDigit(before))) continue;
      let next = at + 1;
      if (content.charCodeAt(next) !== 32) {
        if (next >= content.length || content.charCodeAt(next) === 10) danglingAt(lower, at, out);
        continue;
      }
      while (content.charCodeAt(next) === 32) next++;
      const c = content.charCodeAt(next);
      danglingAt(lower, at, out);
      if (isUpper(c)) out.upper++;
      else if (isLower(c) && !ABBREVIATION.test(content.slice(Math.max(0, at - 5), at))) out.lower++;
    }
  }
  return out;
}

const SENTENCE_MARKS = ['.', '!', '?'];
const ABBREVIATION = /(?:^|[^a-z])(?:e\.g|i\.e|etc|vs|approx|a\.m|p\.m|no|st|dr|mr|mrs|ms)$/i;
const isLower = (c: number) => c >= 97 && c <= 122;
const isUpper = (c: number) => c >= 65 && c <= 90;
const isDigit = (c: number) => c >= 48 && c <= 57;

function danglingAt(lower: string, at: number, out: { dangling: number }): void {
  let from = at;
  while (from > 0 && isLower(lower.charCodeAt(from - 1))) from--;
  if (at - from === 0 || at - from > 7 || (from > 0 && lower.charCodeAt(from - 1) !== 32)) return;
  // The number `scan` gives this ASCII word (FNV-1a, as in text.ts), without building a string.
  let h = 0x811c9dc5 | 0;
  for (let k = from; k < at; k++) h = Math.imul(h ^ lower.charCodeAt(k), 0x01000193);
  if (wordClass(h >>> 2) & DANGLING_WORD) out.dangling++;
}

type Lang = 'en' | 'other' | 'unknown';

function language(t: TurnWords, content: string): Lang {
  let nonLatin = 0;
  if (t.words < 8 || t.en < 0.12 * t.words) nonLatin = content.match(NON_LATIN)?.length ?? 0;
  if (nonLatin >= 10 && nonLatin * 2 > t.words) return 'other';
  if (t.words < 8) return 'unknown';
  if (t.foreign >= 0.12 * t.words && t.foreign > t.en) return 'other';
  if (t.en >= 0.12 * t.words) return 'en';
  return 'unknown';
}

/** Where the text matched, in the turn's own spelling, for a finding to quote. */
function quote(content: string, lower: string, m: RegExpExecArray): string {
  const at = m.index + (m[0].length - m[0].trimStart().length);
  const text = (content.length === lower.length ? content.slice(at, m.index + m[0].length) : m[0]).replace(/^[\s.!?*_]+/, '').trim().replace(/\s+/g, ' ');
  return `“${text.length > 60 ? `${text.slice(0, 57)}…` : text}”`;
}

export function findDefects(turns: readonly ScoredTurn[], scanned: readonly Scanned[]): Defect[] {
  const defects: Defect[] = [];
  const n = turns.length;
  const counts = scanned.map(countWords);

  // The conversation's language: that of its first turn in a language we can tell.
  let base: Lang = 'unknown';
  const langs = turns.map((t, i) => language(counts[i]!, t.content));
  for (const l of langs) if (l !== 'unknown') { base = l; break; }

  // Long-form conversations (20 words a turn or more on average, as every tier asks): only there
  // do an unpunctuated end, a missing close, a stray answer, swapped speakers or broken sentence
  // order mean a defect. Chit-chat is written loosely, ends anywhere and drifts freely: on DSTC9
  // these checks fire on a third of the dialogues and say nothing about their ratings.
  let words = 0;
  for (let i = 0; i < n; i++) words += counts[i]!.words;
  const longForm = n > 0 && words >= 20 * n;

  // Sentence starts, upper- and lower-case, per turn and per speaker.
  const ends = longForm ? turns.map((t, i) => sentenceEnds(t.content, scanned[i]!.lower)) : [];
  const caps = { user: { upper: 0, lower: 0 }, assistant: { upper: 0, lower: 0 } };
  for (let i = 0; i < ends.length; i++) {
    caps[turns[i]!.role].upper += ends[i]!.upper;
    caps[turns[i]!.role].lower += ends[i]!.lower;
  }

  let facts: UserFacts | undefined;
  // A relative the user may have named ("my daughter Emma"): then any answer may rename them.
  let userNamesSomeone = false;
  for (let i = 0; i < n; i++) if (turns[i]!.role === 'user' && counts[i]!.triggers & RELATIVE_WORD) userNamesSomeone = true;
  let switched = false;
  for (let i = 0; i < n; i++) {
    const turn = turns[i]!;
    const { content } = turn;
    const lower = scanned[i]!.lower;
    const c = counts[i]!;
    if (c.words === 0 && lower.trim() === '') continue;

    let m: RegExpExecArray | null;
    if (turn.role === 'assistant' && c.triggers & ROLE_WORD && (m = ROLE_BREAK.exec(lower))) defects.push({ kind: 'roleBreak', position: i, what: `breaks role: ${quote(content, lower, m)}` });
    if (content.includes('<<') || content.includes('{') || content.includes('[')) {
      const r = RESIDUE_OTHER.exec(content) ?? RESIDUE_CAPS.exec(content);
      if (r) defects.push({ kind: 'residue', position: i, what: `holds template residue: “${r[0]}”` });
    }
    if ((c.triggers & META_WORD || content.includes(':')) && (m = META.exec(lower))) defects.push({ kind: 'meta', position: i, what: `holds meta commentary: ${quote(content, lower, m)}` });

    if (!switched && base !== 'unknown' && langs[i] !== 'unknown' && langs[i] !== base) {
      switched = true;
      defects.push({ kind: 'language', position: i, what: `switches language${base === 'en' ? ' away from English' : ''}` });
    }

    // Incoherent: words that are not English sentences. Enough words, and either almost no
    // function words in any language we know, or sentence order broken in several places.
    if (longForm && c.words >= 12 && langs[i] !== 'other') {
      const e = ends[i]!;
      // A sentence ending before a lower-case word only counts when the speaker's other turns
      // capitalise their sentences.
      const otherUpper = caps[turn.role].upper - e.upper;
      const otherLower = caps[turn.role].lower - e.lower;
      const cased = otherUpper >= 3 && otherLower <= 0.1 * (otherUpper + otherLower);
      const broken = (cased ? e.lower : 0) + e.dangling + c.badPairs;
      const wordless = c.words >= 20 && c.en < 0.08 * c.words && c.foreign < 0.08 * c.words;
      if (wordless || (broken >= 2 && broken >= 0.03 * c.words)) {
        defects.push({ kind: 'incoherent', position: i, what: wordless ? 'is incoherent: words without sentences' : 'is incoherent: broken or shuffled sentences' });
      }
    }

    // Swapped speakers: the user gives the long second-person answer, the assistant asks in the
    // first person.
    if (longForm && turn.role === 'user' && i + 1 < n && turns[i + 1]!.role === 'assistant') {
      const next = counts[i + 1]!;
      const asks = next.you === 0 && turns[i + 1]!.content.includes('?');
      if (c.words >= 25 && c.words >= 2 * next.words && c.you > c.me && (next.me > next.you || asks)) {
        defects.push({ kind: 'swapped', position: i, what: `reads like the assistant, and turn ${turns[i + 1]!.index + 1} like the user: swapped speakers` });
      }
    }

    if (longForm && turn.role === 'assistant' && i > 0 && turns[i - 1]!.role === 'user' && langs[i] !== 'other' && offTopic(scanned, i)) {
      defects.push({ kind: 'offTopic', position: i, what: `does not answer turn ${turns[i - 1]!.index + 1} (user): it shares almost no words with this conversation` });
    }

    // Contradictions need a figure, a claim ("you mentioned") or a name; the user's facts are
    // read once, on the first answer that could contradict them.
    if (turn.role === 'assistant' && i > 0 && (c.triggers & (CLAIM_WORD | RELATIVE_WORD) || userNamesSomeone || hasDigit(content))) {
      facts ??= userFacts(turns);
      const what = contradictionIn(turns, i, facts);
      if (what) defects.push({ kind: 'contradiction', position: i, what });
    }
  }

  // The ending: cut off mid-sentence, or no close at all.
  let last = n - 1;
  while (last >= 0 && turns[last]!.content.trim() === '') last--;
  if (last >= 0 && longForm) {
    const text = turns[last]!.content.trim();
    if (counts[last]!.words >= 6 && !FINISHED.test(text) && punctuatesTurns(turns, counts, last)) {
      const tail = text.split(/\s+/).slice(-3).join(' ');
      defects.push({ kind: 'truncated', position: last, what: `is cut off mid-sentence: “…${tail}”` });
    } else if (n >= 4 && turns[last]!.role === 'user') {
      defects.push({ kind: 'noClose', position: last, what: 'ends the conversation with no answer: no close' });
    } else if (n >= 4 && turns[last]!.role === 'assistant' && last > 0 && turns[last - 1]!.role === 'user' && turns[last - 1]!.content.includes('?') && !FAREWELL.test(scanned[last]!.lower)) {
      defects.push({ kind: 'noClose', position: last, what: 'ends the conversation mid-topic: no close' });
    }
  }
  return defects;
}

/**
 * An answer from another conversation: at most one of its topic words is in the question just
 * asked, and, of its distinct topic words (eight or more), under 18% occur anywhere else in the
 * conversation. Answers that belong share a quarter or more with the rest of their conversation.
 * The cheap test (the question) runs first; the rest only for the few answers that pass it.
 */
function offTopic(scanned: readonly Scanned[], i: number): boolean {
  const answer = scanned[i]!.stems;
  const question = scanned[i - 1]!.stems;
  let inQuestion = 0;
  for (let q = 0; q < question.length; q++) {
    const s = question[q]!;
    if (s < 0 || question.indexOf(s) !== q) continue;
    if (answer.includes(s) && ++inQuestion > 1) return false;
  }
  const own = new Set<number>();
  for (const s of answer) if (s >= 0) own.add(s);
  if (own.size < 8) return false;
  const elsewhere = new Set<number>();
  for (let j = 0; j < scanned.length; j++) if (j !== i) for (const s of scanned[j]!.stems) if (own.has(s)) elsewhere.add(s);
  return elsewhere.size < 0.18 * own.size;
}

/** Whether the conversation's other longer turns end in punctuation: then an unpunctuated end is a cut. */
function punctuatesTurns(turns: readonly ScoredTurn[], counts: readonly TurnWords[], except: number): boolean {
  let long = 0;
  let finished = 0;
  for (let i = 0; i < turns.length; i++) {
    if (i === except || counts[i]!.words < 6) continue;
    long++;
    if (FINISHED.test(turns[i]!.content.trim())) finished++;
  }
  return long > 0 && finished >= 0.75 * long;
}

function hasDigit(s: string): boolean {
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c >= 48 && c <= 57) return true;
  }
  return false;
}
