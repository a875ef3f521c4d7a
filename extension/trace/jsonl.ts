import { checksToJson, readChecks } from './checks';
import { doneJson, numberList, stepJson } from './jsonFormat';
import { TraceStore } from './store';
import { type ReasoningStep, SEGMENT_NAMES, type Segment, type SegmentName, TRACE_FORMAT, TRACE_VERSION, type TraceDone } from './types';
import {
  INT32_MAX, type JsonObject, TRACE_LIMITS, TraceFormatError, asArray, asInt, asObject, checkHeader, checkSize, checkWritableSize, checkSpan, floatColumn,
  get, parseJson, readDone, readMeta, readReasoningStep, readRoutingLayer,
} from './validate';

/**
 * The v1 JSONL trace (docs/trace-format.md): one event per line — meta first, then tokens, model calls
 * ("step"), reasoning steps, and done last. Easy to stream and to read with line-oriented tools.
 */

export function traceToJsonl(store: TraceStore): string {
  const { meta } = store;
  const { expertsPerToken: k, nRoutedExperts: e, numLayers } = meta.model;
  const lines = [JSON.stringify({ type: 'meta', format: TRACE_FORMAT, version: TRACE_VERSION, meta })];
  const layers = meta.model.moeLayers.map((_, l) => store.routing(l));
  const ids = store.tokenIds();
  const texts = store.tokenTexts();
  const segments = store.tokenSegments();
  const spans = store.sourceSpans();
  for (let t = 0; t < store.tokenCount; t++) {
    const segment = SEGMENT_NAMES[segments[t]];
    if (segment === undefined) throw new Error(`cannot write token ${t}: segment ${segments[t]} is not 0, 1 or 2`);
    const routing = layers.map((r) => {
      const p = `token ${t} layer ${r.layer}`;
      return `{"layer":${r.layer},"expertIds":${numberList(r.expertIds.subarray(t * k, (t + 1) * k), `${p} expertIds`)},"weights":${numberList(r.weights.subarray(t * k, (t + 1) * k), `${p} weights`)},"scores":${numberList(r.scores.subarray(t * e, (t + 1) * e), `${p} scores`)}}`;
    });
    const [s, end] = [spans[2 * t], spans[2 * t + 1]];
    const span = s === -1 && end === -1 ? 'null' : `[${s},${end}]`;
    lines.push(`{"type":"token","index":${t},"id":${ids[t]},"text":${JSON.stringify(texts[t])},"segment":"${segment}","span":${span},"routing":[${routing.join(',')}]}`);
  }
  const cache = store.stepTokensInCache();
  const kv = store.stepKvBytes();
  const ms = store.stepRunMs();
  for (let i = 0; i < store.stepCount; i++) {
    const runMs = numberList([ms[i]], `step ${i} runMs`).slice(1, -1);
    lines.push(`{"type":"step","index":${i},"tokensInCache":${cache[i]},"kvBytes":${numberList(kv.subarray(i * numLayers, (i + 1) * numLayers), `step ${i} kvBytes`)},"runMs":${runMs}}`);
  }
  store.steps.forEach((r, i) => lines.push(`{"type":"reasoningStep","index":${i},${stepJson(r).slice(1)}`));
  if (store.checks) lines.push(`{"type":"checks","checks":${checksToJson(store.checks)}}`);
  if (store.done) lines.push(`{"type":"done",${doneJson(store.done).slice(1)}`);
  return checkWritableSize(lines.join('\n') + '\n');
}

function checkIndex(event: JsonObject, expected: number, what: string): void {
  const index = get.int(event, 'index', '', 0, INT32_MAX);
  if (index !== expected) throw new TraceFormatError('index', `is ${index}; expected ${expected} (${what} must come in order, none missing)`);
}

