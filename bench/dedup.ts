/**
 * Near-duplicate figures: signatures for 100,000 conversations from scratch, and checking one new
 * conversation against 100,000 stored ones through the LSH buckets, beside brute force (every
 * pair of 2,000 conversations by exact shingle Jaccard, and one new conversation against all
 * 100,000 signatures in memory).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nearestConversation, shingleHashes, signatureOf, similarity, storeSignature, wordHashes, type Signature } from '../src/core/dataset';
import { Store, WorkspaceTemplateRepository } from '../src/core/store';
import { seeded } from '../test/fixtures/variedConversations';
import { measure, measureAsync } from './measure';

export const DEDUP_SCALE = '100,000 conversations of one template, 12 turns of ~38 words each (~450 words, drawn from a 20,000-word vocabulary, Zipf-like)';

const VOCABULARY = Array.from({ length: 20_000 }, (_, i) => `w${i.toString(36)}`);

/** A conversation's turns: independent text with a realistic skew (common words recur, as in English). */
function conversation(random: () => number): { role: 'user' | 'assistant'; content: string }[] {
  return Array.from({ length: 12 }, (_, t) => ({
    role: t % 2 === 0 ? ('user' as const) : ('assistant' as const),
    content: Array.from({ length: 38 }, () => VOCABULARY[Math.floor(VOCABULARY.length * random() ** 3)]!).join(' ') + '.',
  }));
}

function exactJaccard(a: Uint32Array, b: Uint32Array): number {
  let i = 0;
  let j = 0;
  let both = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      both++;
      i++;
      j++;
    } else if (a[i]! < b[j]!) i++;
    else j++;
  }
  return both / (a.length + b.length - both);
}

const fmt = (us: number) => (us >= 1_000_000 ? `${(us / 1_000_000).toFixed(2)} s` : us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`);

export async function benchDedup(): Promise<string[][]> {
  const random = seeded(2024);
  const N = 100_000;
  const texts = Array.from({ length: N }, () => conversation(random));

  // Signatures from scratch.
  const t0 = process.hrtime.bigint();
  const sigs: Signature[] = texts.map((turns) => signatureOf(turns));
  const signAll = Number(process.hrtime.bigint() - t0) / 1000;

  // Stored: conversations, signatures and buckets, in transactions of 5,000.
  const dir = mkdtempSync(join(tmpdir(), 'promptloom-bench-dedup-'));
  const store = await Store.open(dir, { checkpointBytes: 1 << 30 });
  const templates = new WorkspaceTemplateRepository(store);
  const t = await templates.ensure('bench.prompt', { name: 'Bench', tier: 'template' });
  const v = await templates.recordVersion(t.id, 'body');
  for (let at = 0; at < N; at += 5000) {
    await store.transaction(async (tx) => {
      for (let i = at; i < Math.min(N, at + 5000); i++) {
        const id = `c${i.toString().padStart(8, '0')}`;
        await tx.run("INSERT INTO conversations (id, template_id, version_id, parameters, created_at) VALUES (?, ?, ?, '{}', ?)", [id, t.id, v.id, 1_700_000_000_000 + i]);
        await storeSignature(tx, id, t.id, sigs[i]!);
      }
    });
  }

  // One new conversation: an independent one, and a near copy of a stored one (3 words changed).
  const fresh = signatureOf(conversation(random));
  const copyTurns = texts[N / 2]!.map((turn, i) => (i === 3 ? { ...turn, content: turn.content.replace(/^\S+ \S+ \S+/, 'quite different words') } : turn));
  const copy = signatureOf(copyTurns);
  // Looked up inside a transaction, as `record` looks up (nothing is written).
  const { found, lookupFresh, lookupCopy } = await store.transaction(async (tx) => ({
    found: await nearestConversation(tx, store.dialect, t.id, copy),
    lookupFresh: await measureAsync(() => nearestConversation(tx, store.dialect, t.id, fresh), { rounds: 100, warmup: 10 }),
    lookupCopy: await measureAsync(() => nearestConversation(tx, store.dialect, t.id, copy), { rounds: 100, warmup: 10 }),
  }));
  const bruteOne = measure(
    () => {
      let best = 0;
      for (const s of sigs) best = Math.max(best, similarity(fresh, s));
      return best;
    },
    { rounds: 10, warmup: 2 },
  );
  store.close();
  rmSync(dir, { recursive: true, force: true });

  // Brute force without signatures: exact Jaccard of every pair of 2,000 conversations' shingle sets.
  const sets = texts.slice(0, 2000).map((turns) => Uint32Array.from(new Set(shingleHashes(wordHashes(turns.map((x) => x.content))))).sort());
  const t1 = process.hrtime.bigint();
  let pairs = 0;
  for (let i = 0; i < sets.length; i++) for (let j = i + 1; j < sets.length; j++, pairs++) exactJaccard(sets[i]!, sets[j]!);
  const bruteAll = Number(process.hrtime.bigint() - t1) / 1000;
  // The same 2,000 by LSH: each one checked against those before it, as `record` does.
  const small = await Store.open(mkdtempSync(join(tmpdir(), 'promptloom-bench-dedup-')), { checkpointBytes: 1 << 30 });
  const ts = await new WorkspaceTemplateRepository(small).ensure('b.prompt', { name: 'B', tier: 'template' });
  const vs = await new WorkspaceTemplateRepository(small).recordVersion(ts.id, 'body');
  const t2 = process.hrtime.bigint();
  await small.transaction(async (tx) => {
    for (let i = 0; i < 2000; i++) {
      await nearestConversation(tx, small.dialect, ts.id, sigs[i]!);
      await tx.run("INSERT INTO conversations (id, template_id, version_id, parameters, created_at) VALUES (?, ?, ?, '{}', ?)", [`s${i}`, ts.id, vs.id, i]);
      await storeSignature(tx, `s${i}`, ts.id, sigs[i]!);
    }
  });
  const lshAll = Number(process.hrtime.bigint() - t2) / 1000;
  small.close();

  return [
    ['signatures for 100,000 conversations, from scratch', fmt(signAll), `${fmt(signAll / N)} each`, '—'],
    ['check one new conversation against 100,000 stored (LSH lookup + compare)', `${fmt(lookupFresh.median)} (p95 ${fmt(lookupFresh.p95)})`, `brute force over all 100,000 signatures in memory: ${fmt(bruteOne.median)}`, '< 5 ms'],
    ['  …the new one a near copy of a stored one', `${fmt(lookupCopy.median)} (p95 ${fmt(lookupCopy.p95)}); found ${found?.id === `c${(N / 2).toString().padStart(8, '0')}` ? 'it' : 'NOT it'} at ${found?.similarity.toFixed(2)}`, '', ''],
    ['every conversation of 2,000 checked against the earlier ones', `${fmt(lshAll)} (LSH, each stored as it goes)`, `brute force, exact Jaccard of all ${pairs.toLocaleString('en-US')} pairs: ${fmt(bruteAll)}`, '—'],
  ];
}
