/**
 * The inspector as a user meets it in VS Code: Run Prompt's multi-line box, honest notes on input the
 * model cannot make sense of, a visible fallback from WebGPU, no stale run after a failed load, the
 * token list with the keyboard alone, and screenshots in four themes and at two panel widths.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { WebviewMessage } from '../../extension/protocol';
import { DEFAULT_PROGRAM, type RunRecord } from '../../extension/vscode/runController';
import { api, askDriver, closeAll, driverAnswer, driverDir, inspectorTexts, nextMessage, openSample, rendered, screenshot, waitFor } from './helpers';

const config = () => vscode.workspace.getConfiguration('moeLens');

/** Waits for the webview's rendered ack of the newest run with all its tokens. */
async function finished(record: RunRecord | undefined): Promise<RunRecord> {
  const moeLens = await api();
  assert.ok(record?.store, `the run did not start: ${moeLens.modelState().state} ${moeLens.modelState().message ?? ''} ${moeLens.shownErrors().at(-1) ?? ''}`);
  await rendered(moeLens, 'inspector', (id) => id === record.runId, record.store.tokenCount).catch(() => undefined);
  return record;
}

async function inspectText(text: string, language = 'plaintext'): Promise<RunRecord> {
  const doc = await vscode.workspace.openTextDocument({ content: text, language });
  const editor = await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One });
  editor.selection = new vscode.Selection(doc.positionAt(0), doc.positionAt(text.length));
  return finished(await vscode.commands.executeCommand<RunRecord | undefined>('moeLens.inspectSelection'));
}

