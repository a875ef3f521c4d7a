import { basename } from 'node:path';
import { type RunSummary, runSummary } from '../trace/figures';
import type { SamplingSettings } from '../trace/sampling';
import { Segmenter, type SegmentEvent } from '../trace/segmenter';
import { TraceStore } from '../trace/store';
import { type DoneReason, Segment, type TraceMeta } from '../trace/types';
import { cacheValuesPerToken } from './config';
import { Decoder, type StepOutput } from './decoder';
import { PendingCalls } from './pendingCalls';
import type { LoadedModel } from './model';
import { Sampler } from './sampler';
import { TokenTextStream } from './tokenizer';

/**
 * Model calls of a run: the prefill (every prompt token), or a batch of decode steps (one generated token
 * each: calls step − tokenCount + 1 … step). The tokens they added are [firstToken, firstToken + tokenCount)
 * of the run's store, routing included; the store is append-only, so consumers read them there (no copy
 * travels with the event).
 */
export interface StepEvent {
  type: 'step';
  /** The last model call in the event: 0 for the prefill, n for the n-th generated token. */
  step: number;
  phase: 'prefill' | 'decode';
  firstToken: number;
  tokenCount: number;
  /** Reasoning/answer boundaries and reasoning steps these calls' tokens revealed, already applied to the store. */
  segments: readonly SegmentEvent[];
  tokensInCache: number;
  /** KV-cache bytes per layer after the last call (a view: copy it to keep it past the next event). */
  kvBytes: Float64Array;
  /** Time inside session.run, and for the whole of these calls (the loop's wall time since the last event), ms. */
  runMs: number;
  wallMs: number;
}

export type EngineEvent =
  | { type: 'start'; meta: TraceMeta; store: TraceStore }
  | StepEvent
  | ({ type: 'done' } & RunSummary);

export interface RunRequest {
  /** The text given to the model, already in its prompt format. */
  prompt: string;
  settings: SamplingSettings;
  signal?: AbortSignal;
  /**
   * How long decode steps may gather before the loop records them and yields, ms (default 0: an event per
   * step), or a function read after each step (a run channel's current interval: each event then finds a
   * batch due). The panel takes a batch per frame: the per-step work shrinks to a few copies, and the
   * recording runs once per batch, with warm caches.
   */
  batchMs?: number | (() => number);
}

export function traceMeta(model: LoadedModel, request: RunRequest): TraceMeta {
  const { config, dir } = model.folder;
  const values = cacheValuesPerToken(config);
  const bytes = model.layout.caches[0]?.type === 'float16' ? 2 : 4;
  return {
    createdAt: new Date().toISOString(),
    model: {
      name: basename(dir),
      modelType: config.modelType,
      numLayers: config.numLayers,
      moeLayers: [...model.layout.routedLayers],
      nRoutedExperts: model.layout.routedExperts,
      expertsPerToken: model.layout.expertsPerToken,
      kvBytesPerToken: values.actual * bytes,
      kvBytesPerTokenMhaEquivalent: values.mhaEquivalent * bytes,
    },
    provider: model.provider,
    fallbacks: model.fallbacks.map((f) => ({ ...f })),
    settings: { ...request.settings },
    prompt: request.prompt,
  };
}

/**
 * Runs one prompt: the prefill, then one model call per generated token. Yields an event for the prefill
 * and then one per batch of decode steps (every step, or every `batchMs`), having recorded everything into
 * the store (created from traceMeta) in one place. Stops on an end-of-sequence token, the token budget, the
 * context limit, or `signal` (checked before every call, so an abort takes effect within one step); the
 * steps already run are recorded and the KV cache is released in every case. Every consumer — the
 * extension, the CLI, eval, tests, benchmarks — decodes through this loop.
 */
