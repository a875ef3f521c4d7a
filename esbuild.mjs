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
const vscodeSuites = readdirSync('test/vscode').filter((f) => f.endsWith('.test.ts')).map((f) => `test/vscode/${f}`);
const webviewSuites = readdirSync('test/webview').filter((f) => f.endsWith('.test.ts')).map((f) => `test/webview/${f}`);
// the inspector webview: one browser bundle, exactly dist/webview/main.js + main.css, run under the panel's strict CSP
const webview = {
  bundle: true, platform: 'browser', format: 'iife', target: 'chrome120', jsx: 'automatic', minify: production, sourcemap: false, logLevel: 'warning',
  define: { 'process.env.NODE_ENV': production ? '"production"' : '"development"' },
};

await Promise.all([
  build({ ...common, entryPoints: ['extension/cli/main.ts'], outfile: 'dist/cli.js' }),
  build({ ...common, entryPoints: tests, outdir: 'dist/test' }),
  build({ ...common, entryPoints: ['bench/engine.ts'], outfile: 'dist/bench/engine.js' }),
  build({ ...webview, entryPoints: { main: 'webview/main.tsx' }, outdir: 'dist/webview' }),
  // the webview in Chromium: tests and bench drive the browser with playwright-core
  build({ ...common, entryPoints: webviewSuites, outdir: 'dist/test-webview', external: [...common.external, 'playwright-core'] }),
  build({ ...common, entryPoints: ['bench/webview.ts'], outfile: 'dist/bench/webview.js', external: [...common.external, 'playwright-core'] }),
  // the VS Code extension host; the engine inside is reached only by a dynamic import (loaded on first run)
  build({ ...common, entryPoints: ['extension/extension.ts'], outfile: 'dist/extension.js' }),
  // the real-VS-Code suite (mocha stays external: it loads the suite files itself)
  build({ ...common, entryPoints: ['test/vscode/index.ts', ...vscodeSuites, 'test/vscode/driver.ts', 'test/vscode/electron.ts'], outdir: 'dist/test-vscode', external: [...common.external, 'mocha', 'playwright-core', '@vscode/test-electron'] }),
]);
