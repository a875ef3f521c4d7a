import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { MoeLensApi } from '../../extension/vscode/api';
import type { WebviewMessage } from '../../extension/protocol';

export const EXTENSION_ID = 'moe-lens.moe-lens';

export function extension(): vscode.Extension<MoeLensApi> {
  const ext = vscode.extensions.getExtension<MoeLensApi>(EXTENSION_ID);
  assert.ok(ext, `extension ${EXTENSION_ID} is not installed`);
  return ext;
}

export async function api(): Promise<MoeLensApi> {
  return extension().activate();
}

/** The test workspace (the first folder), prepared by the driver. */
export function workspaceRoot(): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the tests need a workspace folder');
  return folder.uri;
}

/** Resolves with the first webview message that `match` accepts, or fails after `ms` naming what it waited for. */
export function nextMessage<T extends WebviewMessage>(
  moeLens: MoeLensApi, what: string, match: (m: WebviewMessage, from: 'inspector' | 'traceEditor') => m is T, ms = 60_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`no ${what} from the webview within ${ms / 1000} s (is dist/webview/main.js built?)`));
    }, ms);
    const sub = moeLens.onWebviewMessage(({ from, message }) => {
      if (!match(message, from)) return;
      clearTimeout(timer);
      sub.dispose();
      resolve(message);
    });
  });
}

type Rendered = Extract<WebviewMessage, { type: 'rendered' }>;

/** Waits for the webview to ack having painted run `runId` with at least `tokens` tokens. */
export function rendered(moeLens: MoeLensApi, from: 'inspector' | 'traceEditor', runId: (id: number) => boolean, tokens: number): Promise<Rendered> {
  return nextMessage(moeLens, `rendered ack with ${tokens} tokens`, (m, f): m is Rendered => f === from && m.type === 'rendered' && runId(m.runId) && m.tokens >= tokens);
}

/** Opens the sample program (a copy in the workspace) in the first column. */
export async function openSample(name = 'loop.py'): Promise<vscode.TextEditor> {
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(workspaceRoot(), name));
  return vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One });
}

/** Where the driver wants screenshots; unset under @vscode/test-electron. */
export const screenshotDir = process.env.MOE_LENS_SCREENSHOT_DIR;

/**
 * Asks the driver (outside VS Code) for a screenshot of the workbench now, and waits until it has
 * taken it: the request is a log line, the answer a file the driver writes.
 */
export async function screenshot(name: string): Promise<void> {
  if (!screenshotDir) return;
  const { access } = await import('node:fs/promises');
  console.log(`[moe-lens-screenshot] ${name}`);
  const done = join(screenshotDir, `${name}.done`);
  for (let i = 0; i < 300; i++) {
    if (await access(done).then(() => true, () => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log(`driver did not take screenshot ${name}`);
}

export async function closeAll(): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}
