import * as assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { WebviewMessage } from '../../extension/protocol';
import { traceFromJson, traceToJson } from '../../extension/trace/jsonFormat';
import { traceFromJsonl } from '../../extension/trace/jsonl';
import type { TraceStore } from '../../extension/trace/store';
import type { RunRecord } from '../../extension/vscode/runController';
import { api, askDriver, closeAll, extension, nextMessage, openSample, rendered, screenshot, waitFor, workspaceRoot } from './helpers';

type Rendered = Extract<WebviewMessage, { type: 'rendered' }>;

/** Runs Inspect Selection on `selection` of the sample and waits until the inspector shows every token. */
async function inspect(editor: vscode.TextEditor, selection: vscode.Selection): Promise<{ record: RunRecord; store: TraceStore; ack: Rendered }> {
  const moeLens = await api();
  editor.selection = selection;
  const acks: Rendered[] = [];
  const sub = moeLens.onWebviewMessage(({ from, message }) => {
    if (from === 'inspector' && message.type === 'rendered') acks.push(message);
  });
  try {
    const record = await vscode.commands.executeCommand<RunRecord | undefined>('moeLens.inspectSelection');
    assert.ok(record?.store, `the run did not start: ${moeLens.modelState().message ?? moeLens.shownErrors().at(-1) ?? ''}`);
    const store = record.store;
    const all = (m: Rendered) => m.runId === record.runId && m.tokens >= store.tokenCount;
    const ack = acks.find(all) ?? await rendered(moeLens, 'inspector', (id) => id === record.runId, store.tokenCount);
    return { record, store, ack };
  } finally {
    sub.dispose();
  }
}

function wholeDocument(editor: vscode.TextEditor): vscode.Selection {
  const doc = editor.document;
  return new vscode.Selection(doc.positionAt(0), doc.positionAt(doc.getText().length));
}

