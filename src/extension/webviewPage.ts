import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { PAGE_LOAD_FAILED } from './webviewMessages';

/** How often a page whose assets failed to load is set again before it is left as it is. */
export const MAX_PAGE_RELOADS = 3;

/** Only the built assets under media/ are reachable from our webviews. */
export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
  return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'media')] };
}

/**
 * A panel's page: no data inline (it arrives as messages), scripts only by nonce, styles and the
 * script from media/. `loading` is what shows until the script has drawn the panel. `live: false`
 * for pages that announce their own changes (the whole page as a live region re-reads it all).
 */
export function webviewPage(
  webview: vscode.Webview,
  extensionUri: vscode.Uri,
  page: { name: string; title: string; loading: string; live?: boolean; styles?: readonly string[] },
): string {
  const nonce = randomBytes(16).toString('base64');
  const asset = (...path: string[]) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', ...path)).toString();
  const csp = [
    "default-src 'none'",
    `style-src ${webview.cspSource}`,
    `font-src ${webview.cspSource}`,
    `img-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${[...(page.styles ?? []), `${page.name}.css`].map((style) => `<link rel="stylesheet" href="${asset(...style.split('/'))}">`).join('\n')}
<title>${page.title}</title>
</head>
<body>
<main id="app"${page.live === false ? '' : ' aria-live="polite"'}><p class="status">${page.loading}</p></main>
<script nonce="${nonce}">${LOAD_WATCH}</script>
<script nonce="${nonce}" src="${asset('dist', `${page.name}.js`)}"></script>
</body>
</html>`;
}

/**
 * The page's first script: tells the panel (once) when its script or a style sheet fails to load,
 * so the panel can set the page again (see PAGE_LOAD_FAILED). It takes the webview API, which a
 * page may take only once, and hands the same object to the page's own script.
 */
const LOAD_WATCH = `(() => {
  const api = acquireVsCodeApi();
  window.acquireVsCodeApi = () => api;
  let told = false;
  window.addEventListener('error', (event) => {
    const t = event.target;
    if (told || !(t instanceof HTMLScriptElement || t instanceof HTMLLinkElement)) return;
    told = true;
    api.postMessage({ type: '${PAGE_LOAD_FAILED}', url: String(t.src || t.href) });
  }, true);
})();`;

/**
 * What a panel does when its page could not load its assets: sets the page again (made afresh,
 * with a new nonce, so the webview loads it anew), at most MAX_PAGE_RELOADS times; false after.
 */
export function pageReloader(webview: vscode.Webview, page: () => string, limit = MAX_PAGE_RELOADS): () => boolean {
  let reloads = 0;
  return () => {
    if (reloads >= limit) return false;
    reloads++;
    webview.html = page();
    return true;
  };
}
