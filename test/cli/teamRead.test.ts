/**
 * `promptloom stats`, `conversations` and `review` with --database-url, as users run them (the
 * built CLI), against a real PostgreSQL: two members push their workspaces, then read the team
 * database through the same queries the workspace database answers.
 */
import { strict as assert } from 'node:assert';
import { Store, WorkspaceTemplateRepository } from '../../src/core/store';
import { promptloom, type Run } from '../helpers/cli';
import { startPostgres, type PostgresServer } from '../helpers/postgres';
import { fillWorkspace } from '../helpers/teamWorkspace';

const OWNER_PASSWORD = 'Own3r-team-read-zq';
const ALICE_PASSWORD = 'al1ce-Reads-qx';
const BOB_PASSWORD = 'b0b-Reviews-kw';

/** The CLI with no team database in its environment but what a test gives. */
function run(args: readonly string[], env: Readonly<Record<string, string>> = {}): Run {
  return promptloom(args, { env: { PROMPTLOOM_DATABASE_URL: '', ...env } });
}

function ok(result: Run): string {
  assert.equal(result.code, 0, result.stderr);
  return result.stdout;
}

interface StatsJson {
  templates: { file: string; usageCount: number; succeeded: number; failed: number; approvalRate: number | null; totalCostUsd: number; author: string | null }[];
  totals: { conversations: number; generations: number; costUsd: number };
}

/**
 * Figures compared to 12 significant digits: a mean or sum of floating-point scores and costs
 * depends on the order the rows are added in, which each backend chooses for itself (7.15 in
 * one, 7.1499999999999995 in the other). Counts, ids and every other value compare exactly.
 */
function sameFigures(actual: unknown, expected: unknown): void {
  // The author is the team's alone (null in a workspace): compared on its own where it matters.
  const round = (v: unknown): unknown =>
    typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(12)) : Array.isArray(v) ? v.map(round) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'author').map(([k, x]) => [k, round(x)])) : v;
  assert.deepEqual(round(actual), round(expected));
}

interface ConversationJson {
  id: string;
  template: string;
  status: string;
}

