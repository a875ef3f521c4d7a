import { basename, dirname, extname } from 'node:path';
import * as vscode from 'vscode';
import { compareTracesCommand } from './compareTraces';
import { loadEngine } from './engineLoader';
import { showModelCard } from './modelCard';
import { showError } from './notify';
import type { RunController } from './runController';
import { SECTION } from './settings';
import { TraceEditorProvider } from './traceEditor';
import { exportTrace } from './traceFiles';

/** What each execution provider needs, said in the picker next to whether it starts here. */
const PROVIDER_NOTES: Record<string, string> = {
  cpu: 'always available',
  webgpu: 'GPU through Dawn: on Linux a Vulkan driver Dawn accepts (the GPU vendor\'s, or Mesa 24+)',
  cuda: 'needs onnxruntime-node\'s CUDA binaries (README: Install), CUDA 12 and cuDNN 9',
  tensorrt: 'needs onnxruntime-node\'s TensorRT binaries and TensorRT',
};

const RECENT_KEY = 'moeLens.recentModels';
const MAX_RECENT = 8;

type Probe = { provider: string; available: boolean; reason?: string };
let probed: Thenable<Probe[]> | undefined;

/** Which providers start on this machine, tried once per VS Code session (the answer does not change while it runs). */
function providerProbe(): Thenable<Probe[]> {
  probed ??= vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'MoE Lens: checking which execution providers start on this machine…' },
    async () => (await loadEngine()).probeProviders(),
  );
  return probed;
}

