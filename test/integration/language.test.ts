import { strict as assert } from 'node:assert';
import * as vscode from 'vscode';
import { note, open, promptloomDiagnostics, waitFor } from './helpers';

/** The position just after the first `marker` (or at its `|`). */
function at(doc: vscode.TextDocument, marker: string): vscode.Position {
  const bar = marker.indexOf('|');
  const needle = marker.replace('|', '');
  const offset = doc.getText().indexOf(needle);
  assert.ok(offset >= 0, `marker ${marker}`);
  return doc.positionAt(offset + (bar >= 0 ? bar : needle.length));
}

function hoverText(hovers: vscode.Hover[]): string {
  return hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : 'value' in c ? c.value : ''))).join('\n');
}

describe('language features in the editor', () => {
  it('activates quickly and exposes its API', async () => {
    const extension = vscode.extensions.getExtension<{ activationMs: number; loadMs: number }>('promptloom.promptloom')!;
    assert.ok(extension, 'the extension is installed');
    await open('market.prompt');
    await waitFor('activation', () => (extension.isActive ? true : undefined));
    const ms = extension.exports.activationMs;
    assert.ok(ms > 0 && Number.isFinite(ms));
    note(`activation: ${ms.toFixed(1)} ms, of which loading the bundle ${extension.exports.loadMs.toFixed(1)} ms (target: under 50 ms)`);
  });

  it('completes variable names after <<', async () => {
    const editor = await open('market.prompt');
    const doc = editor.document;
    const list = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', doc.uri, at(doc, '<<pers|ona>> has'));
    const labels = list.items.map((i) => (typeof i.label === 'string' ? i.label : i.label.label));
    for (const name of ['persona', 'amount', 'years', 'taxes']) assert.ok(labels.includes(name), `${name} in ${labels.join(',')}`);
  });

  it('completes block keywords and front-matter enum values', async () => {
    const doc = await vscode.workspace.openTextDocument({ language: 'promptloom', content: '---\ntier: \nvariables:\n  x:\n    type: \n---\n<<#' });
    const labelsAt = async (pos: vscode.Position) =>
      (await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', doc.uri, pos)).items.map((i) => (typeof i.label === 'string' ? i.label : i.label.label));
    const block = await labelsAt(doc.positionAt(doc.getText().length));
    assert.ok(block.includes('if') && block.includes('unless'), block.join());
    const tiers = await labelsAt(at(doc, 'tier: '));
    for (const tier of ['template', 'scenario', 'edge_case']) assert.ok(tiers.includes(tier), tiers.join());
    const types = await labelsAt(at(doc, 'type: '));
    for (const type of ['text', 'number', 'dropdown', 'boolean']) assert.ok(types.includes(type), types.join());
  });

  it('hover on a placeholder shows type, default, options and help', async () => {
    const editor = await open('market.prompt');
    const doc = editor.document;
    const persona = hoverText(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, at(doc, '<<pers|ona>> has')));
    assert.match(persona, /\*\*persona\*\*: dropdown, required/);
    assert.match(persona, /Who the client is/);
    assert.match(persona, /`Anxious Investor`, `Skeptical Beginner`/);
    const years = hoverText(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, at(doc, '<<yea|rs>>')));
    assert.match(years, /number, optional/);
    assert.match(years, /default: `10`/);
    const tier = hoverText(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, at(doc, 'ti|er:')));
    assert.match(tier, /Kind of conversation/);
  });

  it('go to definition lands on the declaration', async () => {
    const editor = await open('market.prompt');
    const doc = editor.document;
    const locations = await vscode.commands.executeCommand<vscode.Location[]>('vscode.executeDefinitionProvider', doc.uri, at(doc, '<<am|ount>>'));
    assert.equal(locations.length, 1);
    assert.equal(doc.getText(locations[0]!.range), 'amount');
    assert.equal(locations[0]!.range.start.line, 9);
  });

  it('renames a variable across declaration, body and system prompt', async () => {
    const doc = await vscode.workspace.openTextDocument({ language: 'promptloom', content: '---\nsystem: For <<who>>.\nvariables:\n  who: {}\n---\nHi <<who>>, <<#if who>>yes<</if>>' });
    const edit = await vscode.commands.executeCommand<vscode.WorkspaceEdit>('vscode.executeDocumentRenameProvider', doc.uri, at(doc, 'Hi <<w|ho'), 'client');
    assert.ok(await vscode.workspace.applyEdit(edit));
    assert.equal(doc.getText(), '---\nsystem: For <<client>>.\nvariables:\n  client: {}\n---\nHi <<client>>, <<#if client>>yes<</if>>');
  });

  it('refuses a rename to a reserved name', async () => {
    const doc = await vscode.workspace.openTextDocument({ language: 'promptloom', content: 'Hi <<who>>' });
    await assert.rejects(
      Promise.resolve(vscode.commands.executeCommand('vscode.executeDocumentRenameProvider', doc.uri, at(doc, '<<w|ho'), '__proto__')),
      /reserved/,
    );
  });

  it('outlines settings, variables and blocks', async () => {
    const editor = await open('market.prompt');
    const symbols = await vscode.commands.executeCommand<vscode.DocumentSymbol[]>('vscode.executeDocumentSymbolProvider', editor.document.uri);
    assert.deepEqual(symbols.map((s) => s.name), ['name', 'tier', 'system', 'variables', '#if taxes']);
    assert.deepEqual(symbols[3]!.children.map((s) => s.name), ['persona', 'amount', 'years', 'taxes']);
    assert.equal(symbols[3]!.children[0]!.kind, vscode.SymbolKind.Variable);
  });

  describe('quick fixes', () => {
    async function fixesFor(content: string, code: string): Promise<{ doc: vscode.TextDocument; actions: vscode.CodeAction[] }> {
      const doc = await vscode.workspace.openTextDocument({ language: 'promptloom', content });
      await vscode.window.showTextDocument(doc);
      const diagnostic = await waitFor(code, () => promptloomDiagnostics(doc.uri).find((d) => (d.code as { value: string }).value === code));
      const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', doc.uri, diagnostic.range, vscode.CodeActionKind.QuickFix.value);
      // Only ours: other extensions may offer actions too.
      return { doc, actions: actions.filter((a) => /^(Convert to|Declare|Change to)/.test(a.title)) };
    }

    it('PL009: {{x}} becomes <<x>>', async () => {
      const { doc, actions } = await fixesFor('---\nvariables:\n  x: {}\n---\nHi {{x}}', 'PL009');
      assert.deepEqual(actions.map((a) => a.title), ['Convert to <<x>>']);
      assert.ok(await vscode.workspace.applyEdit(actions[0]!.edit!));
      assert.equal(doc.getText(), '---\nvariables:\n  x: {}\n---\nHi <<x>>');
    });

    it('PL002: declares the variable', async () => {
      const { doc, actions } = await fixesFor('---\nvariables:\n  x:\n    type: text\n---\n<<x>> <<budget>>', 'PL002');
      const declare = actions.find((a) => a.title === "Declare 'budget' in variables:")!;
      assert.ok(declare, actions.map((a) => a.title).join());
      assert.ok(await vscode.workspace.applyEdit(declare.edit!));
      assert.equal(doc.getText(), '---\nvariables:\n  x:\n    type: text\n  budget:\n    type: text\n---\n<<x>> <<budget>>');
      await waitFor('no diagnostics', () => (promptloomDiagnostics(doc.uri).length === 0 ? true : undefined));
    });

    it('PL007: replaces a misspelled key', async () => {
      const { doc, actions } = await fixesFor('---\ntemprature: 0.5\n---\nx', 'PL007');
      assert.deepEqual(actions.map((a) => [a.title, a.isPreferred]), [["Change to 'temperature'", true]]);
      assert.ok(await vscode.workspace.applyEdit(actions[0]!.edit!));
      assert.equal(doc.getText(), '---\ntemperature: 0.5\n---\nx');
    });
  });
});
