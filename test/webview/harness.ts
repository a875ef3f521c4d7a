/**
 * The browser harness for the inspector webview: a local HTTP server that serves the same HTML shell
 * (and CSP) as the VS Code panel plus the built bundle, Debian's Chromium driven by playwright-core, a
 * stand-in for VS Code's webview API that records posted messages and keeps state across reloads, and
 * VS Code's Light+ / Dark+ theme variables. Page scripts are strings: this code is typed for Node.
 */
import { readFile } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { makeNonce, webviewHtml } from '../../extension/inspector/html';
import type { HostMessage } from '../../extension/protocol';
import { ROOT } from '../helpers';

export interface HarnessServer {
  url: string;
  close(): Promise<void>;
}

/** Serves the panel's HTML shell at / and dist/webview/main.{js,css}; nothing else. */
export async function startServer(): Promise<HarnessServer> {
  const files: Record<string, [string, string]> = {
    '/webview/main.js': [join(ROOT, 'dist', 'webview', 'main.js'), 'text/javascript'],
    '/webview/main.css': [join(ROOT, 'dist', 'webview', 'main.css'), 'text/css'],
  };
  let origin = '';
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(webviewHtml({ cspSource: origin, nonce: makeNonce(), scriptUri: `${origin}/webview/main.js`, styleUri: `${origin}/webview/main.css`, title: 'MoE Lens' }));
      return;
    }
    if (path === '/favicon.ico') {
      res.writeHead(204).end(); // a browser tab asks for one; a VS Code webview does not
      return;
    }
    const file = files[path];
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    readFile(file[0]).then(
      (body) => res.writeHead(200, { 'content-type': file[1], 'cache-control': 'no-store' }).end(body),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url: `${origin}/`, close: () => new Promise((ok) => server.close(() => ok())) };
}

const FONT = '-apple-system, BlinkMacSystemFont, "Segoe WPC", "Segoe UI", "Ubuntu", "Droid Sans", sans-serif';
const COMMON = { 'font-family': FONT, 'font-size': '13px', 'font-weight': 'normal', 'editor-font-family': '"DejaVu Sans Mono", "Droid Sans Mono", monospace', 'editor-font-size': '13px' };

