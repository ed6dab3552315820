import { strict as assert } from 'node:assert';
import * as vscode from 'vscode';
import { open, waitFor } from './helpers';

type Rendered = { prompt?: string; system?: string; fieldErrors: Record<string, string>; templateErrors: { code: string }[]; renderMs: number };
interface PreviewHandle {
  uri: vscode.Uri;
  rendered(): Rendered | undefined;
  setValues(values: Record<string, string | boolean>): Promise<void>;
  visible(): boolean;
}

async function preview(): Promise<PreviewHandle> {
  const handle = await vscode.commands.executeCommand<PreviewHandle | undefined>('promptloom.previewTemplate');
  assert.ok(handle, 'the preview command returned a handle');
  return handle;
}

describe('live preview', () => {
  afterEach(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('opens beside the template and reports missing values by variable', async () => {
    await open('market.prompt');
    const handle = await preview();
    const rendered = await waitFor('first render', () => handle.rendered());
    assert.equal(rendered.prompt, undefined);
    assert.deepEqual(Object.keys(rendered.fieldErrors).sort(), ['amount', 'persona']);
    assert.match(rendered.fieldErrors.persona!, /required/);
    const tabs = vscode.window.tabGroups.all.flatMap((g) => g.tabs.map((t) => t.label));
    assert.ok(tabs.includes('Preview market.prompt'), tabs.join());
    assert.equal(vscode.window.tabGroups.all.length, 2, 'beside the editor');
  });

  it('renders the system prompt and prompt from the form values', async () => {
    await open('market.prompt');
    const handle = await preview();
    await handle.setValues({ persona: 'Skeptical Beginner', amount: '$80k', taxes: true });
    const rendered = await waitFor('render', () => (handle.rendered()?.prompt ? handle.rendered() : undefined));
    assert.equal(rendered.system, 'You advise Skeptical Beginner calmly.');
    assert.equal(rendered.prompt, 'Skeptical Beginner has $80k invested, 10 years from retirement.\nDiscuss tax-loss harvesting.\n');
    assert.ok(rendered.renderMs >= 0 && rendered.renderMs < 1000);
  });

  it('shows value errors inline by variable', async () => {
    await open('market.prompt');
    const handle = await preview();
    await handle.setValues({ persona: 'Anxious Investor', amount: 'x', years: '99' });
    const rendered = await waitFor('error', () => (handle.rendered()?.fieldErrors.years ? handle.rendered() : undefined));
    assert.equal(rendered.fieldErrors.years, '99 is above the maximum 60');
    assert.equal(rendered.prompt, undefined);
  });

  it('follows edits of the template', async () => {
    const editor = await open('market.prompt');
    const handle = await preview();
    await handle.setValues({ persona: 'Anxious Investor', amount: '$1' });
    await waitFor('render', () => handle.rendered()?.prompt);
    await editor.edit((e) => e.insert(new vscode.Position(editor.document.lineCount - 1, 0), 'Keep it short.\n'));
    const rendered = await waitFor('re-render', () => (handle.rendered()?.prompt?.includes('Keep it short.') ? handle.rendered() : undefined));
    assert.match(rendered.prompt!, /Keep it short\.\n$/);
    await vscode.commands.executeCommand('undo');
  });

  it('shows template errors instead of a prompt', async () => {
    const doc = await vscode.workspace.openTextDocument({ language: 'promptloom', content: 'Hi <<name' });
    await vscode.window.showTextDocument(doc);
    const handle = await preview();
    const rendered = await waitFor('render', () => handle.rendered());
    assert.deepEqual(rendered.templateErrors.map((e) => e.code), ['PL001']);
  });

  it('remembers the values per template', async () => {
    await open('market.prompt');
    let handle = await preview();
    await handle.setValues({ persona: 'Anxious Investor', amount: 'remembered' });
    await waitFor('render', () => handle.rendered()?.prompt);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await open('market.prompt');
    handle = await preview();
    const rendered = await waitFor('render', () => handle.rendered()?.prompt);
    assert.match(rendered, /has remembered invested/);
  });

  it('says what to do when no template is open', async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    const handle = await vscode.commands.executeCommand('promptloom.previewTemplate');
    assert.equal(handle, undefined);
  });
});