describe('MoE Lens in VS Code', () => {
  let sampleRun: { record: RunRecord; store: TraceStore } | undefined;

  it('activates without loading onnxruntime-node', async () => {
    const ext = extension();
    const started = performance.now();
    const moeLens = await ext.activate();
    console.log(`activation: ${(performance.now() - started).toFixed(1)} ms from activate() (bundle load included), ${moeLens.activationMs.toFixed(1)} ms inside activate()`);
    assert.equal(moeLens.onnxRuntimeLoaded(), false, 'activation loaded onnxruntime-node');
    assert.equal(moeLens.modelState().state, 'unloaded');
    const commands = await vscode.commands.getCommands(true);
    const contributed = (ext.packageJSON.contributes.commands as { command: string }[]).map((c) => c.command);
    assert.ok(contributed.length >= 8);
    for (const c of contributed) assert.ok(commands.includes(c), `command ${c} is contributed but not registered`);
    assert.match(moeLens.statusBarText(), /moe|MoE/i);
  });

  it('Inspect Selection streams the sample into the inspector beside the code, every token shown', async () => {
    const editor = await openSample();
    const { record, store, ack } = await inspect(editor, wholeDocument(editor));
    const moeLens = await api();
    assert.equal(moeLens.onnxRuntimeLoaded(), true);
    assert.ok(record.done && ['eos', 'max_tokens'].includes(record.done.reason), `run ended with ${JSON.stringify(record.done)}`);
    assert.ok(record.done.generatedTokens > 10, 'the model generated almost nothing');
    assert.equal(ack.tokens, store.tokenCount);
    // the prompt is the selection inside the model's template
    assert.ok(store.meta.prompt.includes(editor.document.getText()), 'the prompt does not hold the selected code');
    // the inspector is a webview tab in another column than the code
    const tabs = vscode.window.tabGroups.all.flatMap((g) => g.tabs.map((t) => ({ t, column: g.viewColumn })));
    const inspector = tabs.find(({ t }) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('moeLens.inspector'));
    const code = tabs.find(({ t }) => t.input instanceof vscode.TabInputText && t.input.uri.toString() === editor.document.uri.toString());
    assert.ok(inspector, `no inspector tab among ${tabs.map(({ t }) => t.label).join(', ')}`);
    assert.ok(code);
    assert.notEqual(inspector.column, code.column, 'the inspector is not beside the code');
    assert.match(moeLens.statusBarText(), /cpu/);
    sampleRun = { record, store };
  });

  it('paints every prompt token of the selection in the editor, coloured by its top expert, with its routing in a hover', async () => {
    assert.ok(sampleRun, 'needs the previous test');
    const moeLens = await api();
    const editor = await openSample();
    const doc = editor.document;
    const snapshot = moeLens.decorations();
    assert.ok(snapshot, 'no decorations');
    assert.equal(snapshot.uri, doc.uri.toString());
    assert.notEqual(snapshot.layer, 'all');
    const { store } = sampleRun;
    const layerIndex = store.meta.model.moeLayers.indexOf(snapshot.layer as number);
    assert.ok(layerIndex >= 0, `layer ${snapshot.layer} has no routing`);
    const top = store.topExpert(layerIndex);
    const texts = store.tokenTexts();
    const covered = new Uint8Array(doc.getText().length);
    for (const r of snapshot.ranges) {
      const range = new vscode.Range(r.range[0], r.range[1], r.range[2], r.range[3]);
      const text = doc.getText(range);
      assert.ok(texts[r.index].includes(text), `token ${r.index} ${JSON.stringify(texts[r.index])} decorates ${JSON.stringify(text)}`);
      assert.equal(r.expert, top[r.index], `token ${r.index} is coloured by expert ${r.expert}, the panel's top-1 expert`);
      assert.ok(text.length > 0 && text.trim() === text, `token ${r.index} paints only visible characters, not indentation: ${JSON.stringify(text)}`);
      // the hover's row for the colour layer lists the experts heaviest first, each with its swatch
      const row = r.hover.split('\n').find((line) => line.startsWith(`| **${snapshot.layer}** |`)) ?? '';
      assert.match(row, new RegExp(`^\\| \\*\\*${snapshot.layer}\\*\\* \\| <span style="color:#[0-9a-f]{6};">■</span> E${r.expert} \\d\\.\\d\\d`), row);
      for (let o = doc.offsetAt(range.start); o < doc.offsetAt(range.end); o++) covered[o] = 1;
    }
    const source = doc.getText();
    const uncovered = [...source].filter((ch, i) => !/\s/.test(ch) && !covered[i]);
    assert.deepEqual(uncovered, [], 'characters of the selection without a decoration');
    editor.selection = new vscode.Selection(0, 0, 0, 0); // the selection highlight would hide the colours
    await vscode.commands.executeCommand('workbench.action.closeAuxiliaryBar');
    await screenshot('workbench');
  });

  it('acts on the inspector: a reasoning step reveals its line, a token pins its source, the layer picker repaints', async function () {
    assert.ok(sampleRun, 'needs the Inspect Selection test');
    const moeLens = await api();
    const editor = await openSample();
    type Message<T extends WebviewMessage['type']> = Extract<WebviewMessage, { type: T }>;
    const next = <T extends WebviewMessage['type']>(type: T) =>
      nextMessage(moeLens, `${type} from the inspector`, (m, from): m is Message<T> => from === 'inspector' && m.type === type, 30_000);

    const reveal = next('revealLine');
    if (!(await askDriver({ action: 'click', selector: 'button.line-link', last: true }))) this.skip(); // no driver under test-electron
    const { line } = await reveal;
    await waitFor(() => vscode.window.activeTextEditor?.selection.start.line === line - 1, `program line ${line} selected in the editor`);
    assert.equal(vscode.window.activeTextEditor?.document.uri.toString(), editor.document.uri.toString());

    const first = moeLens.decorations()?.ranges[0];
    assert.ok(first);
    const pin = next('pinToken');
    await askDriver({ action: 'click', selector: `[data-t="${first.index}"]`, scrollTop: '[data-testid="token-scroller"]' });
    assert.equal((await pin).index, first.index);
    await waitFor(() => moeLens.decorations()?.pinned === first.index, `token ${first.index} pinned in the editor`);

    const { store } = sampleRun;
    const layers = store.meta.model.moeLayers;
    const other = layers.find((l) => l !== moeLens.decorations()?.layer);
    assert.ok(other !== undefined);
    const select = next('selectLayer');
    await askDriver({ action: 'select', selector: '[data-testid="layer-select"]', value: String(other) });
    assert.equal((await select).layer, other);
    await waitFor(() => moeLens.decorations()?.layer === other, `decorations repainted for layer ${other}`);
    const snapshot = moeLens.decorations();
    assert.equal(snapshot?.layer, other);
    const top = store.topExpert(layers.indexOf(other));
    for (const r of snapshot.ranges) assert.equal(r.expert, top[r.index], `token ${r.index} at layer ${other}`);
  });

  it('maps a partial selection to its own lines, and a reasoning step reveals its program line', async () => {
    const editor = await openSample();
    const doc = editor.document;
    const selection = new vscode.Selection(2, 0, doc.lineCount - 1, doc.lineAt(doc.lineCount - 1).text.length);
    const { store } = await inspect(editor, selection);
    const moeLens = await api();
    const snapshot = moeLens.decorations();
    assert.ok(snapshot && snapshot.ranges.length > 0);
    for (const r of snapshot.ranges) {
      const range = new vscode.Range(r.range[0], r.range[1], r.range[2], r.range[3]);
      assert.ok(selection.contains(range), `token ${r.index} decorates ${JSON.stringify(r.range)} outside the selection`);
      assert.ok(store.tokenTexts()[r.index].includes(doc.getText(range)));
    }
    const step = store.steps.find((s) => s.line !== undefined);
    assert.ok(step?.line, 'no reasoning step names a program line');
    const revealed = await moeLens.revealLine(step.line);
    assert.ok(revealed);
    assert.equal(revealed.start.line, selection.start.line + step.line - 1);
    assert.equal(vscode.window.activeTextEditor?.selection.start.line, revealed.start.line);
  });

  it('clears the decorations once the inspected code is edited (their ranges would point at other code)', async () => {
    const moeLens = await api();
    const editor = await openSample();
    assert.ok(moeLens.decorations(), 'the previous run left no decorations');
    assert.ok(await editor.edit((b) => b.insert(new vscode.Position(0, 0), '# edited\n')));
    assert.equal(moeLens.decorations(), undefined);
    await vscode.commands.executeCommand('workbench.action.files.revert');
    assert.equal(editor.document.isDirty, false);
  });

  it('exports the run as JSON, JSONL and CSV, and the JSON reopens in the trace viewer with every token', async () => {
    const moeLens = await api();
    const store = moeLens.lastRun()?.store;
    assert.ok(store);
    const dir = await mkdtemp(join(tmpdir(), 'moe-lens-export-'));
    const json = vscode.Uri.file(join(dir, 'run.moetrace.json'));
    const jsonl = vscode.Uri.file(join(dir, 'run.moetrace.jsonl'));
    const csv = vscode.Uri.file(join(dir, 'routing.csv'));
    for (const uri of [json, jsonl, csv]) {
      const written = await vscode.commands.executeCommand<string[] | undefined>('moeLens.exportTrace', uri);
      assert.ok(written?.includes(uri.fsPath), `export to ${uri.fsPath} wrote ${JSON.stringify(written)}`);
    }
    assert.deepEqual((await readdir(dir)).sort(), ['routing.csv', 'routing.tokens.csv', 'run.moetrace.json', 'run.moetrace.jsonl'], 'an export left other files behind');
    const text = await readFile(json.fsPath, 'utf8');
    assert.equal(traceToJson(traceFromJson(text)), text);
    assert.equal(traceToJson(traceFromJsonl(await readFile(jsonl.fsPath, 'utf8'))), text);
    const csvLines = (await readFile(csv.fsPath, 'utf8')).trim().split('\n');
    assert.equal(csvLines.length - 1, store.tokenCount * store.meta.model.moeLayers.length * store.meta.model.expertsPerToken);

    // the last run against its own export, and the two exports: identical routing, said so
    const againstLive = await vscode.commands.executeCommand<string | undefined>('moeLens.compareTraces', json);
    assert.match(againstLive ?? '', /compare A the last run .* with B .*run\.moetrace\.json/);
    assert.match(againstLive ?? '', /every aligned token chose the same experts in every shared layer/);
    const files = await vscode.commands.executeCommand<string | undefined>('moeLens.compareTraces', json, jsonl);
    assert.match(files ?? '', new RegExp(`aligned: ${store.tokenCount} positions`));
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');

    for (const uri of [json, jsonl]) {
      const ack = rendered(moeLens, 'traceEditor', () => true, store.tokenCount);
      await vscode.commands.executeCommand('moeLens.openTrace', uri);
      assert.equal((await ack).tokens, store.tokenCount);
      const tab = vscode.window.tabGroups.activeTabGroup.activeTab;
      assert.ok(tab?.input instanceof vscode.TabInputCustom && tab.input.viewType === 'moeLens.traceViewer', `active tab: ${tab?.label}`);
    }
    await closeAll();
  });

  it('Stop ends a streaming run within a step', async () => {
    const moeLens = await api();
    const stopped = new Promise<void>((resolve) => {
      const sub = moeLens.onDidDecode(({ generatedTokens }) => {
        if (generatedTokens < 3) return; // it fires per batch of steps: the count may pass 3 in one
        sub.dispose();
        void vscode.commands.executeCommand('moeLens.stop').then(() => resolve());
      });
    });
    const record = await vscode.commands.executeCommand<RunRecord | undefined>('moeLens.runPrompt', 'total = 0\nfor i in range(9):\n    total += i * 3\nprint(total)');
    await stopped;
    assert.equal(record?.done?.reason, 'aborted', JSON.stringify(record?.done));
    assert.ok(record.done.generatedTokens >= 3);
    assert.equal(record.store?.done?.reason, 'aborted');
    await rendered(moeLens, 'inspector', (id) => id === record.runId, record.store.tokenCount);
  });

  it('falls back from an execution provider this build lacks, logs why, and shows the one in use', async () => {
    const moeLens = await api();
    const config = vscode.workspace.getConfiguration('moeLens');
    await config.update('executionProviders', ['cuda', 'cpu'], vscode.ConfigurationTarget.Global);
    try {
      const editor = await openSample();
      const { store } = await inspect(editor, wholeDocument(editor));
      assert.equal(store.meta.provider, 'cpu');
      assert.equal(store.meta.fallbacks[0]?.provider, 'cuda');
      assert.ok(store.meta.fallbacks[0].reason.length > 0);
      assert.equal(moeLens.modelState().provider, 'cpu');
      assert.match(moeLens.statusBarText(), /moe-lens-mini · cpu/);
    } finally {
      await config.update('executionProviders', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('a workspace model folder that does not exist gives a clear error naming it and the fix', async () => {
    const moeLens = await api();
    assert.equal(vscode.workspace.isTrusted, true);
    const bad = vscode.Uri.joinPath(workspaceRoot(), 'no-such-model').fsPath;
    const config = vscode.workspace.getConfiguration('moeLens');
    await config.update('modelPath', bad, vscode.ConfigurationTarget.Workspace);
    try {
      await openSample();
      const record = await vscode.commands.executeCommand<RunRecord | undefined>('moeLens.inspectSelection');
      assert.equal(record, undefined);
      const state = moeLens.modelState();
      assert.equal(state.state, 'error');
      assert.ok(state.message?.includes(bad), state.message);
      assert.match(state.message ?? '', /model folder not found/);
      assert.match(state.message ?? '', /Point the model setting at a folder/);
      assert.ok(moeLens.shownErrors().at(-1)?.includes(bad));
    } finally {
      await config.update('modelPath', undefined, vscode.ConfigurationTarget.Workspace);
    }
    const editor = await openSample();
    const { record } = await inspect(editor, wholeDocument(editor));
    assert.equal(moeLens.modelState().state, 'ready', 'the bundled model did not come back after the setting was cleared');
    assert.ok(record.done?.generatedTokens);
  });
});