describe('stats, conversations and review on the team database (a real PostgreSQL)', function () {
  this.timeout(120_000);
  let server: PostgresServer;
  let aliceUrl: string;
  let bobUrl: string;
  let aliceWorkspace: string;
  let bobWorkspace: string;

  const stats = (args: string[], env?: Record<string, string>) => JSON.parse(ok(run(['stats', '--format', 'json', ...args], env))) as StatsJson;
  const conversations = (args: string[]) => JSON.parse(ok(run(['conversations', '--format', 'json', ...args]))) as ConversationJson[];

  before(async () => {
    server = await startPostgres();
    await server.createTeam(OWNER_PASSWORD, { alice: ALICE_PASSWORD, bob: BOB_PASSWORD });
    ok(run(['db', 'init', '--database-url', server.url('team_owner', OWNER_PASSWORD, 'team')]));
    await server.admin(['GRANT promptloom_member TO alice', 'GRANT promptloom_member TO bob']);
    aliceUrl = server.url('alice', ALICE_PASSWORD, 'team');
    bobUrl = server.url('bob', BOB_PASSWORD, 'team');
    // Alice: an active template, 4 conversations (one reviewed), a failed attempt.
    aliceWorkspace = await fillWorkspace({ path: 'support.prompt', conversations: 4 });
    // Bob: a template he keeps private (inactive), with 3 conversations of its own.
    bobWorkspace = await fillWorkspace({ path: 'private.prompt', start: 1_700_100_000_000 });
    const store = await Store.open(bobWorkspace);
    try {
      const templates = new WorkspaceTemplateRepository(store);
      await templates.setActive((await templates.byPath('private.prompt'))!.id, false);
    } finally {
      store.close();
    }
    ok(run(['db', 'push', '--workspace', aliceWorkspace, '--database-url', aliceUrl]));
    ok(run(['db', 'push', '--workspace', bobWorkspace, '--database-url', bobUrl]));
  });

  after(() => server?.dispose());

  it("stats: a member's team figures are their workspace's figures for the same data", async () => {
    const local = stats(['--workspace', aliceWorkspace]);
    assert.equal(local.templates.length, 1);
    assert.equal(local.templates[0]!.usageCount, 5);
    // Bob's private template and its conversations are not Alice's to see: the team figures she
    // gets are exactly those of her own workspace.
    sameFigures(stats(['--database-url', aliceUrl]), local);
    // And the same words: a mean of 7.0, 7.1, 7.2 and 7.3 is 7.15 on both, so "quality 7.2" on
    // both. A review rewrites a row, which PostgreSQL then reads last: added up in that order, the
    // mean was 7.1499999999999995, shown as 7.1.
    await server.admin(["UPDATE promptloom.conversations SET status = status WHERE quality = 7"], 'team');
    assert.equal(ok(run(['stats', '--database-url', aliceUrl])), ok(run(['stats', '--workspace', aliceWorkspace])).replace('(template)\n', '(template) by alice\n'));
    // The environment names the team database as well as the flag.
    sameFigures(stats([], { PROMPTLOOM_DATABASE_URL: aliceUrl }), local);
  });

  it("stats: another member sees everyone's figures for an active template, though not its logs, and their own private one", () => {
    const alices = stats(['--workspace', aliceWorkspace]).templates[0]!;
    const bobs = stats(['--database-url', bobUrl]);
    assert.deepEqual(
      bobs.templates.map((t) => [t.file, t.author]),
      [['private.prompt', 'bob'], ['support.prompt', 'alice']],
    );
    // Alice's logs are hers alone (row-level security); their figures reach Bob through the
    // team's analytics view, the same as Alice's own.
    sameFigures(bobs.templates.find((t) => t.file === 'support.prompt'), alices);
    sameFigures(bobs.totals, { conversations: 4 + 3, generations: 5 + 4, costUsd: 0.07 });
    // Alice sees none of Bob's private template.
    const alicesView = stats(['--database-url', aliceUrl]);
    assert.ok(!alicesView.templates.some((t) => t.file === 'private.prompt'));
    assert.equal(alicesView.totals.conversations, 4);
  });

  it('stats: the text output has the workspace shape', () => {
    const team = ok(run(['stats', '--database-url', aliceUrl]));
    // (The mean quality, 7.15 give or take the last bit, is left out: its first decimal rounds either way.)
    const shape = (text: string) => text.replace(/quality \S+ /, 'quality … ');
    assert.equal(shape(team), shape(ok(run(['stats', '--workspace', aliceWorkspace]))).replace('(template)\n', '(template) by alice\n'));
    assert.match(team, /^support\.prompt {2}Support \(template\) by alice\n {2}5 generations \(4 ok, 1 failed\) · quality 7\.[12] \[7\.0–7\.3\] stable · approved 100% · 5 ms avg · \$0\.0400\ntotal: 4 conversations, 5 generations, \$0\.0400\n$/);
  });

  it('conversations: the same list as the workspace; private work stays with its author', () => {
    const local = conversations(['--workspace', aliceWorkspace]);
    assert.equal(local.length, 4);
    assert.deepEqual(conversations(['--database-url', aliceUrl]), local);
    const bobsLocal = conversations(['--workspace', bobWorkspace]);
    const bobsTeam = conversations(['--database-url', bobUrl]);
    assert.deepEqual(new Set(bobsTeam.map((c) => c.id)), new Set([...local, ...bobsLocal].map((c) => c.id)));
    // Filters work there too: a status, and a template given as a file.
    // (Each workspace had its first conversation approved; Alice's are the older.)
    assert.deepEqual(conversations(['--database-url', bobUrl, '--status', 'approved']).map((c) => c.id), [local[0]!.id, bobsLocal[0]!.id]);
    assert.deepEqual(conversations(['--database-url', bobUrl, '--template', 'private.prompt']).map((c) => c.id), bobsLocal.map((c) => c.id));
  });

  it('review: one member’s review is the team’s; a private conversation cannot be reviewed by others', () => {
    const [, second, third] = conversations(['--database-url', aliceUrl]);
    // Alice approves by a short id; Bob sends another of Alice's conversations back.
    assert.equal(ok(run(['review', second!.id.slice(0, 8), 'approve', '--note', 'fine', '--database-url', aliceUrl])), `conversation ${second!.id}: approved (fine)\n`);
    assert.equal(ok(run(['review', third!.id, 'needs-revision', '--database-url', bobUrl])), `conversation ${third!.id}: needs revision\n`);
    const byBob = new Map(conversations(['--database-url', bobUrl]).map((c) => [c.id, c.status]));
    assert.equal(byBob.get(second!.id), 'approved');
    const byAlice = new Map(conversations(['--database-url', aliceUrl]).map((c) => [c.id, c.status]));
    assert.equal(byAlice.get(third!.id), 'needs_revision');
    // The approval rate counts both reviews and the pushed one: 2 approved of 3 reviewed.
    assert.equal(stats(['--database-url', bobUrl]).templates.find((t) => t.file === 'support.prompt')!.approvalRate, 2 / 3);
    // Bob's private conversation is no conversation to Alice; her workspace is unchanged.
    const hidden = conversations(['--database-url', bobUrl, '--template', 'private.prompt']).find((c) => c.status === 'pending')!;
    const refused = run(['review', hidden.id, 'reject', '--database-url', aliceUrl]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /no conversation ".*" in the team database/);
    assert.equal(conversations(['--database-url', bobUrl, '--template', 'private.prompt']).find((c) => c.id === hidden.id)!.status, 'pending');
    assert.equal(conversations(['--workspace', aliceWorkspace]).filter((c) => c.status !== 'pending').length, 1);
  });

  it('a wrong password or URL: one line, exit 2, the password never echoed', () => {
    const wrong = 'Wr0ng-read-pa55-kv';
    const url = server.url('alice', wrong, 'team');
    for (const args of [['stats'], ['conversations'], ['review', 'abcd1234', 'approve']]) {
      for (const result of [run([...args, '--database-url', url]), run(args, { PROMPTLOOM_DATABASE_URL: url })]) {
        assert.equal(result.code, 2, result.stderr);
        assert.equal(result.stdout, '');
        assert.equal(result.stderr, `promptloom: alice@127.0.0.1:${server.port}/team: password authentication failed\n`);
      }
    }
    const refused = run(['stats', '--database-url', `postgresql://alice:${wrong}@127.0.0.1:1/team`]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /^promptloom: alice@127\.0\.0\.1:1\/team: connection refused/);
    assert.ok(!refused.stderr.includes(wrong));
  });
});
