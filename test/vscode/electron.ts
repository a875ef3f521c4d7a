/**
 * The same mocha suite under @vscode/test-electron, for machines that can download VS Code
 * (`npm run test:electron`; not run in CI here, where only the npm registry is reachable).
 */
import { runTests } from '@vscode/test-electron';
import { join } from 'node:path';
import { ROOT, makeTestFolders } from './workspace';

async function main(): Promise<number> {
  let failed = 0;
  for (const suite of ['main', 'untrusted'] as const) {
    const folders = await makeTestFolders(suite, suite === 'untrusted' ? { 'moeLens.modelPath': 'no-such-model' } : {});
    try {
      await runTests({
        extensionDevelopmentPath: ROOT,
        extensionTestsPath: join(ROOT, 'dist', 'test-vscode', 'index.js'),
        extensionTestsEnv: { MOE_LENS_SUITE: suite },
        launchArgs: [
          folders.workspace, '--disable-extensions', '--skip-welcome', '--skip-release-notes', '--disable-telemetry',
          `--user-data-dir=${folders.userData}`, `--extensions-dir=${folders.extensions}`,
          ...(suite === 'main' ? ['--disable-workspace-trust'] : []),
        ],
      });
    } catch (e) {
      console.error(`${suite}: ${(e as Error).message}`);
      failed++;
    }
  }
  return failed === 0 ? 0 : 1;
}

main().then((code) => process.exit(code), (e) => {
  console.error(e);
  process.exit(1);
});
