import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { ROOT } from './helpers';

// The real check is in VS Code (test/vscode: activation leaves onnxruntime-node unloaded); this one
// names the file that breaks the rule, at the source.
it('the VS Code side reaches the engine only through the dynamic import in engineLoader.ts', async () => {
  const dir = join(ROOT, 'extension', 'vscode');
  const files = [...(await readdir(dir)).map((f) => join('vscode', f)), 'extension.ts'].filter((f) => f.endsWith('.ts'));
  assert.ok(files.length > 10);
  for (const f of files) {
    if (f === join('vscode', 'engineModule.ts')) continue;
    const text = await readFile(join(ROOT, 'extension', f), 'utf8');
    const valueImports = [...text.matchAll(/^import (?!type )[^;]*from '([^']+)'/gm)].map((m) => m[1]);
    for (const spec of valueImports) {
      assert.doesNotMatch(spec, /onnxruntime|\/engine\/|engineModule/, `${f} imports ${spec} at load time`);
    }
    if (f !== join('vscode', 'engineLoader.ts')) assert.doesNotMatch(text, /import\(['"]\.\/engineModule['"]\)/, `${f} loads the engine itself`);
  }
});
