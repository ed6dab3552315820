/**
 * `promptloom export --database-url`, as users run it (the built CLI), against a real PostgreSQL:
 * a member pushes a workspace with known conversations (reviewed, near-duplicates, two strata,
 * two templates, one with a training system message), then exports from the team database the
 * same bytes as from the workspace; another member's private template stays theirs.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store, WorkspaceBatchRepository, WorkspaceGenerationRepository, WorkspaceTemplateRepository, type Clock, type ConversationStatus } from '../../src/core/store';
import { promptloom, workspace, type Run } from '../helpers/cli';
import { startPostgres, type PostgresServer } from '../helpers/postgres';

const OWNER_PASSWORD = 'Own3r-team-export-zq';
const ALICE_PASSWORD = 'al1ce-Exports-qx';
const BOB_PASSWORD = 'b0b-Exports-kw';

const TRAINED = (body: string) =>
  [
    '---',
    'name: Support',
    'system: You write support chats.',
    'training_system: You are a support agent. The customer is <<persona>>.',
    'variables:',
    '  persona: { type: dropdown, options: [Ann, Bob] }',
    '  tone: { type: text }',
    '---',
    body,
    '',
  ].join('\n');
const PLAIN = ['---', 'name: Plain', 'system: You write short chats.', '---', 'Chat.', ''].join('\n');
const SECRET = ['---', 'name: Secret', 'system: You write secret chats.', 'training_system: Keep <<topic>> secret.', 'variables:', '  topic: { type: text }', '---', 'Chat.', ''].join('\n');

/** The CLI with no team database in its environment but what a test gives, run in `cwd`. */
function run(args: readonly string[], cwd: string, env: Readonly<Record<string, string>> = {}): Run {
  return promptloom(args, { cwd, env: { PROMPTLOOM_DATABASE_URL: '', ...env } });
}

function ok(result: Run): string {
  assert.equal(result.code, 0, result.stderr);
  return result.stdout;
}

/** One conversation of the fixture: its template, values, status and score. */
interface Made {
  readonly id: string;
  readonly template: string;
}

/**
 * Alice's workspace: `t.prompt` (two versions, training_system) with 16 conversations in two
 * strata (persona Ann or Bob), every status, scores with decimals, a few unscored, reviews and a
 * chain of near-duplicates; `plain.prompt` (no training_system) with 4. Every row its own millisecond.
 */
async function alicesWorkspace(): Promise<{ dir: string; made: Made[] }> {
  const dir = workspace({});
  let now = Date.UTC(2025, 2, 1);
  const clock: Clock = { now: () => now++ };
  const store = await Store.open(dir);
  const made: Made[] = [];
  try {
    const templates = new WorkspaceTemplateRepository(store, clock);
    const t = await templates.ensure('t.prompt', { name: 'Support', tier: 'template' });
    const v1 = await templates.recordVersion(t.id, TRAINED('Write a chat.'));
    const v2 = await templates.recordVersion(t.id, TRAINED('Write a chat, four turns.'));
    const p = await templates.ensure('plain.prompt', { name: 'Plain', tier: 'template' });
    const pv = await templates.recordVersion(p.id, PLAIN);
    const batches = new WorkspaceBatchRepository(store, clock);
    const b1 = await batches.create({ templateId: t.id, versionId: v1.id, requested: 8, parameters: {}, model: 'claude-sonnet-4-5', settings: {} });
    const b2 = await batches.create({ templateId: t.id, versionId: v2.id, requested: 8, parameters: {}, model: 'claude-haiku-4-5', settings: {} });
    const bp = await batches.create({ templateId: p.id, versionId: pv.id, requested: 4, parameters: {}, model: 'claude-haiku-4-5', settings: {} });
    const generations = new WorkspaceGenerationRepository(store, clock);
    const statuses: ConversationStatus[] = ['approved', 'approved', 'pending', 'approved', 'rejected', 'needs_revision', 'approved', 'pending'];
    for (let i = 0; i < 16; i++) {
      const persona = i % 2 === 0 ? 'Ann' : 'Bob';
      const outcome = await generations.record({
        templateId: t.id,
        versionId: i < 8 ? v1.id : v2.id,
        batchId: i < 8 ? b1.id : b2.id,
        // Two strata (Ann, Bob); keys in an order jsonb does not keep (it puts the shorter first):
        // the export must not depend on it.
        parameters: { persona, tone: 'calm — "é"' },
        model: i < 8 ? 'claude-sonnet-4-5' : 'claude-haiku-4-5',
        attempt: 1,
        status: 'succeeded',
        inputTokens: 100 + i,
        outputTokens: 200,
        costUsd: 0.0013 * (1 + (i % 3)),
        durationMs: 10,
        conversation: {
          turns: [
            { role: 'user', content: `Hello ${i}, my order — "№ ${i}" — never came.\nWhere is it?` },
            { role: 'assistant', content: `Sorry, ${persona}. It ships today.` },
            ...(i % 4 === 0 ? [{ role: 'assistant' as const, content: 'Anything else?' }] : []),
          ],
          ...(i % 5 === 4 ? {} : { quality: { overall: 5 + ((i * 37) % 50) / 10 + 0.05, breakdown: {}, recommendations: [] } }),
          status: statuses[i % 8]!,
        },
      });
      made.push({ id: outcome.conversationId!, template: 't.prompt' });
    }
    for (let i = 0; i < 4; i++) {
      const outcome = await generations.record({
        templateId: p.id,
        versionId: pv.id,
        batchId: bp.id,
        parameters: { topic: `topic ${i}` },
        model: 'claude-haiku-4-5',
        attempt: 1,
        status: 'succeeded',
        inputTokens: 50,
        outputTokens: 60,
        costUsd: 0.0007,
        durationMs: 8,
        conversation: { turns: [{ role: 'user', content: `About topic ${i}?` }, { role: 'assistant', content: `Topic ${i}, briefly.` }], quality: { overall: 6 + i / 3, breakdown: {}, recommendations: [] } },
      });
      made.push({ id: outcome.conversationId!, template: 'plain.prompt' });
    }
    await generations.record({ templateId: t.id, versionId: v1.id, batchId: b1.id, parameters: { persona: 'Ann' }, model: 'claude-sonnet-4-5', attempt: 1, status: 'failed', errorType: 'overloaded', inputTokens: 0, outputTokens: 0, costUsd: 0.0004, durationMs: 3 });
    // Reviews after the fact: one sent back, one approved.
    await generations.review(made[2]!.id, 'needs_revision', 'too short');
    await generations.review(made[7]!.id, 'approved');
    // Near-duplicates: a chain 0 ← 2 ← 6 (one group across an unexported link) and 9 ← 11, 12 → 3 across strata.
    const link = (from: number, to: number, similarity: number) =>
      store.write((tx) => tx.run('UPDATE conversations SET near_duplicate_of = ?, similarity = ? WHERE id = ?', [made[to]!.id, similarity, made[from]!.id]));
    await link(2, 0, 0.91);
    await link(6, 2, 0.87);
    await link(11, 9, 0.9);
    await link(12, 3, 0.86);
  } finally {
    store.close();
  }
  return { dir, made };
}

