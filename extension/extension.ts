import * as vscode from 'vscode';
import type { MoeLensApi } from './vscode/api';
import { registerCommands } from './vscode/commands';
import { SourceDecorations } from './vscode/decorations';
import { onnxRuntimeLoaded } from './vscode/engineLoader';
import { InspectorPanel } from './vscode/inspectorPanel';
import { webviewOptions } from './vscode/inspectorView';
import { ModelSession } from './vscode/modelSession';
import { shownErrors } from './vscode/notify';
import { RunController } from './vscode/runController';
import { StatusBar } from './vscode/statusBar';
import { TraceEditorProvider } from './vscode/traceEditor';

/**
 * Activation registers commands, the trace editor, the panel serializer and the status bar. The engine
 * (and onnxruntime-node with it) loads on the first run, not here.
 */
export function activate(context: vscode.ExtensionContext): MoeLensApi {
  const started = performance.now();
  const log = vscode.window.createOutputChannel('MoE Lens', { log: true });
  const statusBar = new StatusBar();
  const session = new ModelSession(context.extensionUri, log, vscode.Uri.joinPath(context.globalStorageUri, 'graphs').fsPath);
  const decorations = new SourceDecorations(context.workspaceState);
  const controller = new RunController(context.extensionUri, log, session, decorations, statusBar);
  const traceEditor = new TraceEditorProvider(context.extensionUri, log, (message) => controller.relay(message));
  context.subscriptions.push(
    log, statusBar, session, decorations, controller,
    ...registerCommands(controller, context),
    TraceEditorProvider.register(traceEditor),
    vscode.window.registerWebviewPanelSerializer(InspectorPanel.viewType, {
      async deserializeWebviewPanel(panel: vscode.WebviewPanel) {
        panel.webview.options = webviewOptions(context.extensionUri);
        controller.adopt(InspectorPanel.revive(panel, context.extensionUri, log));
      },
    }),
  );
  const activationMs = performance.now() - started;
  log.info(`activated in ${activationMs.toFixed(1)} ms (onnxruntime-node loads on first use)`);
  return {
    activationMs,
    onnxRuntimeLoaded,
    onWebviewMessage: controller.onWebviewMessage,
    onDidDecode: controller.onDidDecode,
    decorations: () => decorations.snapshot,
    lastRun: () => controller.lastRun,
    modelState: () => session.state,
    inspectorOpen: () => controller.hasPanel,
    statusBarText: () => statusBar.text,
    shownErrors: () => [...shownErrors],
    revealLine: (line) => controller.revealLine(line),
  };
}

export function deactivate(): void {}
