import { checksToJson, readChecks } from './checks';
import { TraceStore } from './store';
import { type ReasoningStep, TRACE_FORMAT, TRACE_VERSION, type TraceDone } from './types';
import {
  INT32_MAX, type LayerColumns, TRACE_LIMITS, TraceFormatError, asArray, asObject, at, checkHeader, checkSize, checkWritableSize, checkSpan, floatColumn,
  get, intColumn, parseJson, readDone, readMeta, readReasoningStep, readRoutingLayer,
} from './validate';

/**
 * The v1 JSON trace file (docs/trace-format.md): one object holding every column as a flat array.
 * Numbers are written in JavaScript's shortest round-trip form, so float32 values read back exactly.
 */

/** `[a,b,…]`; -0 keeps its sign. Throws on NaN and ±Infinity, which JSON cannot hold. */
export function numberList(values: ArrayLike<number>, column: string): string {
  let out = '[';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) throw new Error(`cannot write ${column}[${i}] = ${v}: trace files hold finite numbers only`);
    out += (i ? ',' : '') + (Object.is(v, -0) ? '-0' : String(v));
  }
  return out + ']';
}

export function stepJson(s: ReasoningStep): string {
  return JSON.stringify(s.line === undefined ? { start: s.start, end: s.end } : { start: s.start, end: s.end, line: s.line });
}

export function doneJson(d: TraceDone): string {
  return JSON.stringify(d.message === undefined
    ? { reason: d.reason, unterminatedReasoning: d.unterminatedReasoning }
    : { reason: d.reason, unterminatedReasoning: d.unterminatedReasoning, message: d.message });
}

export function traceToJson(store: TraceStore): string {
  const routing = store.meta.model.moeLayers.map((_, l) => {
    const r = store.routing(l);
    const p = `routing[${l}]`;
    return `{"layer":${r.layer},"expertIds":${numberList(r.expertIds, `${p}.expertIds`)},"weights":${numberList(r.weights, `${p}.weights`)},"scores":${numberList(r.scores, `${p}.scores`)}}`;
  });
  return checkWritableSize([
    `{"format":${JSON.stringify(TRACE_FORMAT)},"version":${TRACE_VERSION},`,
    `"meta":${JSON.stringify(store.meta)},`,
    `"tokens":{"ids":${numberList(store.tokenIds(), 'tokens.ids')},`,
    `"texts":${JSON.stringify(store.tokenTexts())},`,
    `"segments":${numberList(store.tokenSegments(), 'tokens.segments')},`,
    `"spans":${numberList(store.sourceSpans(), 'tokens.spans')}},`,
    `"routing":[${routing.join(',\n')}],`,
    `"steps":{"tokensInCache":${numberList(store.stepTokensInCache(), 'steps.tokensInCache')},`,
    `"kvBytes":${numberList(store.stepKvBytes(), 'steps.kvBytes')},`,
    `"runMs":${numberList(store.stepRunMs(), 'steps.runMs')}},`,
    `"reasoningSteps":[${store.steps.map(stepJson).join(',')}],`,
    // optional and versioned on its own: traces without it are written exactly as before
    `"done":${store.done ? doneJson(store.done) : 'null'}${store.checks ? `,\n"checks":${checksToJson(store.checks)}` : ''}}`,
    '',
  ].join('\n'));
}

/** Reads a v1 JSON trace; throws TraceFormatError, saying where and why, for anything else. */
export function traceFromJson(text: string): TraceStore {
  checkSize(text);
  const root = asObject(parseJson(text), '');
  checkHeader(root, '');
  const meta = readMeta(get.value(root, 'meta', ''), 'meta');
  const { moeLayers, numLayers } = meta.model;

  const tokens = get.object(root, 'tokens', '');
  const idsRaw = get.array(tokens, 'ids', 'tokens');
  const n = idsRaw.length;
  if (n > TRACE_LIMITS.tokens) throw new TraceFormatError('tokens.ids', `has ${n} tokens; MoE Lens reads at most ${TRACE_LIMITS.tokens}`);
  const per = `one per entry of tokens.ids, ${n}`;
  const ids = intColumn(idsRaw, 'tokens.ids', n, per, (m) => new Int32Array(m), 0, INT32_MAX);
  const textsRaw = get.array(tokens, 'texts', 'tokens');
  if (textsRaw.length !== n) throw new TraceFormatError('tokens.texts', `has ${textsRaw.length} entries; expected ${n} (${per})`);
  const texts = textsRaw.map((t, i) => {
    if (typeof t !== 'string') throw new TraceFormatError(`tokens.texts[${i}]`, `expected a string, found ${t === null ? 'null' : typeof t}`);
    return t;
  });
  const segments = intColumn(get.value(tokens, 'segments', 'tokens'), 'tokens.segments', n, per, (m) => new Uint8Array(m), 0, 2,
    '0 prompt, 1 reasoning, 2 answer');
  const spans = intColumn(get.value(tokens, 'spans', 'tokens'), 'tokens.spans', 2 * n, `a start and an end per token, 2 × ${n}`,
    (m) => new Int32Array(m), -1, INT32_MAX);
  for (let t = 0; t < n; t++) checkSpan(spans[2 * t], spans[2 * t + 1], meta.prompt.length, `tokens.spans[${2 * t}]`);

  const routingRaw = get.array(root, 'routing', '');
  if (routingRaw.length !== moeLayers.length) {
    throw new TraceFormatError('routing', `has ${routingRaw.length} layers; expected ${moeLayers.length}, one per entry of meta.model.moeLayers`);
  }
  const routing: LayerColumns[] = moeLayers.map((layer, l) => readRoutingLayer(routingRaw[l], `routing[${l}]`, layer, meta, n));

  const steps = get.object(root, 'steps', '');
  const cacheRaw = get.array(steps, 'tokensInCache', 'steps');
  const s = cacheRaw.length;
  if (s > TRACE_LIMITS.steps) throw new TraceFormatError('steps.tokensInCache', `has ${s} steps; MoE Lens reads at most ${TRACE_LIMITS.steps}`);
  const tokensInCache = intColumn(cacheRaw, 'steps.tokensInCache', s, `one per step, ${s}`, (m) => new Int32Array(m), 0, INT32_MAX);
  const kvBytes = floatColumn(get.value(steps, 'kvBytes', 'steps'), 'steps.kvBytes', numLayers * s,
    `meta.model.numLayers ${numLayers} × ${s} steps`, (m) => new Float64Array(m), 0);
  const runMs = floatColumn(get.value(steps, 'runMs', 'steps'), 'steps.runMs', s, `one per step, ${s}`, (m) => new Float32Array(m), 0);

  const reasoningSteps = asArray(get.value(root, 'reasoningSteps', ''), 'reasoningSteps')
    .map((r, i) => readReasoningStep(r, at('reasoningSteps', i), n));
  const done = readDone(get.value(root, 'done', ''), 'done');

  const store = new TraceStore(meta);
  store.appendTokens({ count: n, ids, texts, segments, spans, routing });
  for (let i = 0; i < s; i++) store.addStep(tokensInCache[i], kvBytes.subarray(i * numLayers, (i + 1) * numLayers), runMs[i]);
  for (const r of reasoningSteps) store.steps.push(r);
  if (done) store.finish(done);
  if (Object.hasOwn(root, 'checks')) store.checks = readChecks(root.checks, 'checks', n);
  return store;
}