function readToken(store: TraceStore, event: JsonObject): void {
  const { meta } = store;
  if (store.tokenCount >= TRACE_LIMITS.tokens) throw new TraceFormatError('', `more than ${TRACE_LIMITS.tokens} tokens; MoE Lens reads at most that many`);
  checkIndex(event, store.tokenCount, 'tokens');
  const id = get.int(event, 'id', '', 0, INT32_MAX);
  const text = get.string(event, 'text', '');
  const name = get.string(event, 'segment', '');
  const segment = SEGMENT_NAMES.indexOf(name as SegmentName);
  if (segment < 0) throw new TraceFormatError('segment', `expected one of ${SEGMENT_NAMES.join(', ')}, found ${JSON.stringify(name.slice(0, 40))}`);
  const spanValue = get.value(event, 'span', '');
  let span: [number, number] = [-1, -1];
  if (spanValue !== null) {
    const pair = asArray(spanValue, 'span');
    if (pair.length !== 2) throw new TraceFormatError('span', `has ${pair.length} entries; expected [start, end] or null`);
    span = [asInt(pair[0], 'span[0]', -1, INT32_MAX), asInt(pair[1], 'span[1]', -1, INT32_MAX)];
    checkSpan(span[0], span[1], meta.prompt.length, 'span');
  }
  const routingRaw = get.array(event, 'routing', '');
  const { moeLayers } = meta.model;
  if (routingRaw.length !== moeLayers.length) {
    throw new TraceFormatError('routing', `has ${routingRaw.length} layers; expected ${moeLayers.length}, one per entry of meta.model.moeLayers`);
  }
  const routing = moeLayers.map((layer, l) => readRoutingLayer(routingRaw[l], `routing[${l}]`, layer, meta, 1, store.tokenCount));
  store.addToken(id, text, segment as Segment, span, routing);
}

function readStep(store: TraceStore, event: JsonObject): void {
  if (store.stepCount >= TRACE_LIMITS.steps) throw new TraceFormatError('', `more than ${TRACE_LIMITS.steps} steps; MoE Lens reads at most that many`);
  checkIndex(event, store.stepCount, 'steps');
  const { numLayers } = store.meta.model;
  const tokensInCache = get.int(event, 'tokensInCache', '', 0, INT32_MAX);
  const kvBytes = floatColumn(get.value(event, 'kvBytes', ''), 'kvBytes', numLayers, `meta.model.numLayers, ${numLayers}`, (n) => new Float64Array(n), 0);
  const runMs = floatColumn([get.value(event, 'runMs', '')], 'runMs', 1, 'one number', (n) => new Float32Array(n), 0)[0];
  store.addStep(tokensInCache, kvBytes, runMs);
}

/** Reads a v1 JSONL trace; throws TraceFormatError naming the line (1-based) and the field. */
export function traceFromJsonl(text: string): TraceStore {
  checkSize(text);
  const lines = text.split('\n');
  let store: TraceStore | undefined;
  let done: TraceDone | undefined;
  let finished = false;
  // checked once all tokens are in, since a step may name tokens on later lines
  const reasoning: { value: JsonObject; line: number }[] = [];
  let checks: { value: unknown; line: number } | undefined;
  for (let i = 0; i < lines.length; i++) {
    // JSON.parse takes a trailing \r as whitespace, so CRLF files read too
    if (lines[i].trim() === '') continue;
    try {
      const event = asObject(parseJson(lines[i]), '');
      const type = get.string(event, 'type', '');
      if (!store) {
        if (type !== 'meta') throw new TraceFormatError('type', `the first event is ${JSON.stringify(type.slice(0, 40))}; expected "meta"`);
        checkHeader(event, '');
        store = new TraceStore(readMeta(get.value(event, 'meta', ''), 'meta'));
        continue;
      }
      if (finished) throw new TraceFormatError('type', `a ${JSON.stringify(type.slice(0, 40))} event follows "done", which must be the last event`);
      if (type === 'token') readToken(store, event);
      else if (type === 'step') readStep(store, event);
      else if (type === 'reasoningStep') {
        checkIndex(event, reasoning.length, 'reasoning steps');
        reasoning.push({ value: event, line: i + 1 });
      } else if (type === 'checks') {
        if (checks) throw new TraceFormatError('type', 'a second "checks" event');
        checks = { value: get.value(event, 'checks', ''), line: i + 1 };
      } else if (type === 'done') {
        done = readDone(event, '');
        finished = true;
      } else if (type === 'meta') throw new TraceFormatError('type', 'a second "meta" event');
      else throw new TraceFormatError('type', `unknown event type ${JSON.stringify(type.slice(0, 40))}; version ${TRACE_VERSION} has meta, token, step, reasoningStep, checks and done`);
    } catch (e) {
      throw e instanceof TraceFormatError ? e.within(`line ${i + 1}`) : e;
    }
  }
  if (!store) throw new TraceFormatError('', 'the file holds no events; expected a "meta" line first');
  const steps: ReasoningStep[] = reasoning.map(({ value, line }) => {
    try {
      return readReasoningStep(value, '', store.tokenCount);
    } catch (e) {
      throw e instanceof TraceFormatError ? e.within(`line ${line}`) : e;
    }
  });
  for (const s of steps) store.steps.push(s);
  if (checks) {
    try {
      store.checks = readChecks(checks.value, 'checks', store.tokenCount);
    } catch (e) {
      throw e instanceof TraceFormatError ? e.within(`line ${checks.line}`) : e;
    }
  }
  if (done) store.finish(done);
  return store;
}
