import * as vscode from 'vscode';
import type { Layer } from '../protocol';
import type { SamplingSettings } from '../trace/types';

export const SECTION = 'moeLens';

export interface ModelChoice {
  dir: string;
  /** Where the folder came from, for the log and the status bar. */
  origin: 'bundled' | 'user' | 'workspace';
  /** A workspace setting that was not used because the workspace is not trusted. */
  ignoredWorkspaceDir?: string;
}

export function bundledModelDir(extensionUri: vscode.Uri): string {
  return vscode.Uri.joinPath(extensionUri, 'models', 'moe-lens-mini').fsPath;
}

/**
 * The model folder to load. A folder named by the workspace (or a folder in it) is code the workspace
 * chose to run, so it is honoured only in a trusted workspace; the user's own setting and the bundled
 * model always work. (`capabilities.untrustedWorkspaces.restrictedConfigurations` makes VS Code drop the
 * workspace value too; this check keeps the rule in the code that loads.)
 */
export function modelChoice(extensionUri: vscode.Uri): ModelChoice {
  const inspect = vscode.workspace.getConfiguration(SECTION).inspect<string>('modelPath');
  const workspaceDir = inspect?.workspaceFolderValue || inspect?.workspaceValue;
  const userDir = inspect?.globalValue;
  if (workspaceDir) {
    if (vscode.workspace.isTrusted) return { dir: resolveAgainstWorkspace(workspaceDir), origin: 'workspace' };
    return userDir
      ? { dir: userDir, origin: 'user', ignoredWorkspaceDir: workspaceDir }
      : { dir: bundledModelDir(extensionUri), origin: 'bundled', ignoredWorkspaceDir: workspaceDir };
  }
  if (userDir) return { dir: userDir, origin: 'user' };
  return { dir: bundledModelDir(extensionUri), origin: 'bundled' };
}

function resolveAgainstWorkspace(dir: string): string {
  const root = vscode.workspace.workspaceFolders?.[0]?.uri;
  if (!root || dir.startsWith('/') || /^[a-zA-Z]:[\\/]/.test(dir)) return dir;
  return vscode.Uri.joinPath(root, dir).fsPath;
}

/** `auto`, or the ordered list of execution providers to try (the CPU is always added last). */
export function providerPreference(): 'auto' | string[] {
  const value = vscode.workspace.getConfiguration(SECTION).get<string[] | string>('executionProviders', ['auto']);
  const list = (Array.isArray(value) ? value : String(value).split(',')).map((s) => String(s).trim().toLowerCase()).filter(Boolean);
  return list.length === 0 || list.includes('auto') ? 'auto' : list;
}

export function samplingSettings(): SamplingSettings {
  const c = vscode.workspace.getConfiguration(SECTION);
  const int = (key: string, fallback: number, min: number, max: number) => {
    const v = Math.round(Number(c.get<number>(key, fallback)));
    return Number.isFinite(v) ? Math.min(max, Math.max(min, v)) : fallback;
  };
  const num = (key: string, fallback: number, min: number, max: number) => {
    const v = Number(c.get<number>(key, fallback));
    return Number.isFinite(v) ? Math.min(max, Math.max(min, v)) : fallback;
  };
  return {
    maxNewTokens: int('maxTokens', 400, 1, 100_000),
    temperature: num('temperature', 0, 0, 100),
    topK: int('topK', 0, 0, 1_000_000),
    topP: num('topP', 1, 0, 1),
    seed: int('seed', 0, 0, 2 ** 32 - 1),
  };
}

/** The layer that colours tokens and source: the setting when it is a MoE layer, else the first MoE layer. */
export function defaultLayer(moeLayers: readonly number[] = []): Layer {
  const value = vscode.workspace.getConfiguration(SECTION).get<number | string>('defaultLayer', 'first');
  if (value === 'all') return 'all';
  const n = Number(value);
  if (Number.isInteger(n) && (moeLayers.length === 0 || moeLayers.includes(n))) return n;
  return moeLayers[0] ?? 0;
}
