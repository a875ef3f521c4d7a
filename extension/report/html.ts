/**
 * A trace as one self-contained HTML file: nothing is loaded from anywhere (no script, no font, no
 * image; charts are inline SVG), and a strict CSP allows only the report's own nonce'd <style>. Every
 * piece of trace text is escaped. Sections: summary, check verdict (when the trace has one), the
 * token stream coloured by top-1 expert, load per expert per layer, co-activation lift, top routing
 * paths, router confidence, reasoning against answer, and the KV cache.
 */
import { coactivation } from '../analysis/coactivation';
import { routerConfidence } from '../analysis/confidence';
import { reasoningVersusAnswer } from '../analysis/contrast';
import { everything, fromStore, type RoutingInput } from '../analysis/input';
import { expertLoads } from '../analysis/load';
import { routingPaths } from '../analysis/paths';
import { expertPalette } from '../inspector/palette';
import { describeMismatch } from '../trace/checks';
import { balance, formatBytes, mhaEquivalentBytes, runSummary } from '../trace/figures';
import type { TraceStore } from '../trace/store';
import { SEGMENT_NAMES } from '../trace/types';
import { esc, fixed, heat, lineChartSvg, liftColour, matrixSvg, table, visible } from './markup';

export interface ReportOptions {
  /** The CSP nonce of the one <style> element: fresh random per report (base64 characters). */
  nonce: string;
  title?: string;
  /** The MoE layer (index into moeLayers) whose top-1 expert colours the tokens; default the first. */
  colourLayer?: number;
}

const BACKGROUND = '#ffffff';

function style(experts: number): string {
  const palette = expertPalette(experts, BACKGROUND);
  const expertRules = palette.map((c, e) => `.e${e}{background:${c.background};color:${c.foreground}}`).join('\n');
  const heatRules = Array.from({ length: 10 }, (_, h) => `.h${h}{background:rgba(60,110,200,${(h / 10).toFixed(2)})${h >= 6 ? ';color:#fff' : ''}}`).join('\n');
  return `body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;padding:0 16px;color:#1f2328;background:${BACKGROUND}}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0;font-size:12px}td,th{border:1px solid #d0d7de;padding:2px 6px;text-align:right}
th{background:#f6f8fa}table.kv td,table.steps td,table.steps th,table.paths td:first-child,table.least td:nth-child(2){text-align:left}table.kv thead{display:none}code,.mono{font-family:ui-monospace,monospace}
.stream{font-family:ui-monospace,monospace;white-space:pre-wrap;line-height:1.9;border:1px solid #d0d7de;padding:8px;word-break:break-all}
.stream .t{border-radius:2px;padding:0 1px}.seg-0{opacity:.85}.seg-1{text-decoration:underline dotted}.seg-2{font-weight:bold}
.ok{color:#1a7f37}.bad{color:#cf222e;font-weight:bold}.verdict{font-size:16px}.grid{display:flex;flex-wrap:wrap;gap:16px}
.legend span{display:inline-block;min-width:22px;text-align:center;margin:1px;border-radius:2px}figure{margin:0}figcaption{font-size:12px}
${expertRules}
${heatRules}`;
}

const tokenText = (store: TraceStore, t: number) => visible(store.tokenTexts()[t] ?? '');

function summarySection(store: TraceStore): string {
  const { meta } = store;
  const s = runSummary(store);
  const prompt = store.tokenSegments().filter((x) => x === 0).length;
  const rows = [
    ['model', `${esc(meta.model.name)} (${esc(meta.model.modelType)}), ${meta.model.numLayers} layers, MoE layers ${meta.model.moeLayers.join(', ')}, ${meta.model.nRoutedExperts} experts, top-${meta.model.expertsPerToken}`],
    ['provider', esc(meta.provider) + meta.fallbacks.map((f) => ` (fell back from ${esc(f.provider)}: ${esc(f.reason)})`).join('')],
    ['recorded', esc(meta.createdAt)],
    ['tokens', `${store.tokenCount} (prompt ${prompt}, generated ${s.generatedTokens})`],
    ['ended', `${esc(s.reason)}${s.unterminatedReasoning ? ', reasoning never closed' : ''}${s.message ? `: ${esc(s.message)}` : ''}`],
    ['decode speed', s.decodeTokensPerSecond > 0 ? `${s.decodeTokensPerSecond.toFixed(0)} tokens/s (model time)` : '–'],
    ['sampling', esc(JSON.stringify(meta.settings))],
  ];
  return `<section id="summary"><h2>Summary</h2>${table(['', ''], rows.map(([k, v]) => [`<b>${esc(k)}</b>`, v]), 'kv')}</section>`;
}

