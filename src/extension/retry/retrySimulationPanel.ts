import * as vscode from 'vscode';
import { mergeSettings } from '../../core/generation/settings';
import { LIMITS, RETRY_VIEW_TYPE, retryWebviewMessage, type PolicyView, type RetryHostMessage, type RetryWebviewMessage } from '../../shared/retryProtocol';
import { Disposable } from '../disposable';
import type { Log } from '../log';
import { editorSettings } from '../settings';
import { receiveMessages, type Deliver } from '../webviewMessages';
import { pageReloader, webviewOptions, webviewPage } from '../webviewPage';
import { simulationResult } from './simulation';

export interface RetrySimulationDeps {
  readonly extensionUri: vscode.Uri;
  readonly log: Log;
}

/** The retry settings in effect for the workspace (`promptloom.retry.*`, else the defaults). */
export function retryPolicy(log?: Log): PolicyView {
  const s = mergeSettings(editorSettings(undefined, log));
  return { strategy: s.retryStrategy, maxAttempts: s.maxAttempts, baseDelayMs: s.baseDelayMs, maxDelayMs: s.maxDelayMs };
}

/**
 * Writes a policy as the workspace's `promptloom.retry.*` settings (already checked against the
 * settings table's ranges by the message schema). The panel hears the change and shows it.
 */
async function saveRetryPolicy(p: PolicyView): Promise<void> {
  const config = vscode.workspace.getConfiguration('promptloom');
  const target = vscode.ConfigurationTarget.Workspace;
  await config.update('retry.strategy', p.strategy, target);
  await config.update('retry.maxAttempts', p.maxAttempts, target);
  await config.update('retry.baseDelayMs', p.baseDelayMs, target);
  await config.update('retry.maxDelayMs', p.maxDelayMs, target);
}

/**
 * Simulate Retry Strategy: the retry settings (editable here, for the simulation only), a failure
 * rate slider, one run's attempts and waits, and the distribution over many runs. One panel.
 */
export class RetrySimulationPanel extends Disposable {
  private static current: RetrySimulationPanel | undefined;
  private ready = false;
  /** The last result sent, for tests. */
  lastResult: Extract<RetryHostMessage, { type: 'result' }> | undefined;
  /** Receives a message as if the webview posted it: checked, then handled (tests use it). */
  readonly deliver: Deliver;

  static show(deps: RetrySimulationDeps): RetrySimulationPanel {
    if (RetrySimulationPanel.current) {
      RetrySimulationPanel.current.panel.reveal();
      return RetrySimulationPanel.current;
    }
    const panel = vscode.window.createWebviewPanel(RETRY_VIEW_TYPE, 'Retry Simulation', vscode.ViewColumn.Active, webviewOptions(deps.extensionUri));
    return new RetrySimulationPanel(deps, panel);
  }

  static revive(deps: RetrySimulationDeps, panel: vscode.WebviewPanel): void {
    panel.webview.options = webviewOptions(deps.extensionUri);
    new RetrySimulationPanel(deps, panel);
  }

  static disposeAll(): void {
    RetrySimulationPanel.current?.panel.dispose();
  }

  private constructor(
    private readonly deps: RetrySimulationDeps,
    readonly panel: vscode.WebviewPanel,
  ) {
    super();
    RetrySimulationPanel.current = this;
    const page = () => webviewPage(panel.webview, deps.extensionUri, { name: 'retry', title: 'Promptloom retry simulation', loading: 'Simulating…', styles: ['dist/retry.css'], live: false });
    panel.webview.html = page();
    panel.iconPath = vscode.Uri.joinPath(deps.extensionUri, 'media', 'quality.svg');
    panel.onDidDispose(() => this.dispose(), this, this.subscriptions);
    this.deliver = receiveMessages(panel.webview, { panel: 'Retry simulation', schema: retryWebviewMessage, log: deps.log, window: vscode.window, handle: (m) => this.receive(m), reload: pageReloader(panel.webview, page) }, this.subscriptions);
    // Settings changed elsewhere (the Settings editor, settings.json) show here at once.
    vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('promptloom.retry') && this.sendSettings(), this, this.subscriptions);
    this.register({ dispose: () => RetrySimulationPanel.current === this && (RetrySimulationPanel.current = undefined) });
  }

  private sendSettings(): void {
    this.post({ type: 'settings', policy: retryPolicy(this.deps.log), limits: LIMITS });
  }

  private post(message: RetryHostMessage): void {
    if (this.ready) void this.panel.webview.postMessage(message);
  }

  private async receive(message: RetryWebviewMessage): Promise<void> {
    switch (message.type) {
      case 'ready':
        this.ready = true;
        this.sendSettings();
        break;
      case 'simulate':
        this.lastResult = simulationResult(message);
        this.post(this.lastResult);
        break;
      case 'save':
        await saveRetryPolicy(message);
        void vscode.window.showInformationMessage('Promptloom: retry settings saved in the workspace settings.');
        break;
    }
  }
}
