import type * as vscode from 'vscode';
import type { WebviewMessage } from '../protocol';
import type { DecorationSnapshot } from './decorations';
import type { ModelState } from './modelSession';
import type { RunRecord } from './runController';

/**
 * What `activate` returns: read-only views of state that VS Code's API cannot be asked about
 * (decorations, webview acks), for the integration tests and for other extensions.
 */
export interface MoeLensApi {
  /** Milliseconds `activate` took. */
  readonly activationMs: number;
  /** Whether onnxruntime-node has been loaded into the extension host. */
  onnxRuntimeLoaded(): boolean;
  /** Every valid message a MoE Lens webview sent (`ready`, `rendered` acks, …). */
  readonly onWebviewMessage: vscode.Event<{ from: 'inspector' | 'traceEditor'; message: WebviewMessage }>;
  /** After each batch of decode steps a run records (about one per frame while the panel streams): the tokens generated so far. */
  readonly onDidDecode: vscode.Event<{ runId: number; generatedTokens: number }>;
  decorations(): DecorationSnapshot | undefined;
  lastRun(): RunRecord | undefined;
  modelState(): ModelState;
  /** Whether the inspector panel is open (created, or restored by the serializer after a reload). */
  inspectorOpen(): boolean;
  statusBarText(): string;
  /** Error notifications shown, newest last. */
  shownErrors(): readonly string[];
  revealLine(line: number): Promise<vscode.Range | undefined>;
}
