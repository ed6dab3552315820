/** Small text measures shared by the parts of the scorer; this runs on every turn it scores. */

export interface Scanned {
  /** The text, lower-cased. */
  readonly lower: string;
  /** Per word (a run of letters or digits, inner apostrophes kept): a number standing for it. */
  readonly words: number[];
  /** Per word: a number standing for its topic stem, or -1 for function words and short words. */
  readonly stems: number[];
  /** Characters that are neither letters, digits nor white space. */
  readonly punctuation: number;
  /** Whether some Latin word of six or more letters has no vowel: not a word at all. */
  readonly unpronounceable: boolean;
}

const NON_ASCII_WORD = /[\p{L}\p{N}]/u;
const STEM_LETTERS = 5;

// ASCII character classes, looked up rather than compared: this loop runs for every character.
const OTHER = 0;
const CONSONANT = 1;
const VOWEL = 2;
const DIGIT = 3;
const SPACE = 4;
/** Han, kana: scripts written without spaces, where each character stands as a word. */
const IDEOGRAPH = 5;
const IDEOGRAPHIC = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/u;
const ASCII_CLASS = new Uint8Array(128);
for (let c = 97; c <= 122; c++) ASCII_CLASS[c] = 'aeiouy'.includes(String.fromCharCode(c)) ? VOWEL : CONSONANT;
for (let c = 48; c <= 57; c++) ASCII_CLASS[c] = DIGIT;
for (const c of [9, 10, 11, 12, 13, 32]) ASCII_CLASS[c] = SPACE;

/**
 * One pass over a turn. Words become 30-bit FNV-1a hashes rather than strings: the checks only
 * ask whether words or phrases recur, and among a conversation's few hundred distinct words a
 * collision is a one-in-thousands event that moves a share by one word. Small integers also stay
 * unboxed in Sets, which keeps a 16-turn conversation in tens of microseconds.
 */
export function scan(text: string): Scanned {
  const lower = text.toLowerCase();
  const n = lower.length;
  const words: number[] = [];
  const stems: number[] = [];
  let punctuation = 0;
  let unpronounceable = false;
  let i = 0;
  while (i < n) {
    let c = lower.charCodeAt(i);
    let kind = c < 128 ? ASCII_CLASS[c]! : classify(lower, i);
    if (kind === OTHER || kind === SPACE) {
      if (kind === OTHER) punctuation++;
      i++;
      continue;
    }
    if (kind === IDEOGRAPH) {
      // One character, one word, and a topic word: counting "words" as the clauses between
      // spaces would make every Chinese or Japanese turn one word long.
      const word = Math.imul(0x811c9dc5 ^ c, 0x01000193) >>> 2;
      words.push(word);
      stems.push(word);
      i++;
      continue;
    }
    // A word: read it in one tight loop. The stem is the singular's first five letters, so keep
    // the hash before the latest letter too, for a short word that ends in a plural "s".
    const start = i;
    let hash = 0x811c9dc5 | 0; // as an int32: a larger number would box every step
    let stemHash = 0;
    let previousHash = 0;
    let latin = true;
    let vowel = false;
    for (;;) {
      previousHash = hash;
      hash = Math.imul(hash ^ c, 0x01000193);
      if (i - start < STEM_LETTERS) stemHash = hash;
      if (kind === VOWEL) vowel = true;
      else if (kind === DIGIT || c > 127) latin = false;
      if (++i >= n) break;
      c = lower.charCodeAt(i);
      kind = c < 128 ? ASCII_CLASS[c]! : classify(lower, i);
      if (kind === CONSONANT || kind === VOWEL || kind === DIGIT) continue;
      // An apostrophe between letters belongs to the word ("don't", "it’s").
      if ((c === 39 || c === 0x2019) && i + 1 < n && isLetterAt(lower, i + 1)) {
        c = 39;
        kind = CONSONANT;
        continue;
      }
      break;
    }
    const length = i - start;
    const word = hash >>> 2;
    words.push(word);
    if (length < 3 || FUNCTION_WORDS.has(word)) stems.push(-1);
    else {
      const plural = length > 3 && lower.charCodeAt(i - 1) === 115 && lower.charCodeAt(i - 2) !== 115; // "s", not "ss"
      stems.push((plural && length <= STEM_LETTERS ? previousHash : stemHash) >>> 2);
    }
    // Six letters and no vowel is not a word; shorter ones are often acronyms (HTML, HTTPS).
    if (latin && !vowel && length >= 6) unpronounceable = true;
  }
  return { lower, words, stems, punctuation, unpronounceable };
}

function classify(s: string, i: number): number {
  const ch = s[i]!;
  if (IDEOGRAPHIC.test(ch)) return IDEOGRAPH;
  return NON_ASCII_WORD.test(ch) ? CONSONANT : /\s/.test(ch) ? SPACE : OTHER;
}

/** The number `scan` gives a single lower-case word. */
export function wordNumber(word: string): number {
  const [n] = scan(word).words;
  return n ?? -1;
}

function isLetterAt(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return (c >= 97 && c <= 122) || (c > 127 && NON_ASCII_WORD.test(s[i]!));
}

// Function words carry no topic, so they do not count as picking up what the other side said.
const FUNCTION_WORDS: ReadonlySet<number> = new Set(
  (
    "a about after again all also am an and any are as at be been before being but by can could did do does don't " +
    'down for from get got had has have he her here him his how i if in into is it its just like me more most my no ' +
    'not now of off oh ok okay on one only or our out over really she so some such than that the their them then there ' +
    'these they this those to too up very was we well were what when where which who why will with would yeah yes you your ' +
    "i'm it's that's you're i've i'll can't won't didn't doesn't isn't"
  )
    .split(' ')
    .map(hashWord),
);

/** What `scan` computes for one ASCII word (it cannot call `scan` while this set is being built). */
function hashWord(word: string): number {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 0x01000193);
  return h >>> 2;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export const round1 = (x: number): number => Math.round(x * 10) / 10;
