import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import * as vscode from 'vscode';
import { WorkspaceGenerationRepository, Store, WorkspaceTemplateRepository } from '../../src/core/store';
import { open, waitFor, workspaceFile } from './helpers';

describe('deleting a template', () => {
  it('warns with the number of dependent conversations, offers inactive, and keeps history', async () => {
    const editor = await open('delete-me.prompt');
    const uri = editor.document.uri;
    await editor.edit((e) => e.insert(new vscode.Position(0, 0), 'Version one. '));
    await editor.document.save();
    const recorded = await waitFor('version', async () => {
      const v = await vscode.commands.executeCommand<unknown[]>('promptloom.internal.templateVersions', uri);
      return v.length === 1 ? v : undefined;
    });
    assert.equal(recorded.length, 1);

    // Another writer (as the CLI would be) stores two conversations for this template.
    const cli = await Store.open(vscode.workspace.workspaceFolders![0]!.uri.fsPath);
    const templates = new WorkspaceTemplateRepository(cli);
    const template = (await templates.byPath('delete-me.prompt'))!;
    const version = (await templates.versions(template.id))[0]!;
    const generations = new WorkspaceGenerationRepository(cli);
    for (let i = 0; i < 2; i++) {
      await generations.record({ templateId: template.id, versionId: version.id, parameters: {}, model: 'm', attempt: 1, status: 'succeeded', inputTokens: 1, outputTokens: 1, costUsd: 0, durationMs: 1, conversation: { turns: [{ role: 'user', content: 'q' }] } });
    }

    const inactive = await vscode.commands.executeCommand('promptloom.deleteTemplate', uri, 'Mark Inactive');
    assert.equal(inactive, 'inactive');
    assert.ok(existsSync(uri.fsPath), 'the file stays');
    assert.match(readFileSync(uri.fsPath, 'utf8'), /^---\nactive: false\n---\nVersion one\. /, 'and says it is inactive');
    await cli.refresh();
    assert.equal((await templates.byPath('delete-me.prompt'))!.active, false);

    const deleted = await vscode.commands.executeCommand('promptloom.deleteTemplate', uri, 'Delete Anyway');
    assert.equal(deleted, 'deleted');
    assert.ok(!existsSync(workspaceFile('delete-me.prompt').fsPath));
    await cli.refresh();
    const after = (await templates.byPath('delete-me.prompt'))!;
    assert.ok(after.deletedAt !== null, 'marked deleted');
    // Its history stays: the first save, and the save that marked it inactive (its last content).
    assert.equal((await templates.versions(after.id)).length, 2);
    assert.deepEqual(await templates.usage(after.id), { generations: 2, conversations: 2 });
    cli.close();
  });
});
