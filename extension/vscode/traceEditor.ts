import * as vscode from 'vscode';
import { traceMessages } from '../inspector/stream';
import { runSummary } from '../trace/figures';
import { PROTOCOL_VERSION, type WebviewMessage } from '../protocol';
import type { TraceStore } from '../trace/store';
import { InspectorView } from './inspectorView';
import { showError } from './notify';
import { defaultLayer } from './settings';
import { exportTrace, readTraceFile } from './traceFiles';

/** A trace file as opened: the trace, or why it could not be read. */
export class TraceDocument implements vscode.CustomDocument {
  constructor(readonly uri: vscode.Uri, readonly store: TraceStore | undefined, readonly error: string | undefined) {}
  dispose(): void {}
}

/**
 * The read-only viewer for `*.moetrace.json` / `*.moetrace.jsonl`: the inspector in replay mode. A
 * file that fails validation opens as a panel showing the error (and a notification); nothing of it runs.
 */
export class TraceEditorProvider implements vscode.CustomReadonlyEditorProvider<TraceDocument> {
  static readonly viewType = 'moeLens.traceViewer';
  private nextRunId = 1_000_000;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
    private readonly onMessage: (message: WebviewMessage) => void,
  ) {}

  static register(provider: TraceEditorProvider): vscode.Disposable {
    return vscode.window.registerCustomEditorProvider(TraceEditorProvider.viewType, provider, {
      webviewOptions: { retainContextWhenHidden: true },
      supportsMultipleEditorsPerDocument: true,
    });
  }

  async openCustomDocument(uri: vscode.Uri): Promise<TraceDocument> {
    try {
      const store = await readTraceFile(uri);
      this.log.info(`opened trace ${uri.fsPath}: ${store.tokenCount} tokens, model ${store.meta.model.name}, provider ${store.meta.provider}`);
      return new TraceDocument(uri, store, undefined);
    } catch (e) {
      const message = (e as Error).message;
      this.log.error(`trace ${uri.fsPath} could not be opened: ${message}`);
      return new TraceDocument(uri, undefined, message.startsWith(uri.fsPath) ? message : `${uri.fsPath}: ${message}`);
    }
  }

  async resolveCustomEditor(document: TraceDocument, panel: vscode.WebviewPanel): Promise<void> {
    const title = vscode.workspace.asRelativePath(document.uri);
    const view = new InspectorView(panel, this.extensionUri, this.log, title);
    view.onMessage((message) => {
      this.onMessage(message);
      if (message.type === 'export' && document.store) void exportTrace(document.store);
    });
    const layers = document.store?.meta.model.moeLayers ?? [];
    view.post({
      type: 'init', protocol: PROTOCOL_VERSION, mode: 'replay', layer: defaultLayer(layers), title,
      defaults: document.store?.meta.settings ?? { maxNewTokens: 400, temperature: 0, topK: 0, topP: 1, seed: 0 },
      prompt: document.store?.meta.prompt ?? '',
    });
    if (document.error || !document.store) {
      const message = document.error ?? 'the trace could not be read';
      view.post({ type: 'error', message });
      void showError(`MoE Lens could not open the trace: ${message}`);
      return;
    }
    for (const m of traceMessages(document.store, this.nextRunId++, runSummary(document.store))) view.post(m);
  }
}