/** Bob's workspace: a template he keeps private (inactive), with 3 approved conversations. */
async function bobsWorkspace(): Promise<string> {
  const dir = workspace({});
  let now = Date.UTC(2025, 2, 2);
  const clock: Clock = { now: () => now++ };
  const store = await Store.open(dir);
  try {
    const templates = new WorkspaceTemplateRepository(store, clock);
    const s = await templates.ensure('secret.prompt', { name: 'Secret', tier: 'template' });
    const sv = await templates.recordVersion(s.id, SECRET);
    const batch = await new WorkspaceBatchRepository(store, clock).create({ templateId: s.id, versionId: sv.id, requested: 3, parameters: {}, model: 'claude-x', settings: {} });
    const generations = new WorkspaceGenerationRepository(store, clock);
    for (let i = 0; i < 3; i++) {
      await generations.record({
        templateId: s.id,
        versionId: sv.id,
        batchId: batch.id,
        parameters: { topic: `plan ${i}` },
        model: 'claude-x',
        attempt: 1,
        status: 'succeeded',
        inputTokens: 10,
        outputTokens: 10,
        costUsd: 0.001,
        durationMs: 1,
        conversation: { turns: [{ role: 'user', content: `secret ${i}` }, { role: 'assistant', content: 'hush' }], status: 'approved' },
      });
    }
    await templates.setActive(s.id, false);
  } finally {
    store.close();
  }
  return dir;
}

