/**
 * A trace as Chrome trace-event JSON (`{"traceEvents":[…]}`), which Perfetto (ui.perfetto.dev) and
 * chrome://tracing open. One process, four tracks: model calls, tokens, the reasoning (segments with
 * their steps nested inside) and a KV-cache counter. The time axis is the model time each call took
 * (calls laid end to end, each call's tokens sharing it equally); a trace without timings gets one
 * millisecond per token. Times are whole microseconds, so nested slices close exactly.
 */
import type { TraceStore } from '../trace/store';
import { SEGMENT_NAMES, Segment } from '../trace/types';

export interface TraceEvent {
  name: string;
  ph: 'X' | 'C' | 'M' | 'i';
  pid: number;
  tid: number;
  ts?: number;
  dur?: number;
  cat?: string;
  s?: 'g' | 'p' | 't';
  args?: Record<string, unknown>;
}

const PID = 1;
export const TRACKS = { calls: 1, tokens: 2, reasoning: 3, kv: 4 } as const;
const US_PER_TOKEN_UNTIMED = 1000;

/** Tokens [from, to) each model call fed: from the cache length after each call. */
function callRanges(store: TraceStore): [number, number][] {
  const cache = store.stepTokensInCache();
  const ranges: [number, number][] = [];
  let from = 0;
  for (let s = 0; s < store.stepCount; s++) {
    const to = Math.min(store.tokenCount, Math.max(from, cache[s]));
    ranges.push([from, to]);
    from = to;
  }
  return ranges;
}

/** Start time in µs of every token, and of the end (length tokenCount + 1), ascending integers. */
export function tokenTimes(store: TraceStore): { times: Float64Array; timed: boolean; calls: [number, number, number, number][] } {
  const n = store.tokenCount;
  const times = new Float64Array(n + 1);
  const ms = store.stepRunMs();
  const ranges = callRanges(store);
  const timed = ranges.length > 0 && ranges[ranges.length - 1][1] === n && Array.from(ms).some((x) => x > 0);
  const calls: [number, number, number, number][] = [];
  if (!timed) {
    for (let t = 0; t <= n; t++) times[t] = t * US_PER_TOKEN_UNTIMED;
    for (const [from, to] of ranges) calls.push([from, to, times[from], times[to]]);
    return { times, timed, calls };
  }
  let clock = 0;
  ranges.forEach(([from, to], s) => {
    const start = Math.round(clock);
    clock += Math.max(0, ms[s]) * 1000;
    const end = Math.round(clock);
    for (let t = from; t < to; t++) times[t] = start + Math.floor(((end - start) * (t - from)) / (to - from));
    times[to] = end;
    calls.push([from, to, start, end]);
  });
  return { times, timed, calls };
}

/** Routing of token `t`, per MoE layer: experts and gate weights, heaviest first. */
function routingArgs(store: TraceStore, t: number): Record<string, string> {
  const { expertsPerToken: k } = store.meta.model;
  const out: Record<string, string> = {};
  store.meta.model.moeLayers.forEach((layer, l) => {
    const { expertIds, weights } = store.routing(l);
    const slots = Array.from({ length: k }, (_, j) => t * k + j).sort((x, y) => weights[y] - weights[x] || x - y);
    out[`layer ${layer}`] = slots.map((j) => `e${expertIds[j]} ${weights[j].toFixed(3)}`).join(', ');
  });
  return out;
}

