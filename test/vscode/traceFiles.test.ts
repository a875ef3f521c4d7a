import * as assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { WebviewMessage } from '../../extension/protocol';
import { api, closeAll, nextMessage } from './helpers';

type Ready = Extract<WebviewMessage, { type: 'ready' }>;

const HOSTILE: [string, string, RegExp][] = [
  ['not-json.moetrace.json', '{"format": "moe-lens-trace", "version": 1, "meta": <script>alert(1)</script>', /Invalid MoE Lens trace/],
  ['wrong-format.moetrace.json', JSON.stringify({ format: 'something-else', version: 1 }), /Invalid MoE Lens trace/],
  ['truncated.moetrace.jsonl', '{"type":"meta","format":"moe-lens-trace","version":1}\n{"type":"token","index":', /Invalid MoE Lens trace/],
  ['huge-numbers.moetrace.json', JSON.stringify({ format: 'moe-lens-trace', version: 1, meta: { model: { numLayers: 1e12 } } }), /Invalid MoE Lens trace/],
];

describe('trace files in the custom editor', () => {
  for (const [name, content, expected] of HOSTILE) {
    it(`opens ${name} as an error, shown in the panel and as a notification, without running anything`, async () => {
      const moeLens = await api();
      const dir = await mkdtemp(join(tmpdir(), 'moe-lens-hostile-'));
      const file = join(dir, name);
      await writeFile(file, content);
      const before = moeLens.shownErrors().length;
      const ready = nextMessage(moeLens, 'ready from the trace viewer', (m, from): m is Ready => from === 'traceEditor' && m.type === 'ready');
      await vscode.commands.executeCommand('moeLens.openTrace', vscode.Uri.file(file));
      await ready; // the viewer itself is up: the bad file did not take it down
      const errors = moeLens.shownErrors().slice(before);
      assert.equal(errors.length, 1, JSON.stringify(errors));
      assert.match(errors[0], expected);
      assert.ok(errors[0].includes(file), `the error does not name the file: ${errors[0]}`);
      const tab = vscode.window.tabGroups.activeTabGroup.activeTab;
      assert.ok(tab?.input instanceof vscode.TabInputCustom && tab.input.viewType === 'moeLens.traceViewer');
      await closeAll();
    });
  }
});
