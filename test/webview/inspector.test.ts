/**
 * The inspector webview in real Chromium, under the panel's CSP, fed runs recorded from the real
 * engine: tokens and their expert colours, layer switching, hover and pin, heatmap cells, KV figures,
 * reasoning collapse and line links, replay mode, hostile token text, state across reloads, and
 * screenshots in VS Code's light and dark themes.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { HostMessage } from '../../extension/protocol';
import { mhaEquivalentBytes } from '../../extension/trace/figures';
import { Segment } from '../../extension/trace/types';
import { coactivation } from '../../extension/analysis/coactivation';
import { routerConfidence } from '../../extension/analysis/confidence';
import { fromStore } from '../../extension/analysis/input';
import { routingPaths } from '../../extension/analysis/paths';
import { describeMismatch } from '../../extension/trace/checks';
import { expertPalette } from '../../extension/inspector/palette';
import { visibleToken } from '../../webview/text';
import { ROOT } from '../helpers';
import { type InspectorPage, THEMES, type ThemeName, waitPosted } from './harness';
import { GREEDY, replayOf } from './record';
import { initMessage, inspectorSuite, lastSeq } from './suite';

const OUT = join(ROOT, 'test-output');

function hexToRgb(hex: string): string {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return `rgb(${r}, ${g}, ${b})`;
}

describe('inspector webview in Chromium, fed runs recorded from the real engine', () => {
  const suite = inspectorSuite();
  const palette = expertPalette(16, THEMES.dark.vars['editor-background']);
  before(() => mkdir(OUT, { recursive: true }));

  /** A screenshot to test-output/ (and docs/images/ with UPDATE_DOCS_SCREENSHOTS=1: tests leave tracked files alone otherwise). */
  async function shoot(page: InspectorPage, name: string): Promise<void> {
    const file = join(OUT, `${name}.png`);
    await page.page.screenshot({ path: file });
    if (process.env.UPDATE_DOCS_SCREENSHOTS === '1') {
      await mkdir(join(ROOT, 'docs', 'images'), { recursive: true });
      await copyFile(file, join(ROOT, 'docs', 'images', `${name}.png`));
    }
  }

  async function liveRun(theme: ThemeName = 'dark', layer: number | 'all' = 1): Promise<InspectorPage> {
    const page = await suite.open(theme);
    await page.post([initMessage('live', layer), { type: 'status', state: 'running', model: 'moe-lens-mini', provider: 'cpu' }, ...suite.rec.live]);
    const ack = await page.rendered(1, lastSeq(suite.rec.live));
    assert.equal(ack.tokens, suite.rec.store.tokenCount, 'the rendered ack counts every token');
    return page;
  }

  /** Every token span the virtualised list shows while scrolled from top to bottom, by index. */
  async function allTokens(page: InspectorPage): Promise<Map<number, { expert: string | null; experts: string | null; text: string; bg: string; title: string | null }>> {
    const seen = new Map<number, { expert: string | null; experts: string | null; text: string; bg: string; title: string | null }>();
    const scroller = page.page.getByTestId('token-scroller');
    const { height, scrollHeight } = await scroller.evaluate((el) => ({ height: el.clientHeight, scrollHeight: el.scrollHeight }));
    for (let top = 0; ; top += Math.max(50, height - 40)) {
      await scroller.evaluate((el, y) => { el.scrollTop = y; }, top);
      await page.page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
      const spans = await page.page.$$eval('[data-t]', (els) => els.map((el) => ({
        t: Number(el.getAttribute('data-t')), expert: el.getAttribute('data-expert'), experts: el.getAttribute('data-experts'),
        text: (el.querySelector('.txt') ?? el).textContent ?? '', bg: (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(el).backgroundColor, title: el.getAttribute('title'),
      })));
      for (const s of spans) seen.set(s.t, s);
      if (top + height >= scrollHeight) break;
    }
    return seen;
  }

  it('loads under the panel CSP, says ready, and paints a live run with every token coloured by its top-1 expert', async () => {
    const page = await liveRun('dark', 1);
    const posted = await page.posted();
    assert.equal(posted[0].type, 'ready');
    const tokens = await allTokens(page);
    assert.equal(tokens.size, suite.rec.store.tokenCount, 'scrolling the virtualised list shows every token once');
    const top = suite.rec.store.topExpert(0); // layer 1 is MoE layer index 0
    const texts = suite.rec.store.tokenTexts();
    for (const [t, s] of tokens) {
      assert.equal(s.expert, String(top[t]), `token ${t} expert`);
      assert.equal(s.bg, hexToRgb(palette[top[t]].background), `token ${t} colour`);
      assert.equal(s.text, visibleToken(texts[t]), `token ${t} text`);
      assert.match(s.title ?? '', new RegExp(`layer 1: E${top[t]} `), 'the title names the expert (colour is not the only channel)');
    }
    await page.page.getByTestId('legend').locator('li[data-expert="15"]').waitFor();
  });

  it('switches the colouring layer, and shows one stripe per MoE layer in all-layers mode', async () => {
    const page = await liveRun('dark', 1);
    const { moeLayers } = suite.rec.store.meta.model;
    await page.post([{ ...initMessage('live', moeLayers[2]) }]);
    await page.page.locator(`[data-t="0"][data-expert="${suite.rec.store.topExpert(2)[0]}"]`).waitFor();
    const shown = await allTokens(page);
    const top2 = suite.rec.store.topExpert(2);
    for (const [t, s] of shown) assert.equal(s.expert, String(top2[t]), `token ${t} at layer ${moeLayers[2]}`);

    // the picker itself: open it and choose "all layers"
    await page.page.getByTestId('layer-select').click();
    await page.page.getByTestId('layer-select').getByRole('option', { name: 'all MoE layers (stripes)' }).click();
    await page.page.locator('.tok-all').first().waitFor();
    const posted = await page.posted();
    assert.deepEqual(posted.filter((m) => m.type === 'selectLayer').at(-1), { type: 'selectLayer', layer: 'all' });
    const all = await allTokens(page);
    const tops = moeLayers.map((_, l) => suite.rec.store.topExpert(l));
    for (const [t, s] of all) assert.equal(s.experts, tops.map((x) => x[t]).join(','), `token ${t} stripes`);
    await page.page.getByTestId('token-scroller').evaluate((el) => { el.scrollTop = 0; });
    await page.page.locator('[data-t="3"] .stripe').first().waitFor();
    const stripes = await page.page.locator('[data-t="3"] .stripe').evaluateAll((els) => els.map((el) => [el.getAttribute('data-expert'), (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(el).backgroundColor]));
    assert.deepEqual(stripes, tops.map((x) => [String(x[3]), hexToRgb(palette[x[3]].background)]));
  });

  it('hover shows the routing per layer; a click pins the token, posts pinToken, and fills the heatmap with its scores', async () => {
    const page = await liveRun('dark', 1);
    const t = 5;
    await page.page.locator(`[data-t="${t}"]`).hover();
    const card = page.page.getByTestId('hover-card');
    await card.waitFor();
    const { expertsPerToken: k, nRoutedExperts: n, moeLayers } = suite.rec.store.meta.model;
    for (let l = 0; l < moeLayers.length; l++) {
      const r = suite.rec.store.routing(l);
      const text = await card.locator(`tr[data-layer="${moeLayers[l]}"]`).textContent();
      for (let j = 0; j < k; j++) assert.ok(text?.includes(`E${r.expertIds[t * k + j]} ${r.weights[t * k + j].toFixed(2)}`), `layer ${moeLayers[l]} lists E${r.expertIds[t * k + j]}: ${text}`);
    }
    await page.page.locator(`[data-t="${t}"]`).click();
    await page.page.locator(`[data-t="${t}"].pinned`).waitFor();
    assert.deepEqual((await page.posted()).filter((m) => m.type === 'pinToken').at(-1), { type: 'pinToken', runId: 1, index: t });
    // the other tabs' views are built the first time their tab is shown, and kept after
    assert.deepEqual(await page.page.evaluate(`['heatmap', 'kv-figures', 'balance'].map((id) => document.querySelectorAll('[data-testid="' + id + '"]').length)`), [0, 0, 0]);
    await page.page.getByTestId('tab-routing').click();
    await page.page.getByTestId('heatmap').waitFor();
    await page.page.getByTestId('tab-tokens').click();
    await page.page.getByTestId('tab-routing').click();
    assert.equal(await page.page.getByTestId('heatmap').count(), 1, 'the heatmap was kept while its tab was hidden');
    const cells = await page.page.$$eval('[data-testid="heatmap"] td', (els) => els.map((el) => ({
      layer: Number(el.getAttribute('data-layer')), expert: Number(el.getAttribute('data-expert')), value: el.getAttribute('data-value'), selected: el.getAttribute('data-selected'),
    })));
    assert.equal(cells.length, moeLayers.length * n);
    for (const c of cells) {
      const l = moeLayers.indexOf(c.layer);
      const r = suite.rec.store.routing(l);
      assert.equal(c.value, r.scores[t * n + c.expert].toFixed(4), `score layer ${c.layer} expert ${c.expert}`);
      const chosen = Array.from(r.expertIds.subarray(t * k, (t + 1) * k)).includes(c.expert);
      assert.equal(c.selected, String(chosen), `selected layer ${c.layer} expert ${c.expert}`);
    }
    // aggregated over the reasoning: the share of reasoning tokens routed to each expert
    await page.page.getByTestId('heatmap-scope').click();
    await page.page.getByTestId('heatmap-scope').getByRole('option', { name: 'reasoning', exact: true }).click();
    const segments = suite.rec.store.tokenSegments();
    const reasoning = Array.from(segments.keys()).filter((i) => segments[i] === Segment.Reasoning);
    await page.page.locator(`[data-testid="heatmap"][data-tokens="${reasoning.length}"]`).waitFor();
    const r0 = suite.rec.store.routing(0);
    for (let e = 0; e < n; e++) {
      const share = reasoning.filter((i) => Array.from(r0.expertIds.subarray(i * k, (i + 1) * k)).includes(e)).length / reasoning.length;
      assert.equal(await page.page.locator(`[data-testid="heatmap"] td[data-layer="${moeLayers[0]}"][data-expert="${e}"]`).getAttribute('data-selected'), share.toFixed(3));
    }
  });

  it('states KV-cache bytes from the engine and the 5.0× latent-vs-MHA ratio; expert load beside it', async () => {
    const page = await liveRun('dark', 1);
    const { store } = suite.rec;
    const lastStep = store.stepCount - 1;
    const layers = store.meta.model.numLayers;
    const latent = Array.from(store.stepKvBytes().subarray(lastStep * layers)).reduce((a, b) => a + b, 0);
    const tokensInCache = store.stepTokensInCache()[lastStep];
    await page.page.getByTestId('tab-kv').click();
    const figures = page.page.getByTestId('kv-figures');
    assert.equal(await figures.getAttribute('data-latent'), String(latent));
    assert.equal(await figures.getAttribute('data-mha'), String(mhaEquivalentBytes(store.meta.model, tokensInCache)));
    assert.equal(await figures.getAttribute('data-tokens'), String(tokensInCache));
    assert.equal(await figures.getAttribute('data-ratio'), '5.00');
    assert.match((await figures.textContent()) ?? '', /5\.0× smaller/);
    assert.equal(await page.page.locator('[data-testid="kv-chart"] canvas').count(), 1, 'the chart is drawn by uPlot on a canvas');
    await page.page.getByTestId('tab-experts').click();
    const { moeLayers, nRoutedExperts: n } = suite.rec.store.meta.model;
    for (let l = 0; l < moeLayers.length; l++) {
      const load = Array.from(suite.rec.store.expertLoad(l));
      const mean = load.reduce((a, b) => a + b, 0) / n;
      assert.equal(await page.page.locator(`[data-testid="balance"] tr[data-layer="${moeLayers[l]}"]`).getAttribute('data-max-over-mean'), (Math.max(...load) / mean).toFixed(3));
    }
  });

  it('the Analyses tab shows what the shared analyses compute from the store, over the run and over a segment', async () => {
    const page = await liveRun('dark', 1);
    const input = fromStore(suite.rec.store);
    const whole = { start: 0, end: suite.rec.store.tokenCount };
    await page.page.getByTestId('tab-analyses').click();
    for (const id of ['coactivation', 'paths', 'vocabulary', 'confidence', 'contrast-reasoning', 'contrast-prompt']) {
      assert.equal(await page.page.getByTestId(id).count(), 1, `${id} is shown`);
    }
    const paths = routingPaths(input, whole, { top: 10 });
    const firstRow = page.page.locator('[data-testid="paths"] tbody tr').first();
    assert.equal(await firstRow.locator('td').nth(0).textContent(), Array.from(paths.paths[0].experts, (e) => `e${e}`).join(' → '));
    assert.equal(await firstRow.locator('td').nth(1).textContent(), String(paths.paths[0].count));
    const confidence = routerConfidence(input, whole);
    const firstUncertain = page.page.locator('[data-testid="uncertain-tokens"] li').first();
    assert.match((await firstUncertain.textContent()) ?? '', new RegExp(`^token ${confidence.leastConfident[0].token} `));
    assert.equal(await page.page.locator('canvas[data-testid="coactivation-grid"]').count(), 1, 'co-activation is one canvas');
    const co = coactivation(input, whole, 0);
    assert.match((await page.page.getByTestId('coactivation').textContent()) ?? '', new RegExp(`${co.routedTokens} routed tokens`));
    await page.page.getByTestId('analysis-scope').click();
    await page.page.getByTestId('analysis-scope').getByRole('option', { name: /^reasoning \(\d+\)$/ }).click();
    const reasoning = routingPaths(input, { ...whole, segment: Segment.Reasoning }, { top: 10 });
    await page.page.getByTestId('paths').getByText(new RegExp(`distinct paths over ${reasoning.tokens} tokens`)).waitFor({ timeout: 5_000 });
    // a least-confident token opens the token view with it pinned
    await page.page.getByTestId('analysis-scope').click();
    await page.page.getByTestId('analysis-scope').getByRole('option', { name: /^whole run/ }).click();
    await page.page.locator('[data-testid="uncertain-tokens"] button').first().click();
    const posted = await waitPosted(page.page, (m) => m.type === 'pinToken');
    assert.equal((posted as { index: number }).index, confidence.leastConfident[0].token);
  });

  it('marks the bundled model\'s reasoning as checked against the program: the first wrong step, and wrong against right steps', async () => {
    const page = await liveRun('dark', 1);
    const checks = suite.rec.store.checks;
    assert.ok(checks, 'the recording of loop.py carries its check');
    const line = page.page.getByTestId('check');
    assert.equal(await line.getAttribute('data-correct'), String(checks.program.result.correct));
    assert.equal(await line.getAttribute('data-first-wrong'), String(checks.program.result.firstWrongStep ?? ''));
    if (!checks.program.result.correct && checks.program.result.firstMismatch) {
      assert.match((await line.textContent()) ?? '', new RegExp(describeMismatch(checks.program.result.firstMismatch).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    }
    const wrong = checks.program.result.verdicts.filter((v) => !v.ok).length;
    assert.ok(wrong > 0, 'loop.py\'s run has a wrong step (the stale n=7)');
    const marks = page.page.locator('.step-no[data-verdict="false"]');
    await marks.first().waitFor();
    assert.equal(await marks.first().textContent().then((t) => t?.split(' ')[0]), String((checks.program.result.firstWrongStep ?? -1) + 1));
    await page.page.getByTestId('tab-analyses').click();
    await page.page.getByTestId('contrast-checked').waitFor();
  });

  it('collapses and expands the reasoning, lists its steps, and posts revealLine for a step that names a line', async () => {
    const page = await liveRun('dark', 1);
    const { steps } = suite.rec.store;
    assert.ok(steps.length > 0, 'the sample program has reasoning steps');
    const toggle = page.page.getByTestId('reasoning-toggle');
    assert.match((await toggle.textContent()) ?? '', new RegExp(`${steps.length} steps`));
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    const withLine = steps.find((s) => s.line !== undefined);
    assert.ok(withLine);
    const link = page.page.locator(`.line-link[data-line="${withLine.line}"]`).first();
    await link.scrollIntoViewIfNeeded();
    await link.click();
    assert.deepEqual((await page.posted()).filter((m) => m.type === 'revealLine').at(-1), { type: 'revealLine', runId: 1, line: withLine.line });
    await page.page.getByTestId('token-scroller').evaluate((el) => { el.scrollTop = 0; });
    await toggle.click();
    await page.page.locator('[data-testid="reasoning-toggle"][aria-expanded="false"]').waitFor();
    assert.equal(await page.page.locator('.line.row.seg-reasoning').count(), 0, 'collapsed: no reasoning rows');
    const shown = await allTokens(page);
    const segments = suite.rec.store.tokenSegments();
    assert.ok([...shown.keys()].every((t) => segments[t] !== Segment.Reasoning));
    assert.ok([...shown.keys()].some((t) => segments[t] === Segment.Answer), 'the answer still shows');
    await page.page.getByTestId('token-scroller').evaluate((el) => { el.scrollTop = 0; });
    await page.page.getByTestId('reasoning-toggle').click();
    await page.page.locator('.line.row.seg-reasoning').first().waitFor();
  });

  it('replays a trace file read back from disk format: same tokens, controls hidden, replay badge', async () => {
    const page = await suite.open('light');
    const replay = replayOf(suite.rec.store, 2);
    await page.post([initMessage('replay', 1), ...replay]);
    await page.rendered(2, lastSeq(replay));
    await page.page.getByTestId('replay-badge').waitFor();
    assert.equal(await page.page.locator('vscode-textarea').count(), 0, 'no run controls in replay mode');
    const tokens = await allTokens(page);
    assert.equal(tokens.size, suite.rec.store.tokenCount);
    const top = suite.rec.store.topExpert(0);
    for (const [t, s] of tokens) assert.equal(s.expert, String(top[t]));
    // a stale message from the earlier run id changes nothing
    await page.post(suite.rec.live.slice(1, 3));
    await page.page.evaluate('new Promise((r) => setTimeout(r, 300))');
    assert.equal((await allTokens(page)).size, suite.rec.store.tokenCount);
  });

  it('renders hostile token text inert and legible: markup, script, bidi overrides, control characters, a 10k-char token', async () => {
    const page = await suite.open('dark');
    const hostile = ['<script>window.__pwned = 1</script>', '<img src=x onerror="window.__pwned = 2">', '\u202Egnp.exe', 'a\u0000b\u001b[31mred', '&lt;b&gt;', 'z'.repeat(10_000), '\u2066iso\u2069\u200b'];
    // the recorded run with some token texts replaced: what a model could emit
    const messages = suite.rec.live.map((m): HostMessage => {
      if (m.type !== 'runData' || !m.tokens) return m;
      const { first } = m.tokens;
      return { ...m, tokens: { ...m.tokens, texts: m.tokens.texts.map((text, i) => hostile[first + i] ?? text) } };
    });
    await page.post([initMessage('live', 1), ...messages]);
    await page.rendered(1, lastSeq(messages));
    await page.page.getByTestId('token-scroller').evaluate((el) => { el.scrollTop = 0; });
    await page.page.locator('[data-t="6"]').waitFor();
    assert.equal(await page.page.evaluate('window.__pwned'), undefined, 'nothing ran');
    assert.equal(await page.page.locator('#root script, #root img').count(), 0, 'no element came from token text');
    for (let t = 0; t < hostile.length; t++) assert.equal(await page.page.locator(`[data-t="${t}"]`).textContent(), visibleToken(hostile[t]));
    assert.equal(await page.page.locator('[data-t="2"]').textContent(), '\\u202Egnp.exe', 'the bidi override is shown as an escape, not obeyed');
    assert.match((await page.page.locator('[data-t="5"]').textContent()) ?? '', /… \(\+9840 chars\)$/);
    await page.page.locator('[data-t="5"]').hover();
    assert.ok(((await page.page.getByTestId('hover-card').textContent()) ?? '').length < 2000, 'the hover stays small');
  });

  it('keeps the run, the layer, the pin and the collapsed reasoning across hide/show (getState/setState)', async () => {
    const page = await liveRun('dark', 1);
    await page.page.locator('[data-t="4"]').click();
    await page.page.getByTestId('reasoning-toggle').click();
    await page.page.getByTestId('layer-select').click();
    await page.page.getByTestId('layer-select').getByRole('option', { name: 'layer 3', exact: true }).click();
    await page.page.locator('[data-t="4"].pinned').waitFor();
    await page.page.reload();
    await waitPosted(page.page, (m) => m.type === 'ready');
    // no message posted after the reload: everything comes from the saved state
    await page.page.locator('[data-t="4"].pinned').waitFor();
    assert.equal(await page.page.locator('[data-t="4"]').getAttribute('data-expert'), String(suite.rec.store.topExpert(2)[4]));
    assert.equal(await page.page.getByTestId('reasoning-toggle').getAttribute('aria-expanded'), 'false');
    await page.page.getByTestId('tab-routing').click();
    assert.equal(await page.page.locator('[data-testid="heatmap"] td').count(), suite.rec.store.meta.model.moeLayers.length * 16);
  });

  it('run controls post a validated run message, Stop names the running run, and Export waits for the run to end', async () => {
    const page = await suite.open('dark');
    await page.post([initMessage('live', 1), { type: 'status', state: 'idle', model: 'moe-lens-mini', provider: 'cpu' }]);
    await page.page.getByTestId('run').click();
    const run = (await page.posted()).find((m) => m.type === 'run');
    assert.deepEqual(run, { type: 'run', prompt: 'x = 1\nprint(x)', settings: GREEDY });
    const exportButton = page.page.getByTestId('export');
    assert.equal(await exportButton.getAttribute('disabled'), '', 'no run to export yet');
    await page.post([suite.rec.live[0], suite.rec.live[1]]);
    await page.rendered(1, 1);
    assert.equal(await exportButton.getAttribute('disabled'), '', 'the run is still going');
    await page.page.getByTestId('stop').click();
    assert.deepEqual((await page.posted()).filter((m) => m.type === 'stop'), [{ type: 'stop', runId: 1 }]);
    const rest = suite.rec.live.slice(2);
    await page.post(rest);
    await page.rendered(1, (rest.at(-1) as { seq: number }).seq);
    await page.page.locator('vscode-button[data-testid="export"]:not([disabled])').waitFor();
    await exportButton.click();
    assert.deepEqual((await page.posted()).filter((m) => m.type === 'export'), [{ type: 'export' }]);
  });

  for (const theme of ['dark', 'light'] as const) {
    it(`screenshot in VS Code's ${theme} theme`, async () => {
      const page = await liveRun(theme, 1);
      await page.page.locator('[data-t="21"]').click();
      await page.page.getByTestId('token-scroller').evaluate((el) => { el.scrollTop = 0; });
      await page.page.locator('[data-t="21"]').hover();
      await page.page.evaluate('new Promise((r) => setTimeout(r, 400))'); // charts redraw on a 250 ms cadence
      await shoot(page, `inspector-${theme}`);
      await page.page.getByTestId('tab-analyses').click();
      await page.page.getByTestId('coactivation-grid').waitFor();
      await page.page.evaluate('new Promise((r) => setTimeout(r, 400))');
      await shoot(page, `analyses-${theme}`);
    });
  }
});
