import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { ROOT } from './helpers';

it('engine code never imports vscode (it runs in the CLI and tests too)', async () => {
  const dir = join(ROOT, 'extension', 'engine');
  const files = (await readdir(dir, { recursive: true })).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length > 5);
  for (const f of files) {
    const text = await readFile(join(dir, f), 'utf8');
    assert.doesNotMatch(text, /from ['"]vscode['"]|require\(['"]vscode['"]\)/, f);
  }
});

it('analyses and the program checker are pure: no vscode, onnxruntime, react or node: imports (the webview and CLI share them)', async () => {
  for (const folder of ['analysis', 'programs']) {
    const dir = join(ROOT, 'extension', folder);
    const files = (await readdir(dir)).filter((f) => f.endsWith('.ts'));
    assert.ok(files.length >= 2, folder);
    for (const f of files) {
      const text = await readFile(join(dir, f), 'utf8');
      assert.doesNotMatch(text, /from ['"](vscode|onnxruntime-node|onnxruntime-common|react|node:[a-z/]+)['"]/, `${folder}/${f}`);
    }
  }
});
