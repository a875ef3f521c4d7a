import { basename } from 'node:path';
import { type RunSummary, runSummary } from '../trace/figures';
import type { SamplingSettings } from '../trace/sampling';
import { Segmenter, type SegmentEvent } from '../trace/segmenter';
import { TraceStore } from '../trace/store';
import { type DoneReason, Segment, type TraceMeta } from '../trace/types';
import { cacheValuesPerToken } from './config';
import { Decoder, type StepOutput } from './decoder';
import type { LoadedModel } from './model';
import { Sampler } from './sampler';
import { TokenTextStream } from './tokenizer';

const NO_SPAN = [-1, -1] as const;

/**
 * One model call of a run: the prefill (every prompt token) or a decode step (one generated token).
 * The tokens it added are [firstToken, firstToken + tokenCount) of the run's store, routing included;
 * the store is append-only, so consumers read them there (no copy travels with the event).
 */
export interface StepEvent {
  type: 'step';
  step: number;
  phase: 'prefill' | 'decode';
  firstToken: number;
  tokenCount: number;
  /** Reasoning/answer boundaries and reasoning steps this call's token revealed, already applied to the store. */
  segments: readonly SegmentEvent[];
  tokensInCache: number;
  /** KV-cache bytes per layer after the call (a view: copy it to keep it past the next step). */
  kvBytes: Float64Array;
  /** Time inside session.run, and for the whole step, ms. */
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
 * Runs one prompt: the prefill, then one model call per generated token. Yields one event per call and
 * records everything into the store (created from traceMeta), in one place, as it goes. Stops on an
 * end-of-sequence token, the token budget, the context limit, or `signal` (checked before every call, so
 * an abort takes effect within one step); the KV cache is released in every case. Every consumer —
 * the extension, the CLI, eval, tests, benchmarks — decodes through this loop.
 */
export async function* run(model: LoadedModel, request: RunRequest): AsyncGenerator<EngineEvent, TraceStore> {
  const { tokenizer, config, thinkStart, thinkEnd } = model.folder;
  const sampler = new Sampler(request.settings);
  const store = new TraceStore(traceMeta(model, request));
  const segmenter = new Segmenter({ thinkStart, thinkEnd, startsInReasoning: request.prompt.trimEnd().endsWith(thinkStart) });
  const generated = new TokenTextStream(tokenizer);
  const noSegments: SegmentEvent[] = [];
  yield { type: 'start', meta: store.meta, store };

  let decoder: Decoder | undefined;
  let reason: DoneReason;
  let message: string | undefined;
  try {
    decoder = new Decoder(model);
    const { ids, offsets } = tokenizer.encode(request.prompt);
    if (ids.length === 0) throw new RangeError('the prompt is empty');
    if (ids.length >= config.maxPositions) throw new RangeError(`the prompt has ${ids.length} tokens; the model's context is ${config.maxPositions}`);
    let started = performance.now();
    let out: StepOutput = await decoder.forward(ids);
    const spans = new Int32Array(2 * ids.length);
    offsets.forEach(([s, e], i) => { spans[2 * i] = s; spans[2 * i + 1] = e; });
    const texts = offsets.map(([s, e]) => request.prompt.slice(s, e));
    store.appendTokens({ count: ids.length, ids, texts, segments: Segment.Prompt, spans, routing: out.routing.layers });
    yield recordStep(store, decoder, out, 0, 0, ids.length, noSegments, started);

    for (let step = 1; ; step++) {
      if (request.signal?.aborted) { reason = 'aborted'; break; }
      if (step > request.settings.maxNewTokens) { reason = 'max_tokens'; break; }
      if (decoder.position >= config.maxPositions) { reason = 'context_full'; break; }
      started = performance.now();
      const id = sampler.sample(out.logits);
      const index = store.tokenCount;
      const isEos = config.eosTokenIds.includes(id);
      const text = generated.next(id);
      out = await decoder.forward([id]);
      // the end-of-sequence token is recorded but is not text of the answer
      const { segment, events } = isEos ? { segment: Segment.Answer, events: noSegments } : segmenter.push(text, index);
      addGenerated(store, id, text, segment, out);
      applySegments(store, events);
      yield recordStep(store, decoder, out, step, index, 1, events, started);
      if (isEos) { reason = 'eos'; break; }
    }
  } catch (e) {
    reason = 'error';
    message = (e as Error).message;
  } finally {
    decoder?.dispose();
  }
  const end = segmenter.finish();
  applySegments(store, end.events);
  store.finish({ reason, unterminatedReasoning: end.unterminatedReasoning, ...(message ? { message } : {}) });
  yield { type: 'done', ...runSummary(store) };
  return store;
}

/** Records a generated token with the routing of the step that fed it: the packed row as it came where the graph packs its routing. */
export function addGenerated(store: TraceStore, id: number, text: string, segment: Segment, out: StepOutput): void {
  if (out.packed) store.addPackedToken(id, text, segment, out.packed);
  else store.addToken(id, text, segment, NO_SPAN, out.routing.layers);
}

function applySegments(store: TraceStore, events: readonly SegmentEvent[]): void {
  for (const e of events) {
    if (e.type === 'relabel') store.setSegment(e.start, e.end, e.segment);
    else if (e.type === 'step') store.steps.push(e.step);
  }
}

function recordStep(store: TraceStore, decoder: Decoder, out: StepOutput, step: number, firstToken: number, tokenCount: number,
  segments: readonly SegmentEvent[], started: number): StepEvent {
  const kvBytes = decoder.cache.bytesPerLayer();
  store.addStep(decoder.position, kvBytes, out.runMs);
  return {
    type: 'step', step, phase: step === 0 ? 'prefill' : 'decode', firstToken, tokenCount, segments,
    tokensInCache: decoder.position, kvBytes, runMs: out.runMs, wallMs: performance.now() - started,
  };
}
