/**
 * Issue 12, export as a dataset and `promptloom conversations`: the built CLI run as a real process
 * over a workspace database written in-process through the repositories (fixed ids and times), so
 * every expected figure is computed here from the fixture, independently of the code under test.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { WorkspaceBatchRepository, WorkspaceGenerationRepository, Store, WorkspaceTemplateRepository, type Clock, type ConversationStatus } from '../../src/core/store';
import { promptloom, workspace, type Run } from '../helpers/cli';

const GENERATION_SYSTEM = 'You write conversations between a support agent and a <<persona>> customer.';
const templateText = (body: string) =>
  [
    '---',
    'name: Support',
    `system: ${GENERATION_SYSTEM}`,
    'training_system: You are a support agent. The customer is <<persona>> and feels <<mood>>.',
    'variables:',
    '  persona: { type: dropdown, options: [Ann, Bob, Cy] }',
    '  mood: { type: dropdown, options: [calm, angry] }',
    '---',
    body,
    '',
  ].join('\n');
const V1 = templateText('Write a support conversation.');
const V2 = templateText('Write a support conversation, five turns.');
const PLAIN = ['---', 'name: Plain', 'system: You write short chats about <<topic>>.', '---', 'Chat about <<topic>>.', ''].join('\n');

interface Fixture {
  id: string;
  template: 't.prompt' | 'plain.prompt';
  version: 1 | 2;
  values: Record<string, string>;
  status: ConversationStatus;
  quality: number | null;
  createdAt: number;
  batch: 'b1' | 'b2' | 'b3' | 'p1';
  nearDuplicateOf: string | null;
  similarity: number | null;
}

const MODELS = { b1: 'claude-sonnet-4-5', b2: 'claude-haiku-4-5', b3: 'claude-sonnet-4-5', p1: 'claude-haiku-4-5' } as const;
const T0 = Date.UTC(2025, 0, 1);

/** 6 value combinations × 10 conversations of t.prompt (two versions, two batches), near-duplicate groups, and a plain template. */
function fixtures(): Fixture[] {
  const list: Fixture[] = [];
  let n = 0;
  const personas = ['Ann', 'Bob', 'Cy'];
  const moods = ['calm', 'angry'];
  for (let i = 0; i < 60; i++) {
    n++;
    const persona = personas[i % 3]!;
    const mood = moods[Math.floor(i / 3) % 2]!;
    const status: ConversationStatus = i % 10 === 7 ? 'rejected' : i % 10 === 8 ? 'pending' : i % 10 === 9 ? 'needs_revision' : 'approved';
    list.push({
      id: `${String(n).padStart(8, '0')}-c0de-4000-8000-000000000000`,
      template: 't.prompt',
      version: i < 30 ? 1 : 2,
      values: { persona, mood },
      status,
      quality: i % 11 === 5 ? null : ((i * 37) % 101) / 10,
      createdAt: T0 + n * 1000,
      batch: i < 30 ? 'b1' : 'b2',
      nearDuplicateOf: null,
      similarity: null,
    });
  }
  const byN = (k: number) => list[k - 1]!;
  // Same combination (Ann, calm is i = 0, 6, 12…): a chain 1 ← 7 ← 13 (one group of three).
  const link = (from: number, to: number, s: number) => Object.assign(byN(from), { nearDuplicateOf: byN(to).id, similarity: s });
  link(7, 1, 0.91);
  link(13, 7, 0.88);
  // A tie in score: 20 and 26 (Bob, calm? i = 19 and 25: persona Bob, mood angry / Bob calm) get the same quality.
  link(26, 20, 0.95);
  byN(26).quality = byN(20).quality = 7.5;
  // Linked through a rejected conversation (8 is i = 7: rejected): 38 → 8 and 44 → 8 are one group with it.
  link(38, 8, 0.85);
  link(44, 8, 0.83);
  // A group across two combinations: 50 (i = 49) and 51 (i = 50).
  link(51, 50, 0.9);
  // A third batch, all rejected: its cost is not the exported conversations'.
  for (let i = 0; i < 3; i++) {
    n++;
    list.push({ id: `${String(n).padStart(8, '0')}-c0de-4000-8000-000000000000`, template: 't.prompt', version: 2, values: { persona: 'Ann', mood: 'calm' }, status: 'rejected', quality: 2.5, createdAt: T0 + n * 1000, batch: 'b3', nearDuplicateOf: null, similarity: null });
  }
  // The plain template: no training_system.
  for (let i = 0; i < 4; i++) {
    n++;
    list.push({ id: `${String(n).padStart(8, '0')}-c0de-4000-8000-000000000000`, template: 'plain.prompt', version: 1, values: { topic: `topic ${i}` }, status: 'approved', quality: 6 + i, createdAt: T0 + n * 1000, batch: 'p1', nearDuplicateOf: null, similarity: null });
  }
  return list;
}

