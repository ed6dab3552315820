import * as vscode from 'vscode';
import { renderTemplate, renderWithPlaceholders, sampleMissing, type ParsedTemplate, type VariableDecl } from '../../core/template';
import { PREVIEW_VIEW_TYPE, webviewMessage, type FieldView, type FormValues, type HostMessage, type PreviewState, type WebviewMessage } from '../../shared/previewProtocol';
import { Disposable } from '../disposable';
import type { TemplateStore } from '../templates';
import { receiveMessages, type Deliver, type MessageLog } from '../webviewMessages';
import { pageReloader, webviewOptions, webviewPage } from '../webviewPage';

/** Coalesces bursts of edits; one render costs ~1 ms for a 1,000-line template. */
const RENDER_DELAY_MS = 30;

/**
 * The live preview beside a template: a form built from its variables, and the rendered system
 * prompt and prompt, updated as the template or the values change. One panel per template.
 */
export class PreviewPanel extends Disposable {
  private static readonly panels = new Map<string, PreviewPanel>();
  private values: FormValues;
  private timer: NodeJS.Timeout | undefined;
  private lastFieldsKey = '';

  static createOrShow(deps: PreviewDeps, document: vscode.TextDocument): PreviewPanel {
    const existing = PreviewPanel.panels.get(document.uri.toString());
    if (existing) {
      existing.panel.reveal(vscode.ViewColumn.Beside, true);
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(PREVIEW_VIEW_TYPE, title(document), { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, webviewOptions(deps.extensionUri));
    return new PreviewPanel(deps, panel, document, true);
  }

  /** Restores a panel VS Code kept across a reload (see the serializer in ctx.ts). */
  static async revive(deps: PreviewDeps, panel: vscode.WebviewPanel, state: PreviewState | undefined): Promise<void> {
    panel.webview.options = webviewOptions(deps.extensionUri);
    panel.webview.html = html(panel.webview, deps.extensionUri);
    const document = state?.uri ? await openWhenReady(vscode.Uri.parse(state.uri)) : undefined;
    if (!document) {
      void panel.webview.postMessage({ type: 'closed', reason: 'The template of this preview no longer exists.' } satisfies HostMessage);
      return;
    }
    new PreviewPanel(deps, panel, document, false);
  }

  static disposeAll(): void {
    for (const panel of [...PreviewPanel.panels.values()]) panel.panel.dispose();
  }

  /** The last message sent to the webview: what the panel shows. */
  lastRendered: Extract<HostMessage, { type: 'rendered' }> | undefined;
  /** Receives a message as if the webview posted it: checked, then handled (tests use it). */
  readonly deliver: Deliver;

  private constructor(
    private readonly deps: PreviewDeps,
    readonly panel: vscode.WebviewPanel,
    private readonly document: vscode.TextDocument,
    freshPage: boolean,
  ) {
    super();
    const key = document.uri.toString();
    PreviewPanel.panels.set(key, this);
    this.values = deps.state.get<FormValues>(valuesKey(document.uri)) ?? {};
    // A revived panel already has its page, which may have said `ready` before we listened.
    if (freshPage) panel.webview.html = html(panel.webview, deps.extensionUri);
    else queueMicrotask(() => this.update());
    panel.iconPath = vscode.Uri.joinPath(deps.extensionUri, 'media', 'prompt-file.svg');
    panel.onDidDispose(() => this.dispose(), this, this.subscriptions);
    this.deliver = receiveMessages(panel.webview, { panel: 'Preview', schema: webviewMessage, log: deps.log, window: vscode.window, handle: (m) => this.receive(m), reload: pageReloader(panel.webview, () => html(panel.webview, deps.extensionUri)) }, this.subscriptions);
    vscode.workspace.onDidChangeTextDocument((e) => e.document === document && this.schedule(), this, this.subscriptions);
    vscode.workspace.onDidCloseTextDocument((d) => d === document && this.panel.dispose(), this, this.subscriptions);
    this.register({ dispose: () => clearTimeout(this.timer) });
    this.register({ dispose: () => PreviewPanel.panels.delete(key) });
  }

  /** Sets form values as if typed into the form (used by tests and by "paste JSON"). */
  async setValues(values: FormValues): Promise<void> {
    await this.receive({ type: 'values', values });
  }

  private async receive(message: WebviewMessage): Promise<void> {
    switch (message.type) {
      case 'ready':
        this.lastFieldsKey = '';
        this.update();
        break;
      case 'values':
        await this.remember(message.values);
        this.update();
        break;
      case 'fillSamples':
        await this.fillSamples();
        break;
    }
  }

  /** Puts a sample in each required field still empty, by the one sample rule of core. */
  private async fillSamples(): Promise<void> {
    const template = this.deps.templates.get(this.document);
    const samples = sampleMissing(template.variables, new Map(Object.entries(this.values)), template.settings);
    const values: Record<string, string | boolean> = { ...this.values };
    // The form holds text for text, number and dropdown fields, and booleans for checkboxes.
    for (const [name, sample] of samples) values[name] = typeof sample.value === 'boolean' ? sample.value : String(sample.value);
    await this.remember(values);
    this.post({ type: 'values', values, filled: [...samples].map(([name, sample]) => ({ name, from: sample.from })) });
    this.update();
  }

  private async remember(values: FormValues): Promise<void> {
    this.values = values;
    await this.deps.state.update(valuesKey(this.document.uri), values);
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.update(), RENDER_DELAY_MS);
  }

  private update(): void {
    if (this.isDisposed) return;
    const started = performance.now();
    const template = this.deps.templates.get(this.document);
    const fields = template.variables.map(toField);
    const fieldsKey = JSON.stringify(fields);
    if (fieldsKey !== this.lastFieldsKey) {
      // The form is rebuilt only when the variables change, so typing in the template keeps focus.
      this.lastFieldsKey = fieldsKey;
      this.post({ type: 'template', uri: this.document.uri.toString(), title: template.settings.name, fields, values: this.values });
    }
    this.post(renderMessage(template, this.values, started));
  }

  private post(message: HostMessage): void {
    if (message.type === 'rendered') this.lastRendered = message;
    void this.panel.webview.postMessage(message);
  }
}

export interface PreviewDeps {
  readonly extensionUri: vscode.Uri;
  readonly templates: TemplateStore;
  /** Workspace state: remembers the values entered per template. */
  readonly state: vscode.Memento;
  readonly log: MessageLog;
}

/**
 * Opens a document, waiting a little when it fails: right after a reload, the file system of a
 * remote workspace may not be registered yet when VS Code revives panels.
 */
async function openWhenReady(uri: vscode.Uri, attempts = 40): Promise<vscode.TextDocument | undefined> {
  for (let i = 0; i < attempts; i++) {
    try {
      return await vscode.workspace.openTextDocument(uri);
    } catch (error) {
      if (error instanceof vscode.FileSystemError && error.code === 'FileNotFound') return undefined;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return undefined;
}

function renderMessage(template: ParsedTemplate, values: FormValues, started: number): Extract<HostMessage, { type: 'rendered' }> {
  const templateErrors = template.diagnostics
    .filter((d) => d.severity === 'error')
    .map((d) => ({ line: d.range.start.line + 1, code: d.code, message: d.message }));
  if (templateErrors.length > 0) {
    return { type: 'rendered', fieldErrors: {}, problems: [], templateErrors, renderMs: performance.now() - started };
  }
  // Values for variables the template no longer has are kept in the form's memory but not sent.
  const declared = new Set(template.variables.map((v) => v.name));
  const given = new Map(Object.entries(values).filter(([name, value]) => declared.has(name) && value !== ''));
  const result = renderWithPlaceholders(template, given);
  if (!result.ok) {
    // Only a prompt over the size limit gets here: the template has no errors.
    return { type: 'rendered', fieldErrors: {}, problems: result.problems.map((p) => p.message), templateErrors: [], renderMs: performance.now() - started };
  }
  const draft = result.value;
  const fieldErrors: Record<string, string> = {};
  const problems: string[] = [];
  for (const p of draft.problems) {
    if (p.variable && declared.has(p.variable)) fieldErrors[p.variable] = p.message;
    else problems.push(p.variable ? `${p.variable}: ${p.message}` : p.message);
  }
  // Complete: the real render, so what the panel calls the prompt is exactly what is sent.
  const complete = draft.problems.length === 0 ? renderTemplate(template, given) : undefined;
  return {
    type: 'rendered',
    ...(complete?.ok && complete.value.system !== undefined ? { system: complete.value.system } : {}),
    ...(complete?.ok ? { prompt: complete.value.prompt } : {}),
    draft: { ...(draft.system ? { system: draft.system } : {}), prompt: draft.prompt },
    fieldErrors,
    problems,
    templateErrors: [],
    renderMs: performance.now() - started,
  };
}

function toField(v: VariableDecl): FieldView {
  return {
    name: v.name,
    type: v.type,
    required: v.required,
    ...(v.help !== undefined ? { help: v.help } : {}),
    ...(v.default !== undefined ? { default: v.default } : {}),
    ...(v.options !== undefined ? { options: v.options } : {}),
    ...(v.min !== undefined ? { min: v.min } : {}),
    ...(v.max !== undefined ? { max: v.max } : {}),
    ...(v.maxLength !== undefined ? { maxLength: v.maxLength } : {}),
  };
}

function title(document: vscode.TextDocument): string {
  return `Preview ${document.uri.path.split('/').pop() ?? 'template'}`;
}

function valuesKey(uri: vscode.Uri): string {
  return `promptloom.preview.values:${uri.toString()}`;
}

function html(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  return webviewPage(webview, extensionUri, { name: 'preview', title: 'Promptloom preview', loading: 'Loading the template…' });
}
