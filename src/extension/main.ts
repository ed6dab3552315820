import * as vscode from 'vscode';
import { TemplateDiagnostics } from './diagnostics';

/**
 * Entry point. Activation builds the extension-lifetime objects and hands them to
 * `context.subscriptions`; errors are shown to the user, then rethrown (VS Code shows none).
 */
export function activate(context: vscode.ExtensionContext): void {
  try {
    context.subscriptions.push(new TemplateDiagnostics(context.extensionUri));
  } catch (error) {
    void vscode.window.showErrorMessage(`Promptloom failed to start: ${error instanceof Error ? error.message : String(error)}`);
    throw error;
  }
}

export function deactivate(): void {
  // Everything is owned by context.subscriptions and disposed by VS Code.
}
