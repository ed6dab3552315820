/**
 * What the status bar says about the store the views show (no `vscode` here: the words are
 * tested with plain Node). Only `describeUrl`'s parts and password-free reasons reach it: a
 * `StoreState` never holds a URL.
 */

/** How the team database is followed: opening, live, lost and coming back, or out of reach. */
export type ListenerState = 'connecting' | 'following' | 'reconnecting' | 'unreachable';

/** The store the views show, and on the team database the listener's state. */
export type StoreState =
  | { readonly store: 'workspace' }
  | {
      readonly store: 'postgresql';
      readonly listener: ListenerState;
      /** `describeUrl`'s `user@host:port/database`; absent while unknown (a malformed URL). */
      readonly server?: string | undefined;
      /** Why it is reconnecting or unreachable (a TeamDatabaseError's message: password-free). */
      readonly reason?: string;
      /** Whether something retries by itself (the listener) or the next read (or a click) will. */
      readonly retrying?: boolean;
    };

export interface Indicator {
  readonly text: string;
  readonly tooltip: string;
}

const CLICK = 'Click for the database status.';

/**
 * The item's words, or undefined to hide it. On the workspace database it is hidden: a member
 * who never named a team database has one store, and an item saying so in every window is noise
 * in a crowded status bar; it appears as soon as a team URL is chosen, which is when "which store,
 * and is it live?" has an answer worth watching, and goes away with the setting.
 */
export function storeIndicator(state: StoreState): Indicator | undefined {
  if (state.store === 'workspace') return undefined;
  const server = state.server ? `the team database ${state.server}` : 'the team database';
  // A driver's reason starts with the server's name already (`teamErrorMessage`): said once.
  const reason = state.server && state.reason?.startsWith(`${state.server}: `) ? state.reason.slice(state.server.length + 2) : state.reason;
  const because = reason ? `: ${reason}` : '';
  switch (state.listener) {
    case 'connecting':
      return { text: '$(sync~spin) Team: connecting…', tooltip: `Promptloom is connecting to ${server}. ${CLICK}` };
    case 'following':
      return { text: '$(database) Team: following', tooltip: `The views show ${server} and follow teammates’ changes as they land. ${CLICK}` };
    case 'reconnecting':
      return {
        text: '$(sync~spin) Team: reconnecting…',
        tooltip: `Live changes from ${server} are paused${because}. Reconnecting by itself; the views then read everything again. ${CLICK}`,
      };
    case 'unreachable':
      return {
        text: '$(warning) Team: unreachable',
        tooltip: `${capitalised(server)} cannot be reached${because}. ${state.retrying ? 'Trying again by itself.' : 'Tried again on the next read, or when clicked.'} The views show nothing meanwhile (never the workspace’s data). ${CLICK}`,
      };
  }
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