/** Polls the inspector until `selector` shows a text (or `attribute`) matching `pattern`, through the driver. */
async function shows(selector: string, pattern: RegExp, what: string, attribute?: string): Promise<string> {
  let last: string[] | undefined = [];
  for (let i = 0; i < 60; i++) {
    last = await inspectorTexts(selector, attribute);
    const hit = last?.find((t) => pattern.test(t));
    if (hit !== undefined) return hit;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what}: ${selector} never showed ${pattern} (it showed ${JSON.stringify(last)})`);
}

describe('the inspector as a VS Code user meets it', function () {
  before(function () {
    if (!driverDir) this.skip(); // these read the webview through the code-server driver
  });
  afterEach(async () => {
    await config().update('executionProviders', undefined, vscode.ConfigurationTarget.Global);
    await config().update('modelPath', undefined, vscode.ConfigurationTarget.Global);
  });
  after(closeAll);

  it('Run Prompt… opens the panel\'s multi-line prompt box, and Run keeps the program\'s newlines', async () => {
    const moeLens = await api();
    await closeAll();
    await vscode.commands.executeCommand('moeLens.runPrompt');
    // the box holds the last program run, or a runnable example on first use
    await shows('[data-testid="prompt"]', /\S/, 'a program in the prompt box', '.value');
    // the keyboard is in the box: replace its text as a user types, Enter making new lines
    await shows('[data-testid="prompt"]', /^focused /, 'the keyboard in the prompt box', '.selection');
    // VS Code runs Ctrl+A in a webview as a workbench command that answers later: wait until all is selected
    await askDriver({ action: 'press', keys: ['Control+a'] });
    await shows('[data-testid="prompt"]', /^focused 0:([1-9]\d*):\1$/, 'all of the prompt box selected', '.selection');
    const keys = [...DEFAULT_PROGRAM].map((c) => (c === '\n' ? 'Enter' : c === ' ' ? 'Space' : c));
    await askDriver({ action: 'press', keys: ['Delete', ...keys] });
    assert.equal(await shows('[data-testid="prompt"]', /^x = 3\ny = x \* 4\nprint\(y\)$/, 'the typed program', '.value'), DEFAULT_PROGRAM);
    const done = nextMessage(moeLens, 'a run message', (m): m is Extract<WebviewMessage, { type: 'run' }> => m.type === 'run');
    await askDriver({ action: 'click', selector: '[data-testid="run"]' });
    const run = await done;
    assert.equal(run.prompt, DEFAULT_PROGRAM, 'the newlines survive');
    await waitFor(() => moeLens.lastRun()?.done !== undefined, 'the run ended', 60_000);
    assert.ok(moeLens.lastRun()?.store?.meta.prompt.includes('x = 3\ny = x * 4\nprint(y)'));
    assert.equal(await shows('[data-testid="answer"]', /^12$/, 'the answer as text'), '12');
  });

  it('English text gets a note saying what the routing shows and what the answer is not', async () => {
    await inspectText('The quick brown fox jumps over the lazy dog. It was not a program at all.');
    const note = await shows('[data-testid="input-notice"]', /not a program/i, 'the note on the input');
    assert.match(note, /routing/i);
    await screenshot('english-selection');
  });

  it('a program gets no such note', async () => {
    const editor = await openSample();
    editor.selection = new vscode.Selection(0, 0, editor.document.lineCount, 0);
    await finished(await vscode.commands.executeCommand<RunRecord | undefined>('moeLens.inspectSelection'));
    assert.deepEqual(await inspectorTexts('[data-testid="input-notice"]'), []);
  });

  it('opens a third-party export: routers found by structure, routing shown; a dense model says none were found', async () => {
    const fixtures = path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'models');
    await config().update('modelPath', path.join(fixtures, 'mixtral'), vscode.ConfigurationTarget.Global);
    const moeLens = await api();
    await inspectText('def add(a, b):\n    return a + b\n', 'python');
    await waitFor(() => moeLens.lastRun()?.done !== undefined, 'the run on the Mixtral-shaped export ended', 60_000);
    const moe = moeLens.lastRun();
    assert.deepEqual(moe?.store?.meta.model.moeLayers, [0, 1]);
    assert.ok((moe?.done?.generatedTokens ?? 0) > 0, `the run: ${JSON.stringify(moe?.done)}`);
    assert.deepEqual(await inspectorTexts('[data-testid="input-notice"]'), [], 'no note: routers were found, and any text suits this model');
    assert.equal(await shows('[data-testid="routing-source"]', /P3/, 'how the routing is read, in the header'), 'P3 softmax_topk: layers 0–1');
    await config().update('modelPath', path.join(fixtures, 'dense'), vscode.ConfigurationTarget.Global);
    const dense = await inspectText('def add(a, b):\n    return a + b\n', 'python');
    assert.deepEqual(dense.store?.meta.model.moeLayers, []);
    assert.match(await shows('[data-testid="input-notice"]', /No MoE layers found/, 'the note on a dense model'), /searched for/);
  });

  it('choosing WebGPU where no driver is present shows the fallback with its reason, and the header says cpu', async () => {
    await config().update('executionProviders', ['webgpu', 'cpu'], vscode.ConfigurationTarget.Global);
    const editor = await openSample();
    editor.selection = new vscode.Selection(0, 0, editor.document.lineCount, 0);
    const record = await finished(await vscode.commands.executeCommand<RunRecord | undefined>('moeLens.inspectSelection'));
    assert.equal(record.store?.meta.provider, 'cpu');
    const warning = await shows('[data-testid="fallback-warning"]', /webgpu could not start/, 'the fallback warning');
    assert.match(warning, /Failed to get a WebGPU adapter/, 'onnxruntime\'s reason, readable');
    assert.doesNotMatch(warning, /onnxruntime_src|\.cc:\d/, 'no source path');
    assert.match(await shows('[data-testid="status"]', /cpu/, 'the header'), /moe-lens-mini · cpu/);
    assert.match((await inspectorTexts('[data-testid="provider"]'))?.[0] ?? '', /ran on cpu/);
  });

  it('a model that fails to load leaves no stale run, and Use bundled model brings the bundled model back', async () => {
    const moeLens = await api();
    await config().update('modelPath', '/nonexistent/model-folder', vscode.ConfigurationTarget.Global);
    const editor = await openSample();
    editor.selection = new vscode.Selection(0, 0, editor.document.lineCount, 0);
    assert.equal(await vscode.commands.executeCommand('moeLens.inspectSelection'), undefined);
    await shows('[data-testid="banner"]', /model folder not found/, 'the load error');
    assert.deepEqual(await inspectorTexts('[data-testid="summary"]'), [], 'the previous run is not shown under the error');
    await askDriver({ action: 'click', selector: '[data-testid="use-bundled"]' });
    await waitFor(() => !config().get<string>('modelPath'), 'moeLens.modelPath cleared', 10_000);
    // back in the editor (the panel may share its group, as after Run Prompt… with no editor open)
    (await openSample()).selection = new vscode.Selection(0, 0, editor.document.lineCount, 0);
    const record = await finished(await vscode.commands.executeCommand<RunRecord | undefined>('moeLens.inspectSelection'));
    assert.equal(record.store?.meta.model.name, 'moe-lens-mini');
    assert.equal(moeLens.modelState().state, 'ready');
  });

  it('the token list works with the keyboard alone: one tab stop, arrows move, Enter pins, a live region reads the routing', async () => {
    const moeLens = await api();
    const editor = await openSample();
    editor.selection = new vscode.Selection(0, 0, editor.document.lineCount, 0);
    await finished(await vscode.commands.executeCommand<RunRecord | undefined>('moeLens.inspectSelection'));
    await vscode.commands.executeCommand('moeLens.focusInspector');
    await shows('[role="listbox"]', /^focused /, 'the keyboard in the token list', '.selection');
    const pinned = nextMessage(moeLens, 'a pinToken message', (m): m is Extract<WebviewMessage, { type: 'pinToken' }> => m.type === 'pinToken' && m.index !== null);
    await askDriver({ action: 'press', keys: ['Home', 'ArrowRight', 'ArrowRight', 'ArrowRight', 'Enter'] });
    assert.equal((await pinned).index, 3);
    assert.match(await shows('[data-testid="token-announce"]', /token 3 of/, 'the live region'), /layer 1: expert \d+ \d\.\d\d/);
    assert.equal((await inspectorTexts('.tok.pinned', 'data-t'))?.[0], '3');
  });

  const themes: [string, string][] = [['dark', 'Default Dark Modern'], ['light', 'Default Light Modern'], ['hc-dark', 'Default High Contrast'], ['hc-light', 'Default High Contrast Light']];
  for (const [name, theme] of themes) {
    it(`shows the answer without scrolling and nothing overlapping, in the ${name} theme, at 1400x900 and with the panel 400 px wide`, async () => {
      await vscode.workspace.getConfiguration('workbench').update('colorTheme', theme, vscode.ConfigurationTarget.Global);
      try {
        await closeAll(); // the sample in the first group, the inspector beside it
        const editor = await openSample();
        editor.selection = new vscode.Selection(0, 0, editor.document.lineCount, 0);
        await finished(await vscode.commands.executeCommand<RunRecord | undefined>('moeLens.inspectSelection'));
        editor.selection = new vscode.Selection(0, 0, 0, 0);
        await vscode.commands.executeCommand('workbench.action.closeSidebar');
        await vscode.commands.executeCommand('workbench.action.closeAuxiliaryBar');
        // the inspector's group gets `width` px of the 1400 (the editor's, the rest)
        const inspectorGroup = vscode.window.tabGroups.all.findIndex((g) => g.tabs.some((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('moeLens.inspector')));
        assert.ok(inspectorGroup >= 0, 'the inspector is open');
        const sizes = (width: number) => vscode.window.tabGroups.all.map((_, i) => ({ size: i === inspectorGroup ? width : (1400 - width) / Math.max(1, vscode.window.tabGroups.all.length - 1) }));
        for (const [width, label] of [[700, ''], [400, '-narrow']] as const) {
          await vscode.commands.executeCommand('vscode.setEditorLayout', { orientation: 0, groups: sizes(width) });
          await new Promise((r) => setTimeout(r, 600));
          const layout = JSON.parse((await driverAnswer({ action: 'layout' })) ?? '{}') as { width: number; answerVisible: boolean; answer: string; overlaps: string[]; horizontalOverflow: boolean };
          assert.ok(layout.answerVisible, `${name}${label}: the answer is on screen (${JSON.stringify(layout)})`);
          assert.match(layout.answer, /19/);
          assert.deepEqual(layout.overlaps, [], `${name}${label}: nothing overlaps`);
          assert.equal(layout.horizontalOverflow, false, `${name}${label}: no sideways scrolling`);
          assert.ok(Math.abs(layout.width - width) < 40, `the panel is about ${width} px wide (${layout.width})`);
          await screenshot(`workbench-${name}${label}`);
        }
      } finally {
        await vscode.workspace.getConfiguration('workbench').update('colorTheme', undefined, vscode.ConfigurationTarget.Global);
        await vscode.commands.executeCommand('vscode.setEditorLayout', { orientation: 0, groups: [{ size: 700 }, { size: 700 }] });
      }
    });
  }
});