export function traceToPerfetto(store: TraceStore): { traceEvents: TraceEvent[]; displayTimeUnit: 'ms'; otherData: Record<string, string> } {
  const { meta } = store;
  const { times, timed, calls } = tokenTimes(store);
  const texts = store.tokenTexts();
  const segments = store.tokenSegments();
  const ids = store.tokenIds();
  const top = meta.model.moeLayers.length > 0 ? store.topExpert(0) : null;
  const events: TraceEvent[] = [
    { name: 'process_name', ph: 'M', pid: PID, tid: 0, args: { name: `MoE Lens · ${meta.model.name}` } },
    { name: 'thread_name', ph: 'M', pid: PID, tid: TRACKS.calls, args: { name: 'model calls' } },
    { name: 'thread_name', ph: 'M', pid: PID, tid: TRACKS.tokens, args: { name: 'tokens' } },
    { name: 'thread_name', ph: 'M', pid: PID, tid: TRACKS.reasoning, args: { name: 'reasoning steps' } },
    { name: 'thread_name', ph: 'M', pid: PID, tid: TRACKS.kv, args: { name: 'KV cache' } },
  ];
  const kv = store.stepKvBytes();
  const layers = meta.model.numLayers;
  events.push({ name: 'KV cache bytes', ph: 'C', pid: PID, tid: TRACKS.kv, ts: 0, args: { bytes: 0 } });
  calls.forEach(([from, to, start, end], s) => {
    events.push({
      name: s === 0 ? 'prefill' : `decode ${s}`, cat: 'model', ph: 'X', pid: PID, tid: TRACKS.calls, ts: start, dur: end - start,
      args: { step: s, tokens: to - from, firstToken: from, tokensInCache: store.stepTokensInCache()[s], runMs: store.stepRunMs()[s] },
    });
    let bytes = 0;
    for (let l = 0; l < layers; l++) bytes += kv[s * layers + l];
    events.push({ name: 'KV cache bytes', ph: 'C', pid: PID, tid: TRACKS.kv, ts: end, args: { bytes } });
  });
  for (let t = 0; t < store.tokenCount; t++) {
    events.push({
      name: texts[t], cat: SEGMENT_NAMES[segments[t]] ?? 'token', ph: 'X', pid: PID, tid: TRACKS.tokens, ts: times[t], dur: times[t + 1] - times[t],
      args: { index: t, id: ids[t], segment: SEGMENT_NAMES[segments[t]] ?? segments[t], ...(top ? { topExpert: top[t] } : {}), routing: routingArgs(store, t) },
    });
  }
  // segments of generated text as parents, reasoning steps nested inside the reasoning
  for (let t = 0; t < store.tokenCount;) {
    let end = t + 1;
    while (end < store.tokenCount && segments[end] === segments[t]) end++;
    if (segments[t] !== Segment.Prompt) {
      events.push({ name: SEGMENT_NAMES[segments[t]] ?? 'segment', cat: 'segment', ph: 'X', pid: PID, tid: TRACKS.reasoning, ts: times[t], dur: times[end] - times[t], args: { firstToken: t, tokens: end - t } });
      for (const [i, step] of store.steps.entries()) {
        if (step.start < t || step.end > end || segments[t] !== Segment.Reasoning || step.end <= step.start) continue;
        const text = texts.slice(step.start, step.end).join('').trim();
        const verdict = store.checks?.program.stepTokens?.findIndex(([a, b]) => a === step.start && b === step.end) ?? -1;
        const check = verdict >= 0 ? store.checks?.program.result.verdicts[verdict] : undefined;
        events.push({
          name: step.line === undefined ? `step ${i + 1}` : `step ${i + 1} · L${step.line}`, cat: 'step', ph: 'X', pid: PID, tid: TRACKS.reasoning,
          ts: times[step.start], dur: times[step.end] - times[step.start],
          args: { text, firstToken: step.start, tokens: step.end - step.start, ...(check ? { ok: check.ok, expected: check.expected } : {}) },
        });
      }
    }
    t = end;
  }
  return {
    traceEvents: events,
    displayTimeUnit: 'ms',
    otherData: { model: meta.model.name, provider: meta.provider, createdAt: meta.createdAt, timeAxis: timed ? 'model time per call (µs)' : 'token index (1 ms per token)' },
  };
}

export function perfettoJson(store: TraceStore): string {
  return JSON.stringify(traceToPerfetto(store));
}
