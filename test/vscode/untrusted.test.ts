import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { RunRecord } from '../../extension/vscode/runController';
import { api, openSample, rendered } from './helpers';

describe('MoE Lens in an untrusted workspace', () => {
  it('runs in restricted mode: ignores the workspace\'s model folder and runs the bundled model', async () => {
    assert.equal(vscode.workspace.isTrusted, false, 'the driver should open this workspace untrusted');
    const moeLens = await api();
    assert.equal(moeLens.onnxRuntimeLoaded(), false);
    // the workspace's .vscode/settings.json names a model folder; VS Code and MoE Lens must both ignore it
    const inspect = vscode.workspace.getConfiguration('moeLens').inspect<string>('modelPath');
    console.log(`moeLens.modelPath as VS Code reports it untrusted: ${JSON.stringify(inspect)}`);
    const editor = await openSample();
    editor.selection = new vscode.Selection(0, 0, editor.document.lineCount, 0);
    const record = await vscode.commands.executeCommand<RunRecord | undefined>('moeLens.inspectSelection');
    assert.ok(record?.store, `no run: ${moeLens.modelState().message ?? moeLens.shownErrors().at(-1)}`);
    assert.equal(moeLens.modelState().state, 'ready');
    assert.equal(moeLens.modelState().model, 'moe-lens-mini');
    assert.equal(record.store.meta.model.name, 'moe-lens-mini');
    assert.ok(record.done?.generatedTokens, 'nothing generated');
    await rendered(moeLens, 'inspector', (id) => id === record.runId, record.store.tokenCount);
  });

  it('declares moeLens.modelPath restricted: VS Code withholds the workspace value while untrusted', async () => {
    const config = vscode.workspace.getConfiguration('moeLens');
    assert.equal(config.get('modelPath'), '', `VS Code applied a restricted workspace setting: ${JSON.stringify(config.inspect('modelPath'))}`);
  });
});
