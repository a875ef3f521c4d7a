// Packages one .vsix per platform that onnxruntime-node 1.30 ships binaries for, each carrying only its
// own platform's binaries (the rest of .vscodeignore's allow-list is the same for all):
//   node scripts/package.mjs [target ...]      (default: every target) → dist/moe-lens-<target>.vsix
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** vsce target → onnxruntime-node's binary folder (there is no darwin-x64 build of 1.30). */
export const TARGETS = {
  'linux-x64': 'linux/x64',
  'linux-arm64': 'linux/arm64',
  'darwin-arm64': 'darwin/arm64',
  'win32-x64': 'win32/x64',
  'win32-arm64': 'win32/arm64',
};
const BINARIES = /^!node_modules\/onnxruntime-node\/bin\/napi-v6\/[a-z0-9]+\/[a-z0-9]+\/\*\*$/m;

const wanted = process.argv.slice(2);
for (const t of wanted) if (!(t in TARGETS)) throw new Error(`unknown target ${t}; targets: ${Object.keys(TARGETS).join(', ')}`);
const ignore = readFileSync('.vscodeignore', 'utf8');
if (!BINARIES.test(ignore)) throw new Error('.vscodeignore has no line naming onnxruntime-node\'s binary folder to rewrite per target');
mkdirSync('dist', { recursive: true });
for (const target of wanted.length > 0 ? wanted : Object.keys(TARGETS)) {
  const ignoreFile = join('dist', `.vscodeignore-${target}`);
  writeFileSync(ignoreFile, ignore.replace(BINARIES, `!node_modules/onnxruntime-node/bin/napi-v6/${TARGETS[target]}/**`));
  const out = join('dist', `moe-lens-${target}.vsix`);
  const vsce = spawnSync(process.execPath, ['node_modules/@vscode/vsce/vsce', 'package', '--target', target, '--ignoreFile', ignoreFile, '--out', out,
    '--allow-missing-repository', '--skip-license', '--no-rewrite-relative-links'], { stdio: 'inherit' });
  if (vsce.status !== 0) throw new Error(`vsce package --target ${target} failed (${vsce.status ?? vsce.signal})`);
}
