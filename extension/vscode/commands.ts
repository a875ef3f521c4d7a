import * as vscode from 'vscode';
import type { RunController } from './runController';
import { showError } from './notify';
import { SECTION } from './settings';
import { TraceEditorProvider } from './traceEditor';
import { exportTrace } from './traceFiles';

const PROVIDERS = [
  { label: 'auto', description: 'the CPU for small models, else CUDA → WebGPU → CPU' },
  { label: 'cpu', description: 'always available' },
  { label: 'webgpu', description: 'bundled with onnxruntime-node; on Linux needs a Vulkan driver that Dawn accepts (the GPU vendor\'s, or Mesa 24+; Debian 12\'s Mesa 22 is refused)' },
  { label: 'cuda', description: 'needs onnxruntime-node\'s downloaded CUDA binaries' },
  { label: 'tensorrt', description: 'needs onnxruntime-node\'s downloaded TensorRT binaries' },
];

/** Registers every command of the `contributes.commands` list. Arguments let tests skip the dialogs. */
export function registerCommands(controller: RunController): vscode.Disposable[] {
  const config = () => vscode.workspace.getConfiguration(SECTION);
  return [
    vscode.commands.registerCommand('moeLens.openInspector', () => {
      controller.show(false);
    }),
    vscode.commands.registerCommand('moeLens.inspectSelection', async () => {
      const editor = vscode.window.activeTextEditor;
      if (!editor) {
        void showError('MoE Lens: open a file and select some code, then run Inspect Selection.');
        return undefined;
      }
      return controller.inspectSelection(editor);
    }),
    vscode.commands.registerCommand('moeLens.runPrompt', async (program?: string) => {
      const text = program ?? await vscode.window.showInputBox({
        title: 'MoE Lens: Run Prompt', prompt: 'A program for the model, wrapped in its prompt format; type \\n for a new line',
        value: 'x = 3\nprint(x * 4)', ignoreFocusOut: true,
      });
      if (!text) return undefined;
      return controller.runProgram(text.replace(/\\n/g, '\n'));
    }),
    vscode.commands.registerCommand('moeLens.stop', () => controller.stop()),
    vscode.commands.registerCommand('moeLens.exportTrace', async (target?: vscode.Uri) => {
      const store = controller.lastRun?.store;
      if (!store) {
        void showError('MoE Lens: there is no finished run to export. Run Inspect Selection or Run Prompt first.');
        return undefined;
      }
      try {
        const written = await exportTrace(store, target);
        if (written && !target) {
          void vscode.window.showInformationMessage(`MoE Lens: exported ${written.map((p) => vscode.workspace.asRelativePath(p)).join(', ')}`);
        }
        return written;
      } catch (e) {
        void showError(`MoE Lens: export failed: ${(e as Error).message}`);
        return undefined;
      }
    }),
    vscode.commands.registerCommand('moeLens.openTrace', async (target?: vscode.Uri) => {
      const uri = target ?? (await vscode.window.showOpenDialog({
        title: 'Open MoE Lens trace', canSelectMany: false, filters: { 'MoE Lens trace': ['json', 'jsonl'] },
      }))?.[0];
      if (uri) await vscode.commands.executeCommand('vscode.openWith', uri, TraceEditorProvider.viewType);
    }),
    vscode.commands.registerCommand('moeLens.selectModel', async () => {
      const pick = await vscode.window.showQuickPick(
        [
          { label: 'Bundled model', description: 'moe-lens-mini, ships with the extension', value: '' },
          { label: 'Choose a folder…', description: 'model.onnx, config.json, tokenizer.json, tokenizer_config.json', value: undefined },
        ],
        { title: 'MoE Lens: Select Model' },
      );
      if (!pick) return;
      let dir = pick.value;
      if (dir === undefined) {
        const folder = await vscode.window.showOpenDialog({ canSelectFiles: false, canSelectFolders: true, title: 'Model folder' });
        if (!folder?.[0]) return;
        dir = folder[0].fsPath;
      }
      await config().update('modelPath', dir || undefined, vscode.ConfigurationTarget.Global);
    }),
    vscode.commands.registerCommand('moeLens.selectExecutionProvider', async () => {
      const pick = await vscode.window.showQuickPick(PROVIDERS, { title: 'MoE Lens: execution provider (falls back to the CPU)' });
      if (!pick) return;
      await config().update('executionProviders', pick.label === 'auto' ? undefined : [pick.label, 'cpu'], vscode.ConfigurationTarget.Global);
    }),
  ];
}