function checkSection(store: TraceStore): string {
  const checks = store.checks;
  if (!checks) return '';
  const r = checks.program.result;
  const headline = r.correct
    ? '<p class="verdict ok" data-verdict="right">Right: every reasoning step matches the program\'s run, and so does the answer.</p>'
    : `<p class="verdict bad" data-verdict="wrong">Wrong${r.firstMismatch ? `: ${esc(describeMismatch(r.firstMismatch))}` : ''}.</p>`;
  const oneLine = (text: string) => JSON.stringify(visible(text.split('\n').join(' ')));
  const answer = `<p>Answer ${esc(oneLine(r.answer.written))}; the program prints ${esc(oneLine(r.answer.expected))}: <span class="${r.answer.ok ? 'ok">right' : 'bad">wrong'}</span>.</p>`;
  const rows = r.verdicts.map((v) => [String(v.index + 1), v.ok ? '<span class="ok">✓</span>' : '<span class="bad">✗</span>',
    `<span class="mono">${esc(v.written)}</span>`, v.ok ? '' : `<span class="mono">${esc(v.expected ?? '(not a step of the program)')}</span>`]);
  const missing = r.missing.length ? `<p>Missing steps: ${r.missing.map((m) => `<code>${esc(m.expected)}</code> before written step ${m.beforeWritten + 1}`).join('; ')}</p>` : '';
  return `<section id="check"><h2>Reasoning checked against the program</h2>${headline}${answer}
<p>${r.writtenStepCount} steps written; the program runs ${r.expectedStepCount}.</p>${missing}${table(['step', '', 'written', 'expected'], rows, 'steps')}</section>`;
}

function tokenSection(store: TraceStore, layerIndex: number): string {
  const { meta } = store;
  const k = meta.model.expertsPerToken;
  const segments = store.tokenSegments();
  const top = layerIndex >= 0 ? store.topExpert(layerIndex) : null;
  const parts: string[] = [];
  for (let t = 0; t < store.tokenCount; t++) {
    const routes = meta.model.moeLayers.map((layer, l) => {
      const { expertIds, weights } = store.routing(l);
      const slots = Array.from({ length: k }, (_, j) => t * k + j).sort((x, y) => weights[y] - weights[x] || x - y);
      return `layer ${layer}: ${slots.map((j) => `e${expertIds[j]} ${weights[j].toFixed(2)}`).join(', ')}`;
    });
    const title = [`#${t} id ${store.tokenIds()[t]} · ${SEGMENT_NAMES[segments[t]] ?? segments[t]}`, ...routes].join('\n');
    const cls = `t seg-${segments[t]}${top && top[t] >= 0 ? ` e${top[t]}` : ''}`;
    parts.push(`<span class="${cls}" data-token="${t}" title="${esc(title)}">${esc(tokenText(store, t))}</span>`);
  }
  const legend = Array.from({ length: meta.model.nRoutedExperts }, (_, e) => `<span class="e${e}">${e}</span>`).join('');
  const layer = layerIndex >= 0 ? `top-1 expert at layer ${meta.model.moeLayers[layerIndex]}` : 'no routing';
  return `<section id="tokens"><h2>Tokens</h2><p>Colour: ${esc(layer)}; dotted underline: reasoning; bold: answer. Hover a token for its routing in every layer.</p>
<p class="legend">${legend}</p><div class="stream">${parts.join('')}</div></section>`;
}