/** Cost of each successful generation, and the failed attempts per batch (logged, no conversation). */
const costOf = (f: Fixture) => 0.001 * (1 + (parseInt(f.id.slice(0, 8), 16) % 5));
const FAILED: Record<Fixture['batch'], number> = { b1: 2, b2: 1, b3: 1, p1: 0 };
const FAILED_COST = 0.0005;

async function datasetWorkspace(list: readonly Fixture[], extraFiles: Record<string, string> = {}): Promise<string> {
  const ws = workspace({ 't.prompt': V2, 'plain.prompt': PLAIN, ...extraFiles });
  const store = await Store.open(ws);
  let now = T0;
  const clock: Clock = { now: () => now };
  const templates = new WorkspaceTemplateRepository(store, clock);
  const t = await templates.ensure('t.prompt', { name: 'Support', tier: 'template' });
  const v1 = await templates.recordVersion(t.id, V1);
  now += 1;
  const v2 = await templates.recordVersion(t.id, V2);
  const p = await templates.ensure('plain.prompt', { name: 'Plain', tier: 'template' });
  const pv = await templates.recordVersion(p.id, PLAIN);
  const batchIds = new Map<string, string>();
  const batchNames = ['b1', 'b2', 'b3', 'p1'] as const;
  let nextBatch = 0;
  const batches = new WorkspaceBatchRepository(store, clock, () => batchNames[nextBatch++]!);
  for (const b of batchNames) {
    const isPlain = b === 'p1';
    const row = await batches.create({ templateId: isPlain ? p.id : t.id, versionId: isPlain ? pv.id : b === 'b1' ? v1.id : v2.id, requested: 1, parameters: {}, model: MODELS[b], settings: {} });
    batchIds.set(b, row.id);
  }
  let conversationId = '';
  const generations = new WorkspaceGenerationRepository(store, clock, () => conversationId);
  for (const f of list) {
    now = f.createdAt;
    conversationId = f.id;
    const isPlain = f.template === 'plain.prompt';
    await generations.record({
      templateId: isPlain ? p.id : t.id,
      versionId: isPlain ? pv.id : f.version === 1 ? v1.id : v2.id,
      batchId: batchIds.get(f.batch)!,
      parameters: f.values,
      model: MODELS[f.batch],
      attempt: 1,
      status: 'succeeded',
      inputTokens: 100,
      outputTokens: 200,
      costUsd: costOf(f),
      durationMs: 10,
      conversation: {
        systemPrompt: isPlain ? `You write short chats about ${f.values.topic}.` : `You write conversations between a support agent and a ${f.values.persona} customer.`,
        turns: [
          { role: 'user', content: `Hello from ${f.id}, with a comma, a "quote"` },
          { role: 'assistant', content: `Hello ${f.values.persona ?? f.values.topic}.` },
        ],
        ...(f.quality !== null ? { quality: { overall: f.quality, breakdown: {}, recommendations: [] } } : {}),
        status: f.status,
      },
    });
  }
  for (const b of batchNames) {
    for (let i = 0; i < FAILED[b]; i++) {
      await generations.record({
        templateId: b === 'p1' ? p.id : t.id,
        versionId: b === 'p1' ? pv.id : v1.id,
        batchId: b,
        parameters: {},
        model: MODELS[b],
        attempt: 1,
        status: 'failed',
        errorType: 'server_error',
        inputTokens: 0,
        outputTokens: 0,
        costUsd: FAILED_COST,
        durationMs: 5,
      });
    }
  }
  await store.write((tx) => {
    for (const f of list) if (f.nearDuplicateOf !== null) tx.run('UPDATE conversations SET near_duplicate_of = ?, similarity = ? WHERE id = ?', [f.nearDuplicateOf, f.similarity, f.id]);
  });
  store.close();
  return ws;
}

