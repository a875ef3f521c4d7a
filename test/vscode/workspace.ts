/** The throw-away folders one VS Code test session uses: a workspace with the sample, a user data dir. */
import { cp, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** dist/test-vscode/ → the repository root. */
export const ROOT = resolve(__dirname, '..', '..');

export interface TestFolders {
  base: string;
  workspace: string;
  userData: string;
  extensions: string;
}

const USER_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.colorTheme': 'Default Dark Modern',
  'telemetry.telemetryLevel': 'off',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'update.mode': 'none',
  'security.workspace.trust.startupPrompt': 'never',
  'editor.fontSize': 15,
  'chat.disableAIFeatures': true,
};

/**
 * Makes the folders under the system temp dir. `workspaceSettings` become the workspace's
 * .vscode/settings.json (the untrusted suite names a model folder there).
 */
export async function makeTestFolders(name: string, workspaceSettings: Record<string, unknown> = {}): Promise<TestFolders> {
  const base = await mkdtemp(join(tmpdir(), `moe-lens-vscode-${name}-`));
  const workspace = join(base, 'workspace');
  const userData = join(base, 'user-data');
  const extensions = join(base, 'extensions');
  await mkdir(join(workspace, '.vscode'), { recursive: true });
  await mkdir(join(userData, 'User'), { recursive: true });
  await mkdir(extensions, { recursive: true });
  await cp(join(ROOT, 'media', 'samples', 'loop.py'), join(workspace, 'loop.py'));
  await writeFile(join(workspace, '.vscode', 'settings.json'), JSON.stringify(workspaceSettings, null, 2));
  await writeFile(join(userData, 'User', 'settings.json'), JSON.stringify(USER_SETTINGS, null, 2));
  return { base, workspace, userData, extensions };
}