function loadSection(input: RoutingInput): string {
  const loads = expertLoads(input, everything(input));
  const head = ['layer', ...Array.from({ length: input.nRoutedExperts }, (_, e) => `e${e}`), 'max/mean'];
  const rows = loads.map((l) => {
    const max = Math.max(1, ...l.counts);
    return [String(l.layer), ...Array.from(l.counts, (c) => `<span class="h${heat(c / max)}">${c}</span>`), fixed(balance(l.counts).maxOverMean)];
  });
  return `<section id="load"><h2>Load per expert per layer</h2><p>Tokens sent to each expert (all tokens).</p>${table(head, rows, 'load')}</section>`;
}

function coactivationSection(input: RoutingInput): string {
  const figures = input.moeLayers.map((layer, l) => {
    const c = coactivation(input, everything(input), l);
    const E = c.experts;
    const svg = matrixSvg(E, c.orderClustered, (i, j) => liftColour(c.lift[i * E + j]),
      (i, j) => `e${i} & e${j}: ${c.counts[i * E + j]} tokens together, lift ${fixed(c.lift[i * E + j])}`, `co-activation lift, layer ${layer}`);
    const pairs: [number, number][] = [];
    for (let i = 0; i < E; i++) for (let j = i + 1; j < E; j++) if (c.counts[i * E + j] >= 2) pairs.push([i, j]);
    pairs.sort((p, q) => c.lift[q[0] * E + q[1]] - c.lift[p[0] * E + p[1]] || p[0] - q[0] || p[1] - q[1]);
    const rows = pairs.slice(0, 5).map(([i, j]) => [`e${i} + e${j}`, String(c.counts[i * E + j]), fixed(c.lift[i * E + j])]);
    return `<figure data-layer="${layer}">${svg}<figcaption>layer ${layer} (${c.routedTokens} tokens; red: chosen together more than chance, blue: less)</figcaption>${table(['pair', 'tokens', 'lift'], rows, 'pairs')}</figure>`;
  });
  return `<section id="coactivation"><h2>Co-activation lift</h2><div class="grid">${figures.join('')}</div></section>`;
}

function pathSection(store: TraceStore, input: RoutingInput): string {
  const p = routingPaths(input, everything(input), { top: 10 });
  const rows = p.paths.map((path) => [Array.from(path.experts, (e) => (e >= 0 ? `<span class="e${e}">e${e}</span>` : '–')).join(' → '),
    String(path.count), `<span class="mono">${esc(JSON.stringify(tokenText(store, path.firstToken)))}</span> (#${path.firstToken})`]);
  return `<section id="paths"><h2>Top routing paths</h2><p>Top-1 expert through layers ${input.moeLayers.join(', ')}: ${p.distinctPaths} distinct paths over ${p.tokens} tokens.</p>
${table(['path', 'tokens', 'first token'], rows, 'paths')}</section>`;
}

function confidenceSection(store: TraceStore, input: RoutingInput): string {
  const c = routerConfidence(input, everything(input), 10);
  const layers = input.moeLayers.map((layer, l) => [String(layer), fixed(c.layerMeanNormalizedEntropy[l], 3)]);
  const least = c.leastConfident.map((u) => [`#${u.token}`, `<span class="mono">${esc(JSON.stringify(tokenText(store, u.token)))}</span>`, fixed(u.meanNormalizedEntropy, 3), fixed(u.meanMargin, 3)]);
  return `<section id="confidence"><h2>Router confidence</h2><p>Normalised entropy of the router's scores (0: certain, 1: could not choose).</p>
<div class="grid">${table(['layer', 'mean entropy'], layers)}${table(['token', 'text', 'entropy', 'margin'], least, 'least')}</div></section>`;
}

