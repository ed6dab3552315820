import * as vscode from 'vscode';
import { Ctx } from './ctx';

/** Set by the bundle's first line (esbuild banner); undefined when this module runs unbundled. */
declare const __promptloomLoadStart: number | undefined;

/** What `activate` returns: readable by other extensions and by the integration tests. */
export interface PromptloomApi {
  /**
   * Our share of activation, in milliseconds (target: under 50): evaluating the bundle plus
   * running `activate`, as VS Code's "code loading" and "activate call" times count it. The
   * extension host's own work between the two is not ours.
   */
  readonly activationMs: number;
  /** Of that, evaluating the bundle's modules. */
  readonly loadMs: number;
}

const loaded = performance.now();

/**
 * Entry point: builds the one context object and hands it to `context.subscriptions`.
 * Activation errors are shown to the user, then rethrown (VS Code shows none by itself).
 */
export function activate(context: vscode.ExtensionContext): PromptloomApi {
  const started = performance.now();
  const loadMs = typeof __promptloomLoadStart === 'number' ? loaded - __promptloomLoadStart : 0;
  try {
    const ctx = new Ctx(context);
    context.subscriptions.push(ctx);
    const activationMs = loadMs + performance.now() - started;
    ctx.log.info(`activated in ${activationMs.toFixed(1)} ms (loading ${loadMs.toFixed(1)} ms)`);
    return { activationMs, loadMs };
  } catch (error) {
    void vscode.window.showErrorMessage(`Promptloom failed to start: ${error instanceof Error ? error.message : String(error)}`);
    throw error;
  }
}

export function deactivate(): void {
  // Everything is owned by the Ctx in context.subscriptions, which VS Code disposes.
}
