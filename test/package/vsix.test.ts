/**
 * Opens every per-platform .vsix that `npm run package` built and checks what a user installs: the
 * extension, the inspector, the bundled model, and onnxruntime-node's binaries for that platform only.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type Entry, type ZipFile, open } from 'yauzl';
import { ROOT } from '../helpers';

const TARGETS: Record<string, string> = {
  'linux-x64': 'linux/x64', 'linux-arm64': 'linux/arm64', 'darwin-arm64': 'darwin/arm64', 'win32-x64': 'win32/x64', 'win32-arm64': 'win32/arm64',
};
const BINARY_DIR = 'extension/node_modules/onnxruntime-node/bin/napi-v6/';

function readZip(file: string): Promise<{ names: string[]; text: (name: string) => Promise<string> }> {
  return new Promise((resolve, reject) => {
    open(file, { lazyEntries: true, autoClose: false }, (err, zip?: ZipFile) => {
      if (err || !zip) return reject(err ?? new Error(`cannot open ${file}`));
      const entries = new Map<string, Entry>();
      zip.on('entry', (e: Entry) => { entries.set(e.fileName, e); zip.readEntry(); });
      zip.on('error', reject);
      zip.on('end', () => resolve({
        names: [...entries.keys()],
        text: (name) => new Promise((res, rej) => {
          const entry = entries.get(name);
          if (!entry) return rej(new Error(`${name} is not in ${file}`));
          zip.openReadStream(entry, (e, stream) => {
            if (e || !stream) return rej(e ?? new Error('no stream'));
            const chunks: Buffer[] = [];
            stream.on('data', (c: Buffer) => chunks.push(c));
            stream.on('end', () => res(Buffer.concat(chunks).toString('utf8')));
            stream.on('error', rej);
          });
        }),
      }));
      zip.readEntry();
    });
  });
}

describe('per-platform packages', () => {
  for (const [target, binaries] of Object.entries(TARGETS)) {
    it(`${target}: the extension, the bundled model and ${binaries} onnxruntime binaries only`, async () => {
      const file = join(ROOT, 'dist', `moe-lens-${target}.vsix`);
      assert.ok(existsSync(file), `${file} is missing: run npm run package`);
      const { names, text } = await readZip(file);
      for (const needed of ['extension/package.json', 'extension/dist/extension.js', 'extension/dist/webview/main.js', 'extension/dist/webview/main.css',
        'extension/models/moe-lens-mini/model.onnx', 'extension/models/moe-lens-mini/tokenizer.json', 'extension/models/moe-lens-mini/config.json',
        `${BINARY_DIR}${binaries}/onnxruntime_binding.node`, 'extension/node_modules/onnxruntime-node/dist/index.js']) {
        assert.ok(names.includes(needed), `${target} holds ${needed}`);
      }
      const platformDirs = new Set(names.filter((n) => n.startsWith(BINARY_DIR)).map((n) => n.slice(BINARY_DIR.length).split('/').slice(0, 2).join('/')));
      assert.deepEqual([...platformDirs], [binaries], 'onnxruntime binaries of its own platform only');
      const stray = names.filter((n) => /\.map$|\.ts$|^extension\/(test|training|bench|webview|\.cache|\.vscode-test)\//.test(n)
        || (n.startsWith('extension/node_modules/') && !/^extension\/node_modules\/onnxruntime-(node|common)\//.test(n)));
      assert.deepEqual(stray, [], 'no sources, tests, source maps or other packages');
      assert.match(await text('extension.vsixmanifest'), new RegExp(`TargetPlatform="${target}"`));
    });
  }
});
