import { strict as assert } from 'node:assert';
import { BANDS, NUM_HASHES, bandBuckets, candidateProbability, signatureBytes, signatureFromBytes, signatureOf, similarity, textSignature } from '../../../src/core/dataset';
import { GOOD, REPETITIVE } from '../../fixtures/conversations';
import { nearCopy, seeded, variedConversation } from '../../fixtures/variedConversations';

/** `n` words drawn from a vocabulary of `vocabulary`, seeded. */
function randomWords(random: () => number, n: number, vocabulary = 5000): string[] {
  return Array.from({ length: n }, () => `w${Math.floor(random() * vocabulary)}`);
}

/** The exact Jaccard similarity of two word lists' 3-word shingles. */
function exactJaccard(a: string[], b: string[]): number {
  const shingles = (ws: string[]) => new Set(ws.slice(0, -2).map((w, i) => `${w} ${ws[i + 1]} ${ws[i + 2]}`));
  const x = shingles(a);
  const y = shingles(b);
  let both = 0;
  for (const s of x) if (y.has(s)) both++;
  return both / (x.size + y.size - both);
}

/** `words` with `changes` of them replaced by words from outside the vocabulary, at seeded positions. */
function mutate(random: () => number, words: string[], changes: number): string[] {
  const out = [...words];
  for (let k = 0; k < changes; k++) out[Math.floor(random() * out.length)] = `new${Math.floor(random() * 1e9)}`;
  return out;
}

const shareBucket = (a: Uint32Array, b: Uint32Array) => {
  const x = bandBuckets(a);
  const y = bandBuckets(b);
  return x.some((bucket, band) => bucket === y[band]);
};

describe('MinHash signatures', () => {
  it('identical texts have equal signatures; case, punctuation and spacing do not count', () => {
    assert.deepEqual(signatureOf(GOOD.turns), signatureOf(GOOD.turns.map((t) => ({ ...t }))));
    assert.equal(similarity(signatureOf(GOOD.turns), signatureOf(GOOD.turns)), 1);
    const a = textSignature('Selling everything would lock in the loss, though.');
    const b = textSignature('selling   EVERYTHING would lock in the loss though!!');
    assert.deepEqual(a, b);
    assert.ok(similarity(a, textSignature('Selling nothing would lock in the gain, though.')) < 1);
    assert.equal(signatureOf(GOOD.turns).length, NUM_HASHES);
  });

  it('a near copy (a few words changed) is at least 0.8 alike; independent realistic conversations are below 0.5', () => {
    for (let seed = 0; seed < 40; seed++) {
      const c = variedConversation(seed, 12);
      const s = similarity(signatureOf(c.turns), signatureOf(nearCopy(c, 3).turns));
      assert.ok(s >= 0.8 && s < 1, `seed ${seed}: ${s}`);
    }
    const sigs = Array.from({ length: 40 }, (_, seed) => signatureOf(variedConversation(seed, 12).turns));
    let highest = 0;
    for (let i = 0; i < sigs.length; i++) for (let j = i + 1; j < sigs.length; j++) highest = Math.max(highest, similarity(sigs[i]!, sigs[j]!));
    assert.ok(highest < 0.5, `highest similarity between independent conversations: ${highest}`);
    assert.ok(similarity(signatureOf(GOOD.turns), signatureOf(REPETITIVE.turns)) < 0.1);
  });

  it('estimates the exact Jaccard similarity of the shingles within its standard error', () => {
    const random = seeded(42);
    let squared = 0;
    const trials = 150;
    for (let t = 0; t < trials; t++) {
      const words = randomWords(random, 300);
      const other = mutate(random, words, 1 + Math.floor(random() * 40));
      const j = exactJaccard(words, other);
      const estimate = similarity(textSignature(words.join(' ')), textSignature(other.join(' ')));
      assert.ok(Math.abs(estimate - j) < 0.2, `J ${j}, estimate ${estimate}`);
      squared += (estimate - j) ** 2;
    }
    // Standard error at most sqrt(0.25 / 120) = 0.046 for any J.
    assert.ok(Math.sqrt(squared / trials) < 0.05, `rmse ${Math.sqrt(squared / trials)}`);
  });

  it('signatures survive storage as bytes; a blob of another size is refused', () => {
    const sig = signatureOf(GOOD.turns);
    const bytes = signatureBytes(sig);
    assert.equal(bytes.length, NUM_HASHES * 4);
    assert.deepEqual(signatureFromBytes(bytes), sig);
    assert.equal(signatureFromBytes(bytes.subarray(4)), undefined);
  });
});

describe('LSH bands', () => {
  it('the S-curve: pairs at 0.8 almost always become candidates, pairs at 0.3 rarely', () => {
    assert.ok(candidateProbability(0.8) > 0.997);
    assert.ok(candidateProbability(0.9) > 0.99999);
    assert.ok(candidateProbability(0.5) < 0.3);
    assert.ok(candidateProbability(0.3) < 0.02);
    assert.equal(bandBuckets(signatureOf(GOOD.turns)).length, BANDS);
  });

  it('finds at least 99% of 500 seeded pairs at similarity 0.9, and pairs few independent texts', () => {
    const random = seeded(7);
    let found = 0;
    let total = 0;
    let sum = 0;
    const bases: Uint32Array[] = [];
    for (let p = 0; p < 500; p++) {
      const words = randomWords(random, 300);
      // 300 words, 298 shingles: 5 changed words break 15 of them, J ≈ 283 / 313 ≈ 0.9.
      const other = mutate(random, words, 5);
      const j = exactJaccard(words, other);
      const a = textSignature(words.join(' '));
      sum += j;
      total++;
      if (shareBucket(a, textSignature(other.join(' ')))) found++;
      bases.push(a);
    }
    assert.ok(Math.abs(sum / total - 0.9) < 0.02, `mean exact similarity ${sum / total}`);
    assert.ok(found / total >= 0.99, `found ${found} of ${total}`);
    // Independent texts (similarity near 0) almost never share a bucket.
    let falseCandidates = 0;
    for (let i = 0; i < 100; i++) for (let k = i + 1; k < 100; k++) if (shareBucket(bases[i]!, bases[k]!)) falseCandidates++;
    assert.ok(falseCandidates <= 1, `${falseCandidates} of 4,950 independent pairs share a bucket`);
  });
});
