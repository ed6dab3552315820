import { strict as assert } from 'node:assert';
import * as vscode from 'vscode';
import { open, promptloomDiagnostics, waitFor } from './helpers';

describe('diagnostics in the editor', () => {
  it('opens .prompt files as the promptloom language', async () => {
    const editor = await open('broken.prompt');
    assert.equal(editor.document.languageId, 'promptloom');
  });

  it('shows the core diagnostics with codes, ranges and links', async () => {
    const editor = await open('broken.prompt');
    const uri = editor.document.uri;
    const diagnostics = await waitFor('diagnostics', () => {
      const found = promptloomDiagnostics(uri);
      return found.length >= 3 ? found : undefined;
    });
    const summary = diagnostics.map((d) => [
      typeof d.code === 'object' ? d.code.value : d.code,
      d.severity,
      editor.document.getText(d.range),
    ]);
    assert.deepEqual(summary, [
      ['PL007', vscode.DiagnosticSeverity.Warning, 'temprature'],
      ['PL002', vscode.DiagnosticSeverity.Error, 'persna'],
      ['PL009', vscode.DiagnosticSeverity.Warning, '{{persona}}'],
    ]);
    const code = diagnostics[0]!.code as { value: string; target: vscode.Uri };
    assert.match(code.target.toString(), /docs\/prompt-format\.md#pl007$/);
  });

  it('updates as the document changes and drops fixed problems', async () => {
    const doc = await vscode.workspace.openTextDocument({ language: 'promptloom', content: 'Hello <<name' });
    await vscode.window.showTextDocument(doc);
    await waitFor('PL001', () => (promptloomDiagnostics(doc.uri).some((d) => (d.code as { value: string }).value === 'PL001') ? true : undefined));
    const editor = vscode.window.activeTextEditor!;
    await editor.edit((e) => e.insert(doc.positionAt(doc.getText().length), '>>'));
    await waitFor('no diagnostics', () => (promptloomDiagnostics(doc.uri).length === 0 ? true : undefined));
  });

  it('a tag being typed (<<>> closed by the editor) is not reported until the cursor leaves it', async () => {
    const doc = await vscode.workspace.openTextDocument({ language: 'promptloom', content: '{{x}} Hello ' });
    const editor = await vscode.window.showTextDocument(doc);
    const codes = () => promptloomDiagnostics(doc.uri).map((d) => `${(d.code as { value: string }).value} ${d.message}`);
    await waitFor('PL009 for x', () => (codes().some((c) => c.startsWith('PL009') && c.includes('<<x>>')) ? true : undefined));
    // One edit, as typing does: a changed problem elsewhere (to know the diagnostics were redone) and `<<>>`.
    await editor.edit((e) => {
      e.replace(new vscode.Range(0, 2, 0, 3), 'y');
      e.insert(doc.positionAt(doc.getText().length), '<<>>');
    });
    const inside = doc.positionAt(doc.getText().length - 2);
    editor.selection = new vscode.Selection(inside, inside);
    await waitFor('PL009 for y', () => (codes().some((c) => c.startsWith('PL009') && c.includes('<<y>>')) ? true : undefined));
    assert.deepEqual(codes().filter((c) => c.startsWith('PL010') || c.startsWith('PL001')), [], 'nothing on the tag being written');
    // Leaving the tag empty and moving on reports it.
    editor.selection = new vscode.Selection(new vscode.Position(0, 0), new vscode.Position(0, 0));
    await waitFor('PL010 once the cursor left', () => (codes().some((c) => c.startsWith('PL010')) ? true : undefined));
  });
});
