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

/** The driver's folder for requests and screenshots; unset under @vscode/test-electron (no driver). */
export const driverDir = process.env.MOE_LENS_DRIVER_DIR;

/** What the driver (Playwright, outside VS Code) can do for a test: see the workbench, use the webview. */
export type DriverRequest =
  | { action: 'screenshot'; name: string }
  /** Clicks the first (or last) element matching `selector` in the inspector webview; `scrollTop` first scrolls that element to its top. */
  | { action: 'click'; selector: string; last?: boolean; scrollTop?: string }
  /** Sets a select's value in the inspector webview and fires `change`. */
  | { action: 'select'; selector: string; value: string };

let requests = 0;

/**
 * Asks the driver to act and waits until it has: the request is a log line, the answer a file the
 * driver writes (`ok`, or what went wrong). Returns false when no driver runs (test-electron).
 */
export async function askDriver(request: DriverRequest): Promise<boolean> {
  if (!driverDir) return false;
  const { access, readFile } = await import('node:fs/promises');
  const id = `request-${process.pid}-${++requests}`;
  console.log(`[moe-lens-driver] ${JSON.stringify({ id, ...request })}`);
  const done = join(driverDir, `${id}.done`);
  for (let i = 0; i < 300; i++) {
    if (await access(done).then(() => true, () => false)) {
      const answer = await readFile(done, 'utf8');
      if (answer !== 'ok') throw new Error(`driver: ${request.action} failed: ${answer}`);
      return true;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`driver did not answer ${JSON.stringify(request)} within 30 s`);
}

export async function screenshot(name: string): Promise<void> {
  await askDriver({ action: 'screenshot', name });
}

/** Polls `condition` until it holds; fails after `ms` naming what it waited for. */
export async function waitFor(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  for (const started = Date.now(); !condition(); await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() - started > ms) throw new Error(`${what}: not within ${ms / 1000} s`);
  }
}

export async function closeAll(): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}