describe('export on the team database (a real PostgreSQL)', function () {
  this.timeout(180_000);
  let server: PostgresServer;
  let aliceUrl: string;
  let bobUrl: string;
  let alice: string;
  let bob: string;
  let made: Made[];

  before(async () => {
    server = await startPostgres();
    await server.createTeam(OWNER_PASSWORD, { alice: ALICE_PASSWORD, bob: BOB_PASSWORD });
    const owner = server.url('team_owner', OWNER_PASSWORD, 'team');
    ({ dir: alice, made } = await alicesWorkspace());
    bob = await bobsWorkspace();
    ok(run(['db', 'init', '--database-url', owner], alice));
    await server.admin(['GRANT promptloom_member TO alice', 'GRANT promptloom_member TO bob']);
    aliceUrl = server.url('alice', ALICE_PASSWORD, 'team');
    bobUrl = server.url('bob', BOB_PASSWORD, 'team');
    ok(run(['db', 'push', '--database-url', aliceUrl], alice));
    ok(run(['db', 'push', '--database-url', bobUrl], bob));
  });

  after(() => server?.dispose());

  it('every format and filter: the same JSONL, byte for byte, as the workspace export', () => {
    const cases: string[][] = [
      [],
      ['--status', 'all'],
      ['--status', 'needs_revision'],
      ['--status', 'rejected'],
      ['--status', 'all', '--template', 't.prompt'],
      ['--status', 'all', '--template', './plain.prompt'],
      ['--status', 'all', '--min-quality', '7.05'],
      ['--status', 'all', '--dedup'],
      ['--dedup'],
    ];
    let lines = 0;
    for (const format of ['openai', 'anthropic', 'sharegpt']) {
      for (const args of cases) {
        const local = run(['export', '--format', format, ...args], alice);
        const team = run(['export', '--format', format, ...args, '--database-url', aliceUrl], alice);
        assert.equal(ok(team), ok(local), `${format} ${args.join(' ')}`);
        // The summary line too (the count, the near-duplicates left out).
        assert.equal(team.stderr, local.stderr, `${format} ${args.join(' ')}`);
        lines += local.stdout.split('\n').length - 1;
      }
    }
    assert.ok(lines > 100, `only ${lines} lines compared`);
    // The training system message is there, rendered with each conversation's values.
    const all = ok(run(['export', '--status', 'all', '--format', 'anthropic', '--database-url', aliceUrl], alice));
    assert.equal(all.split('\n').filter((l) => l.includes('"system":"You are a support agent. The customer is Ann."')).length, 8);
    // The environment names the team database as well as the flag.
    assert.equal(ok(run(['export', '--status', 'all'], alice, { PROMPTLOOM_DATABASE_URL: aliceUrl })), ok(run(['export', '--status', 'all'], alice)));
  });

  it('--dedup --split --seed: the same train and validation files as the workspace; --card works', () => {
    for (const side of ['local', 'team']) mkdirSync(join(alice, side));
    for (const seed of ['3', '11']) {
      const args = ['export', '--status', 'all', '--dedup', '--split', '0.7', '--seed', seed, '--card', '--force'];
      const local = run([...args, '--out', 'local/set.jsonl'], alice);
      const team = run([...args, '--out', 'team/set.jsonl', '--database-url', aliceUrl], alice);
      assert.equal(local.code, 0, local.stderr);
      assert.equal(team.code, 0, team.stderr);
      assert.equal(team.stderr, local.stderr.replace(/local\//g, 'team/'));
      const read = (side: string, name: string) => readFileSync(join(alice, side, name), 'utf8');
      for (const name of ['set.train.jsonl', 'set.validation.jsonl']) assert.equal(read('team', name), read('local', name), `seed ${seed}: ${name}`);
      assert.ok(read('local', 'set.validation.jsonl').length > 0);
      // The card: every figure the same; it says it comes from the team database and whose the cost is.
      const teamCard = read('team', 'set.card.md');
      const localCard = read('local', 'set.card.md');
      const [header, ...rest] = teamCard.split('\n\n');
      assert.match(header!, /^# Dataset card$/);
      assert.match(rest[0]!, /computed from the team database at export time, from what this member may read/);
      assert.match(teamCard, /\n\nOn the team database this counts every member's attempts, added up by the server: no member reads another's generation logs\.\n$/);
      const shared = (card: string) =>
        card
          .split('\n\n')
          .filter((p) => !/^Written by|^On the team database/.test(p))
          .join('\n\n')
          .trimEnd();
      assert.equal(shared(teamCard), shared(localCard));
      assert.match(localCard, /## Generation cost\n\nUS\$ 0\.\d{4}: 21 generation attempts/);
    }
  });

  it("another member: exports the shared templates' conversations, never a private template's of someone else", () => {
    // Bob reads Alice's active templates: the same lines as her workspace gives.
    assert.equal(ok(run(['export', '--status', 'all', '--template', 't.prompt', '--database-url', bobUrl], bob)), ok(run(['export', '--status', 'all', '--template', 't.prompt'], alice)));
    // His own private template exports for him as from his workspace…
    const bobs = ok(run(['export', '--template', 'secret.prompt', '--database-url', bobUrl], bob));
    assert.equal(bobs, ok(run(['export', '--template', 'secret.prompt'], bob)));
    assert.equal(bobs.split('\n').length - 1, 3);
    // …and for Alice it is no template at all: nothing exported, in no format, with no filter.
    const hers = run(['export', '--template', 'secret.prompt', '--database-url', aliceUrl], alice);
    assert.equal(ok(hers), '');
    assert.match(hers.stderr, /^exported 0 conversations/m);
    for (const format of ['openai', 'anthropic', 'sharegpt']) {
      const everything = ok(run(['export', '--status', 'all', '--format', format, '--database-url', aliceUrl], alice));
      assert.ok(!/secret|hush|Keep plan/.test(everything), format);
      assert.equal(everything.split('\n').length - 1, made.length);
    }
    // Nor in her card's counts.
    mkdirSync(join(alice, 'card'));
    ok(run(['export', '--status', 'all', '--card', '--out', 'card/all.jsonl', '--database-url', aliceUrl], alice));
    assert.match(readFileSync(join(alice, 'card', 'all.card.md'), 'utf8'), /\| total \| 20 \| 20 \|/);
    // Bob's card of Alice's template: the cost of her attempts, as her workspace's card says it
    // (team migration 12), though he reads none of her logs.
    mkdirSync(join(bob, 'card'));
    ok(run(['export', '--status', 'all', '--template', 't.prompt', '--card', '--out', 'card/t.jsonl', '--database-url', bobUrl], bob));
    mkdirSync(join(alice, 'local-card'));
    ok(run(['export', '--status', 'all', '--template', 't.prompt', '--card', '--out', 'local-card/t.jsonl'], alice));
    const costOf = (card: string) => /## Generation cost\n\n(US\$ .*)\n/.exec(card)?.[1];
    const bobsCost = costOf(readFileSync(join(bob, 'card', 't.card.md'), 'utf8'));
    assert.match(bobsCost!, /^US\$ 0\.\d*[1-9]\d*: \d+ generation attempts/);
    assert.equal(bobsCost, costOf(readFileSync(join(alice, 'local-card', 't.card.md'), 'utf8')));
  });

  it('rows of one millisecond: the same order from a database that sorts text by a locale (ICU en-US)', async () => {
    // en-US puts "conv-a" before "conv-B"; bytes (and SQLite) the other way round.
    await server.admin([`CREATE DATABASE team_icu OWNER team_owner TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'`]);
    ok(run(['db', 'init', '--database-url', server.url('team_owner', OWNER_PASSWORD, 'team_icu')], alice));
    const dir = workspace({});
    const store = await Store.open(dir);
    try {
      let now = Date.UTC(2025, 3, 1);
      const clock: Clock = { now: () => now };
      const templates = new WorkspaceTemplateRepository(store, clock);
      const t = await templates.ensure('same.prompt', { name: 'Same', tier: 'template' });
      const v = await templates.recordVersion(t.id, PLAIN);
      const batch = await new WorkspaceBatchRepository(store, clock).create({ templateId: t.id, versionId: v.id, requested: 3, parameters: {}, model: 'claude-x', settings: {} });
      now += 1;
      const ids = ['conv-a', 'conv-B', 'conv-c'];
      let next = 0;
      const generations = new WorkspaceGenerationRepository(store, clock, () => ids[next++]!);
      for (const id of ids) {
        await generations.record({
          templateId: t.id,
          versionId: v.id,
          batchId: batch.id,
          parameters: {},
          model: 'claude-x',
          attempt: 1,
          status: 'succeeded',
          inputTokens: 1,
          outputTokens: 1,
          costUsd: 0,
          durationMs: 1,
          conversation: { turns: [{ role: 'user', content: `I am ${id}` }, { role: 'assistant', content: 'Hello.' }], status: 'approved' },
        });
      }
    } finally {
      store.close();
    }
    const url = server.url('alice', ALICE_PASSWORD, 'team_icu');
    ok(run(['db', 'push', '--database-url', url], dir));
    const local = ok(run(['export'], dir));
    assert.deepEqual(local.split('\n').filter(Boolean).map((l) => /I am (conv-\w)/.exec(l)![1]), ['conv-B', 'conv-a', 'conv-c']);
    assert.equal(ok(run(['export', '--database-url', url], dir)), local);
  });

  it('a wrong password: one line, exit 2, nothing written, the password never echoed', () => {
    const wrong = 'Wr0ng-export-pa55-kv';
    const url = server.url('alice', wrong, 'team');
    mkdirSync(join(alice, 'refused'));
    for (const result of [
      run(['export', '--out', 'refused/x.jsonl', '--card', '--database-url', url], alice),
      run(['export', '--out', 'refused/x.jsonl', '--card'], alice, { PROMPTLOOM_DATABASE_URL: url }),
    ]) {
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.stdout, '');
      assert.equal(result.stderr, `promptloom: alice@127.0.0.1:${server.port}/team: password authentication failed\n`);
    }
    assert.ok(!existsSync(join(alice, 'refused', 'x.jsonl')) && !existsSync(join(alice, 'refused', 'x.card.md')));
    // --out is checked as without the team database: never into .promptloom/, before connecting.
    const inside = run(['export', '--out', '.promptloom/x.jsonl', '--database-url', url], alice);
    assert.equal(inside.code, 2);
    assert.match(inside.stderr, /refusing to write \.promptloom\/x\.jsonl: it is inside \.promptloom\//);
  });
});
