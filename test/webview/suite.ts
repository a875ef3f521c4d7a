/**
 * What each Chromium suite of the inspector shares: one browser, the harness server and a run recorded
 * from the real engine, opened before its tests and closed after them, and a check after every test
 * that the page it opened saw no CSP violation and no console error. Call inspectorSuite() inside a
 * describe(): it registers the hooks there.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before } from 'node:test';
import type { Browser } from 'playwright-core';
import { PROTOCOL_VERSION, type HostMessage } from '../../extension/protocol';
import { launchChromium } from '../browser';
import { type HarnessServer, type InspectorPage, type ThemeName, openInspector, startServer } from './harness';
import { GREEDY, type Recording, recordRun } from './record';

export const initMessage = (mode: 'live' | 'replay', layer: number | 'all'): HostMessage => ({
  type: 'init', protocol: PROTOCOL_VERSION, mode, defaults: GREEDY, layer, prompt: 'x = 1\nprint(x)', title: 'MoE Lens',
});

/** The sequence number of the last message of a run's messages. */
export function lastSeq(messages: HostMessage[]): number {
  const m = messages.at(-1);
  assert.ok(m && 'seq' in m);
  return m.seq;
}

/** Resolves after three animation frames: what a batch drew has settled, including the scroll the token view makes a frame late. */
export function settle(page: InspectorPage): Promise<unknown> {
  return page.page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => requestAnimationFrame(r))))');
}

export interface InspectorSuite {
  readonly browser: Browser;
  readonly server: HarnessServer;
  /** The bundled model's run on media/samples/loop.py, as run 1. */
  readonly rec: Recording;
  /** A fresh panel, closed and checked after the test. */
  open(theme?: ThemeName, viewport?: { width: number; height: number }): Promise<InspectorPage>;
}

export function inspectorSuite(): InspectorSuite {
  let browser: Browser | undefined;
  let server: HarnessServer | undefined;
  let rec: Recording | undefined;
  let page: InspectorPage | undefined;
  const started = <T>(value: T | undefined, what: string): T => {
    assert.ok(value, `${what} did not start`);
    return value;
  };

  // every hook and test has a time limit, and what was started is closed even when a later start fails
  before(async () => {
    browser = await launchChromium();
    server = await startServer();
    rec = await recordRun(1);
  }, { timeout: 120_000 });
  after(async () => {
    await browser?.close();
    await server?.close();
  }, { timeout: 30_000 });
  afterEach(async () => {
    if (!page) return;
    const violations = await page.violations();
    const problems = page.problems;
    await page.close();
    page = undefined;
    assert.deepEqual(violations, [], 'no Content Security Policy violation');
    assert.deepEqual(problems, [], 'no console error or warning, no failed request');
  });

  return {
    get browser() { return started(browser, 'Chromium'); },
    get server() { return started(server, 'the harness server'); },
    get rec() { return started(rec, 'the recorded run'); },
    async open(theme = 'dark', viewport) {
      page = await openInspector(started(browser, 'Chromium'), started(server, 'the harness server').url, theme, viewport);
      return page;
    },
  };
}
