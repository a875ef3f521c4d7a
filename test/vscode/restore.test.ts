import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { RunRecord } from '../../extension/vscode/runController';
import { api, driverDir, openSample, rendered, waitFor } from './helpers';

/** The driver loads the workbench twice in one browser profile and says which load this is. */
const load = driverDir ? Number(readFileSync(join(driverDir, 'load'), 'utf8')) : 1;

const inspectorTab = () => vscode.window.tabGroups.all.flatMap((g) => g.tabs)
  .find((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('moeLens.inspector'));

describe(`the inspector across a reload (load ${load})`, () => {
  if (load === 1) {
    it('is open beside the code with a finished run before the reload', async () => {
      const moeLens = await api();
      const editor = await openSample();
      editor.selection = new vscode.Selection(0, 0, editor.document.lineCount, 0);
      const record = await vscode.commands.executeCommand<RunRecord | undefined>('moeLens.inspectSelection');
      assert.ok(record?.store);
      await rendered(moeLens, 'inspector', (id) => id === record.runId, record.store.tokenCount);
      assert.ok(inspectorTab());
    });
  } else {
    it('comes back after the reload: VS Code restores the panel and the serializer adopts it', async function () {
      await waitFor(() => inspectorTab() !== undefined, 'the inspector tab restored', 30_000);
      const ext = vscode.extensions.getExtension('moe-lens.moe-lens');
      await waitFor(() => ext?.isActive === true, 'MoE Lens activated by onWebviewPanel', 30_000);
      const moeLens = await api();
      await waitFor(() => moeLens.inspectorOpen(), 'the restored panel adopted by the extension', 30_000);
      assert.equal(moeLens.onnxRuntimeLoaded(), false, 'restoring the panel loaded onnxruntime');
    });
  }
});
