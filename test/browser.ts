/**
 * The Chromium that the webview suite, the real-VS-Code suite and the webview bench drive: Debian's
 * `chromium` (playwright-core never downloads a browser here). `CHROMIUM_PATH` picks another build.
 * A missing browser is one line that names the fix, raised before anything is started.
 */
import { accessSync, constants } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

const DEBIAN_CHROMIUM = '/usr/bin/chromium';

/** Flags for a closed network: without the background-networking ones Chromium keeps dialling Google. */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

export class MissingBrowserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MissingBrowserError';
  }
}

const executable = (path: string) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** CHROMIUM_PATH when it points at a browser, else Debian's; throws MissingBrowserError when neither is there. */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  const chosen = env.CHROMIUM_PATH;
  if (chosen && executable(chosen)) return chosen;
  if (executable(DEBIAN_CHROMIUM)) {
    if (chosen) console.warn(`CHROMIUM_PATH=${chosen} is not an executable; using ${DEBIAN_CHROMIUM}`);
    return DEBIAN_CHROMIUM;
  }
  throw new MissingBrowserError(`No Chromium found (${chosen ? `CHROMIUM_PATH=${chosen} is not an executable, and ` : ''}${DEBIAN_CHROMIUM} is missing): `
    + 'install it with `sudo apt-get install chromium` (or run `bash test/prerequisites.sh`), or set CHROMIUM_PATH to a Chromium binary.');
}

export function launchChromium(headless = true): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless, args: CHROMIUM_ARGS });
}
