import * as vscode from 'vscode';
import { webviewHtml, makeNonce } from '../inspector/html';
import { toWire } from '../inspector/wire';
import { type HostMessage, type WebviewMessage, parseWebviewMessage } from '../protocol';

/** Where the webview bundle lives (built from webview/main.tsx by esbuild.mjs). */
export function webviewRoot(extensionUri: vscode.Uri): vscode.Uri {
  return vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
}

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return { enableScripts: true, localResourceRoots: [webviewRoot(extensionUri)] };
}

/**
 * One inspector webview (a panel beside the editor, or a trace file's custom editor): sets its HTML
 * under a nonce CSP, validates every message it sends, and holds host messages until it says `ready`.
 * Stream messages queue in order; `init` and `status` keep only the newest. A webview that is reloaded
 * (hidden with retainContextWhenHidden off, or a reload) says `ready` again and gets `init` again;
 * what it lost in between comes from the webview's own saved state.
 */
export class InspectorView implements vscode.Disposable {
  private ready = false;
  private readonly pending: HostMessage[] = [];
  private latestInit: HostMessage | undefined;
  private readonly received = new vscode.EventEmitter<WebviewMessage>();
  /** Every valid message from the webview (`ready` included). */
  readonly onMessage = this.received.event;
  private readonly disposed = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposed.event;
  private readonly disposables: vscode.Disposable[] = [this.received, this.disposed];
  private isDisposed = false;

  constructor(readonly panel: vscode.WebviewPanel, extensionUri: vscode.Uri, private readonly log: vscode.LogOutputChannel, title: string) {
    const webview = panel.webview;
    webview.options = webviewOptions(extensionUri);
    const root = webviewRoot(extensionUri);
    webview.html = webviewHtml({
      cspSource: webview.cspSource,
      nonce: makeNonce(),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(root, 'main.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(root, 'main.css')).toString(),
      title,
    });
    this.disposables.push(
      webview.onDidReceiveMessage((raw: unknown) => this.receive(raw)),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  private receive(raw: unknown): void {
    const message = parseWebviewMessage(raw);
    if (!message) {
      this.log.warn(`ignored an invalid message from the inspector webview: ${JSON.stringify(raw)?.slice(0, 200)}`);
      return;
    }
    if (message.type === 'ready') {
      this.ready = true;
      if (this.latestInit) void this.panel.webview.postMessage(this.latestInit);
      for (const m of this.pending.splice(0)) void this.panel.webview.postMessage(m);
    }
    this.received.fire(message);
  }

  /** Sends now if the webview is ready, else queues (init and status: newest wins). Never waits. */
  post(data: HostMessage): void {
    if (this.isDisposed) return;
    const message = toWire(data);
    if (message.type === 'init') this.latestInit = message;
    if (this.ready) {
      void this.panel.webview.postMessage(message);
      return;
    }
    if (message.type === 'init') return;
    if (message.type === 'status') {
      const i = this.pending.findIndex((m) => m.type === 'status');
      if (i >= 0) this.pending.splice(i, 1);
    }
    this.pending.push(message);
  }

  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    this.disposed.fire();
    this.panel.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
