import { strict as assert } from 'node:assert';
import * as vscode from 'vscode';
import { flagReason, scoreConversation, toQualityResult } from '../../src/core/quality';
import { WorkspaceGenerationRepository, Store, WorkspaceTemplateRepository, type ConversationSummary } from '../../src/core/store';
import { GOOD, REPETITIVE, type Conversation } from '../fixtures/conversations';
import { open, waitFor } from './helpers';

/** Stores conversations as a generation would (score, flag), through a second writer like the CLI. */
async function seed(templatePath: string, conversation: Conversation, n: number, threshold?: number): Promise<string[]> {
  const store = await Store.open(vscode.workspace.workspaceFolders![0]!.uri.fsPath);
  try {
    const templates = new WorkspaceTemplateRepository(store);
    const t = await templates.ensure(templatePath, { name: 'Quality fixture', tier: 'template' });
    const v = await templates.recordVersion(t.id, `seeded ${templatePath}`);
    const generations = new WorkspaceGenerationRepository(store);
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const report = scoreConversation(conversation, 'template');
      const reason = flagReason(report, threshold);
      const { conversationId } = await generations.record({
        templateId: t.id, versionId: v.id, parameters: { persona: 'Near Retiree' }, model: 'claude-sonnet-5-5', attempt: 1, status: 'succeeded', inputTokens: 1, outputTokens: 1, costUsd: 0.001, durationMs: 5,
        conversation: { turns: conversation.turns, quality: toQualityResult(report), ...(reason ? { status: 'needs_revision' as const, statusReason: reason } : {}) },
      });
      ids.push(conversationId!);
      // Distinct creation times keep "newest first" well defined.
      await new Promise((r) => setTimeout(r, 5));
    }
    return ids;
  } finally {
    store.close();
  }
}

const pl011 = (uri: vscode.Uri) => vscode.languages.getDiagnostics(uri).filter((d) => typeof d.code === 'object' && d.code.value === 'PL011');

