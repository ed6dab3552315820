import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

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
<script nonce="${nonce}" src="${asset('dist', `${page.name}.js`)}"></script>
</body>
</html>`;
}
