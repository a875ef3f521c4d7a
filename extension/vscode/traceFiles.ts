import * as vscode from 'vscode';
import { routingToCsv, tokensToCsv } from '../trace/csv';
import { traceFromJson, traceToJson } from '../trace/jsonFormat';
import { traceFromJsonl, traceToJsonl } from '../trace/jsonl';
import type { TraceStore } from '../trace/store';
import { MAX_TRACE_BYTES } from '../trace/validate';
import { writeFileAtomic } from '../trace/writeAtomic';

export type ExportFormat = 'json' | 'jsonl' | 'csv';

/** Above this many tokens an export shows a progress notification. */
const LARGE_TRACE_TOKENS = 2_000;

export function formatOf(path: string): ExportFormat {
  const lower = path.toLowerCase();
  if (lower.endsWith('.jsonl')) return 'jsonl';
  if (lower.endsWith('.csv')) return 'csv';
  return 'json';
}

/** Reads a trace file (JSON or JSONL by its name); throws TraceFormatError or a size error with the file named. */
export async function readTraceFile(uri: vscode.Uri): Promise<TraceStore> {
  const stat = await vscode.workspace.fs.stat(uri);
  if (stat.size > MAX_TRACE_BYTES) {
    throw new Error(`${uri.fsPath}: ${stat.size} bytes is larger than MoE Lens opens (${MAX_TRACE_BYTES} bytes). Export a shorter run.`);
  }
  const text = new TextDecoder('utf-8', { fatal: false }).decode(await vscode.workspace.fs.readFile(uri));
  return formatOf(uri.path) === 'jsonl' ? traceFromJsonl(text) : traceFromJson(text);
}

/**
 * Writes `store` to `path` in the format its name says; CSV writes the routing (long form) at `path`
 * and the tokens beside it (`<name>.tokens.csv`). Every file is written atomically.
 */
export async function writeTrace(store: TraceStore, path: string, progress?: vscode.Progress<{ message?: string; increment?: number }>): Promise<string[]> {
  const format = formatOf(path);
  progress?.report({ message: 'serialising…', increment: 10 });
  if (format === 'csv') {
    const routing = routingToCsv(store);
    progress?.report({ message: 'writing routing…', increment: 40 });
    await writeFileAtomic(path, routing);
    const tokensPath = path.replace(/\.csv$/i, '') + '.tokens.csv';
    const tokens = tokensToCsv(store);
    progress?.report({ message: 'writing tokens…', increment: 30 });
    await writeFileAtomic(tokensPath, tokens);
    return [path, tokensPath];
  }
  const text = format === 'jsonl' ? traceToJsonl(store) : traceToJson(store);
  progress?.report({ message: 'writing…', increment: 60 });
  await writeFileAtomic(path, text);
  return [path];
}

/** Export with a save dialog (unless `target` is given), progress on large traces, errors shown. */
export async function exportTrace(store: TraceStore, target?: vscode.Uri, suggested?: vscode.Uri): Promise<string[] | undefined> {
  let uri = target;
  if (!uri) {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const name = `${store.meta.model.name}-${store.meta.createdAt.replace(/[:.]/g, '-')}.moetrace.json`;
    const defaultUri = suggested ?? (folder ? vscode.Uri.joinPath(folder, name) : undefined);
    uri = await vscode.window.showSaveDialog({
      title: 'Export MoE Lens trace',
      saveLabel: 'Export',
      ...(defaultUri ? { defaultUri } : {}),
      filters: { 'Trace (JSON, opens in MoE Lens)': ['json'], 'Trace (JSONL, one event per line)': ['jsonl'], 'Routing and tokens (CSV)': ['csv'] },
    });
    if (!uri) return undefined;
  }
  const path = uri.fsPath;
  if (store.tokenCount < LARGE_TRACE_TOKENS) return writeTrace(store, path);
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `MoE Lens: exporting ${store.tokenCount} tokens`, cancellable: false },
    (progress) => writeTrace(store, path, progress),
  );
}
