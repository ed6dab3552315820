import * as vscode from 'vscode';
import { PREVIEW_VIEW_TYPE, type PreviewState } from '../shared/previewProtocol';
import { COMMANDS, type CommandId } from './commands';
import { TemplateDiagnostics } from './diagnostics';
import { Disposable } from './disposable';
import { GenerationService } from './generation';
import { TemplateHistory } from './history';
import { LanguageFeatures } from './languageFeatures';
import { Log } from './log';
import { PreviewPanel, type PreviewDeps } from './preview/previewPanel';
import { TemplateStore } from './templates';
import { WorkspaceDb } from './workspaceDb';

/** The one context object: builds and owns everything that lives as long as the extension. */
export class Ctx extends Disposable {
  readonly log = this.register(new Log());
  readonly templates = this.register(new TemplateStore());
  readonly db = this.register(new WorkspaceDb(this.log));
  readonly history = this.register(new TemplateHistory(this.db, this.templates));
  readonly generation: GenerationService;
  readonly previewDeps: PreviewDeps;

  constructor(readonly extension: vscode.ExtensionContext) {
    super();
    this.previewDeps = { extensionUri: extension.extensionUri, templates: this.templates, state: extension.workspaceState };
    this.generation = this.register(new GenerationService(extension.secrets, this.db, this.templates, extension.workspaceState, this.log));
    this.register(new TemplateDiagnostics(extension.extensionUri, this.templates));
    this.register(new LanguageFeatures(this.templates));
    this.register(
      vscode.window.registerWebviewPanelSerializer(PREVIEW_VIEW_TYPE, {
        deserializeWebviewPanel: (panel, state: PreviewState | undefined) => PreviewPanel.revive(this.previewDeps, panel, state),
      }),
    );
    this.register({ dispose: () => PreviewPanel.disposeAll() });
    for (const [id, handler] of Object.entries(COMMANDS) as [CommandId, (typeof COMMANDS)[CommandId]][]) {
      this.register(vscode.commands.registerCommand(id, (...args: unknown[]) => this.run(id, () => handler(this, ...args))));
    }
  }

  /** Runs a command; an unexpected failure is logged with its stack and shown in one line. */
  private async run<T>(id: string, action: () => T | Promise<T>): Promise<T | undefined> {
    try {
      return await action();
    } catch (error) {
      this.log.error(`command ${id} failed`, error);
      const choice = await vscode.window.showErrorMessage(`Promptloom: ${error instanceof Error ? error.message : String(error)}`, 'Show Log');
      if (choice === 'Show Log') this.log.show();
      return undefined;
    }
  }
}
