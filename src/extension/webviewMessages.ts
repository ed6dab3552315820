/**
 * The one way a panel receives messages from its webview. A webview is untrusted input (its
 * script could be anything that got into the page), so every message is checked against the
 * panel's protocol schema before a handler sees it: a message that fails is dropped with one log
 * line naming the panel and the problem. A handler that throws or rejects is logged with its stack
 * and shown in one line; nothing escapes as an unhandled rejection.
 *
 * Only type imports of `vscode`, so plain unit tests can drive it with a stand-in webview.
 */
import type * as vscode from 'vscode';
import { validate, type Schema } from '../shared/schema';

export type MessageOutcome =
  | { readonly kind: 'handled' }
  | { readonly kind: 'dropped'; readonly problem: string }
  | { readonly kind: 'failed'; readonly error: string };

/** Delivers one message as if the webview had posted it; never rejects. */
export type Deliver = (raw: unknown) => Promise<MessageOutcome>;

/** What the receiver needs of the extension's log (Log in log.ts). */
export interface MessageLog {
  error(message: string, error?: unknown): void;
  show(): void;
}

export interface ReceiverOptions<T extends { readonly type: string }> {
  /** Names the panel in the log and to the user: "Quality panel". */
  readonly panel: string;
  readonly schema: Schema<T>;
  readonly log: MessageLog;
  readonly window: Pick<typeof vscode.window, 'showErrorMessage'>;
  readonly handle: (message: T) => void | Promise<void>;
  /**
   * Sets the page again after it said one of its own assets failed to load (`PAGE_LOAD_FAILED`,
   * posted by the page's first script, see webviewPage.ts); false once it has stopped trying.
   */
  readonly reload?: () => boolean;
}

/**
 * What a page posts, before its own script runs, when its script or a style sheet failed to load.
 * A webview whose service worker is replaced while the page loads (another webview starting at the
 * same moment, in a browser) gets no answer for its assets: without them the page never says
 * `ready` and shows its loading text forever. Set again, it loads.
 */
export const PAGE_LOAD_FAILED = 'pageLoadFailed';

function pageLoadFailed(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null || (raw as { type?: unknown }).type !== PAGE_LOAD_FAILED) return undefined;
  const url = (raw as { url?: unknown }).url;
  return typeof url === 'string' ? url : 'an asset';
}

/** Longest problem or error text put in a log line or a notification. */
const MAX_TEXT = 300;

/** Reporting must not fail the delivery (the log is gone once the extension is disposed). */
function quietly(report: () => void): void {
  try {
    report();
  } catch {
    // Nothing left to tell.
  }
}

function clip(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text;
}

export function messageReceiver<T extends { readonly type: string }>(options: ReceiverOptions<T>): Deliver {
  const { panel, schema, log, window, handle, reload } = options;
  return async (raw) => {
    const failed = reload && pageLoadFailed(raw);
    if (failed) {
      const again = reload();
      quietly(() => log.error(`${panel}: the page could not load ${clip(failed)}${again ? '; loading the page again' : '; not loading it again'}`));
      return { kind: 'handled' };
    }
    const checked = validate(schema, raw);
    if (!checked.ok) {
      const problem = clip(checked.problem);
      quietly(() => log.error(`${panel}: dropped a message from the webview: ${problem}`));
      return { kind: 'dropped', problem };
    }
    const { type } = checked.value;
    try {
      await handle(checked.value);
      return { kind: 'handled' };
    } catch (error) {
      const text = clip(error instanceof Error ? error.message : String(error));
      quietly(() => log.error(`${panel}: the webview's "${type}" message failed`, error));
      quietly(
        () =>
          void Promise.resolve(window.showErrorMessage(`Promptloom: ${panel} could not handle "${type}": ${text}`, 'Show Log')).then(
            (choice) => choice === 'Show Log' && quietly(() => log.show()),
            () => undefined,
          ),
      );
      return { kind: 'failed', error: text };
    }
  };
}

/**
 * Listens to `webview` through `messageReceiver`, for as long as `disposables` lives. Returns the
 * same delivery function, which panels expose so tests can post a message through the real path.
 */
export function receiveMessages<T extends { readonly type: string }>(
  webview: Pick<vscode.Webview, 'onDidReceiveMessage'>,
  options: ReceiverOptions<T>,
  disposables: vscode.Disposable[],
): Deliver {
  const deliver = messageReceiver(options);
  webview.onDidReceiveMessage((raw: unknown) => void deliver(raw), undefined, disposables);
  return deliver;
}
