/**
 * MinHash signatures of conversations and their LSH bands: how near-duplicates are found in time
 * that does not grow with the dataset (docs/datasets.md explains the choice and the numbers).
 *
 * - Text: every turn's content, lower-cased, cut into words at anything that is not a letter or a
 *   digit (punctuation and spacing never make two conversations differ).
 * - Shingles: runs of SHINGLE_WORDS = 3 consecutive words. One word would make any two texts
 *   on one topic look alike (they share most of their vocabulary); 5 or more would make a
 *   paraphrase with one changed word in four look unrelated. Three words keep word order (what a
 *   near copy keeps and an independent answer does not) while a changed word only breaks the
 *   three shingles that contain it.
 * - Signature: for each of NUM_HASHES hash functions, the smallest hash of any shingle. Two
 *   signatures agree at a position with probability equal to the Jaccard similarity of the
 *   shingle sets, so the share of agreeing positions estimates it, with a standard error of
 *   sqrt(J(1 − J) / 120): ±0.037 at J = 0.8, ±0.027 at 0.9. 120 × 4 bytes = 480 bytes stored.
 * - Bands: BANDS = 20 bands of ROWS = 6 positions; two conversations become candidates when all
 *   6 positions of at least one band agree, probability 1 − (1 − J^6)^20: 0.998 at J = 0.8,
 *   1 − 3·10⁻⁷ at 0.9, 0.27 at 0.5, 0.014 at 0.3, 2·10⁻⁵ at 0.1. Candidates are then compared
 *   on the whole signature, so a candidate below the threshold costs one comparison, never a
 *   false finding.
 *
 * All hashing is 32-bit (Math.imul and shifts over typed arrays): no strings are built per
 * shingle and no BigInt is involved.
 */

export const SHINGLE_WORDS = 3;
export const BANDS = 20;
export const ROWS = 6;
export const NUM_HASHES = BANDS * ROWS;

/** The similarity from which a conversation is a near-duplicate unless a setting says otherwise. */
export const DEFAULT_NEAR_DUPLICATE_THRESHOLD = 0.8;

export type Signature = Uint32Array;

/** Final mix of MurmurHash3: every input bit moves about half of the output bits. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** One seed per hash function, fixed (signatures stored today must compare with tomorrow's). */
const SEEDS: Uint32Array = (() => {
  const seeds = new Uint32Array(NUM_HASHES);
  let x = 0x9e3779b9;
  for (let i = 0; i < NUM_HASHES; i++) {
    x = (x + 0x6d2b79f5) >>> 0;
    seeds[i] = fmix32(x);
  }
  return seeds;
})();

/** ASCII letters and digits; other characters below 128 separate words. */
const ASCII_WORD = new Uint8Array(128);
for (let c = 48; c <= 57; c++) ASCII_WORD[c] = 1;
for (let c = 97; c <= 122; c++) ASCII_WORD[c] = 1;
const WORD_CHAR = /[\p{L}\p{N}\p{M}]/u;

/** Hashes of the words of `texts`, lower-cased, punctuation dropped. */
export function wordHashes(texts: readonly string[]): Uint32Array {
  let out = new Uint32Array(256);
  let n = 0;
  for (const text of texts) {
    const lower = text.toLowerCase();
    let h = 0x811c9dc5;
    let inWord = false;
    for (let i = 0; i <= lower.length; i++) {
      const c = i < lower.length ? lower.charCodeAt(i) : 32;
      const word = c < 128 ? ASCII_WORD[c] === 1 : c >= 0xd800 && c <= 0xdfff ? true : WORD_CHAR.test(lower[i]!);
      if (word) {
        h = Math.imul(h ^ c, 0x01000193);
        inWord = true;
      } else if (inWord) {
        if (n === out.length) {
          const bigger = new Uint32Array(out.length * 2);
          bigger.set(out);
          out = bigger;
        }
        out[n++] = fmix32(h);
        h = 0x811c9dc5;
        inWord = false;
      }
    }
  }
  return out.subarray(0, n);
}

