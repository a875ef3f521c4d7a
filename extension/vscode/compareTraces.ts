/**
 * MoE Lens: Compare Traces… — two runs side by side: two trace files, or the last run against one file.
 * Aligned by position where the tokens agree; per layer the overlap of expert sets, the gate-weight
 * distance, the first divergence and the load difference per expert (analysis/compare, the same
 * numbers `moe-lens compare` prints). The summary opens as a text document beside the editor.
 */
import * as vscode from 'vscode';
import { compareTraces } from '../analysis/compare';
import { fromStore } from '../analysis/input';
import { compareSummary } from '../cli/compareCommand';
import type { TraceStore } from '../trace/store';
import { showError } from './notify';
import { readTraceFile } from './traceFiles';

interface Side {
  store: TraceStore;
  name: string;
}

/** Returns the summary shown, or undefined when the user cancelled or a trace could not be read. */
export async function compareTracesCommand(lastRun: TraceStore | undefined, a?: vscode.Uri, b?: vscode.Uri): Promise<string | undefined> {
  const live = lastRun?.done ? lastRun : undefined;
  const picked = a ? [a, ...(b ? [b] : [])] : await vscode.window.showOpenDialog({
    title: live ? 'Compare traces: pick two trace files, or one to compare with the last run' : 'Compare traces: pick two trace files',
    canSelectMany: true, filters: { 'MoE Lens trace': ['json', 'jsonl'] },
  });
  if (!picked || picked.length === 0) return undefined;
  if (picked.length > 2 || (picked.length === 1 && !live)) {
    void showError(`MoE Lens: Compare Traces takes two traces${live ? ', or one to compare with the last run' : ' (or one, after a run)'}; ${picked.length} were picked.`);
    return undefined;
  }
  let sides: Side[];
  try {
    const files = await Promise.all(picked.map(async (uri) => ({ store: await readTraceFile(uri), name: vscode.workspace.asRelativePath(uri) })));
    sides = files.length === 2 ? files : [{ store: live as TraceStore, name: 'the last run' }, files[0]];
  } catch (e) {
    void showError(`MoE Lens: cannot compare: ${(e as Error).message}`);
    return undefined;
  }
  const [x, y] = sides;
  let text: string;
  try {
    text = compareSummary(compareTraces(fromStore(x.store), fromStore(y.store)), x.store, y.store, x.name, y.name).join('\n');
  } catch (e) {
    // traces of models with different expert counts, for one, do not compare
    void showError(`MoE Lens: cannot compare ${x.name} with ${y.name}: ${(e as Error).message}`);
    return undefined;
  }
  const doc = await vscode.workspace.openTextDocument({ content: `${text}\n`, language: 'plaintext' });
  await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: true });
  return text;
}
