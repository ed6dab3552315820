import { strict as assert } from 'node:assert';
import * as vscode from 'vscode';
import { WorkspaceGenerationRepository, Store, WorkspaceTemplateRepository } from '../../src/core/store';
import type { DashboardData } from '../../src/shared/dashboardProtocol';
import { waitFor, workspaceFile } from './helpers';

interface Dashboard {
  lastData?: DashboardData;
  refresh(): Promise<void>;
  deliver(raw: unknown): Promise<{ kind: string }>;
}

const TEMPLATE = ['---', 'name: Agreement fixture', 'tier: template', 'quality_threshold: 0.6  # the old bar', 'temperature: 0.7', '---', 'Write a conversation about index funds.', ''].join('\n');

describe('learning from the reviewers on the dashboard', function () {
  this.timeout(120_000);

  it('shows the agreement of 22 reviewed conversations, and Use suggested threshold edits only the quality_threshold line', async () => {
    const uri = workspaceFile('agreement.prompt');
    await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(TEMPLATE));

    // Another writer (as the CLI would be) stores 22 scored conversations and their reviews:
    // approved ones score 8, rejected or needs-revision ones 7. At the template's threshold of 6
    // half the decisions are right; from 7.1 to 8.0 all are, and 7.1 is the closest to 6.
    const writer = await Store.open(vscode.workspace.workspaceFolders![0]!.uri.fsPath);
    try {
      const templates = new WorkspaceTemplateRepository(writer);
      const template = await templates.byPath('agreement.prompt') ?? (await templates.ensure('agreement.prompt', { name: 'Agreement fixture', tier: 'template' }));
      const version = await templates.recordVersion(template.id, TEMPLATE);
      const generations = new WorkspaceGenerationRepository(writer);
      for (let i = 0; i < 22; i++) {
        const approved = i % 2 === 0;
        const { conversationId } = await generations.record({
          templateId: template.id, versionId: version.id, parameters: {}, model: 'm', attempt: 1, status: 'succeeded', inputTokens: 1, outputTokens: 1, costUsd: 0, durationMs: 1,
          conversation: { turns: [{ role: 'user', content: `q${i}` }, { role: 'assistant', content: `a${i}` }], quality: { overall: approved ? 8 : 7, breakdown: {}, recommendations: [] } },
        });
        // The latest review counts: the approved ones were first sent back for revision.
        if (approved) await generations.review(conversationId!, 'needs_revision');
        await generations.review(conversationId!, approved ? 'approved' : i % 4 === 1 ? 'rejected' : 'needs_revision');
      }
    } finally {
      writer.close();
    }

    const panel = (await vscode.commands.executeCommand<Dashboard>('promptloom.showDashboard'))!;
    const row = await waitFor('the agreement on the dashboard', async () => {
      await panel.refresh();
      return panel.lastData?.templates.find((t) => t.file === 'agreement.prompt' && t.reviewAgreement !== null);
    });
    assert.deepEqual(row.reviewAgreement, { reviewed: 22, auc: 1, accuracy: 0.5, threshold: 6, suggestedThreshold: 7.1 });

    // The page's button, delivered as the webview would post it.
    assert.deepEqual(await panel.deliver({ type: 'useSuggestedThreshold', file: 'agreement.prompt' }), { kind: 'handled' });
    const expected = TEMPLATE.replace('quality_threshold: 0.6  # the old bar', 'quality_threshold: 0.71  # the old bar');
    const saved = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
    assert.equal(saved, expected);
    const before = TEMPLATE.split('\n');
    const after = saved.split('\n');
    assert.deepEqual(after.map((l, i) => (l === before[i] ? '' : l)).filter(Boolean), ['quality_threshold: 0.71  # the old bar']);

    // One edit, undone by one undo.
    const document = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(document);
    await vscode.commands.executeCommand('undo');
    assert.equal(document.getText(), TEMPLATE);
    await document.save();

    // A message naming a file outside the workspace never reaches the handler.
    assert.equal((await panel.deliver({ type: 'useSuggestedThreshold', file: '../agreement.prompt' })).kind, 'dropped');
  });
});
