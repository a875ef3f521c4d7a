import * as vscode from 'vscode';
import type { Layer } from '../protocol';
import { DEFAULT_SAMPLING, SAMPLING_FIELDS, SAMPLING_SETTING_KEYS, type SamplingSettings, samplingFieldProblem } from '../trace/sampling';

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

/**
 * The sampling settings; a value out of range (the settings editor warns, but stores it) is replaced by
 * its default and reported through `onProblem`, so a run always starts with valid settings.
 */
export function samplingSettings(onProblem: (message: string) => void = () => {}): SamplingSettings {
  const c = vscode.workspace.getConfiguration(SECTION);
  const out = { ...DEFAULT_SAMPLING };
  for (const field of SAMPLING_FIELDS) {
    const key = SAMPLING_SETTING_KEYS[field];
    const value = c.get<unknown>(key, DEFAULT_SAMPLING[field]);
    const problem = samplingFieldProblem(field, value);
    if (problem) onProblem(`moeLens.${key}: ${problem.slice(field.length + 1)}; using ${DEFAULT_SAMPLING[field]}`);
    else out[field] = value as number;
  }
  return out;
}

/** The layer that colours tokens and source: the setting when it is a MoE layer, else the first MoE layer. */
export function defaultLayer(moeLayers: readonly number[] = []): Layer {
  const value = vscode.workspace.getConfiguration(SECTION).get<number | string>('defaultLayer', 'first');
  if (value === 'all') return 'all';
  const n = Number(value);
  if (Number.isInteger(n) && (moeLayers.length === 0 || moeLayers.includes(n))) return n;
  return moeLayers[0] ?? 0;
}
