/**
 * The inspector's HTML shell, shared by the VS Code panel and the browser test harness so both run the
 * bundle under the same Content Security Policy: nothing loads but the bundle's script (by nonce) and
 * its stylesheet, from `cspSource`; no inline script, no eval, no network.
 */
export interface WebviewHtmlOptions {
  /** The webview's `cspSource` (in VS Code) or the harness origin. */
  cspSource: string;
  /** A fresh random value per load. */
  nonce: string;
  scriptUri: string;
  styleUri: string;
  title: string;
}

const escapeAttr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `img-src ${cspSource} data:`,
    `font-src ${cspSource}`,
  ].join('; ');
}

export function webviewHtml(o: WebviewHtmlOptions): string {
  const csp = escapeAttr(contentSecurityPolicy(o.cspSource, o.nonce));
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeAttr(o.styleUri)}" nonce="${escapeAttr(o.nonce)}">
<title>${escapeAttr(o.title)}</title>
</head>
<body>
<div id="root"></div>
<script nonce="${escapeAttr(o.nonce)}" src="${escapeAttr(o.scriptUri)}"></script>
</body>
</html>
`;
}

/** 32 random alphanumerics (crypto-strength). */
export function makeNonce(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}