describe('quality in the editor', function () {
  this.timeout(60_000);
  let poor: string;

  before(async () => {
    poor = (await seed('seeded.prompt', REPETITIVE, 1))[0]!;
  });

  it('opens a conversation as a read-only transcript with findings on the turns they concern', async () => {
    const editor = (await vscode.commands.executeCommand<vscode.TextEditor>('promptloom.openConversation', poor))!;
    const doc = editor.document;
    assert.equal(doc.uri.scheme, 'promptloom-conversation');
    assert.match(doc.getText(), /^# Quality fixture · conversation /);
    assert.match(doc.getText(), /^Quality: \d\.\d \/ 10 — turn count 10 · length [\d.]+ · structure 10 · confidence [\d.]+ \(low\)$/m);
    // A defect (a near-repeated answer) comes first in the reason: it is what fails the conversation.
    assert.match(doc.getText(), /^Reason: scored \d\.\d, below 6: turn 4 \(assistant\) nearly repeats turn 2/m);
    const diagnostics = await waitFor('quality diagnostics', () => {
      const d = vscode.languages.getDiagnostics(doc.uri);
      return d.length > 0 ? d : undefined;
    });
    const repeats = diagnostics.filter((d) => d.message === 'repeats wording the assistant already used');
    assert.deepEqual(
      repeats.map((d) => doc.lineAt(d.range.start.line).text.slice(0, 24)),
      ['**Assistant (turn 2):** ', '**Assistant (turn 4):** ', '**Assistant (turn 6):** '],
    );
    assert.ok(repeats.every((d) => d.severity === vscode.DiagnosticSeverity.Warning && d.source === 'promptloom quality'));
    const confused = diagnostics.find((d) => d.message === "the user's reply in turn 5 signals confusion")!;
    assert.match(doc.lineAt(confused.range.start.line).text, /^\*\*Assistant \(turn 4\):\*\*/);
    // Closing the transcript takes its findings out of the Problems panel; opening it brings them back.
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
    await waitFor('no findings once closed', () => (vscode.languages.getDiagnostics(doc.uri).length === 0 ? true : undefined));
    await vscode.commands.executeCommand('promptloom.openConversation', poor);
    await waitFor('findings again', () => (vscode.languages.getDiagnostics(doc.uri).length === diagnostics.length ? true : undefined));
  });

  it('offers the breakdown and review as CodeLenses on the transcript, and a review updates it', async () => {
    const editor = (await vscode.commands.executeCommand<vscode.TextEditor>('promptloom.openConversation', poor))!;
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', editor.document.uri);
    assert.deepEqual(
      lenses.map((l) => l.command?.title.replace(/\d\.\d/, 'N')),
      ['$(graph) Quality N: breakdown', '$(check) Approve', '$(edit) Needs revision', '$(close) Reject'],
    );
    const approve = lenses[1]!.command!;
    assert.equal(await vscode.commands.executeCommand(approve.command, ...approve.arguments!), 1);
    await waitFor('the transcript to show the review', () => (/ · approved$/m.test(editor.document.getText()) ? true : undefined));
    // The reason line is gone, so every turn moved up a line: the findings moved with them.
    const doc = editor.document;
    const starts = await waitFor('findings on the new lines', () => {
      const lines = vscode.languages
        .getDiagnostics(doc.uri)
        .filter((d) => d.message === 'repeats wording the assistant already used')
        .map((d) => doc.lineAt(d.range.start.line).text.slice(0, 24));
      return lines.length === 3 && lines.every((l) => l.startsWith('**Assistant')) ? lines : undefined;
    });
    assert.deepEqual(starts, ['**Assistant (turn 2):** ', '**Assistant (turn 4):** ', '**Assistant (turn 6):** ']);
  });

  it('from the palette or the editor title, a review acts on the transcript shown', async () => {
    const [x, z] = (await seed('seeded.prompt', REPETITIVE, 2)) as [string, string];
    const editor = (await vscode.commands.executeCommand<vscode.TextEditor>('promptloom.openConversation', z))!;
    assert.equal(vscode.window.activeTextEditor?.document.uri.toString(), editor.document.uri.toString());
    // No arguments, as from the command palette: the active transcript.
    assert.equal(await vscode.commands.executeCommand('promptloom.rejectConversation'), 1);
    // The editor title passes the transcript's URI.
    assert.equal(await vscode.commands.executeCommand('promptloom.markNeedsRevision', editor.document.uri), 1);
    const statuses = await vscode.commands.executeCommand<ConversationSummary[]>('promptloom.filterConversations', { templatePath: 'seeded.prompt' });
    assert.equal(statuses.find((c) => c.id === z)!.status, 'needs_revision');
    assert.equal(statuses.find((c) => c.id === x)!.status, 'needs_revision', 'the other one was never touched: still as flagged');
    const store = await Store.open(vscode.workspace.workspaceFolders![0]!.uri.fsPath);
    assert.deepEqual(await store.all('SELECT status FROM reviews WHERE conversation_id = ? ORDER BY id', [z]), [{ status: 'rejected' }, { status: 'needs_revision' }]);
    assert.deepEqual(await store.all('SELECT status FROM reviews WHERE conversation_id = ?', [x]), []);
    store.close();
    await vscode.commands.executeCommand('promptloom.clearConversationFilter');
  });

  it('shows the quality breakdown panel with a part per bar and turn-linked recommendations', async () => {
    const panel = await vscode.commands.executeCommand<{ lastView?: { overall: number; band: string; parts: { key: string; score: number; band: string }[]; recommendations: { text: string; turn?: number }[] } }>(
      'promptloom.showQualityBreakdown',
      poor,
    );
    const view = await waitFor('the panel view', () => panel?.lastView);
    const stored = toQualityResult(scoreConversation(REPETITIVE));
    assert.equal(view.overall, stored.overall);
    assert.equal(view.band, 'low');
    assert.deepEqual(view.parts.map((p) => p.key), ['turnCount', 'length', 'structure', 'confidence']);
    assert.deepEqual(view.parts.map((p) => p.band), view.parts.map((p) => (p.score < 6 ? 'low' : p.score < 8 ? 'fair' : 'good')));
    // The first recommendation is the defect, and it opens its turn (turn 4, index 3).
    assert.deepEqual(view.recommendations[0], { text: stored.recommendations[0], turn: 3 });
    assert.match(stored.recommendations[0]!, /^turn 4 \(assistant\) nearly repeats turn 2/);
  });

  it('shows the judge’s part in the breakdown when Claude graded the conversation', async () => {
    const store = await Store.open(vscode.workspace.workspaceFolders![0]!.uri.fsPath);
    let id: string;
    try {
      const templates = new WorkspaceTemplateRepository(store);
      const t = await templates.ensure('judged.prompt', { name: 'Judged fixture', tier: 'template' });
      const v = await templates.recordVersion(t.id, 'judged fixture');
      const scored = toQualityResult(scoreConversation(GOOD, 'template'));
      const judge = { score: 4.5, overall: 4, criteria: { answersQuestion: 2, consistency: 4, specificity: 3, staysInRole: 5, noRepetition: 5, naturalClose: 4 }, turnsAtFault: [{ turn: 4, reason: 'answers another question' }], reason: 'turn 4 does not answer the question asked', model: 'claude-haiku-5-5', costUsd: 0.001 };
      const { conversationId } = await new WorkspaceGenerationRepository(store).record({
        templateId: t.id, versionId: v.id, parameters: {}, model: 'claude-sonnet-5-5', attempt: 1, status: 'succeeded', inputTokens: 1, outputTokens: 1, costUsd: 0.001, durationMs: 5,
        conversation: { turns: GOOD.turns, quality: { overall: 4.5, breakdown: { ...(scored.breakdown as object), judge }, recommendations: ['the judge: turn 4 does not answer the question asked', ...scored.recommendations] } },
      });
      id = conversationId!;
    } finally {
      store.close();
    }
    const panel = await vscode.commands.executeCommand<{ lastView?: { id: string; overall: number; parts: { key: string; score: number; band: string; weight: number; detail: string }[] } }>('promptloom.showQualityBreakdown', id);
    const view = await waitFor('the judged view', () => (panel?.lastView?.id === id ? panel.lastView : undefined));
    assert.equal(view.overall, 4.5);
    assert.deepEqual(view.parts.map((p) => p.key), ['turnCount', 'length', 'structure', 'confidence', 'judge']);
    const part = view.parts.at(-1)!;
    assert.deepEqual([part.score, part.band, part.weight], [4.5, 'low', 0]);
    assert.match(part.detail, /^claude-haiku-5-5, 4\/10: turn 4 does not answer the question asked$/);
  });

  it('lists conversations in the Conversations view, filters and sorts them, and reviews a selection', async () => {
    const ids = await seed('listed.prompt', REPETITIVE, 2);
    const good = await seed('listed.prompt', GOOD, 2);
    const byTime = await vscode.commands.executeCommand<ConversationSummary[]>('promptloom.filterConversations', { templatePath: 'listed.prompt' });
    assert.deepEqual(byTime.slice(0, 4).map((c) => c.id), [...good].reverse().concat([...ids].reverse()), 'newest first');

    const flagged = await vscode.commands.executeCommand<ConversationSummary[]>('promptloom.filterConversations', { templatePath: 'listed.prompt', status: 'needs_revision' });
    assert.deepEqual(new Set(flagged.map((c) => c.id)), new Set(ids));
    await vscode.commands.executeCommand('promptloom.sortConversationsByScore');
    const ranged = await vscode.commands.executeCommand<ConversationSummary[]>('promptloom.filterConversations', { templatePath: 'listed.prompt', minQuality: 8, maxQuality: 10 });
    assert.deepEqual(new Set(ranged.map((c) => c.id)), new Set(good));

    // Review two at once, as a multi-selection in the tree passes them.
    const [first, second] = flagged;
    assert.equal(await vscode.commands.executeCommand('promptloom.rejectConversation', first, [first, second]), 2);
    const rejected = await vscode.commands.executeCommand<ConversationSummary[]>('promptloom.filterConversations', { templatePath: 'listed.prompt', status: 'rejected' });
    assert.deepEqual(new Set(rejected.map((c) => c.id)), new Set(ids));
    await vscode.commands.executeCommand('promptloom.clearConversationFilter');
    await vscode.commands.executeCommand('promptloom.sortConversationsByTime');
  });

  it('a verdict from the list moves the selection (the breakdown follows) to the next one awaiting a verdict; with the setting off it stays on the row reviewed', async () => {
    await seed('advance.prompt', REPETITIVE, 4);
    // Newest first, all four flagged by the scorer: L0, L1, L2, L3.
    const listed = await vscode.commands.executeCommand<ConversationSummary[]>('promptloom.filterConversations', { templatePath: 'advance.prompt' });
    assert.equal(listed.length, 4);
    const [l0, l1, l2] = listed as [ConversationSummary, ConversationSummary, ConversationSummary];
    await vscode.commands.executeCommand('promptloom.conversations.focus');
    // As the q key passes it: the focused row alone.
    const panel = await vscode.commands.executeCommand<{ lastView?: { id: string } }>('promptloom.showQualityBreakdown', l0);
    await waitFor('the breakdown of L0', () => (panel?.lastView?.id === l0.id ? true : undefined));
    const config = vscode.workspace.getConfiguration('promptloom');
    try {
      assert.equal(await vscode.commands.executeCommand('promptloom.approveConversation', l0), 1);
      await waitFor('the breakdown following the selection to L1', () => (panel?.lastView?.id === l1.id ? true : undefined));
      await config.update('review.advanceAfterVerdict', false, vscode.ConfigurationTarget.Workspace);
      // update() can resolve before this extension host has the new value: wait until it reads it.
      await waitFor('the setting off', () => (vscode.workspace.getConfiguration('promptloom').get('review.advanceAfterVerdict') === false ? true : undefined));
      // Off: a verdict on L2 (↓ then r) selects L2 itself, not L3 after it.
      assert.equal(await vscode.commands.executeCommand('promptloom.rejectConversation', l2), 1);
      await waitFor('the breakdown following the selection to L2', () => (panel?.lastView?.id === l2.id ? true : undefined));
    } finally {
      await config.update('review.advanceAfterVerdict', undefined, vscode.ConfigurationTarget.Workspace);
      await vscode.commands.executeCommand('promptloom.clearConversationFilter');
    }
  });

  it('PL011 and a CodeLens on the template report how its conversations do, and follow new ones', async () => {
    const editor = await open('quality.prompt');
    const uri = editor.document.uri;
    await seed('quality.prompt', REPETITIVE, 3, 0.8);
    const warning = await waitFor('PL011', () => pl011(uri)[0]);
    assert.equal(warning.severity, vscode.DiagnosticSeverity.Warning);
    assert.match(warning.message, /^The last 3 conversations average \d\.\d, below this template’s quality_threshold of 8\.0\./);
    assert.equal(editor.document.getText(warning.range), 'quality_threshold: 0.8');

    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri);
    const lens = lenses.find((l) => l.command?.command === 'promptloom.showTemplateConversations')!;
    assert.match(lens.command!.title, /^\$\(graph\) 3 runs · quality \d\.\d · none reviewed$/);

    // Ten good conversations later, the recent ones are fine and the warning goes.
    await seed('quality.prompt', GOOD, 10, 0.8);
    await waitFor('PL011 to clear', () => (pl011(uri).length === 0 ? true : undefined));
    const after = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri);
    assert.match(after.find((l) => l.command?.command === 'promptloom.showTemplateConversations')!.command!.title, /^\$\(graph\) 13 runs · quality \d\.\d \(last 10: 10\.0\) · none reviewed$/);

    await vscode.commands.executeCommand('promptloom.showTemplateConversations', uri);
    const listed = await vscode.commands.executeCommand<ConversationSummary[]>('promptloom.refreshConversations');
    assert.ok(listed.length === 13 && listed.every((c) => c.templatePath === 'quality.prompt'));
    await vscode.commands.executeCommand('promptloom.clearConversationFilter');
  });
});
