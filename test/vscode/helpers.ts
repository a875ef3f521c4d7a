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
  | { action: 'select'; selector: string; value: string }
  /**
   * Reads the text (or an attribute; '.value' the property, '.selection' `focused|blurred start:end:length`) of every
   * element matching `selector` in the inspector webview; none is an empty list.
   */
  | { action: 'text'; selector: string; attribute?: string }
  /** Presses keys one after another in the inspector webview, as a keyboard user would (focus is wherever it is). */
  | { action: 'press'; keys: string[] }
  /** Sets the browser window's size (the workbench relayouts). */
  | { action: 'viewport'; width: number; height: number }
  /** Checks the inspector's layout: the answer on screen, no blocks overlapping, no horizontal overflow. */
  | { action: 'layout' };

let requests = 0;

/**
 * Asks the driver to act and waits until it has: the request is a log line, the answer a file the
 * driver writes (`ok`, or what went wrong). Returns false when no driver runs (test-electron).
 */
export async function askDriver(request: DriverRequest): Promise<boolean> {
  return (await driverAnswer(request)) !== undefined;
}

/** Asks the driver and returns its answer's value (`ok` → '', `ok:<value>` → value); undefined when no driver runs. */
export async function driverAnswer(request: DriverRequest): Promise<string | undefined> {
  if (!driverDir) return undefined;
  const { access, readFile } = await import('node:fs/promises');
  // unique across the suite's bundles (each has its own counter) and across loads of the workbench
  const id = `request-${process.pid}-${Date.now().toString(36)}-${++requests}`;
  console.log(`[moe-lens-driver] ${JSON.stringify({ id, ...request })}`);
  const done = join(driverDir, `${id}.done`);
  for (let i = 0; i < 300; i++) {
    if (await access(done).then(() => true, () => false)) {
      const answer = await readFile(done, 'utf8');
      if (answer !== 'ok' && !answer.startsWith('ok:')) throw new Error(`driver: ${request.action} failed: ${answer}`);
      return answer.slice(3);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`driver did not answer ${JSON.stringify(request)} within 30 s`);
}

export async function screenshot(name: string): Promise<void> {
  await askDriver({ action: 'screenshot', name });
}

/** The texts (or attribute values) of the inspector elements matching `selector`; undefined without a driver. */
export async function inspectorTexts(selector: string, attribute?: string): Promise<string[] | undefined> {
  const answer = await driverAnswer({ action: 'text', selector, ...(attribute ? { attribute } : {}) });
  return answer === undefined ? undefined : (JSON.parse(answer) as string[]);
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
