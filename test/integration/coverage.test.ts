import { strict as assert } from 'node:assert';
import * as vscode from 'vscode';
import type { CoverageView, DashboardData } from '../../src/shared/dashboardProtocol';
import { waitFor, workspaceFile } from './helpers';

interface Dashboard {
  lastData?: DashboardData;
  fillRequest(template: number): Promise<{ file: string; count: number; cells: { values: Record<string, unknown>; count: number }[] } | undefined>;
}

interface Summary {
  id: string;
  status: string;
  parameters: Record<string, unknown>;
}

const TEMPLATE = [
  '---',
  'name: Coverage fixture',
  'personas: [Anxious Investor, Near Retiree]',
  'variables:',
  '  persona: { type: text }',
  '  channel: { type: dropdown, options: [phone, chat] }',
  '  topic: { type: text }',
  '---',
  'Write a conversation with <<persona>> over <<channel>> about <<topic>>.',
  '',
].join('\n');

/** The cells of a coverage as `persona/channel approved/requested lacks`, in row-major order. */
function grid(c: CoverageView): string[] {
  return [...c.cells]
    .sort((a, b) => a.at[0]! - b.at[0]! || a.at[1]! - b.at[1]!)
    .map((cell) => `${c.domains[0]![cell.at[0]!]}/${c.domains[1]![cell.at[1]!]} ${cell.approved}/${cell.requested} lacks ${cell.lacks}`);
}

describe('coverage of a value plan on the dashboard', function () {
  this.timeout(120_000);

  before(async () => {
    await vscode.commands.executeCommand('promptloom.setApiKey', 'sk-integration-key');
  });

  it('a plan batch, some reviews, then the coverage, its gaps and a fill plan that Generate Batch runs', async () => {
    const uri = workspaceFile('coverage.prompt');
    await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(TEMPLATE));
    const outcome = await vscode.commands.executeCommand<{ coverage: { requested: number; succeeded: number }[] }>('promptloom.generateBatch', uri, {
      count: 2,
      values: { topic: 'bonds' },
      plan: { vary: ['persona', 'channel'], sampling: 'grid' },
    });
    assert.deepEqual(outcome.coverage.map((c) => [c.requested, c.succeeded]), [[2, 2], [2, 2], [2, 2], [2, 2]]);

    // Review: Anxious Investor by phone both approved, by chat one; Near Retiree by chat both,
    // by phone one rejected and one left pending.
    await vscode.commands.executeCommand('promptloom.filterConversations', { templatePath: 'coverage.prompt' });
    const listed = await vscode.commands.executeCommand<Summary[]>('promptloom.refreshConversations');
    assert.equal(listed.length, 8);
    const of = (persona: string, channel: string) => listed.filter((c) => c.parameters.persona === persona && c.parameters.channel === channel).map((c) => c.id);
    const approve = [...of('Anxious Investor', 'phone'), of('Anxious Investor', 'chat')[0]!, ...of('Near Retiree', 'chat')];
    for (const id of approve) assert.equal(await vscode.commands.executeCommand('promptloom.approveConversation', id), 1);
    assert.equal(await vscode.commands.executeCommand('promptloom.rejectConversation', of('Near Retiree', 'phone')[0]!), 1);
    await vscode.commands.executeCommand('promptloom.clearConversationFilter');

    const panel = (await vscode.commands.executeCommand<Dashboard>('promptloom.showDashboard'))!;
    const approvedIn = (c: CoverageView) => c.cells.reduce((n, cell) => n + cell.approved, 0);
    const view = await waitFor('the reviews in the dashboard’s coverage', () => {
      const c = panel.lastData?.coverage.find((x) => x.file === 'coverage.prompt');
      return c && approvedIn(c) === 5 ? c : undefined;
    });
    assert.equal(view.name, 'Coverage fixture');
    assert.deepEqual(view.varied, ['persona', 'channel']);
    assert.deepEqual(view.domains, [['Anxious Investor', 'Near Retiree'], ['phone', 'chat']]);
    assert.deepEqual(grid(view), ['Anxious Investor/phone 2/2 lacks 0', 'Anxious Investor/chat 1/2 lacks 1', 'Near Retiree/phone 0/2 lacks 2', 'Near Retiree/chat 2/2 lacks 0']);
    assert.deepEqual([view.target, view.gapCells, view.lacking], [2, 2, 3]);
    assert.deepEqual(view.cells.map((c) => c.total), [2, 2, 2, 2]);
    // Templates whose runs varied nothing have no coverage to show.
    assert.equal(panel.lastData!.coverage.find((x) => x.file === 'generate.prompt'), undefined);

    // The fill plan: the gaps, least covered first, with every value (the topic too).
    const fill = (await panel.fillRequest(view.template))!;
    assert.deepEqual(fill, {
      template: view.template,
      file: 'coverage.prompt',
      count: 3,
      cells: [
        { values: { persona: 'Near Retiree', channel: 'phone', topic: 'bonds' }, count: 2 },
        { values: { persona: 'Anxious Investor', channel: 'chat', topic: 'bonds' }, count: 1 },
      ],
    });

    // Generate Batch runs it as explicit value sets (no confirmation asked by a caller with options).
    const filled = await vscode.commands.executeCommand<{ coverage: { values: Record<string, unknown>; requested: number; succeeded: number }[] }>('promptloom.generateBatch', uri, { count: fill.count, plan: { cells: fill.cells } });
    assert.deepEqual(
      filled.coverage.map((c) => [c.values.persona, c.values.channel, c.values.topic, c.requested, c.succeeded]),
      [
        ['Near Retiree', 'phone', 'bonds', 2, 2],
        ['Anxious Investor', 'chat', 'bonds', 1, 1],
      ],
    );
    // New conversations are pending: the gaps stay until they are approved; the target does not move.
    const after = await waitFor('the fill batch in the dashboard’s coverage', () => {
      const c = panel.lastData?.coverage.find((x) => x.file === 'coverage.prompt');
      return c && c.cells.reduce((n, cell) => n + cell.total, 0) === 11 ? c : undefined;
    });
    assert.deepEqual(grid(after), ['Anxious Investor/phone 2/2 lacks 0', 'Anxious Investor/chat 1/3 lacks 1', 'Near Retiree/phone 0/4 lacks 2', 'Near Retiree/chat 2/2 lacks 0']);
    assert.equal(after.target, 2);
  });
});
