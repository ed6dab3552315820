import * as vscode from 'vscode';
import { Ctx } from './ctx';

/** Set by the bundle's first line (esbuild banner); undefined when this module runs unbundled. */
declare const __promptloomLoadStart: number | undefined;

/** What `activate` returns: readable by other extensions and by the integration tests. */
export interface PromptloomApi {
  /** From the first line of the bundle to the end of `activate`, in milliseconds (target: under 50). */
  readonly activationMs: number;
}

/**
 * Entry point: builds the one context object and hands it to `context.subscriptions`.
 * Activation errors are shown to the user, then rethrown (VS Code shows none by itself).
 */
export function activate(context: vscode.ExtensionContext): PromptloomApi {
  const started = typeof __promptloomLoadStart === 'number' ? __promptloomLoadStart : performance.now();
  try {
    const ctx = new Ctx(context);
    context.subscriptions.push(ctx);
    const activationMs = performance.now() - started;
    ctx.log.info(`activated in ${activationMs.toFixed(1)} ms`);
    return { activationMs };
  } catch (error) {
    void vscode.window.showErrorMessage(`Promptloom failed to start: ${error instanceof Error ? error.message : String(error)}`);
    throw error;
  }
}

export function deactivate(): void {
  // Everything is owned by the Ctx in context.subscriptions, which VS Code disposes.
}