/** The fixture's groups, computed the simple way: follow links to the root, then merge roots sharing members. */
function groupsOf(list: readonly Fixture[]): Map<string, Set<string>> {
  const adjacent = new Map<string, Set<string>>();
  const add = (a: string, b: string) => adjacent.set(a, new Set([...(adjacent.get(a) ?? []), b]));
  for (const f of list) {
    if (f.nearDuplicateOf === null) continue;
    add(f.id, f.nearDuplicateOf);
    add(f.nearDuplicateOf, f.id);
  }
  const groupOf = new Map<string, Set<string>>();
  for (const f of list) {
    if (groupOf.has(f.id)) continue;
    const seen = new Set([f.id]);
    const stack = [f.id];
    while (stack.length > 0) {
      for (const next of adjacent.get(stack.pop()!) ?? []) {
        if (seen.has(next)) continue;
        seen.add(next);
        stack.push(next);
      }
    }
    for (const id of seen) groupOf.set(id, seen);
  }
  return groupOf;
}

/** The conversation id of an exported line (each first user turn names it). */
function idsOf(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => /Hello from ([0-9a-f-]{36})/.exec(l)![1]!);
}

function assertUsage(run: Run, pattern: RegExp): void {
  assert.equal(run.code, 2, run.stderr);
  assert.equal(run.stderr.trimEnd().split('\n').length, 1, run.stderr);
  assert.match(run.stderr.trimEnd(), pattern);
  assert.doesNotMatch(run.stderr, /internal error/);
}

const key = (values: Record<string, unknown>) => JSON.stringify(Object.fromEntries(Object.keys(values).sort().map((k) => [k, values[k]])));

