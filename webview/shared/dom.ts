/**
 * The one way our webviews build elements: attributes set one by one and text through
 * textContent, so no HTML is ever parsed from data.
 */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Readonly<Record<string, string>> = {}, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The API VS Code gives a webview, typed by the messages it sends and the state it keeps. */
export interface VsCodeApi<Message, State> {
  postMessage(message: Message): void;
  getState(): State | undefined;
  setState(state: State): void;
}

declare function acquireVsCodeApi<Message, State>(): VsCodeApi<Message, State>;

export function vsCodeApi<Message, State>(): VsCodeApi<Message, State> {
  return acquireVsCodeApi<Message, State>();
}
