/**
 * A teammate's template turned inactive (hidden from the team), deleted or renamed is announced
 * (team migration 13): the Templates view re-reads only the templates a change names, and before,
 * a hidden template's row stayed in its teammates' views until a refresh (found in review).
 */
import { strict as assert } from 'node:assert';
import { templateFigures } from '../../../src/core/analytics';
import { WorkspaceBatchRepository, WorkspaceGenerationRepository, WorkspaceTemplateRepository } from '../../../src/core/store';
import { TeamChanges, type TeamChange } from '../../../src/core/store/postgres/changes';
import { TeamDatabase } from '../../../src/core/store/postgres/teamDatabase';
import { startPostgres, type PostgresServer } from '../../helpers/postgres';

describe('a teammate showing or hiding a template is announced (team migration 13, a real PostgreSQL)', function () {
  this.timeout(60_000);
  let server: PostgresServer;
  let alice: TeamDatabase;
  let bob: TeamDatabase;

  before(async () => {
    server = await startPostgres();
    await server.startTeam('owner-secret', { alice: 'a-secret', bob: 'b-secret' });
    alice = await TeamDatabase.connect(server.url('alice', 'a-secret', 'team'));
    bob = await TeamDatabase.connect(server.url('bob', 'b-secret', 'team'));
  });

  after(async () => {
    await alice?.close().catch(() => undefined);
    await bob?.close().catch(() => undefined);
    server?.dispose();
  });

  async function generate(templateId: number, versionId: number, n: number): Promise<void> {
    const batch = await new WorkspaceBatchRepository(alice).create({ templateId, versionId, requested: 1, parameters: {}, model: 'claude-x', settings: {} });
    await new WorkspaceGenerationRepository(alice).record({
      templateId, versionId, batchId: batch.id, parameters: {}, model: 'claude-x', attempt: 1, status: 'succeeded',
      inputTokens: 10, outputTokens: 20, costUsd: 0.001, durationMs: 5, mode: 'direct',
      conversation: { turns: [{ role: 'user', content: `question ${n} about bonds` }, { role: 'assistant', content: `answer ${n}: a bond pays a coupon` }] },
    });
  }

  it("Alice's template turned inactive, then active again, is named to Bob each time; her private template's rename is not", async () => {
    const templates = new WorkspaceTemplateRepository(alice);
    const t = await templates.ensure('hidden.prompt', { name: 'hidden', tier: 'template' });
    const tv = await templates.recordVersion(t.id, 'body of hidden');
    await generate(t.id, tv.id, 1);
    const p = await templates.ensure('private.prompt', { name: 'private', tier: 'template' });
    await templates.setActive(p.id, false);
    assert.ok((await templateFigures(bob)).some((r) => r.id === t.id));
    const heard: TeamChange[] = [];
    const listener = await TeamChanges.listen(server.url('bob', 'b-secret', 'team'), (c) => heard.push(c), { debounceMs: 50 });
    const named = async (id: number) => {
      for (let i = 0; i < 200 && !heard.some((c) => c.templateIds.has(id)); i++) await new Promise((r) => setTimeout(r, 20));
      return heard.some((c) => c.templateIds.has(id));
    };
    try {
      await templates.setActive(t.id, false);
      assert.ok(await named(t.id), 'hiding it was not announced');
      // Hidden now: Bob's re-read of it gives nothing, which tells his view to read all again.
      assert.deepEqual(await templateFigures(bob, [t.id]), []);
      heard.length = 0;
      await templates.setActive(t.id, true);
      assert.ok(await named(t.id), 'showing it again was not announced');
      heard.length = 0;
      // A private (inactive) template that stays so is its author's alone: never named.
      await templates.ensure('private.prompt', { name: 'private, renamed', tier: 'template' });
      await generate(t.id, tv.id, 2); // a change Bob does hear, to know the others had their chance
      assert.ok(await named(t.id));
      assert.ok(!heard.some((c) => c.templateIds.has(p.id)), 'a private template was named to a teammate');
    } finally {
      await listener.close();
    }
  });
});