describe('issue 12: export as a dataset', function () {
  this.timeout(60_000);
  const list = fixtures();
  let ws: string;
  before(async () => {
    ws = await datasetWorkspace(list);
  });

  it('--split writes NAME.train.EXT and NAME.validation.EXT: disjoint, complete, stratified, seeded, no group split', () => {
    const run = promptloom(['export', '--status', 'all', '--template', 't.prompt', '--split', '0.9', '--out', 'data.jsonl'], { cwd: ws });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, '');
    assert.equal(existsSync(join(ws, 'data.jsonl')), false, 'the split writes the two files only');
    const train = idsOf(readFileSync(join(ws, 'data.train.jsonl'), 'utf8'));
    const validation = idsOf(readFileSync(join(ws, 'data.validation.jsonl'), 'utf8'));
    assert.equal(run.stderr, `exported ${train.length + validation.length} conversations (openai, status all): ${train.length} to data.train.jsonl, ${validation.length} to data.validation.jsonl\n`);

    const expected = list.filter((f) => f.template === 't.prompt');
    // Every conversation exactly once.
    assert.equal(new Set([...train, ...validation]).size, train.length + validation.length, 'no conversation twice');
    assert.deepEqual([...train, ...validation].sort(), expected.map((f) => f.id).sort());
    assert.equal(train.length, Math.round(expected.length * 0.9));
    // Stratified: per value combination, the train count is within 1 of its size × 0.9.
    const trainSet = new Set(train);
    const strata = new Map<string, { n: number; train: number }>();
    for (const f of expected) {
      const s = strata.get(key(f.values)) ?? { n: 0, train: 0 };
      s.n++;
      if (trainSet.has(f.id)) s.train++;
      strata.set(key(f.values), s);
    }
    assert.equal(strata.size, 6);
    for (const [combination, s] of strata) assert.ok(Math.abs(s.train - s.n * 0.9) < 1, `${combination}: ${s.train} of ${s.n} in train`);
    // A near-duplicate group is never in both files.
    const validationSet = new Set(validation);
    for (const group of new Set(groupsOf(expected).values())) {
      if (group.size < 2) continue;
      const sides = new Set([...group].filter((id) => trainSet.has(id) || validationSet.has(id)).map((id) => trainSet.has(id)));
      assert.equal(sides.size, 1, `group ${[...group].join(', ')} is split`);
    }

    // Seeded: the default seed is 1; the same seed gives the same files, another seed another split.
    const same = promptloom(['export', '--status', 'all', '--template', 't.prompt', '--split', '0.9', '--seed', '1', '--out', 'again.jsonl'], { cwd: ws });
    assert.equal(same.code, 0, same.stderr);
    assert.equal(readFileSync(join(ws, 'again.train.jsonl'), 'utf8'), readFileSync(join(ws, 'data.train.jsonl'), 'utf8'));
    assert.equal(readFileSync(join(ws, 'again.validation.jsonl'), 'utf8'), readFileSync(join(ws, 'data.validation.jsonl'), 'utf8'));
    const other = promptloom(['export', '--status', 'all', '--template', 't.prompt', '--split', '0.9', '--seed', '2', '--out', 'other.jsonl'], { cwd: ws });
    assert.equal(other.code, 0, other.stderr);
    const otherValidation = idsOf(readFileSync(join(ws, 'other.validation.jsonl'), 'utf8'));
    assert.equal(otherValidation.length, validation.length);
    assert.notDeepEqual(otherValidation.sort(), [...validation].sort(), 'seed 2 chooses other validation conversations');
  });

  it('--split and --card obey the --out rules for every file: nothing is written when one is refused', () => {
    writeFileSync(join(ws, 'taken.validation.jsonl'), 'mine\n');
    const refused = promptloom(['export', '--status', 'all', '--split', '0.9', '--out', 'taken.jsonl'], { cwd: ws });
    assertUsage(refused, /^promptloom: taken\.validation\.jsonl already exists; pass --force to replace it$/);
    assert.equal(existsSync(join(ws, 'taken.train.jsonl')), false, 'the train file was not written either');
    assert.equal(readFileSync(join(ws, 'taken.validation.jsonl'), 'utf8'), 'mine\n');
    const forced = promptloom(['export', '--status', 'all', '--split', '0.9', '--out', 'taken.jsonl', '--force'], { cwd: ws });
    assert.equal(forced.code, 0, forced.stderr);
    assert.notEqual(readFileSync(join(ws, 'taken.validation.jsonl'), 'utf8'), 'mine\n');

    writeFileSync(join(ws, 'carded.card.md'), 'my notes\n');
    const card = promptloom(['export', '--card', '--out', 'carded.jsonl'], { cwd: ws });
    assertUsage(card, /^promptloom: carded\.card\.md already exists; pass --force to replace it$/);
    assert.equal(existsSync(join(ws, 'carded.jsonl')), false);

    const history = promptloom(['export', '--split', '0.5', '--out', '.promptloom/x.jsonl'], { cwd: ws });
    assertUsage(history, /refusing to write \.promptloom\/x\.train\.jsonl: it is inside \.promptloom\//);
  });

  it('--dedup keeps the best scored of each near-duplicate group, ties by the earliest', () => {
    for (const status of ['all', 'approved'] as const) {
      const run = promptloom(['export', '--status', status, '--dedup'], { cwd: ws });
      assert.equal(run.code, 0, run.stderr);
      const selected = list.filter((f) => status === 'all' || f.status === status);
      const groups = groupsOf(list); // links through conversations not exported still join a group
      const best = new Map<Set<string>, Fixture>();
      for (const f of selected) {
        const g = groups.get(f.id)!;
        const b = best.get(g);
        const q = (x: Fixture) => x.quality ?? -1;
        if (!b || q(f) > q(b) || (q(f) === q(b) && f.createdAt < b.createdAt)) best.set(g, f);
      }
      const expected = selected.filter((f) => best.get(groups.get(f.id)!) === f).map((f) => f.id);
      assert.deepEqual(idsOf(run.stdout), expected, status);
      assert.match(run.stderr, new RegExp(`^exported ${expected.length} conversations \\(openai, status ${status}\\); ${selected.length - expected.length} near-duplicates left out \\(--dedup\\)\\n$`));
    }
    // The cases the fixture was built for, by hand: the tie (20 and 26 both 7.5) keeps the earlier, 20.
    const all = idsOf(promptloom(['export', '--status', 'all', '--dedup'], { cwd: ws }).stdout);
    const id = (n: number) => list[n - 1]!.id;
    assert.ok(all.includes(id(20)) && !all.includes(id(26)));
    assert.equal([id(1), id(7), id(13)].filter((x) => all.includes(x)).length, 1, 'the chain 1 ← 7 ← 13 is one group');
    // 38 and 44 are joined through 8 (rejected): with --status approved only one of them stays.
    const approved = idsOf(promptloom(['export', '--dedup'], { cwd: ws }).stdout);
    assert.equal([id(38), id(44)].filter((x) => approved.includes(x)).length, 1);
    assert.ok(!approved.includes(id(8)));
  });

  it('exports training_system rendered with each conversation’s values, never the generation system prompt; none without it', () => {
    const byId = new Map(list.map((f) => [f.id, f]));
    for (const format of ['openai', 'anthropic', 'sharegpt'] as const) {
      const run = promptloom(['export', '--status', 'all', '--format', format], { cwd: ws });
      assert.equal(run.code, 0, run.stderr);
      assert.doesNotMatch(run.stdout, /You write/, `${format}: no generation system prompt`);
      const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.equal(lines.length, list.length);
      for (const [i, line] of lines.entries()) {
        const f = byId.get(idsOf(run.stdout)[i]!)!;
        const expected = f.template === 't.prompt' ? `You are a support agent. The customer is ${f.values.persona} and feels ${f.values.mood}.` : undefined;
        const system =
          format === 'openai'
            ? (line.messages as { role: string; content: string }[]).filter((m) => m.role === 'system').map((m) => m.content)
            : format === 'anthropic'
              ? 'system' in line
                ? [line.system as string]
                : []
              : (line.conversations as { from: string; value: string }[]).filter((m) => m.from === 'system').map((m) => m.value);
        assert.deepEqual(system, expected === undefined ? [] : [expected], `${format} ${f.id}`);
      }
    }
  });

  it('--card writes NAME.card.md whose figures match the data', () => {
    mkdirSync(join(ws, 'out'));
    const run = promptloom(['export', '--status', 'approved', '--dedup', '--split', '0.8', '--seed', '5', '--card', '--out', 'out/set.jsonl'], { cwd: ws });
    assert.equal(run.code, 0, run.stderr);
    const card = readFileSync(join(ws, 'out', 'set.card.md'), 'utf8');
    const trainIds = idsOf(readFileSync(join(ws, 'out', 'set.train.jsonl'), 'utf8'));
    const validationIds = idsOf(readFileSync(join(ws, 'out', 'set.validation.jsonl'), 'utf8'));
    assert.match(run.stderr, new RegExp(`: ${trainIds.length} to out/set\\.train\\.jsonl, ${validationIds.length} to out/set\\.validation\\.jsonl, the card to out/set\\.card\\.md; (\\d+) near-duplicates left out`));
    const exported = [...trainIds, ...validationIds].map((id) => list.find((f) => f.id === id)!);
    const approved = list.filter((f) => f.status === 'approved');
    assert.equal(exported.length, new Set([...groupsOf(list).entries()].filter(([id]) => approved.some((f) => f.id === id)).map(([, g]) => g)).size, 'one per group');

    const section = (title: string) => {
      const start = card.indexOf(`## ${title}\n`);
      assert.ok(start >= 0, title);
      const end = card.indexOf('\n## ', start + 1);
      return card.slice(start, end < 0 ? undefined : end);
    };
    const tableRows = (text: string) =>
      text
        .split('\n')
        .filter((l) => l.startsWith('| ') && !l.startsWith('| ---'))
        .slice(1)
        .map((l) => l.slice(2, -2).split(/ (?<!\\)\| /).map((c) => c.replace(/\\\|/g, '|')));
    const count = <T>(items: T[], f: (x: T) => string) => {
      const m = new Map<string, number>();
      for (const x of items) m.set(f(x), (m.get(f(x)) ?? 0) + 1);
      return m;
    };

    assert.match(section('Selection'), new RegExp(`Conversations: ${exported.length} exported \\(${approved.length} matched the filters\\)`));
    // Templates and versions (per-template ordinals).
    const byVersion = count(exported.filter((f) => f.template === 't.prompt'), (f) => String(f.version));
    const plainCount = exported.filter((f) => f.template === 'plain.prompt').length;
    assert.deepEqual(tableRows(section('Templates')), [
      ['plain.prompt', 'Plain', `1 (${plainCount})`, String(plainCount)],
      ['t.prompt', 'Support', `1 (${byVersion.get('1')}), 2 (${byVersion.get('2')})`, String(byVersion.get('1')! + byVersion.get('2')!)],
    ]);
    // Models.
    const models = count(exported, (f) => MODELS[f.batch]);
    assert.deepEqual(
      tableRows(section('Models')).map(([m, n]) => [m, Number(n)]).sort(),
      [...models.entries()].sort(),
    );
    // Status: everything in the database, and exported.
    const statuses = ['pending', 'approved', 'needs_revision', 'rejected'];
    assert.deepEqual(tableRows(section('Status')), [
      ...statuses.map((s) => [s, String(list.filter((f) => f.status === s).length), String(exported.filter((f) => f.status === s).length)]),
      ['total', String(list.length), String(exported.length)],
    ]);
    // Coverage: per template and values, exported, approved, train, validation.
    const train = new Set(trainIds);
    const cells = new Map<string, number[]>();
    for (const f of exported) {
      const k = JSON.stringify([f.template, key(f.values)]);
      const c = cells.get(k) ?? [0, 0, 0, 0];
      c[0]!++;
      if (f.status === 'approved') c[1]!++;
      c[train.has(f.id) ? 2 : 3]!++;
      cells.set(k, c);
    }
    const coverage = tableRows(section('Coverage'));
    assert.equal(coverage.length, cells.size);
    for (const [template, values, ...numbers] of coverage) assert.deepEqual(numbers.map(Number), cells.get(JSON.stringify([template, values])), `${template} ${values}`);
    // Quality histogram, buckets of one point.
    const histogram = section('Quality');
    for (let b = 0; b < 10; b++) {
      const n = exported.filter((f) => f.quality !== null && Math.min(9, Math.floor(f.quality)) === b).length;
      assert.match(histogram, new RegExp(`\\n\\s?${b}–${b + 1}\\s*\\| #* *${n}\\n`), `bucket ${b}`);
    }
    assert.match(histogram, new RegExp(`\\nunscored ${exported.filter((f) => f.quality === null).length}\\n`));
    const scored = exported.filter((f) => f.quality !== null);
    assert.match(histogram, new RegExp(`Mean score: ${(scored.reduce((a, f) => a + f.quality!, 0) / scored.length).toFixed(2).replace('.', '\\.')}`));
    // Diversity and duplicates: after --dedup no two exported are near-duplicates.
    const removed = approved.length - exported.length;
    assert.ok(removed > 0);
    assert.match(section('Diversity and duplicates'), /groups among the exported conversations: 0, holding 0 conversations/);
    assert.match(section('Diversity and duplicates'), /Diversity: 1\.000 /);
    assert.match(section('Diversity and duplicates'), new RegExp(`Duplicates removed: ${removed}\\n`));
    assert.match(run.stderr, new RegExp(`; ${removed} near-duplicates left out`));
    // The split.
    assert.deepEqual(tableRows(section('Split')), [
      ['set.train.jsonl', String(trainIds.length)],
      ['set.validation.jsonl', String(validationIds.length)],
    ]);
    assert.match(section('Split'), /Ratio 0\.8, seed 5;/);
    // Generation cost: all logs of the exported conversations' batches (b3, all rejected, is not one of them).
    const batches = new Set(exported.map((f) => f.batch));
    assert.deepEqual([...batches].sort(), ['b1', 'b2', 'p1']);
    const inBatches = list.filter((f) => batches.has(f.batch));
    const usd = inBatches.reduce((a, f) => a + costOf(f), 0) + [...batches].reduce((a, b) => a + FAILED[b] * FAILED_COST, 0);
    const attempts = inBatches.length + [...batches].reduce((a, b) => a + FAILED[b], 0);
    assert.match(section('Generation cost'), new RegExp(`US\\$ ${usd.toFixed(4).replace('.', '\\.')}: ${attempts} generation attempts \\(${inBatches.length * 100} input, ${inBatches.length * 200} output tokens\\).* of the 3 batches`));
  });

  it('the card without --dedup counts the near-duplicates among the exported conversations', () => {
    const run = promptloom(['export', '--status', 'all', '--template', 't.prompt', '--card', '--out', 'whole.jsonl'], { cwd: ws });
    assert.equal(run.code, 0, run.stderr);
    const card = readFileSync(join(ws, 'whole.card.md'), 'utf8');
    const exported = list.filter((f) => f.template === 't.prompt');
    const groupOf = groupsOf(list);
    const groups = [...new Set(exported.map((f) => groupOf.get(f.id)!))];
    const multi = groups.filter((g) => g.size > 1);
    assert.match(card, new RegExp(`groups among the exported conversations: ${multi.length}, holding ${multi.reduce((a, g) => a + g.size, 0)} conversations`));
    assert.match(card, new RegExp(`Diversity: ${(groups.length / exported.length).toFixed(3).replace('.', '\\.')} `));
    assert.match(card, /Duplicates removed: 0 \(export without --dedup\)/);
    assert.match(card, new RegExp(`Not split: ${exported.length} conversations in whole\\.jsonl\\.`));
    assert.equal(readFileSync(join(ws, 'whole.jsonl'), 'utf8').trim().split('\n').length, exported.length);
  });

  it('usage errors are one line and exit 2', () => {
    assertUsage(promptloom(['export', '--split', '0.9'], { cwd: ws }), /^promptloom: --split needs --out: the train and validation files are named after it$/);
    for (const ratio of ['0', '1', '1.5', '-0.2', 'most', ''])
      assertUsage(promptloom(['export', '--split', ratio, '--out', 'r.jsonl'], { cwd: ws }), /^promptloom: --split takes the train share, a number between 0 and 1 exclusive \(such as 0\.9\), not ".*"$/);
    assertUsage(promptloom(['export', '--card'], { cwd: ws }), /^promptloom: --card needs --out: the card is written beside that file$/);
    assertUsage(promptloom(['export', '--seed', '3'], { cwd: ws }), /^promptloom: --seed only applies with --split$/);
    assertUsage(promptloom(['export', '--split', '0.9', '--seed', '1.5', '--out', 's.jsonl'], { cwd: ws }), /^promptloom: --seed takes a whole number/);
    assert.equal(existsSync(join(ws, 'r.train.jsonl')) || existsSync(join(ws, 's.train.jsonl')), false);
  });
});