/** Checks a folder as a model folder without loading the model; the error says what is wrong and what to do. */
async function checkModelFolder(dir: string): Promise<string | undefined> {
  try {
    await (await loadEngine()).readModelFolder(dir);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

async function selectModel(context: vscode.ExtensionContext, folderArg?: string): Promise<string | undefined> {
  const config = vscode.workspace.getConfiguration(SECTION);
  const recent = context.globalState.get<string[]>(RECENT_KEY, []);
  let dir = folderArg;
  if (dir === undefined) {
    const items: (vscode.QuickPickItem & { value?: string })[] = [
      { label: '$(package) Bundled model', description: 'moe-lens-mini: executes tiny programs, ships with the extension', value: '' },
      ...(recent.length ? [{ label: 'Recent', kind: vscode.QuickPickItemKind.Separator }] : []),
      ...recent.map((r) => ({ label: `$(folder) ${basename(r)}`, description: dirname(r), value: r })),
      { label: '', kind: vscode.QuickPickItemKind.Separator },
      { label: '$(folder-opened) Choose a folder…', description: 'an ONNX export: model.onnx (or onnx/model.onnx), config.json, tokenizer.json' },
    ];
    const pick = await vscode.window.showQuickPick(items, { title: 'MoE Lens: Select Model' });
    if (!pick) return undefined;
    dir = pick.value;
    if (dir === undefined) {
      const folder = await vscode.window.showOpenDialog({ canSelectFiles: false, canSelectFolders: true, title: 'Model folder', openLabel: 'Use this model' });
      if (!folder?.[0]) return undefined;
      dir = folder[0].fsPath;
    }
  }
  if (dir) {
    const problem = await checkModelFolder(dir);
    if (problem) {
      void showError(`MoE Lens: ${problem}`);
      return undefined;
    }
    await context.globalState.update(RECENT_KEY, [dir, ...recent.filter((r) => r !== dir)].slice(0, MAX_RECENT));
  }
  await config.update('modelPath', dir || undefined, vscode.ConfigurationTarget.Global);
  return dir;
}

async function selectProvider(): Promise<void> {
  const probes = await providerProbe();
  const items = [
    { label: 'auto', description: 'the CPU for small models, else CUDA → WebGPU → CPU, whichever starts first', value: 'auto' },
    ...probes.map((p) => ({
      label: `${p.available ? '$(check)' : '$(circle-slash)'} ${p.provider}`,
      description: p.available ? `starts here · ${PROVIDER_NOTES[p.provider] ?? ''}` : `cannot start here: ${p.reason ?? 'unknown'}`,
      detail: p.available ? undefined : PROVIDER_NOTES[p.provider],
      value: p.provider,
    })),
  ];
  const pick = await vscode.window.showQuickPick(items, { title: 'MoE Lens: execution provider (falls back to the CPU, with a warning)' });
  if (!pick) return;
  await vscode.workspace.getConfiguration(SECTION).update('executionProviders', pick.value === 'auto' ? undefined : [pick.value, 'cpu'], vscode.ConfigurationTarget.Global);
}

/** `loop.py` → `loop.moetrace.json` beside it (or in the workspace): exports are named after what was run. */
function exportName(controller: RunController): vscode.Uri | undefined {
  const origin = controller.origin?.document.uri;
  const folder = origin?.scheme === 'file' ? vscode.Uri.file(dirname(origin.fsPath)) : vscode.workspace.workspaceFolders?.[0]?.uri;
  if (!folder) return undefined;
  const base = origin ? basename(origin.fsPath, extname(origin.fsPath)) : controller.lastRun?.store?.meta.model.name ?? 'run';
  return vscode.Uri.joinPath(folder, `${base}.moetrace.json`);
}

/**
 * The editor a command run from the focused inspector means: with the panel focused VS Code reports no
 * active text editor, though the code is right beside it. The one visible editor with a selection, else
 * the only visible one; undefined when that is ambiguous.
 */
function editorBesideInspector(): vscode.TextEditor | undefined {
  const visible = vscode.window.visibleTextEditors.filter((e) => e.document.uri.scheme === 'file' || e.document.uri.scheme === 'untitled');
  const selected = visible.filter((e) => !e.selection.isEmpty);
  if (selected.length === 1) return selected[0];
  return visible.length === 1 ? visible[0] : undefined;
}

/** Registers every command of the `contributes.commands` list. Arguments let tests skip the dialogs. */
export function registerCommands(controller: RunController, context: vscode.ExtensionContext): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('moeLens.openInspector', () => {
      controller.show(false);
    }),
    vscode.commands.registerCommand('moeLens.focusInspector', () => {
      controller.focus('tokens');
    }),
    vscode.commands.registerCommand('moeLens.inspectSelection', async () => {
      const editor = vscode.window.activeTextEditor ?? editorBesideInspector();
      if (!editor) {
        void showError('MoE Lens: open a file and select some code, then run Inspect Selection.');
        return undefined;
      }
      return controller.inspectSelection(editor);
    }),
    // a program has lines: it is typed in the panel's prompt box (a one-line input box would drop them)
    vscode.commands.registerCommand('moeLens.runPrompt', async (program?: string) => {
      if (program !== undefined) return controller.runProgram(program);
      controller.focus('prompt');
      return undefined;
    }),
    vscode.commands.registerCommand('moeLens.stop', () => controller.stop()),
    vscode.commands.registerCommand('moeLens.clearHighlights', () => controller.clearHighlights()),
    vscode.commands.registerCommand('moeLens.exportTrace', async (target?: vscode.Uri) => {
      const store = controller.lastRun?.store;
      if (!store || !store.done) {
        void showError('MoE Lens: there is no finished run to export. Run Inspect Selection or Run Prompt first.');
        return undefined;
      }
      try {
        const written = await exportTrace(store, target, exportName(controller));
        if (written && !target) {
          const shown = written.map((p) => vscode.workspace.asRelativePath(p)).join(', ');
          void vscode.window.showInformationMessage(`MoE Lens: exported ${shown}`, 'Open', 'Reveal').then((choice) => {
            const uri = vscode.Uri.file(written[0]);
            if (choice === 'Open') void vscode.commands.executeCommand('vscode.open', uri);
            if (choice === 'Reveal') void vscode.commands.executeCommand('revealFileInOS', uri);
          });
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
    vscode.commands.registerCommand('moeLens.compareTraces', (a?: vscode.Uri, b?: vscode.Uri) => compareTracesCommand(controller.lastRun?.store, a, b)),
    vscode.commands.registerCommand('moeLens.selectModel', (folder?: string) => selectModel(context, folder)),
    vscode.commands.registerCommand('moeLens.selectExecutionProvider', () => selectProvider()),
    vscode.commands.registerCommand('moeLens.showModelCard', () => showModelCard(controller.modelSession)),
  ];
}
