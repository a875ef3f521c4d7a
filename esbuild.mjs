// Bundles the extension, the inspector webview, the CLI, the tests and the benchmarks into dist/.
// onnxruntime-node stays external everywhere: it loads a native binary.
//   node esbuild.mjs [--production] [--watch]
// --watch rebuilds on change and reports in the format of .vscode/tasks.json's problem matcher.
import { build, context } from 'esbuild';
import { readdirSync } from 'node:fs';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');
const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['onnxruntime-node', 'vscode'],
  sourcemap: !production,
  minify: production,
  logLevel: watch ? 'silent' : 'warning',
};
const suites = (dir) => readdirSync(dir).filter((f) => f.endsWith('.test.ts')).map((f) => `${dir}/${f}`);
// the inspector webview: one browser bundle, exactly dist/webview/main.js + main.css, run under the panel's strict CSP
const webview = {
  bundle: true, platform: 'browser', format: 'iife', target: 'chrome120', jsx: 'automatic', minify: production, sourcemap: false, logLevel: common.logLevel,
  define: { 'process.env.NODE_ENV': production ? '"production"' : '"development"' },
};
const withBrowser = [...common.external, 'playwright-core'];

const configs = [
  // the VS Code extension host; the engine inside is reached only by a dynamic import (loaded on first run)
  { ...common, entryPoints: ['extension/extension.ts'], outfile: 'dist/extension.js' },
  { ...webview, entryPoints: { main: 'webview/main.tsx' }, outdir: 'dist/webview' },
  { ...common, entryPoints: ['extension/cli/main.ts'], outfile: 'dist/cli.js' },
  { ...common, entryPoints: suites('test'), outdir: 'dist/test' },
  // the WebGPU provider on a software Vulkan driver, and the per-platform packages
  { ...common, entryPoints: suites('test/gpu'), outdir: 'dist/test-gpu' },
  { ...common, entryPoints: suites('test/package'), outdir: 'dist/test-package' },
  { ...common, entryPoints: ['bench/engine.ts', 'bench/cold.ts', 'bench/thirdParty.ts'], outdir: 'dist/bench' },
  // fast-check fuzzing of untrusted inputs (npm run fuzz) and the long soak of the run loop (npm run soak)
  { ...common, entryPoints: ['test/fuzz/main.ts'], outdir: 'dist/fuzz' },
  { ...common, entryPoints: ['test/soak/main.ts'], outdir: 'dist/soak' },
  // the webview in Chromium: tests and bench drive the browser with playwright-core
  { ...common, entryPoints: suites('test/webview'), outdir: 'dist/test-webview', external: withBrowser },
  { ...common, entryPoints: ['bench/webview.ts'], outfile: 'dist/bench/webview.js', external: withBrowser },
  { ...webview, entryPoints: ['bench/pageWire.ts'], outfile: 'dist/bench/pageWire.js' },
  // the real-VS-Code suite (mocha stays external: it loads the suite files itself)
  {
    ...common, entryPoints: ['test/vscode/index.ts', ...suites('test/vscode'), 'test/vscode/driver.ts', 'test/vscode/electron.ts'],
    outdir: 'dist/test-vscode', external: [...withBrowser, 'mocha', '@vscode/test-electron'],
  },
];

/**
 * Prints what the problem matcher in .vscode/tasks.json reads: one start line when any bundle starts
 * rebuilding, errors with their location, one end line when every bundle is done.
 */
let building = 0;
const problemMatcher = {
  name: 'problem-matcher',
  setup(b) {
    b.onStart(() => {
      if (building++ === 0) console.log('[watch] build started');
    });
    b.onEnd(({ errors }) => {
      for (const { text, location } of errors) {
        console.error(`✘ [ERROR] ${text}`);
        if (location) console.error(`    ${location.file}:${location.line}:${location.column}:`);
      }
      if (--building === 0) console.log('[watch] build finished');
    });
  },
};

if (watch) {
  const contexts = await Promise.all(configs.map((c) => context({ ...c, plugins: [problemMatcher] })));
  await Promise.all(contexts.map((c) => c.watch()));
} else {
  await Promise.all(configs.map((c) => build(c)));
}
