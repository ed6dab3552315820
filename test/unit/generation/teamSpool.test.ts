/**
 * The team spool's edges without a server: which failures mean "the server is away" (spooled) and
 * which are refusals (the batch stops), and links refused where the spool would be written or read.
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from '../../../src/core/store/database';
import { POSTGRESQL_DIALECT } from '../../../src/core/store/dialect';
import type { GenerationRecord } from '../../../src/core/store';
import { isServerUnreachable, replaySpool, TeamSpool } from '../../../src/core/generation/teamSpool';

const record: GenerationRecord = {
  templateId: 1,
  versionId: 1,
  batchId: 'b1',
  parameters: { topic: 'x' },
  model: 'claude-test',
  attempt: 1,
  status: 'succeeded',
  inputTokens: 1,
  outputTokens: 1,
  costUsd: 0.001,
  durationMs: 10,
  conversationId: '11111111-1111-4111-8111-111111111111',
  conversation: { turns: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] },
};

/** A team handle whose server is away: every write fails as pg fails on a refused connection. */
function awayDatabase(): Database {
  const refused = () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }));
  return { dialect: POSTGRESQL_DIALECT, all: refused, get: async () => ({ u: 'alice' }), run: refused, runAll: refused, transaction: refused } as unknown as Database;
}

describe('team spool', () => {
  it('spools only when the server cannot be reached, never for a refusal of the record', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', '57P01', '57P02', '57P03', '08006', '08001']) assert.equal(isServerUnreachable(Object.assign(new Error(code), { code })), true, code);
    assert.equal(isServerUnreachable(new Error('Connection terminated unexpectedly')), true);
    for (const code of ['23505', '23503', '42501', '40001', '42P01']) assert.equal(isServerUnreachable(Object.assign(new Error(code), { code })), false, code);
    assert.equal(isServerUnreachable(new Error('new row violates row-level security policy')), false);
  });

  it('keeps a paid answer in .promptloom/team-spool/ when the server is away, and refuses a link there', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'promptloom-spool-'));
    const spool = new TeamSpool(folder, awayDatabase());
    await spool.start();
    const kept = await spool.keep(record);
    assert.equal(kept.conversationId, record.conversationId);
    assert.equal(readdirSync(join(folder, '.promptloom', 'team-spool')).length, 1);
    await assert.rejects(spool.settle(0), /stayed unreachable: 1 paid answer is kept in/);

    // Bounded: at the limit, the run is asked to start no new request, naming the spool.
    const bounded = new TeamSpool(folder, awayDatabase(), 2);
    const halts: string[] = [];
    bounded.halt = (reason) => halts.push(reason);
    await bounded.start();
    await bounded.keep({ ...record, conversationId: '22222222-2222-4222-8222-222222222222' });
    assert.deepEqual(halts, []);
    await bounded.keep({ ...record, conversationId: '33333333-3333-4333-8333-333333333333' });
    assert.equal(halts.length, 1);
    assert.match(halts[0]!, /unreachable and 2 answers wait in .*team-spool.*: no new request is started/);
    await assert.rejects(bounded.settle(0), /2 paid answers are kept/);

    // The spool folder a link to elsewhere: nothing written through it, nothing read from it.
    const linked = mkdtempSync(join(tmpdir(), 'promptloom-spool-'));
    const elsewhere = mkdtempSync(join(tmpdir(), 'promptloom-elsewhere-'));
    mkdirSync(join(linked, '.promptloom'));
    symlinkSync(elsewhere, join(linked, '.promptloom', 'team-spool'));
    const through = new TeamSpool(linked, awayDatabase());
    await through.start();
    await assert.rejects(through.keep(record), /link/);
    assert.deepEqual(readdirSync(elsewhere), []);
    const replayed = await replaySpool(linked, awayDatabase());
    assert.equal(replayed.written, 0);
    assert.match(replayed.notices.join('\n'), /is not a folder/);
  });
});
