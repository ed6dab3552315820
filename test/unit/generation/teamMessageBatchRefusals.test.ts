/**
 * Message Batches results on the team store that PostgreSQL would refuse (found in review): an
 * answer holding a NUL character (PostgreSQL's text and jsonb refuse it; SQLite takes it) is stored
 * with U+FFFD in its place; and a result the server refuses for any reason no longer keeps the good,
 * paid results of its group out (the group is stored one by one, and the first refusal used to throw
 * out of that loop, on every resume).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { realClock, type Clock } from '../../../src/core/generation/engine';
import { createClient } from '../../../src/core/generation/claude';
import { runTeamMessageBatches } from '../../../src/core/generation/messageBatches';
import { withoutNul } from '../../../src/core/store/dialect';
import { pgParams, TeamDatabase } from '../../../src/core/store/postgres/teamDatabase';
import { Workspace } from '../../../src/core/workspace';
import { FakeMessagesApi } from '../../fixtures/fakeMessagesApi';
import { startPostgres, type PostgresServer } from '../../helpers/postgres';

const KEY = 'sk-test-fake-key';
const TEMPLATE = '---\nname: Batched\ntier: template\n---\nWrite a conversation about bonds.\n';
const quick: Clock = { now: () => Date.now(), sleep: (ms, signal) => realClock.sleep(Math.min(ms, 25), signal) };

/** Appends a NUL to every long string under `value` (the answer's turns). */
function withNul(value: unknown): unknown {
  if (typeof value === 'string') return value.length > 20 ? `${value}\u0000` : value;
  if (Array.isArray(value)) return value.map(withNul);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withNul(v)]));
  return value;
}

describe('review: a Message Batches result the team store refuses (real PostgreSQL)', function () {
  this.timeout(120_000);
  let server: PostgresServer;
  let api: FakeMessagesApi;
  let alice: TeamDatabase;

  before(async () => {
    server = await startPostgres();
    await server.startTeam('owner-secret', { alice: 'a-secret' });
    alice = await TeamDatabase.connect(server.url('alice', 'a-secret', 'team'));
    api = await FakeMessagesApi.start({ apiKey: KEY, batchProcessingMs: 50 });
  });

  after(async () => {
    await alice?.close().catch(() => undefined);
    await api?.stop();
    server?.dispose();
  });

  /** A team Message Batches run of 4 whose first result line is changed by `change`. */
  async function runChangingFirstLine(change: (line: unknown) => unknown): Promise<{ batchId: string; stopped: string | null; unstored: number; workspace: Workspace; folder: string }> {
    const folder = mkdtempSync(join(tmpdir(), 'promptloom-team-refused-'));
    writeFileSync(join(folder, 't.prompt'), TEMPLATE);
    const workspace = new Workspace(folder, [{ maxAttempts: 1 }]);
    const prepared = workspace.prepareBatch({ file: join(folder, 't.prompt'), text: TEMPLATE, values: new Map(), count: 4 });
    assert.ok(prepared.ok);
    const client = createClient({ apiKey: KEY, baseURL: api.url, timeoutMs: 5000 });
    const results = client.messages.batches.results.bind(client.messages.batches);
    (client.messages.batches as unknown as { results: unknown }).results = async (id: string) => {
      const lines = await results(id);
      return (async function* () {
        let n = 0;
        for await (const line of lines) yield n++ === 0 ? (change(line) as typeof line) : line;
      })();
    };
    const outcome = await runTeamMessageBatches({ ...prepared.input, db: alice, apiKey: KEY, baseURL: api.url, clock: quick, client });
    return { batchId: outcome.batchId, stopped: outcome.summary.stopped ?? null, unstored: (outcome.summary as { unstored?: number }).unstored ?? 0, workspace, folder };
  }

  const storedOf = async (batchId: string) => Number((await alice.get('SELECT count(*) AS n FROM conversations WHERE batch_id = ?', [batchId]))!.n);

  it('an answer holding a NUL character is stored, U+FFFD in its place, with the others', async () => {
    const run = await runChangingFirstLine(withNul);
    assert.equal(await storedOf(run.batchId), 4, `stopped: ${run.stopped}`);
    const turns = await alice.all<{ content: string }>("SELECT t.content FROM turns t JOIN conversations c ON c.id = t.conversation_id WHERE c.batch_id = ? AND t.content LIKE '%' || chr(65533) || '%'", [run.batchId]);
    assert.ok(turns.length > 0, 'the NUL became U+FFFD');
  });

  it('a result the server refuses (any reason) leaves the good results beside it stored; resume takes it in once it can', async () => {
    // The server refuses a turn that says so (a trigger stands for any refusal of one record).
    await server.admin([
      `CREATE FUNCTION promptloom.refuse_marked() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.content LIKE '%refuse-this-turn%' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$`,
      'CREATE TRIGGER refuse_marked BEFORE INSERT ON promptloom.turns FOR EACH ROW EXECUTE FUNCTION promptloom.refuse_marked()',
    ], 'team');
    const mark = (value: unknown): unknown => {
      if (typeof value === 'string') return value.length > 20 ? `${value} refuse-this-turn` : value;
      if (Array.isArray(value)) return value.map(mark);
      if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mark(v)]));
      return value;
    };
    const run = await runChangingFirstLine(mark);
    assert.equal(await storedOf(run.batchId), 3, 'three good answers were paid for');
    assert.deepEqual([run.stopped, run.unstored], ['error', 1]);
    assert.deepEqual(await alice.all('SELECT state FROM message_batches WHERE batch_id = ?', [run.batchId]), [{ state: 'submitted' }], 'left for resume to read again');
  });
});

describe('NUL for PostgreSQL (pgParams, Dialect.storable)', () => {
  it('pgParams replaces NUL characters and keeps a text that only spells the escape (a JSON answer) as it is', () => {
    // A model's answer that is itself JSON, pretty-printed, with the escape: PostgreSQL's text takes it.
    const answer = '{\n  "separator": "\\u0000",\n  "ratio": 1.0,\n  "id": 12345678901234567890\n}';
    assert.ok(!answer.includes('\u0000'));
    assert.deepEqual(pgParams(['a\u0000b', answer, 7]), ['a\uFFFDb', answer, 7]);
  });

  it('a record is made storable before its JSON is built: every string of it, nested, without NUL', () => {
    const record = { turns: [{ role: 'assistant', content: 'x\u0000y' }], quality: { findings: [{ excerpt: '\u0000' }] }, costUsd: 0.5, at: null };
    assert.deepEqual(withoutNul(record), { turns: [{ role: 'assistant', content: 'x\uFFFDy' }], quality: { findings: [{ excerpt: '\uFFFD' }] }, costUsd: 0.5, at: null });
    assert.ok(!JSON.stringify(withoutNul(record)).includes('\\u0000'));
  });
});
