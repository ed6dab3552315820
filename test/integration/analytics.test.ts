import { strict as assert } from 'node:assert';
import * as vscode from 'vscode';
import type { TestResultView } from '../../src/shared/testProtocol';
import type { DashboardData, SideView } from '../../src/shared/dashboardProtocol';
import { computeStats } from '../../src/core/analytics';
import { Store } from '../../src/core/store';
import { dashboardData } from '../../src/extension/dashboard/dashboardData';
import { scriptFakeApi, waitFor, workspaceFile } from './helpers';

interface Dashboard {
  lastData?: DashboardData;
  /** What the figures were read through: on the workspace database, its Store in the worker. */
  lastDb?: { running?: boolean; fallenBack?: boolean; writable?: boolean };
  lastComparison?: { sides: readonly [SideView, SideView] };
  compare(request: unknown): Promise<void>;
  exportCsv(target: vscode.Uri): Promise<vscode.Uri | undefined>;
}

describe('template testing, the dashboard and export', function () {
  this.timeout(120_000);

  before(async () => {
    await vscode.commands.executeCommand('promptloom.setApiKey', 'sk-integration-key');
  });

  it('Test Template passes a template whose test conversations meet its threshold and baseline', async () => {
    // An earlier run of generate.prompt is its baseline.
    await vscode.commands.executeCommand('promptloom.runTestGeneration', workspaceFile('generate.prompt'), { persona: 'Near Retiree' });
    const result = (await vscode.commands.executeCommand<TestResultView>('promptloom.testTemplate', workspaceFile('generate.prompt'), 2))!;
    assert.equal(result.runs.length, 2);
    assert.ok(result.runs.every((r) => r.conversationId && typeof r.overall === 'number'));
    assert.equal(result.passed, true, JSON.stringify(result.criteria));
    assert.equal(result.baseline?.source, 'earlier conversations');
    assert.ok(result.deviation !== undefined && Math.abs(result.deviation - (result.average! - result.baseline!.average)) < 1e-9);
    assert.deepEqual(result.criteria.map((c) => c.name), ['every run generated', 'average at or above the threshold', 'no run below the threshold', 'valid structure', 'no run flagged for revision', 'not worse than the baseline']);
    const tab = await waitFor('the test panel', () => vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => t.label.startsWith('Test passed: Generation fixture')));
    assert.ok(tab);
  });

  it('Test Template fails when its generations fail, saying which criteria failed', async () => {
    // A key the API refuses: every test generation fails for good.
    await vscode.commands.executeCommand('promptloom.setApiKey', 'sk-refused-key');
    try {
      const result = (await vscode.commands.executeCommand<TestResultView>('promptloom.testTemplate', workspaceFile('strict.prompt'), 2))!;
      assert.equal(result.passed, false);
      assert.equal(result.threshold, 10);
      assert.equal(result.baseline, undefined, 'a new template has no baseline');
      assert.deepEqual(
        result.criteria.filter((c) => !c.passed).map((c) => `${c.name}: ${c.detail}`),
        ['every run generated: 2 of 2 failed', 'average at or above the threshold: nothing scored', 'no run below the threshold: lowest —'],
      );
      await waitFor('the test panel', () => vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => t.label === 'Test failed: Strict fixture'));
    } finally {
      await vscode.commands.executeCommand('promptloom.setApiKey', 'sk-integration-key');
    }
  });

  it('Test Template shows the judge’s grade of each run when promptloom.quality.judge is on', async () => {
    const config = vscode.workspace.getConfiguration('promptloom');
    await config.update('quality.judge', 'on', vscode.ConfigurationTarget.Workspace);
    try {
      const result = (await vscode.commands.executeCommand<TestResultView>('promptloom.testTemplate', workspaceFile('generate.prompt'), 2))!;
      assert.equal(result.runs.length, 2);
      for (const run of result.runs) {
        // Graded by the fake Messages API over HTTP: its grade of a clean conversation.
        assert.ok(run.judge, `run ${run.conversationId} has no judge part: ${JSON.stringify(run)}`);
        assert.match(run.judge.model, /^claude-/);
        assert.equal(run.judge.reason, 'answers every question, in role, and closes naturally');
        assert.ok(run.judge.overall >= 1 && run.judge.overall <= 10);
        // The judge's part caps the run's score.
        assert.ok(run.overall! <= run.judge.score + 1e-9, `${run.overall} above the judge's ${run.judge.score}`);
      }
      // The breakdown of the same conversation holds the same part: the panel shows what is stored.
      const store = await Store.open(vscode.workspace.workspaceFolders![0]!.uri.fsPath);
      try {
        const row = await store.get('SELECT breakdown FROM quality_scores WHERE conversation_id = ?', [result.runs[0]!.conversationId!]);
        assert.equal((JSON.parse(String(row?.breakdown)) as { judge: { score: number } }).judge.score, result.runs[0]!.judge!.score);
      } finally {
        store.close();
      }
    } finally {
      await config.update('quality.judge', undefined, vscode.ConfigurationTarget.Workspace);
    }
    // With the judge off again, a run has no judge part.
    const off = (await vscode.commands.executeCommand<TestResultView>('promptloom.testTemplate', workspaceFile('generate.prompt'), 1))!;
    assert.equal(off.runs[0]!.judge, undefined);
  });

  it('Test Template says why a run is flagged: a defect’s finding with its kind, rule and turn; a near-duplicate flagged at a high score', async () => {
    // A repetitive conversation from the fake Messages API: its repeated answer is a defect, which fails it.
    await scriptFakeApi({ kind: 'poor' });
    const poor = (await vscode.commands.executeCommand<TestResultView>('promptloom.testTemplate', workspaceFile('generate.prompt'), 1))!;
    const run = poor.runs[0]!;
    assert.equal(poor.passed, false);
    assert.equal(run.flagged, true, JSON.stringify(run));
    assert.match(run.verdict ?? '', /^flagged: scored \d\.\d, below 6: turn \d+ \(assistant\) (nearly )?repeats /);
    const defect = run.findings?.find((f) => f.kind === 'defect');
    assert.ok(defect, `no defect among ${JSON.stringify(run.findings)}`);
    assert.equal(defect.rule, 'repeated');
    assert.match(defect.message, new RegExp(`^turn ${defect.turn + 1} \\(assistant\\) (nearly )?repeats`));
    assert.equal(run.findings![0], defect, 'the defect comes first');
    // The same finding is on that turn of the run's transcript.
    const editor = (await vscode.commands.executeCommand<vscode.TextEditor>('promptloom.openConversation', run.conversationId))!;
    const onTurn = await waitFor('the defect on the transcript', () => vscode.languages.getDiagnostics(editor.document.uri).find((d) => d.message === defect.message));
    assert.ok(editor.document.lineAt(onTurn.range.start.line).text.startsWith(`**Assistant (turn ${defect.turn + 1}):**`));

    // A near copy of a conversation the template had: flagged whatever it scored, and the panel says why.
    const clean = (await vscode.commands.executeCommand<TestResultView>('promptloom.testTemplate', workspaceFile('generate.prompt'), 1))!;
    assert.equal(clean.runs[0]!.flagged, false, JSON.stringify(clean.runs[0]));
    assert.equal(clean.runs[0]!.findings, undefined, 'a run that passes lists no findings');
    await scriptFakeApi({ kind: 'near-duplicate' });
    const copy = (await vscode.commands.executeCommand<TestResultView>('promptloom.testTemplate', workspaceFile('generate.prompt'), 1))!;
    const dup = copy.runs[0]!;
    assert.ok(dup.overall! >= copy.threshold, `${dup.overall} below ${copy.threshold}`);
    assert.equal(dup.below, false);
    assert.equal(dup.flagged, true);
    const other = clean.runs[0]!.conversationId!.slice(0, 8);
    assert.match(dup.verdict ?? '', new RegExp(`^flagged: near-duplicate of ${other} \\(similarity (0\\.\\d\\d|1\\.00)\\)$`));
    assert.deepEqual(dup.findings?.find((f) => f.kind === 'near-duplicate'), { turn: 0, kind: 'near-duplicate', message: dup.verdict!.slice('flagged: '.length) });
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('the dashboard shows every template, daily series and top performers, compares two, and exports CSV', async () => {
    const panel = (await vscode.commands.executeCommand<Dashboard>('promptloom.showDashboard'))!;
    const data = await waitFor('dashboard data', () => panel.lastData);
    const files = data.templates.map((t) => t.file);
    for (const f of ['generate.prompt', 'strict.prompt']) assert.ok(files.includes(f), `${f} in ${files.join(', ')}`);
    const generate = data.templates.find((t) => t.file === 'generate.prompt')!;
    assert.ok(generate.usageCount >= 2 && generate.avgQuality !== null);
    // Diversity and near-duplicates, as stats reports them, for every template.
    const store = await Store.open(vscode.workspace.workspaceFolders![0]!.uri.fsPath);
    const stats = await computeStats(store);
    // Read off the extension host's thread (the workspace's Store in its worker, the one the
    // editor's writes go to as well), the figures are the ones a Store opened here computes on this thread.
    assert.deepEqual({ running: panel.lastDb?.running, fallenBack: panel.lastDb?.fallenBack, writable: panel.lastDb?.writable }, { running: true, fallenBack: false, writable: true });
    const { computedAt: _at, computeMs: _ms, unrun: _unrun, ...here } = await dashboardData(store);
    const { computedAt: _at2, computeMs: _ms2, unrun: _unrun2, ...shown } = data;
    assert.deepEqual(shown, here);
    store.close();
    for (const t of data.templates) {
      const row = stats.templates.find((r) => r.file === t.file)!;
      assert.deepEqual([t.diversity, t.nearDuplicates], [row.diversity, row.nearDuplicates], t.file);
    }
    assert.equal(data.series.reduce((n, p) => n + p.generations, 0), data.totals.generations);
    // Periods of a day, or of an hour when the data spans under two days (as here, all made today),
    // on an axis drawn from the data.
    assert.match(data.series.at(-1)!.day, data.axis.unit === 'hour' ? /^\d{4}-\d{2}-\d{2}T\d{2}:00$/ : /^\d{4}-\d{2}-\d{2}$/);
    assert.ok(data.axis.max - data.axis.min < (data.axis.unit === 'hour' ? 3 * 86_400 : Infinity), JSON.stringify(data.axis));

    const strict = data.templates.find((t) => t.file === 'strict.prompt')!;
    await panel.compare({ kind: 'templates', a: generate.id, b: strict.id });
    const sides = panel.lastComparison!.sides;
    assert.deepEqual(sides.map((s) => s.label), ['Generation fixture (generate.prompt)', 'Strict fixture (strict.prompt)']);
    assert.equal(sides[1].figures.usageCount, strict.usageCount);

    const target = workspaceFile('stats-export.csv');
    await panel.exportCsv(target);
    const csv = new TextDecoder().decode(await vscode.workspace.fs.readFile(target)).trim().split('\n');
    assert.equal(csv[0], 'name,file,tier,usageCount,succeeded,failed,avgQuality,minQuality,maxQuality,approvalRate,avgDurationMs,avgCostUsd,totalCostUsd,trend,diversity,nearDuplicates,reviewAgreementReviewed,reviewAgreementAuc,reviewAgreementAccuracy,reviewAgreementSuggestedThreshold,savedUsd,cancelled,author');
    assert.equal(csv.length, data.templates.length + 1);
  });

  it('the dashboard follows new generations', async () => {
    const panel = (await vscode.commands.executeCommand<Dashboard>('promptloom.showDashboard'))!;
    const before = (await waitFor('dashboard data', () => panel.lastData)).totals.generations;
    await vscode.commands.executeCommand('promptloom.runTestGeneration', workspaceFile('generate.prompt'), { persona: 'Near Retiree' });
    // The generation's transcript opens over the dashboard, and a hidden dashboard waits to be
    // shown before it recomputes: show it, as a person would.
    await vscode.commands.executeCommand('promptloom.showDashboard');
    await waitFor('the new generation on the dashboard', () => (panel.lastData!.totals.generations > before ? true : undefined), 15_000);
    // A generation that fails stores no conversation, but it is a run: the dashboard shows it too.
    const afterSuccess = panel.lastData!.totals.generations;
    const failedBefore = panel.lastData!.templates.find((t) => t.file === 'generate.prompt')!.failed;
    await vscode.commands.executeCommand('promptloom.setApiKey', 'sk-refused-key');
    try {
      await vscode.commands.executeCommand('promptloom.runTestGeneration', workspaceFile('generate.prompt'), { persona: 'Near Retiree' });
    } finally {
      await vscode.commands.executeCommand('promptloom.setApiKey', 'sk-integration-key');
    }
    await vscode.commands.executeCommand('promptloom.showDashboard');
    await waitFor('the failed run on the dashboard', () => (panel.lastData!.totals.generations > afterSuccess ? true : undefined), 15_000);
    assert.equal(panel.lastData!.templates.find((t) => t.file === 'generate.prompt')!.failed, failedBefore + 1);
  });

  it('Export Training Data writes the chosen format, one conversation per line', async () => {
    const target = workspaceFile('training.jsonl');
    const written = await vscode.commands.executeCommand<{ count: number }>('promptloom.exportTrainingData', { format: 'anthropic', status: 'all', template: 'generate.prompt', target });
    assert.ok(written && written.count > 0);
    const lines = new TextDecoder().decode(await vscode.workspace.fs.readFile(target)).trim().split('\n').map((l) => JSON.parse(l) as { system?: string; messages: { role: string }[] });
    assert.equal(lines.length, written.count);
    assert.ok(lines.every((l) => l.system === undefined), 'the generation system prompt is never exported (the template has no training_system:)');
    for (const line of lines) line.messages.forEach((m, i) => assert.equal(m.role, i % 2 === 0 ? 'user' : 'assistant'));
    // Nothing approved in strict.prompt: nothing is written, and the command says so.
    assert.equal(await vscode.commands.executeCommand('promptloom.exportTrainingData', { format: 'openai', status: 'approved', template: 'strict.prompt', target: workspaceFile('none.jsonl') }), undefined);
  });

  it('a value plan from Generate Batch, then Export Training Data as a dataset: split, card, the training system message', async () => {
    const uri = workspaceFile('dataset.prompt');
    const text = [
      '---',
      'name: Dataset fixture',
      'personas: [Anxious Investor, Near Retiree]',
      'system: You write conversations between an advisor and <<persona>>.',
      'training_system: You are a calm financial advisor speaking with <<persona>>.',
      'variables:',
      '  persona: { type: text }',
      '  channel: { type: dropdown, options: [phone, chat] }',
      '---',
      'Write a conversation with <<persona>> over <<channel>>.',
      '',
    ].join('\n');
    await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(text));
    const outcome = await vscode.commands.executeCommand<{ batchId: string; coverage: { values: Record<string, unknown>; requested: number; succeeded: number }[] }>('promptloom.generateBatch', uri, {
      count: 8,
      values: {},
      plan: { vary: ['persona', 'channel'] },
    });
    assert.equal(outcome.coverage.length, 4);
    for (const cell of outcome.coverage) assert.deepEqual([cell.requested, cell.succeeded], [2, 2], JSON.stringify(cell.values));

    const target = workspaceFile('dataset.jsonl');
    const written = await vscode.commands.executeCommand<{ count: number }>('promptloom.exportTrainingData', { format: 'openai', status: 'all', template: 'dataset.prompt', target, split: { ratio: 0.5 }, card: true });
    assert.equal(written.count, 8);
    const read = async (name: string) => new TextDecoder().decode(await vscode.workspace.fs.readFile(workspaceFile(name)));
    const train = (await read('dataset.train.jsonl')).trim().split('\n').map((l) => JSON.parse(l) as { messages: { role: string; content: string }[] });
    const validation = (await read('dataset.validation.jsonl')).trim().split('\n');
    assert.equal(train.length + validation.length, 8);
    assert.ok(train.length >= 3 && train.length <= 5, `about half in train: ${train.length}`);
    for (const line of train) assert.match(line.messages[0]!.content, /^You are a calm financial advisor speaking with (Anxious Investor|Near Retiree)\.$/);
    assert.match(await read('dataset.card.md'), /Dataset fixture/);

    // The Conversations view groups the plan's conversations by a varied value.
    await vscode.commands.executeCommand('promptloom.filterConversations', { templatePath: 'dataset.prompt' });
    const groups = await vscode.commands.executeCommand<{ kind: string; value: string; conversations: unknown[] }[]>('promptloom.groupConversations', 'channel');
    assert.deepEqual(groups.map((g) => [g.kind, g.value, g.conversations.length]).sort(), [['group', 'chat', 4], ['group', 'phone', 4]]);
    await vscode.commands.executeCommand('promptloom.groupConversations', '');
    await vscode.commands.executeCommand('promptloom.clearConversationFilter');
  });
});
