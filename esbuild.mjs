// Bundles the CLI and the tests for Node. onnxruntime-node stays external: it loads a native binary.
import { build } from 'esbuild';
import { readdirSync } from 'node:fs';

const production = process.argv.includes('--production');
const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['onnxruntime-node', 'vscode'],
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
};

const tests = readdirSync('test').filter((f) => f.endsWith('.test.ts')).map((f) => `test/${f}`);

await Promise.all([
  build({ ...common, entryPoints: ['extension/cli/main.ts'], outfile: 'dist/cli.js' }),
  build({ ...common, entryPoints: tests, outdir: 'dist/test' }),
  build({ ...common, entryPoints: ['bench/engine.ts'], outfile: 'dist/bench/engine.js' }),
]);