/** VS Code's Dark+ and Light+ colours for the variables the inspector and @vscode-elements read. */
export const THEMES = {
  dark: {
    kind: 'vscode-dark',
    vars: {
      ...COMMON, foreground: '#cccccc', descriptionForeground: '#9d9d9d', 'editor-background': '#1e1e1e', 'editor-foreground': '#d4d4d4',
      'panel-border': '#80808059', 'editorWidget-border': '#454545', focusBorder: '#007fd4', 'textLink-foreground': '#3794ff', 'textLink-activeForeground': '#3794ff',
      'badge-background': '#4d4d4d', 'badge-foreground': '#ffffff', 'button-background': '#0e639c', 'button-foreground': '#ffffff', 'button-hoverBackground': '#1177bb',
      'button-secondaryBackground': '#3a3d41', 'button-secondaryForeground': '#ffffff', 'button-secondaryHoverBackground': '#45494e',
      'input-background': '#3c3c3c', 'input-foreground': '#cccccc', 'input-placeholderForeground': '#a6a6a6', 'settings-textInputBackground': '#292929', 'settings-textInputForeground': '#cccccc', 'settings-textInputBorder': '#3c3c3c',
      'settings-dropdownBackground': '#3c3c3c', 'settings-dropdownForeground': '#f0f0f0', 'settings-dropdownBorder': '#3c3c3c', 'settings-dropdownListBorder': '#454545',
      'dropdown-background': '#3c3c3c', 'dropdown-foreground': '#f0f0f0', 'dropdown-border': '#3c3c3c', 'dropdown-listBackground': '#252526',
      'list-activeSelectionBackground': '#04395e', 'list-activeSelectionForeground': '#ffffff', 'list-hoverBackground': '#2a2d2e', 'list-focusOutline': '#007fd4',
      'charts-blue': '#3794ff', 'charts-red': '#f14c4c', 'charts-green': '#89d185', 'charts-yellow': '#cca700', 'charts-orange': '#d18616', 'charts-purple': '#b180d7',
      'charts-foreground': '#cccccc', 'charts-lines': '#cccccc80', 'editorHoverWidget-background': '#252526', 'editorHoverWidget-border': '#454545',
      'editorHoverWidget-foreground': '#cccccc', 'textBlockQuote-background': '#7f7f7f1a', 'editorLineNumber-foreground': '#858585', 'widget-shadow': '#0000005c',
      'inputValidation-errorBackground': '#5a1d1d', 'inputValidation-errorBorder': '#be1100', 'scrollbarSlider-background': '#79797966',
      'scrollbarSlider-hoverBackground': '#646464b3', 'scrollbarSlider-activeBackground': '#bfbfbf66',
    },
  },
  light: {
    kind: 'vscode-light',
    vars: {
      ...COMMON, foreground: '#616161', descriptionForeground: '#717171', 'editor-background': '#ffffff', 'editor-foreground': '#000000',
      'panel-border': '#80808059', 'editorWidget-border': '#c8c8c8', focusBorder: '#0090f1', 'textLink-foreground': '#006ab1', 'textLink-activeForeground': '#006ab1',
      'badge-background': '#c4c4c4', 'badge-foreground': '#333333', 'button-background': '#007acc', 'button-foreground': '#ffffff', 'button-hoverBackground': '#0062a3',
      'button-secondaryBackground': '#5f6a79', 'button-secondaryForeground': '#ffffff', 'button-secondaryHoverBackground': '#4c5561',
      'input-background': '#ffffff', 'input-foreground': '#616161', 'input-border': '#cecece', 'input-placeholderForeground': '#767676', 'settings-textInputBackground': '#ffffff', 'settings-textInputForeground': '#616161', 'settings-textInputBorder': '#cecece',
      'settings-dropdownBackground': '#ffffff', 'settings-dropdownForeground': '#616161', 'settings-dropdownBorder': '#cecece', 'settings-dropdownListBorder': '#c8c8c8',
      'dropdown-background': '#ffffff', 'dropdown-foreground': '#616161', 'dropdown-border': '#cecece', 'dropdown-listBackground': '#ffffff',
      'list-activeSelectionBackground': '#0060c0', 'list-activeSelectionForeground': '#ffffff', 'list-hoverBackground': '#e8e8e8', 'list-focusOutline': '#0090f1',
      'charts-blue': '#1a85ff', 'charts-red': '#e51400', 'charts-green': '#388a34', 'charts-yellow': '#bf8803', 'charts-orange': '#d18616', 'charts-purple': '#652d90',
      'charts-foreground': '#616161', 'charts-lines': '#61616180', 'editorHoverWidget-background': '#f3f3f3', 'editorHoverWidget-border': '#c8c8c8',
      'editorHoverWidget-foreground': '#616161', 'textBlockQuote-background': '#7f7f7f1a', 'editorLineNumber-foreground': '#237893', 'widget-shadow': '#00000029',
      'inputValidation-errorBackground': '#f2dede', 'inputValidation-errorBorder': '#be1100', 'scrollbarSlider-background': '#64646466',
      'scrollbarSlider-hoverBackground': '#646464b3', 'scrollbarSlider-activeBackground': '#00000099',
    },
  },
} as const;

export type ThemeName = keyof typeof THEMES;

/**
 * Runs before the bundle: the stand-in for acquireVsCodeApi (posted messages in window.__posted, state
 * in sessionStorage so it survives a reload the way VS Code keeps it across hide/show, its size in
 * window.__stateChars), the theme as
 * VS Code applies it (variables on <html>, a kind class on <body>), and a CSP violation recorder.
 */
function initScript(theme: ThemeName): string {
  const { kind, vars } = THEMES[theme];
  return `(() => {
  window.__posted = [];
  window.__violations = [];
  document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
  let acquired = false;
  window.acquireVsCodeApi = () => {
    if (acquired) throw new Error('acquireVsCodeApi called twice');
    acquired = true;
    return {
      postMessage: (m) => window.__posted.push(JSON.parse(JSON.stringify(m))),
      getState: () => { const s = sessionStorage.getItem('vscode-state'); return s === null ? undefined : JSON.parse(s); },
      setState: (s) => {
        const json = JSON.stringify(s);
        window.__stateChars = json.length;
        // sessionStorage holds ~5 M characters; VS Code's state has no such limit: a larger state is not kept over a reload here
        try { sessionStorage.setItem('vscode-state', json); } catch (e) {
          if (e.name !== 'QuotaExceededError') throw e;
          sessionStorage.removeItem('vscode-state');
        }
        return s;
      },
    };
  };
  const vars = ${JSON.stringify(vars)};
  const kind = ${JSON.stringify(kind)};
  // init scripts run before <html> exists: apply the theme as soon as each element does
  const when = (get, apply) => {
    if (get()) return apply(get());
    const observer = new MutationObserver(() => { if (get()) { observer.disconnect(); apply(get()); } });
    observer.observe(document, { childList: true, subtree: true });
  };
  when(() => document.documentElement, (html) => { for (const [k, v] of Object.entries(vars)) html.style.setProperty('--vscode-' + k, v); });
  when(() => document.body, (body) => { body.classList.add(kind); body.dataset.vscodeThemeKind = kind; });
})();`;
}