describe('issue 12: promptloom conversations', function () {
  this.timeout(60_000);
  const list = fixtures();
  const tricky: Fixture = {
    id: 'ffffffff-c0de-4000-8000-000000000000',
    template: 'plain.prompt',
    version: 1,
    values: { topic: 'commas, "quotes"\nand a new line' },
    status: 'pending',
    quality: 4.25,
    createdAt: T0 + 999_000,
    batch: 'p1',
    nearDuplicateOf: list[0]!.id,
    similarity: 0.875,
  };
  let ws: string;
  before(async () => {
    ws = await datasetWorkspace([...list, tricky]);
  });

  it('JSON: exactly the contract keys in order, per-template version ordinals, ISO times', () => {
    const run = promptloom(['conversations', '--format', 'json'], { cwd: ws });
    assert.equal(run.code, 0, run.stderr);
    const parsed = JSON.parse(run.stdout) as Record<string, unknown>[];
    assert.equal(parsed.length, list.length + 1);
    for (const c of parsed) assert.deepEqual(Object.keys(c), ['id', 'template', 'version', 'values', 'quality', 'status', 'createdAt', 'nearDuplicateOf', 'similarity']);
    const expected = [...list, tricky].sort((a, b) => a.createdAt - b.createdAt);
    assert.deepEqual(
      parsed,
      expected.map((f) => ({
        id: f.id,
        template: f.template,
        version: f.version,
        values: f.values,
        quality: f.quality,
        status: f.status,
        createdAt: new Date(f.createdAt).toISOString(),
        nearDuplicateOf: f.nearDuplicateOf,
        similarity: f.similarity,
      })),
    );
  });

  it('filters by --status and --template', () => {
    const approved = JSON.parse(promptloom(['conversations', '--status', 'approved', '--format', 'json'], { cwd: ws }).stdout) as { id: string; status: string }[];
    assert.deepEqual(approved.map((c) => c.id), list.filter((f) => f.status === 'approved').map((f) => f.id));
    const plain = JSON.parse(promptloom(['conversations', '--template', 'plain.prompt', '--format', 'json'], { cwd: ws }).stdout) as { template: string }[];
    assert.equal(plain.length, 5);
    assert.ok(plain.every((c) => c.template === 'plain.prompt'));
    const both = JSON.parse(promptloom(['conversations', '--template', './plain.prompt', '--status', 'pending', '--format', 'json'], { cwd: ws }).stdout) as { id: string }[];
    assert.deepEqual(both.map((c) => c.id), [tricky.id]);
    assert.equal(promptloom(['conversations', '--status', 'done'], { cwd: ws }).code, 2);
  });

  it('CSV: the same names as header, values as a JSON column, commas, quotes and new lines quoted', () => {
    const run = promptloom(['conversations', '--template', 'plain.prompt', '--status', 'pending', '--format', 'csv'], { cwd: ws });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      run.stdout,
      'id,template,version,values,quality,status,createdAt,nearDuplicateOf,similarity\r\n' +
        `${tricky.id},plain.prompt,1,"{""topic"":""commas, \\""quotes\\""\\nand a new line""}",4.25,pending,${new Date(tricky.createdAt).toISOString()},${list[0]!.id},0.875\r\n`,
    );
    // Read back by a CSV parser: the fields are the JSON values.
    const all = parseCsv(promptloom(['conversations', '--format', 'csv'], { cwd: ws }).stdout, { columns: true }) as Record<string, string>[];
    assert.equal(all.length, list.length + 1);
    const row = all.find((r) => r.id === tricky.id)!;
    assert.deepEqual(JSON.parse(row.values!), tricky.values);
    assert.equal(all.find((r) => r.id === list[0]!.id)!.nearDuplicateOf, '');
  });

  it('text: one line per conversation with a short id', () => {
    const run = promptloom(['conversations', '--status', 'rejected'], { cwd: ws });
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trimEnd().split('\n');
    const rejected = list.filter((f) => f.status === 'rejected');
    assert.equal(lines.length, rejected.length);
    lines.forEach((l, i) => assert.ok(l.startsWith(`${rejected[i]!.id.slice(0, 8)}  rejected`), l));
    assert.ok(!run.stdout.includes(rejected[0]!.id), 'short ids only');
  });

  it('reads the database without creating one', () => {
    const empty = workspace({});
    const run = promptloom(['conversations', '--format', 'json', '--workspace', empty]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, '[]\n');
    assert.equal(existsSync(join(empty, '.promptloom')), false);
  });
});