/** The shingle hashes of a word sequence: one per run of SHINGLE_WORDS words (one for a shorter text, none for an empty one). */
export function shingleHashes(words: Uint32Array): Uint32Array {
  if (words.length === 0) return new Uint32Array(0);
  if (words.length < SHINGLE_WORDS) {
    let h = 0;
    for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i]!, 0x9e3779b1) ^ i;
    return Uint32Array.of(fmix32(h));
  }
  const out = new Uint32Array(words.length - SHINGLE_WORDS + 1);
  for (let i = 0; i < out.length; i++) {
    const h = Math.imul(Math.imul(words[i]!, 0x9e3779b1) ^ words[i + 1]!, 0x85ebca6b) ^ words[i + 2]!;
    out[i] = fmix32(h);
  }
  return out;
}

/**
 * The MinHash signature of a set of shingle hashes. Each hash function is the shingle's hash
 * xor-ed with the function's seed, then mixed (multiply, shift, multiply, shift): a different
 * pseudo-random order of the shingles per seed, at four cheap operations a position.
 * An empty set gives all 0xffffffff (equal only to another empty text's signature).
 */
export function minhash(shingles: Uint32Array): Signature {
  const sig = new Uint32Array(NUM_HASHES).fill(0xffffffff);
  for (let s = 0; s < shingles.length; s++) {
    const x = shingles[s]!;
    for (let i = 0; i < NUM_HASHES; i++) {
      let v = Math.imul(x ^ SEEDS[i]!, 0x2c1b3c6d);
      v ^= v >>> 12;
      v = Math.imul(v, 0x297a2d39);
      v = (v ^ (v >>> 15)) >>> 0;
      if (v < sig[i]!) sig[i] = v;
    }
  }
  return sig;
}

/** A conversation's signature, from its turns' text. */
export function signatureOf(turns: readonly { readonly content: string }[]): Signature {
  return minhash(shingleHashes(wordHashes(turns.map((t) => t.content))));
}

/** The same, from plain text. */
export function textSignature(text: string): Signature {
  return minhash(shingleHashes(wordHashes([text])));
}

/** Estimated Jaccard similarity of the two texts' shingle sets: the share of equal positions, 0..1. */
export function similarity(a: Signature, b: Signature): number {
  let same = 0;
  for (let i = 0; i < NUM_HASHES; i++) if (a[i] === b[i]) same++;
  return same / NUM_HASHES;
}

/** The LSH bucket of each band: a 32-bit hash of the band's ROWS positions (an unsigned number). */
export function bandBuckets(sig: Signature): number[] {
  const buckets: number[] = [];
  for (let band = 0; band < BANDS; band++) {
    let h = Math.imul(band + 1, 0x9e3779b1);
    for (let r = 0; r < ROWS; r++) h = Math.imul(h ^ sig[band * ROWS + r]!, 0x85ebca6b) ^ (h >>> 15);
    buckets.push(fmix32(h));
  }
  return buckets;
}

/** A signature as stored: little-endian uint32s. */
export function signatureBytes(sig: Signature): Uint8Array {
  const bytes = new Uint8Array(sig.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < sig.length; i++) view.setUint32(i * 4, sig[i]!, true);
  return bytes;
}

/** A stored signature back; undefined when the bytes are not one (another release's size, say). */
export function signatureFromBytes(bytes: Uint8Array): Signature | undefined {
  if (bytes.length !== NUM_HASHES * 4) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sig = new Uint32Array(NUM_HASHES);
  for (let i = 0; i < NUM_HASHES; i++) sig[i] = view.getUint32(i * 4, true);
  return sig;
}

/** Probability that two texts of Jaccard similarity `s` share at least one band bucket. */
export function candidateProbability(s: number, bands = BANDS, rows = ROWS): number {
  return 1 - (1 - s ** rows) ** bands;
}
