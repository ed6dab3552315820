import { strict as assert } from 'node:assert';
import * as vscode from 'vscode';
import type { TestResultView } from '../../src/shared/testProtocol';
import { Store } from '../../src/core/store';
import { open, waitFor, workspaceFile } from './helpers';

type Segment = { kind: 'text'; text: string } | { kind: 'missing'; variable: string };
type Rendered = {
  prompt?: string;
  system?: string;
  draft?: { system?: Segment[]; prompt: Segment[] };
  fieldErrors: Record<string, string>;
  templateErrors: { code: string }[];
  renderMs: number;
};
interface PreviewHandle {
  uri: vscode.Uri;
  rendered(): Rendered | undefined;
  setValues(values: Record<string, string | boolean>): Promise<void>;
  deliver(message: unknown): Promise<{ kind: string }>;
  visible(): boolean;
}

/** A draft as one line: missing values as [name]. */
const flat = (segments: readonly Segment[] | undefined): string => (segments ?? []).map((s) => (s.kind === 'text' ? s.text : `[${s.variable}]`)).join('');

async function preview(): Promise<PreviewHandle> {
  const handle = await vscode.commands.executeCommand<PreviewHandle | undefined>('promptloom.previewTemplate');
  assert.ok(handle, 'the preview command returned a handle');
  return handle;
}

describe('live preview', () => {
  before(async () => {
    // The command returns the panel's handle only when it runs in this extension host: activate
    // first, so this suite passes alone too (runIntegration.ts "live preview").
    await vscode.extensions.getExtension('promptloom.promptloom')!.activate();
  });

  afterEach(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('opens beside the template and reports missing values by variable', async () => {
    await open('market.prompt');
    const handle = await preview();
    const rendered = await waitFor('first render', () => handle.rendered());
    assert.equal(rendered.prompt, undefined, 'no prompt to send yet');
    assert.deepEqual(Object.keys(rendered.fieldErrors).sort(), ['amount', 'persona']);
    assert.match(rendered.fieldErrors.persona!, /required/);
    // …but the draft shows at once: defaults applied, the missing values marked in place.
    assert.equal(flat(rendered.draft?.prompt), '[persona] has [amount] invested, 10 years from retirement.\nDo not discuss taxes.\n');
    assert.equal(flat(rendered.draft?.system), 'You advise [persona] calmly.');
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
    assert.ok(rendered.renderMs >= 0, 'the render time is reported (its speed is measured by npm run bench, not here)');
  });

  it('shows value errors inline by variable', async () => {
    await open('market.prompt');
    const handle = await preview();
    await handle.setValues({ persona: 'Anxious Investor', amount: 'x', years: '99' });
    const rendered = await waitFor('error', () => (handle.rendered()?.fieldErrors.years ? handle.rendered() : undefined));
    assert.equal(rendered.fieldErrors.years, '99 is above the maximum 60');
    assert.equal(rendered.prompt, undefined);
    assert.equal(flat(rendered.draft?.prompt).split('\n')[0], 'Anxious Investor has x invested, [years] years from retirement.');
  });

  it('fills sample values into the empty required fields and keeps the ones given', async () => {
    await open('market.prompt');
    const handle = await preview();
    await handle.setValues({ amount: '$5' });
    await waitFor('a render with amount', () => (flat(handle.rendered()?.draft?.prompt).includes('$5') ? true : undefined));
    assert.deepEqual(await handle.deliver({ type: 'fillSamples' }), { kind: 'handled' });
    const rendered = await waitFor('the filled render', () => handle.rendered()?.prompt);
    // persona: its first option; amount: kept; years: its default.
    assert.equal(rendered, 'Anxious Investor has $5 invested, 10 years from retirement.\nDo not discuss taxes.\n');
    assert.deepEqual(handle.rendered()?.fieldErrors, {});
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

  it('Test Template runs on the same samples, without asking for free text', async function () {
    this.timeout(120_000);
    const uri = workspaceFile('samples.prompt');
    const text = ['---', 'name: Samples fixture', 'variables:', '  client_name: {}', '  debt: { help: "What they owe (e.g. a car loan, a mortgage)" }', '---', 'Write a conversation with <<client_name>> about <<debt>>.', ''].join('\n');
    await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(text));
    await vscode.commands.executeCommand('promptloom.setApiKey', 'sk-integration-key');
    // Before, a free-text variable had no stand-in and Test Template asked for it in an input box.
    const result = (await vscode.commands.executeCommand<TestResultView>('promptloom.testTemplate', uri, 1))!;
    const id = result.runs[0]?.conversationId;
    assert.ok(id, JSON.stringify(result));
    const store = await Store.open(vscode.workspace.workspaceFolders![0]!.uri.fsPath);
    try {
      const row = (await store.get('SELECT parameters FROM conversations WHERE id = ?', [id]))!;
      assert.deepEqual(JSON.parse(String(row.parameters)), { client_name: 'client name', debt: 'a car loan' });
    } finally {
      store.close();
      await vscode.workspace.fs.delete(uri);
    }
  });

  it('says what to do when no template is open', async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    const handle = await vscode.commands.executeCommand('promptloom.previewTemplate');
    assert.equal(handle, undefined);
  });
});