export async function* run(model: LoadedModel, request: RunRequest): AsyncGenerator<EngineEvent, TraceStore> {
  const { tokenizer, config, thinkStart, thinkEnd } = model.folder;
  const sampler = new Sampler(request.settings);
  const store = new TraceStore(traceMeta(model, request));
  const segmenter = new Segmenter({ thinkStart, thinkEnd, startsInReasoning: request.prompt.trimEnd().endsWith(thinkStart) });
  const generated = new TokenTextStream(tokenizer);
  const batchMs = request.batchMs ?? 0;
  const interval = typeof batchMs === 'function' ? batchMs : () => batchMs;
  yield { type: 'start', meta: store.meta, store };

  let decoder: Decoder | undefined;
  let pending: PendingCalls | undefined;
  let reason: DoneReason;
  let message: string | undefined;
  let step = 0;
  let lastEvent = performance.now();
  const record = (): StepEvent => {
    const p = pending as PendingCalls;
    const firstToken = store.tokenCount;
    const { count, totalRunMs } = p;
    let segments: SegmentEvent[];
    try {
      segments = recordCalls(store, p, generated, segmenter, config.eosTokenIds);
    } finally {
      p.clear();
    }
    const now = performance.now();
    const e: StepEvent = {
      type: 'step', step, phase: 'decode', firstToken, tokenCount: count, segments, tokensInCache: (decoder as Decoder).position,
      kvBytes: (decoder as Decoder).cache.bytesPerLayer(), runMs: totalRunMs, wallMs: now - lastEvent,
    };
    lastEvent = now;
    return e;
  };
  try {
    try {
      decoder = new Decoder(model);
      pending = PendingCalls.for(model);
      const { ids, offsets } = tokenizer.encode(request.prompt);
      if (ids.length === 0) throw new RangeError('the prompt is empty');
      if (ids.length >= config.maxPositions) throw new RangeError(`the prompt has ${ids.length} tokens; the model's context is ${config.maxPositions}`);
      let out: StepOutput = await decoder.forward(ids);
      const spans = new Int32Array(2 * ids.length);
      offsets.forEach(([s, e], i) => { spans[2 * i] = s; spans[2 * i + 1] = e; });
      const texts = offsets.map(([s, e]) => request.prompt.slice(s, e));
      store.appendTokens({ count: ids.length, ids, texts, segments: Segment.Prompt, spans, routing: out.routing.layers });
      const kvBytes = decoder.cache.bytesPerLayer();
      store.addStep(decoder.position, kvBytes, out.runMs);
      const now = performance.now();
      yield {
        type: 'step', step: 0, phase: 'prefill', firstToken: 0, tokenCount: ids.length, segments: [],
        tokensInCache: decoder.position, kvBytes, runMs: out.runMs, wallMs: now - lastEvent,
      };
      lastEvent = now;

      for (;;) {
        if (request.signal?.aborted) { reason = 'aborted'; break; }
        if (step >= request.settings.maxNewTokens) { reason = 'max_tokens'; break; }
        if (decoder.position >= config.maxPositions) { reason = 'context_full'; break; }
        const id = sampler.sample(out.logits);
        out = await decoder.forward([id]);
        step++;
        pending.push(id, out, decoder.position, decoder.cache.bytesPerLayer());
        if (config.eosTokenIds.includes(id)) { reason = 'eos'; break; }
        if (pending.full || performance.now() - lastEvent >= interval()) yield record();
      }
    } catch (e) {
      reason = 'error';
      message = (e as Error).message;
    }
    try {
      // the steps run before the end, an error's included
      if (pending && pending.count > 0) yield record();
    } catch (e) {
      reason = 'error';
      message = (e as Error).message;
    }
  } finally {
    // also where the consumer stops the generator at a yield
    decoder?.dispose();
  }
  const end = segmenter.finish();
  applySegments(store, end.events);
  store.finish({ reason, unterminatedReasoning: end.unterminatedReasoning, ...(message ? { message } : {}) });
  yield { type: 'done', ...runSummary(store) };
  return store;
}

/**
 * Records the pending decode steps into the store: each token's text and segment (the reasoning segmenter
 * sees them in order; the end-of-sequence token is recorded but is not text of the answer), the tokens with
 * their packed routing, the segments' relabels and reasoning steps, the model calls. Returns the segment events.
 */
function recordCalls(store: TraceStore, pending: PendingCalls, generated: TokenTextStream, segmenter: Segmenter, eosTokenIds: readonly number[]): SegmentEvent[] {
  const n = pending.count;
  const first = store.tokenCount;
  const texts: string[] = [];
  const events: SegmentEvent[] = [];
  for (let i = 0; i < n; i++) {
    const id = pending.ids[i];
    const text = generated.next(id);
    texts.push(text);
    if (eosTokenIds.includes(id)) pending.segments[i] = Segment.Answer;
    else {
      const pushed = segmenter.push(text, first + i);
      pending.segments[i] = pushed.segment;
      for (const e of pushed.events) events.push(e);
    }
  }
  // relabels reach back only to tokens before the one that revealed them: appending the batch first is the same
  store.appendPackedTokens(n, pending.ids, texts, pending.segments, pending.rows);
  applySegments(store, events);
  store.addSteps(n, pending.tokensInCache, pending.kvBytes, pending.runMs);
  return events;
}

function applySegments(store: TraceStore, events: readonly SegmentEvent[]): void {
  for (const e of events) {
    if (e.type === 'relabel') store.setSegment(e.start, e.end, e.segment);
    else if (e.type === 'step') store.steps.push(e.step);
  }
}
