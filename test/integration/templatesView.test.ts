import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, symlinkSync } from 'node:fs';
import * as vscode from 'vscode';
import { templateRows } from '../../src/core/analytics';
import { Store } from '../../src/core/store';
import type { TemplatesShown, TemplateRowShown } from '../../src/extension/templatesView';
import type { DashboardData } from '../../src/shared/dashboardProtocol';
import { waitFor, workspaceFile } from './helpers';

// Written by the test (so the view's file watcher has to find them), removed after it.
const ALPHA = ['---', 'name: TView Alpha', '# kept as written: a comment', 'tier: scenario', '---', 'Write a conversation with a saver about bond ladders.', ''].join('\n');
const BRAVO = ['---', 'name: TView Bravo', 'tier: template', '---', 'Write a conversation about index funds.', ''].join('\n');

const run = <T>(command: string, ...args: unknown[]) => vscode.commands.executeCommand<T>(command, ...args);
const rows = () => run<TemplatesShown>('promptloom.refreshTemplates');
const row = (shown: TemplatesShown, path: string): TemplateRowShown | undefined => shown.rows.find((r) => r.path === path);

describe('the Templates view', function () {
  this.timeout(120_000);
  const alpha = workspaceFile('tview-alpha.prompt');
  const bravo = workspaceFile('tview-bravo.prompt');

  before(async () => {
    await run('promptloom.setApiKey', 'sk-integration-key');
    await vscode.workspace.fs.writeFile(alpha, new TextEncoder().encode(ALPHA));
    await vscode.workspace.fs.writeFile(bravo, new TextEncoder().encode(BRAVO));
  });

  after(async () => {
    await run('promptloom.sortTemplatesByName');
    await run('promptloom.clearTemplateFilter');
    for (const uri of [alpha, bravo]) await vscode.workspace.fs.delete(uri, { useTrash: false });
  });

  it('lists every .prompt of the workspace, never-generated ones with "no runs", and the figures of generated ones', async () => {
    const files = (await vscode.workspace.findFiles('**/*.prompt')).map((u) => vscode.workspace.asRelativePath(u, false)).sort();
    const shown = await waitFor('the new templates', async () => {
      const s = await run<TemplatesShown>('promptloom.sortTemplatesByName');
      return s && row(s, 'tview-alpha.prompt') && row(s, 'tview-bravo.prompt') ? s : undefined;
    });
    assert.deepEqual(shown.rows.map((r) => r.path).sort(), files);
    assert.deepEqual(shown.rows.map((r) => r.label), [...shown.rows.map((r) => r.name)].sort((a, b) => a.localeCompare(b)), 'by name');
    const fresh = row(shown, 'tview-alpha.prompt')!;
    assert.equal(fresh.label, 'TView Alpha');
    assert.equal(fresh.description, 'scenario · no runs');
    assert.equal(fresh.contextValue, 'template.active');

    // Two generations land, one is approved: the row follows the database.
    const outcome = await run<{ conversations: string[] }>('promptloom.generateBatch', alpha, { count: 2, quiet: true });
    assert.equal(outcome?.conversations.length, 2);
    assert.equal(await run('promptloom.approveConversation', outcome.conversations[0]), 1);
    assert.equal(await run('promptloom.rejectConversation', outcome.conversations[1]), 1);
    const store = await Store.open(vscode.workspace.workspaceFolders![0]!.uri.fsPath);
    const stats = (await templateRows(store)).find((t) => t.file === 'tview-alpha.prompt')!;
    store.close();
    assert.equal(stats.approvalRate, 0.5);
    const generated = await waitFor('the figures', async () => {
      const r = row(await rows(), 'tview-alpha.prompt');
      return r?.figures?.approvalRate === 0.5 ? r : undefined;
    });
    assert.deepEqual(generated.figures, { runs: stats.usageCount, conversations: 2, avgQuality: stats.avgQuality, approvalRate: 0.5 });
    assert.equal(generated.description, `scenario · ${stats.usageCount} runs · quality ${stats.avgQuality!.toFixed(1)} · 50% approved`);
  });

  it('the dashboard lists the workspace templates never generated from, after those with figures', async () => {
    const panel = (await run<{ lastData?: DashboardData; refresh(): Promise<void> }>('promptloom.showDashboard'))!;
    const data = await waitFor('dashboard data with Alpha generated', async () => {
      await panel.refresh();
      return panel.lastData?.templates.some((t) => t.file === 'tview-alpha.prompt') ? panel.lastData : undefined;
    });
    const unrun = data.unrun!.map((t) => t.file);
    assert.ok(unrun.includes('tview-bravo.prompt'), unrun.join(', '));
    assert.ok(!unrun.includes('tview-alpha.prompt'));
    const listed = new Set([...data.templates.map((t) => t.file), ...unrun]);
    const files = (await vscode.workspace.findFiles('**/*.prompt')).map((u) => vscode.workspace.asRelativePath(u, false));
    assert.deepEqual(files.filter((f) => !listed.has(f)), [], 'every template file is listed');
    assert.deepEqual(data.unrun!.find((t) => t.file === 'tview-bravo.prompt'), { name: 'TView Bravo', file: 'tview-bravo.prompt', tier: 'template' });

    // A template file added while the dashboard is open shows up there by itself.
    const charlie = workspaceFile('tview-charlie.prompt');
    await vscode.workspace.fs.writeFile(charlie, new TextEncoder().encode('---\nname: TView Charlie\ntier: edge_case\n---\nWrite about fees.\n'));
    try {
      const added = await waitFor('Charlie on the dashboard', () => panel.lastData?.unrun?.find((t) => t.file === 'tview-charlie.prompt'));
      assert.deepEqual(added, { name: 'TView Charlie', file: 'tview-charlie.prompt', tier: 'edge_case' });
    } finally {
      await vscode.workspace.fs.delete(charlie, { useTrash: false });
    }
    await waitFor('Charlie gone', () => (panel.lastData?.unrun?.some((t) => t.file === 'tview-charlie.prompt') ? undefined : true));
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });

  it('sorts by usage, rating and last modified, remembering the choice in its description', async () => {
    const usage = (await run<TemplatesShown>('promptloom.sortTemplatesByUsage'))!;
    assert.match(usage.description, /by usage/);
    const runs = usage.rows.map((r) => r.figures!.runs);
    assert.deepEqual(runs, [...runs].sort((a, b) => b - a), 'most runs first');
    assert.ok(runs[0]! > 0 && runs[runs.length - 1] === 0, `runs ${runs.join(', ')}`);

    const rating = (await run<TemplatesShown>('promptloom.sortTemplatesByRating'))!;
    const qualities = rating.rows.map((r) => r.figures!.avgQuality);
    const rated = qualities.filter((q): q is number => q !== null);
    assert.deepEqual(qualities.slice(0, rated.length), [...rated].sort((a, b) => b - a), 'best first');
    assert.ok(qualities.slice(rated.length).every((q) => q === null), 'unrated last');
    assert.match((await rows()).description, /by rating/, 'the choice stays');

    // Alpha was written before Bravo; written again, it becomes the most recently modified.
    const first = (await run<TemplatesShown>('promptloom.sortTemplatesByModified'))!.rows[0]!.path;
    assert.notEqual(first, 'tview-alpha.prompt');
    await vscode.workspace.fs.writeFile(alpha, new TextEncoder().encode(ALPHA));
    const modified = await waitFor('Alpha first', async () => {
      const s = await run<TemplatesShown>('promptloom.sortTemplatesByModified');
      return s?.rows[0]?.path === 'tview-alpha.prompt' ? s : undefined;
    });
    const times = modified.rows.map((r) => r.modifiedAt);
    assert.deepEqual(times, [...times].sort((a, b) => b - a));
  });

  it('filters by tier and by active, showing the filter in its description', async () => {
    const all = (await run<TemplatesShown>('promptloom.clearTemplateFilter'))!;
    const scenario = (await run<TemplatesShown>('promptloom.filterTemplates', { tier: 'scenario' }))!;
    assert.deepEqual(scenario.rows.map((r) => r.path), all.rows.filter((r) => r.tier === 'scenario').map((r) => r.path));
    assert.ok(scenario.rows.length > 0 && scenario.rows.length < all.rows.length);
    assert.match(scenario.description, /^filtered: tier scenario · /);
    const inactive = (await run<TemplatesShown>('promptloom.filterTemplates', { active: false }))!;
    assert.deepEqual(inactive.rows.map((r) => r.path), all.rows.filter((r) => !r.active).map((r) => r.path));
    assert.match(inactive.description, /^filtered: inactive · /);
    assert.doesNotMatch((await run<TemplatesShown>('promptloom.clearTemplateFilter'))!.description, /filtered/);
  });

  it('neither reads nor lists a .prompt that is a FIFO or a link to a device (a cloned repository’s files are data)', async () => {
    const fifo = workspaceFile('tview-fifo.prompt');
    const device = workspaceFile('tview-zero.prompt');
    const sentinel = workspaceFile('tview-sentinel.prompt');
    execFileSync('mkfifo', [fifo.fsPath]);
    symlinkSync('/dev/zero', device.fsPath);
    try {
      await vscode.workspace.fs.writeFile(sentinel, new TextEncoder().encode('Written after the others.\n'));
      // Refresh finds every file again and reads them all: a read that never ends would hang it.
      const shown = await waitFor('the sentinel', async () => {
        const s = await rows();
        return row(s, 'tview-sentinel.prompt') ? s : undefined;
      });
      assert.equal(row(shown, 'tview-fifo.prompt'), undefined);
      assert.equal(row(shown, 'tview-zero.prompt'), undefined);
    } finally {
      for (const uri of [fifo, device, sentinel]) rmSync(uri.fsPath, { force: true });
    }
  });

  it('Mark Inactive writes `active: false` into the front matter, keeping the rest; generating then asks; Mark Active restores the file', async () => {
    assert.equal(await run('promptloom.markTemplateInactive', alpha), true);
    assert.equal(readFileSync(alpha.fsPath, 'utf8'), ALPHA.replace('tier: scenario\n', 'tier: scenario\nactive: false\n'), 'saved, and only the one line added');
    const marked = await waitFor('the inactive row', async () => {
      const r = row(await rows(), 'tview-alpha.prompt');
      return r && !r.active ? r : undefined;
    });
    assert.equal(marked.contextValue, 'template.inactive');
    assert.match(marked.description, /^inactive · scenario · /);
    const inactiveOnly = (await run<TemplatesShown>('promptloom.filterTemplates', { active: false }))!;
    assert.ok(row(inactiveOnly, 'tview-alpha.prompt'));
    await run('promptloom.clearTemplateFilter');

    // Declining the question generates nothing; accepting it generates.
    const before = marked.figures!.runs;
    assert.equal(await run('promptloom.generateBatch', alpha, { count: 1, quiet: true, ifInactive: 'cancel' }), undefined);
    assert.equal(row(await rows(), 'tview-alpha.prompt')!.figures!.runs, before);
    const anyway = await run<{ conversations: string[] }>('promptloom.generateBatch', alpha, { count: 1, quiet: true, ifInactive: 'generate' });
    assert.equal(anyway?.conversations.length, 1);

    assert.equal(await run('promptloom.markTemplateActive', alpha), true);
    assert.equal(readFileSync(alpha.fsPath, 'utf8'), ALPHA.replace('tier: scenario\n', 'tier: scenario\nactive: true\n'), 'the same line, now true');
    const back = await waitFor('the active row', async () => {
      const r = row(await rows(), 'tview-alpha.prompt');
      return r?.active ? r : undefined;
    });
    assert.equal(back.contextValue, 'template.active');
  });
});