type Posted = Record<string, unknown>;

/** Waits (polling from Node: the CSP forbids the page-side eval Playwright uses for string predicates) for a posted message. */
export async function waitPosted(page: Page, match: (m: Posted) => boolean, timeoutMs = 30_000): Promise<Posted> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = ((await page.evaluate('window.__posted')) as Posted[]).find(match);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`the webview did not post the awaited message within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Host messages as a script: typed arrays travel in one base64 blob, decoded natively in the page and cut
 * into arrays of their own (window.postMessage clones each array's whole buffer), so the webview receives
 * what VS Code's postMessage delivers (typed arrays, structured-cloned), not JSON look-alikes; and the page
 * spends little of its main thread unpacking them (benchmarks time that thread).
 */
export function messagesScript(messages: HostMessage[]): string {
  return valueScript(messages);
}

/** Any JSON value with typed arrays in it as a script expression that rebuilds it in the page (see messagesScript). */
export function valueScript(value: unknown): string {
  const parts: Buffer[] = [];
  let offset = 0;
  const json = JSON.stringify(value, (_key, v: unknown) => {
    if (!ArrayBuffer.isView(v)) return v;
    const view = v as ArrayBufferView & { BYTES_PER_ELEMENT: number };
    const pad = (8 - (offset % 8)) % 8; // every array starts where its element type may start
    if (pad) parts.push(Buffer.alloc(pad));
    offset += pad;
    parts.push(Buffer.from(view.buffer, view.byteOffset, view.byteLength));
    const ref = { $typed: view.constructor.name, offset, length: view.byteLength / view.BYTES_PER_ELEMENT };
    offset += view.byteLength;
    return ref;
  });
  return `((b64) => {
    const bytes = Uint8Array.fromBase64 ? Uint8Array.fromBase64(b64) : Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    return JSON.parse(${JSON.stringify(json)}, (_k, v) => (v && typeof v === 'object' && typeof v.$typed === 'string'
      ? new globalThis[v.$typed](bytes.buffer, v.offset, v.length).slice() : v));
  })(${JSON.stringify(Buffer.concat(parts).toString('base64'))})`;
}

export interface InspectorPage {
  page: Page;
  context: BrowserContext;
  /** Console errors, page errors and failed requests seen so far. */
  problems: string[];
  post(messages: HostMessage[]): Promise<void>;
  posted(): Promise<Array<Record<string, unknown>>>;
  violations(): Promise<string[]>;
  /** Waits until the webview acknowledges painting run `runId` up to `seq`. */
  rendered(runId: number, seq: number): Promise<{ runId: number; seq: number; tokens: number }>;
  close(): Promise<void>;
}

export async function openInspector(browser: Browser, url: string, theme: ThemeName = 'dark', viewport = { width: 1400, height: 900 }): Promise<InspectorPage> {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1, colorScheme: theme === 'dark' ? 'dark' : 'light' });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  page.on('crash', () => problems.push('the page crashed (renderer process gone: out of memory?)'));
  await page.addInitScript({ content: initScript(theme) });
  await page.goto(url);
  await waitPosted(page, (m) => m.type === 'ready').catch((e: unknown) => {
    throw new Error(`${(e as Error).message} (ready; problems: ${problems.join('; ') || 'none'})`);
  });
  const posted = () => page.evaluate('window.__posted') as Promise<Array<Record<string, unknown>>>;
  return {
    page, context, problems,
    post: async (messages) => {
      await page.evaluate(`${messagesScript(messages)}.forEach((m) => window.postMessage(m, '*'))`);
    },
    posted,
    violations: () => page.evaluate('window.__violations') as Promise<string[]>,
    rendered: async (runId, seq) =>
      (await waitPosted(page, (m) => m.type === 'rendered' && m.runId === runId && (m.seq as number) >= seq)) as { runId: number; seq: number; tokens: number },
    close: () => context.close(),
  };
}