function contrastSection(input: RoutingInput): string {
  const E = input.nRoutedExperts;
  const c = reasoningVersusAnswer(input, (i, s) => routerConfidence(i, s, 0));
  const rows = input.moeLayers.map((layer, l) => {
    const diff = Array.from({ length: E }, (_, e) => [e, c.loadDifference[l * E + e]] as const);
    const more = (sign: number) => [...diff].filter(([, d]) => d * sign > 0).sort((x, y) => (y[1] - x[1]) * sign || x[0] - y[0]).slice(0, 3)
      .map(([e, d]) => `<span class="e${e}">e${e}</span> ${d > 0 ? '+' : ''}${(100 * d).toFixed(0)}%`).join(' ') || '–';
    return [String(layer), more(1), more(-1), fixed(c.a.result.layerMeanNormalizedEntropy[l], 3), fixed(c.b.result.layerMeanNormalizedEntropy[l], 3)];
  });
  const n = (x: { loads: { routedTokens: number }[] }) => x.loads[0]?.routedTokens ?? 0;
  return `<section id="contrast"><h2>Reasoning against answer</h2><p>${n(c.a)} reasoning tokens, ${n(c.b)} answer tokens; share of tokens per expert, reasoning minus answer.</p>
${table(['layer', 'busier in reasoning', 'busier in answer', 'entropy (reasoning)', 'entropy (answer)'], rows, 'contrast')}</section>`;
}

function kvSection(store: TraceStore): string {
  const { meta } = store;
  const layers = meta.model.numLayers;
  const kv = store.stepKvBytes();
  const cache = store.stepTokensInCache();
  const held: [number, number][] = [];
  const mha: [number, number][] = [];
  for (let s = 0; s < store.stepCount; s++) {
    let bytes = 0;
    for (let l = 0; l < layers; l++) bytes += kv[s * layers + l];
    held.push([cache[s], bytes]);
    mha.push([cache[s], mhaEquivalentBytes(meta.model, cache[s])]);
  }
  if (held.length === 0) return '<section id="kv"><h2>KV cache</h2><p>The trace has no model calls.</p></section>';
  const last = held[held.length - 1];
  const lastMha = mha[mha.length - 1][1];
  const svg = lineChartSvg([{ name: 'KV cache held', colour: '#1a7f37', points: held }, { name: 'plain multi-head attention, same heads', colour: '#9a6700', dashed: true, points: mha }],
    'tokens in cache', formatBytes, 'KV cache bytes by tokens in cache');
  return `<section id="kv"><h2>KV cache</h2><p>${esc(formatBytes(last[1]))} for ${last[0]} tokens; plain multi-head attention would hold ${esc(formatBytes(lastMha))}${last[1] > 0 ? ` (${(lastMha / last[1]).toFixed(1)}× more)` : ''}.</p>${svg}</section>`;
}

/** The report; `options.nonce` must be fresh and unguessable per file (the CSP's only allowance). */
export function traceToHtml(store: TraceStore, options: ReportOptions): string {
  if (!/^[A-Za-z0-9+/=_-]{16,}$/.test(options.nonce)) throw new RangeError('the report nonce must be at least 16 base64 characters');
  const input = fromStore(store);
  const routed = store.meta.model.moeLayers.length > 0;
  const layerIndex = routed ? Math.min(Math.max(0, options.colourLayer ?? 0), store.meta.model.moeLayers.length - 1) : -1;
  const title = options.title ?? `MoE Lens report · ${store.meta.model.name}`;
  const csp = `default-src 'none'; style-src 'nonce-${options.nonce}'; script-src 'none'; img-src 'none'; base-uri 'none'; form-action 'none'`;
  const sections = [
    summarySection(store),
    checkSection(store),
    tokenSection(store, layerIndex),
    ...(routed ? [loadSection(input), coactivationSection(input), pathSection(store, input), confidenceSection(store, input), contrastSection(input)] : []),
    kvSection(store),
  ];
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${esc(csp)}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style nonce="${esc(options.nonce)}">
${style(store.meta.model.nRoutedExperts)}
</style>
</head>
<body>
<h1>${esc(title)}</h1>
<details><summary>Prompt</summary><pre class="mono">${esc(store.meta.prompt)}</pre></details>
${sections.filter(Boolean).join('\n')}
</body>
</html>
`;
}
