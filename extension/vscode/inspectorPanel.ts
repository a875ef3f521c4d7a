import * as vscode from 'vscode';
import { InspectorView } from './inspectorView';

/** The inspector beside the editor: one at a time, restored after a reload by its serializer. */
export class InspectorPanel {
  static readonly viewType = 'moeLens.inspector';
  static readonly title = 'MoE Lens';

  /** A new panel in the column beside `column` (or beside the active editor). */
  static create(extensionUri: vscode.Uri, log: vscode.LogOutputChannel, preserveFocus: boolean): InspectorView {
    const panel = vscode.window.createWebviewPanel(
      InspectorPanel.viewType,
      InspectorPanel.title,
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus },
      // keeps a hidden panel's stream (messages to a discarded webview are lost)
      { retainContextWhenHidden: true, enableScripts: true },
    );
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'icon.svg');
    return new InspectorView(panel, extensionUri, log, InspectorPanel.title);
  }

  /** Adopts a panel VS Code restored after a reload. */
  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, log: vscode.LogOutputChannel): InspectorView {
    return new InspectorView(panel, extensionUri, log, InspectorPanel.title);
  }
}
