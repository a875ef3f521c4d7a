import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as vscode from 'vscode';
import type { RunRecord } from '../../extension/vscode/runController';
import { api, extension, openSample, rendered } from './helpers';

/** dist/test-vscode/ → the repository, whose copy of the extension must not be the one running. */
const REPOSITORY = resolve(__dirname, '..', '..');

describe('MoE Lens installed from its .vsix', () => {
  it('is the installed copy, with the bundled model and linux-x64 onnxruntime inside', () => {
    const ext = extension();
    assert.ok(!ext.extensionPath.startsWith(REPOSITORY), `running from ${ext.extensionPath}, not an installed copy`);
    for (const file of ['dist/extension.js', 'dist/webview/main.js', 'models/moe-lens-mini/model.onnx', 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node']) {
      assert.ok(existsSync(join(ext.extensionPath, file)), `${file} is not in the installed extension`);
    }
  });

  it('runs Inspect Selection: the bundled model streams into the inspector', async () => {
    const moeLens = await api();
    assert.equal(moeLens.onnxRuntimeLoaded(), false);
    const editor = await openSample();
    editor.selection = new vscode.Selection(0, 0, editor.document.lineCount, 0);
    const record = await vscode.commands.executeCommand<RunRecord | undefined>('moeLens.inspectSelection');
    assert.ok(record?.store, `no run: ${moeLens.modelState().message ?? moeLens.shownErrors().at(-1)}`);
    assert.ok(record.done?.generatedTokens);
    assert.equal(moeLens.onnxRuntimeLoaded(), true);
    await rendered(moeLens, 'inspector', (id) => id === record.runId, record.store.tokenCount);
    assert.ok((moeLens.decorations()?.ranges.length ?? 0) > 0, 'no decorations');
  });
});
