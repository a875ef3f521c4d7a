import type { WebviewMessage } from '../extension/protocol';

/** The part of VS Code's webview API the inspector uses. */
export interface VsCodeApi {
  postMessage(message: WebviewMessage): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare global {
  // provided by VS Code (or the test harness) before the bundle runs; callable once per page
  function acquireVsCodeApi(): VsCodeApi;
}

export function vscodeApi(): VsCodeApi {
  if (typeof acquireVsCodeApi === 'function') return acquireVsCodeApi();
  // opened outside a webview: messages go nowhere, state lives for the page only
  let state: unknown;
  return { postMessage: () => undefined, getState: () => state, setState: (s) => { state = s; } };
}
