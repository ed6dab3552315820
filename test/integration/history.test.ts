import { strict as assert } from 'node:assert';
import * as vscode from 'vscode';
import { open, waitFor } from './helpers';

interface Version {
  id: number;
  contentHash: string;
  generations: number;
  conversations: number;
  avgQuality: number | null;
}

const versions = (uri: vscode.Uri) => vscode.commands.executeCommand<Version[]>('promptloom.internal.templateVersions', uri);

describe('template history', () => {
  afterEach(() => vscode.commands.executeCommand('workbench.action.closeAllEditors'));

  it('records a version each time a template is saved with new content', async () => {
    const editor = await open('history.prompt');
    const uri = editor.document.uri;
    await editor.edit((e) => e.insert(new vscode.Position(editor.document.lineCount, 0), 'First addition.\n'));
    await editor.document.save();
    const one = await waitFor('first version', async () => ((await versions(uri)).length === 1 ? versions(uri) : undefined));
    await editor.edit((e) => e.insert(new vscode.Position(editor.document.lineCount, 0), 'Second addition.\n'));
    await editor.document.save();
    const two = await waitFor('second version', async () => ((await versions(uri)).length === 2 ? versions(uri) : undefined));
    assert.equal(two[0]!.id, one[0]!.id);
    assert.deepEqual([two[1]!.generations, two[1]!.conversations, two[1]!.avgQuality], [0, 0, null]);
    // Saving unchanged content records nothing new.
    await editor.document.save();
    assert.equal((await versions(uri)).length, 2);
  });

  it('compares two versions in the diff editor and restores an old one', async () => {
    const editor = await open('history.prompt');
    const uri = editor.document.uri;
    const [first, second] = await versions(uri);
    assert.ok(first && second, 'the previous test recorded two versions');

    await vscode.commands.executeCommand('promptloom.internal.compareTemplateVersions', uri, first.id, second.id);
    const diff = await waitFor('diff tab', () =>
      vscode.window.tabGroups.activeTabGroup.activeTab?.input instanceof vscode.TabInputTextDiff ? vscode.window.tabGroups.activeTabGroup.activeTab : undefined,
    );
    const input = diff.input as vscode.TabInputTextDiff;
    assert.equal(input.original.scheme, 'promptloom-version');
    const left = await vscode.workspace.openTextDocument(input.original);
    const right = await vscode.workspace.openTextDocument(input.modified);
    assert.match(left.getText(), /First addition\.\n$/);
    assert.match(right.getText(), /Second addition\.\n$/);

    await vscode.commands.executeCommand('promptloom.internal.restoreTemplateVersion', uri, first.id);
    assert.equal(editor.document.getText(), left.getText());
    assert.ok(editor.document.isDirty, 'restored, not saved: the user decides');
    await vscode.commands.executeCommand('workbench.action.files.revert');
  });
});
