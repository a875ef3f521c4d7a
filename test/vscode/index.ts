/**
 * The extension-tests entry VS Code loads (extensionTestsPath): runs one mocha suite inside the
 * extension host. `MOE_LENS_SUITE` picks it: `main` (default), `untrusted`, `vsix` or `restore`.
 */
import Mocha from 'mocha';
import { join } from 'node:path';

const SUITES: Record<string, string[]> = {
  main: ['extension.test.js', 'traceFiles.test.js', 'inspector.test.js'],
  untrusted: ['untrusted.test.js'],
  vsix: ['vsix.test.js'],
  restore: ['restore.test.js'],
};

export function run(): Promise<void> {
  const suite = process.env.MOE_LENS_SUITE ?? 'main';
  const files = SUITES[suite];
  if (!files) return Promise.reject(new Error(`MOE_LENS_SUITE=${suite} is not one of ${Object.keys(SUITES).join(', ')}`));
  const mocha = new Mocha({ ui: 'bdd', timeout: 120_000, color: false, reporter: 'spec' });
  // MOE_LENS_GREP=<text> runs only the tests whose titles contain it (while working on them)
  if (process.env.MOE_LENS_GREP) mocha.grep(process.env.MOE_LENS_GREP);
  for (const f of files) mocha.addFile(join(__dirname, f));
  return new Promise((resolve, reject) => {
    mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} of the ${suite} suite's tests failed`)) : resolve()));
  });
}
