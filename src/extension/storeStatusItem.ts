import * as vscode from 'vscode';
import { Disposable } from './disposable';
import { storeIndicator } from './storeIndicator';
import type { StoreState } from './storeIndicator';
import type { StoreSource } from './storeSource';

/** What the item shows now, and the texts it showed (newest last): for tests, through an internal command. */
export interface StoreStatusShown {
  readonly state: StoreState;
  readonly visible: boolean;
  readonly text: string;
  readonly tooltip: string;
  readonly command: string | undefined;
  readonly texts: readonly string[];
}

/** The status bar item keeps this many of its last texts (a transient state is seen by tests too). */
const KEPT_TEXTS = 20;

/**
 * The status bar item naming the store the views show and, on the team database, whether its
 * changes are followed live (`storeIndicator`'s words). It follows `StoreSource`: the setting and
 * the stored password (a new choice), the listener's losses and returns. Clicking it runs Show
 * Database Status.
 */
export class StoreStatusItem extends Disposable {
  private readonly item = this.register(vscode.window.createStatusBarItem('promptloom.store', vscode.StatusBarAlignment.Left, 50));
  private visible = false;
  private readonly texts: string[] = [];

  constructor(private readonly source: StoreSource) {
    super();
    this.item.name = 'Promptloom store';
    this.item.command = 'promptloom.showDatabaseStatus';
    source.onDidChangeState((state) => this.render(state), this, this.subscriptions);
    // A new choice fires onDidChange too: the team database is then opened, so its state is known
    // without waiting for a view to read.
    source.onDidChange(() => void this.check(), this, this.subscriptions);
    void this.check();
  }

  /**
   * Makes the state current: on the team database, opens it if no view did yet (or tries again
   * after it could not be reached: the item's click does this after the status is shown).
   */
  async check(): Promise<void> {
    try {
      if ((await this.source.kind()) === 'postgresql') await this.source.read();
    } catch {
      // A failure the views report too; the state already says what the item can.
    }
    this.render(this.source.state);
  }

  shown(): StoreStatusShown {
    const tooltip = this.item.tooltip;
    return {
      state: this.source.state,
      visible: this.visible,
      // What is on screen: nothing while hidden.
      text: this.visible ? this.item.text : '',
      tooltip: !this.visible ? '' : typeof tooltip === 'string' ? tooltip : (tooltip?.value ?? ''),
      command: typeof this.item.command === 'string' ? this.item.command : this.item.command?.command,
      texts: [...this.texts],
    };
  }

  private render(state: StoreState): void {
    const words = storeIndicator(state);
    if (!words) {
      this.item.hide();
      this.visible = false;
      return;
    }
    this.item.text = words.text;
    this.item.tooltip = words.tooltip;
    this.item.accessibilityInformation = { label: words.tooltip };
    if (this.texts.at(-1) !== words.text) this.texts.push(words.text);
    if (this.texts.length > KEPT_TEXTS) this.texts.shift();
    this.item.backgroundColor = state.store === 'postgresql' && state.listener === 'unreachable' ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    this.item.show();
    this.visible = true;
  }
}
