/** What the inspector's banner buttons and notifications ask for: logs, settings, a CPU or bundled-model fallback. */
import * as vscode from 'vscode';
import type { HostAction } from '../protocol';
import { SECTION } from './settings';

export async function runHostAction(action: HostAction, log: vscode.LogOutputChannel): Promise<void> {
  const config = vscode.workspace.getConfiguration(SECTION);
  switch (action) {
    case 'showLog':
      log.show(true);
      return;
    case 'openSettings':
      await vscode.commands.executeCommand('workbench.action.openSettings', 'moeLens.modelPath');
      return;
    case 'useCpu':
      await config.update('executionProviders', ['cpu'], vscode.ConfigurationTarget.Global);
      void vscode.window.showInformationMessage('MoE Lens now runs on the CPU (moeLens.executionProviders = ["cpu"]).');
      return;
    case 'useBundledModel': {
      // a folder set by the workspace would win over the user's setting: clear it there too
      const inspect = config.inspect<string>('modelPath');
      if (inspect?.workspaceValue !== undefined) await config.update('modelPath', undefined, vscode.ConfigurationTarget.Workspace);
      if (inspect?.workspaceFolderValue !== undefined) await config.update('modelPath', undefined, vscode.ConfigurationTarget.WorkspaceFolder);
      await config.update('modelPath', undefined, vscode.ConfigurationTarget.Global);
      void vscode.window.showInformationMessage('MoE Lens uses the bundled model again.');
      return;
    }
  }
}

/** Error notification buttons for a model that would not load, mapped to their actions. */
export const LOAD_FAILED_ACTIONS: Record<string, HostAction> = { 'Use Bundled Model': 'useBundledModel', 'Open Settings': 'openSettings', 'Show Log': 'showLog' };
