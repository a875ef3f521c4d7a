import type { EngineEvent } from '../engine/run';
import type { HostMessage, RunMode, RunSummary, StreamEvent } from '../protocol';
import { mhaEquivalentBytes } from '../trace/figures';
import type { SegmentEvent } from '../trace/segmenter';
import type { TraceStore } from '../trace/store';
import { Segment, type TraceMeta } from '../trace/types';

/** An engine event as the webview receives it (typed arrays become plain arrays). */
export function toStreamEvent(e: Exclude<EngineEvent, { type: 'start' | 'done' }>): StreamEvent {
  switch (e.type) {
    case 'token':
      return {
        type: 'token', index: e.index, id: e.id, text: e.text, segment: e.segment, span: e.span ? [e.span[0], e.span[1]] : null,
        routing: e.routing.map((r) => ({ layer: r.layer, expertIds: Array.from(r.expertIds), weights: Array.from(r.weights), scores: Array.from(r.scores) })),
      };
    case 'kv':
      return { ...e, bytesPerLayer: [...e.bytesPerLayer] };
    case 'segment':
    case 'timing':
      return e;
  }
}

/**
 * Turns one run into host messages: runStart, runEvents batches, runDone, numbered from 0. The
 * decode loop never waits for the webview: `push` only queues, and a batch is posted at most every
 * `intervalMs` (the webview coalesces further per animation frame).
 */
export class RunChannel {
  private seq = 0;
  private queue: StreamEvent[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly runId: number, private readonly post: (m: HostMessage) => void, private readonly intervalMs = 16) {}

  start(meta: TraceMeta, mode: RunMode = 'live'): void {
    this.post({ type: 'runStart', runId: this.runId, seq: this.seq++, mode, meta });
  }

  push(event: StreamEvent): void {
    this.queue.push(event);
    if (this.timer === undefined) this.timer = setTimeout(() => this.flush(), this.intervalMs);
  }

  /** Posts what is queued now. */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.queue.length === 0) return;
    const events = this.queue;
    this.queue = [];
    this.post({ type: 'runEvents', runId: this.runId, seq: this.seq++, events });
  }

  done(summary: RunSummary): void {
    this.flush();
    this.post({ type: 'runDone', runId: this.runId, seq: this.seq++, summary });
  }

  /** Feeds one engine event through the channel. */
  engineEvent(e: EngineEvent): void {
    if (e.type === 'start') this.start(e.meta);
    else if (e.type === 'done') {
      const { type: _, ...summary } = e;
      this.done(summary);
    } else this.push(toStreamEvent(e));
  }
}

/**
 * The events of a finished (or imported) trace in the order a live run would have sent them, so a
 * replay goes down the same path as a live run. Reasoning steps follow the token that ends them.
 */
export function traceToStream(store: TraceStore): { meta: TraceMeta; events: StreamEvent[]; summary: RunSummary } {
  const { meta } = store;
  const { nRoutedExperts: e, expertsPerToken: k, numLayers } = meta.model;
  const layers = meta.model.moeLayers.map((_, l) => store.routing(l));
  const ids = store.tokenIds();
  const texts = store.tokenTexts();
  const segments = store.tokenSegments();
  const spans = store.sourceSpans();
  const stepCache = store.stepTokensInCache();
  const stepKv = store.stepKvBytes();
  const stepMs = store.stepRunMs();
  const stepsByEnd = new Map<number, SegmentEvent[]>();
  for (const step of store.steps) {
    const list = stepsByEnd.get(step.end - 1) ?? [];
    list.push({ type: 'step', step: { ...step } });
    stepsByEnd.set(step.end - 1, list);
  }
  const events: StreamEvent[] = [];
  const stepEvents = (step: number) => {
    const bytesPerLayer = Array.from(stepKv.subarray(step * numLayers, (step + 1) * numLayers));
    const tokensInCache = stepCache[step];
    events.push({ type: 'kv', step, tokensInCache, bytesPerLayer, totalBytes: bytesPerLayer.reduce((a, b) => a + b, 0), mhaEquivalentBytes: mhaEquivalentBytes(meta.model, tokensInCache) });
    events.push({ type: 'timing', step, phase: step === 0 ? 'prefill' : 'decode', runMs: stepMs[step], wallMs: stepMs[step] });
  };
  let previous: number = Segment.Prompt;
  let promptTokens = 0;
  let step = 0;
  for (let t = 0; t < store.tokenCount; t++) {
    const segment = segments[t] as Segment;
    const isPrompt = spans[2 * t] !== -1;
    if (!isPrompt && promptTokens === t && step < store.stepCount) stepEvents(step++); // the prefill ends before the first generated token
    if (!isPrompt && segment !== previous && segment !== Segment.Prompt) events.push({ type: 'segment', event: { type: 'enter', segment, token: t } });
    previous = segment;
    events.push({
      type: 'token', index: t, id: ids[t], text: texts[t], segment, span: isPrompt ? [spans[2 * t], spans[2 * t + 1]] : null,
      routing: layers.map((r) => ({
        layer: r.layer,
        expertIds: Array.from(r.expertIds.subarray(t * k, (t + 1) * k)),
        weights: Array.from(r.weights.subarray(t * k, (t + 1) * k)),
        scores: Array.from(r.scores.subarray(t * e, (t + 1) * e)),
      })),
    });
    if (isPrompt) promptTokens++;
    else {
      for (const s of stepsByEnd.get(t) ?? []) events.push({ type: 'segment', event: s });
      if (step < store.stepCount) stepEvents(step++);
    }
  }
  while (step < store.stepCount) stepEvents(step++);
  const generatedTokens = store.tokenCount - promptTokens;
  const decodeMs = Array.from(stepMs.subarray(1)).reduce((a, b) => a + b, 0);
  const done = store.done ?? { reason: 'error' as const, unterminatedReasoning: false, message: 'the trace has no end record' };
  return {
    meta,
    events,
    summary: { ...done, generatedTokens, decodeTokensPerSecond: decodeMs > 0 ? (generatedTokens * 1000) / decodeMs : 0 },
  };
}

/** Posts a whole trace as one replayed run. */
export function replayTrace(store: TraceStore, runId: number, post: (m: HostMessage) => void): void {
  const { meta, events, summary } = traceToStream(store);
  post({ type: 'runStart', runId, seq: 0, mode: 'replay', meta });
  post({ type: 'runEvents', runId, seq: 1, events });
  post({ type: 'runDone', runId, seq: 2, summary });
}
