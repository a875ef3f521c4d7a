/**
 * The HTML report in real Chromium, opened from its file: no request leaves the page (every request
 * but the file itself fails the test), its CSP reports no violation, no console error, hostile token
 * text stays text, and every section renders with the trace's figures.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { traceToHtml } from '../../extension/report/html';
import { traceFromJson } from '../../extension/trace/jsonFormat';
import type { TraceStore } from '../../extension/trace/store';
import { launchChromium } from '../browser';
import { ROOT } from '../helpers';

const exec = promisify(execFile);
type Styles = { getComputedStyle(e: unknown): { backgroundColor: string; whiteSpace: string } };
const HOSTILE = '<img src="https://example.invalid/x.png" onerror="document.title=\'pwned\'"><script>document.title="pwned"</script>';

describe('HTML report in Chromium: self-contained, CSP-clean, every section rendered', () => {
  let browser: Browser;
  let store: TraceStore;
  let file: string;

  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'moe-lens-report-'));
    const tracePath = join(dir, 'demo.moetrace.json');
    await exec(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'run', '--prompt-file', join(ROOT, 'media', 'samples', 'loop.py'), '--out', tracePath], { cwd: ROOT });
    const root = JSON.parse(await readFile(tracePath, 'utf8')) as { tokens: { texts: string[] } };
    root.tokens.texts[2] = HOSTILE;
    store = traceFromJson(JSON.stringify(root));
    file = join(dir, 'report.html');
    await writeFile(file, traceToHtml(store, { nonce: randomBytes(18).toString('base64') }));
    browser = await launchChromium();
  }, { timeout: 120_000 });
  after(async () => {
    await browser?.close();
  }, { timeout: 30_000 });

  it('opens from its file with no other request, no CSP violation and no console error', { timeout: 60_000 }, async () => {
    const page = await browser.newPage();
    const url = pathToFileURL(file).href;
    const requests: string[] = [];
    const problems: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await page.route('**/*', (route) => (route.request().url() === url ? route.continue() : route.abort()));
    await page.addInitScript({
      content: `window.__violations = []; document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));`,
    });
    await page.goto(url);
    await page.waitForLoadState('load');
    try {
      assert.deepEqual(requests.filter((r) => r !== url), [], 'no request but the report itself');
      assert.deepEqual(await page.evaluate('window.__violations'), [], 'no Content Security Policy violation');
      assert.deepEqual(problems, [], 'no console error or warning');

      // the hostile token is text: no element, no script ran
      assert.notEqual(await page.title(), 'pwned');
      assert.equal(await page.locator('section#tokens img, script').count(), 0);
      assert.equal(await page.locator('[data-token="2"]').textContent(), HOSTILE);

      // the nonce'd stylesheet applied: experts are coloured, the stream keeps its line breaks
      const colour = await page.locator('[data-token="60"]').evaluate((el) => (globalThis as unknown as Styles).getComputedStyle(el).backgroundColor);
      assert.notEqual(colour, 'rgba(0, 0, 0, 0)', 'tokens are coloured by their top expert');
      assert.equal(await page.locator('.stream').evaluate((el) => (globalThis as unknown as Styles).getComputedStyle(el).whiteSpace), 'pre-wrap');

      for (const id of ['summary', 'check', 'tokens', 'load', 'coactivation', 'paths', 'confidence', 'contrast', 'kv']) {
        const section = page.locator(`section#${id}`);
        assert.equal(await section.count(), 1, `section ${id}`);
        assert.ok(await section.isVisible(), `section ${id} is visible`);
      }
      assert.equal(await page.locator('section#tokens [data-token]').count(), store.tokenCount);
      const verdict = page.locator('section#check .verdict');
      assert.equal(await verdict.getAttribute('data-verdict'), 'wrong');
      assert.match(await verdict.textContent() ?? '', /step 13 \(line 6\) wrote n=7 where the program has n=5/);
      assert.match(await page.locator('section#check').textContent() ?? '', /Answer "19 5"; the program prints "19 3"/);

      const { moeLayers, nRoutedExperts } = store.meta.model;
      assert.equal(await page.locator('table.load tbody tr').count(), moeLayers.length);
      const firstRow = await page.locator('table.load tbody tr').first().locator('td').allTextContents();
      assert.deepEqual(firstRow.slice(1, 1 + nRoutedExperts).map(Number), Array.from(store.expertLoad(0)));
      assert.equal(await page.locator('section#coactivation svg').count(), moeLayers.length);
      assert.equal(await page.locator('section#coactivation svg').first().locator('rect').count(), nRoutedExperts * nRoutedExperts);
      assert.ok(await page.locator('table.paths tbody tr').count() > 0);
      assert.equal(await page.locator('table.least tbody tr').count(), 10);
      assert.equal(await page.locator('table.contrast tbody tr').count(), moeLayers.length);
      const kv = page.locator('section#kv svg polyline.series');
      assert.equal(await kv.count(), 2);
      const box = await page.locator('section#kv svg').boundingBox();
      assert.ok(box && box.width > 100 && box.height > 100, 'the KV chart has a size');
      assert.equal((await kv.first().getAttribute('points'))?.split(' ').length, store.stepCount);
    } finally {
      await page.close();
    }
  });
});
