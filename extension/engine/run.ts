import { basename } from 'node:path';
import { mhaEquivalentBytes } from '../trace/figures';
import { Segmenter, type SegmentEvent } from '../trace/segmenter';
import { TraceStore } from '../trace/store';
import { type DoneReason, type SamplingSettings, Segment, type TraceMeta } from '../trace/types';
import { cacheValuesPerToken } from './config';
import { Decoder, type LayerRouting, type StepOutput } from './decoder';
import type { LoadedModel } from './model';
import { Sampler } from './sampler';

export type EngineEvent =
  | { type: 'start'; meta: TraceMeta }
  /** A prompt token (span = its source range in the prompt) or a generated one (span = null). */
  | { type: 'token'; index: number; id: number; text: string; segment: Segment; span: readonly [number, number] | null; routing: LayerRouting[] }
  | { type: 'kv'; step: number; tokensInCache: number; bytesPerLayer: number[]; totalBytes: number; mhaEquivalentBytes: number }
  | { type: 'segment'; event: SegmentEvent }
  | { type: 'timing'; step: number; phase: 'prefill' | 'decode'; runMs: number; wallMs: number }
  | { type: 'done'; reason: DoneReason; unterminatedReasoning: boolean; generatedTokens: number; decodeTokensPerSecond: number; message?: string };

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
      nRoutedExperts: config.nRoutedExperts,
      expertsPerToken: config.expertsPerToken,
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
 * Runs one prompt: prefill, then one model call per generated token. Yields events as they happen
 * and records everything into `store` (created from traceMeta when not given). Stops on an
 * end-of-sequence token, the token budget, the context limit, or `signal` (checked before every
 * call, so an abort takes effect within one step); the KV cache is released in every case.
 */
export async function* run(model: LoadedModel, request: RunRequest, store = new TraceStore(traceMeta(model, request))): AsyncGenerator<EngineEvent, TraceStore> {
  const { tokenizer, config, thinkStart, thinkEnd } = model.folder;
  const sampler = new Sampler(request.settings);
  const decoder = new Decoder(model);
  const segmenter = new Segmenter({ thinkStart, thinkEnd, startsInReasoning: request.prompt.trimEnd().endsWith(thinkStart) });
  const utf8 = new TextDecoder('utf-8');
  const meta = store.meta;
  yield { type: 'start', meta };

  const kvEvent = (step: number): EngineEvent => {
    const bytesPerLayer = decoder.cache.bytesPerLayer();
    const tokensInCache = decoder.position;
    const totalBytes = bytesPerLayer.reduce((a, b) => a + b, 0);
    return { type: 'kv', step, tokensInCache, bytesPerLayer, totalBytes, mhaEquivalentBytes: mhaEquivalentBytes(meta.model, tokensInCache) };
  };
  const record = (out: StepOutput) => store.addStep(decoder.position, decoder.cache.bytesPerLayer(), out.runMs);

  let reason: DoneReason;
  let message: string | undefined;
  let generated = 0;
  let decodeMs = 0;
  try {
    const { ids, offsets } = tokenizer.encode(request.prompt);
    if (ids.length === 0) throw new RangeError('the prompt is empty');
    if (ids.length >= config.maxPositions) throw new RangeError(`the prompt has ${ids.length} tokens; the model's context is ${config.maxPositions}`);
    let wall = performance.now();
    let out = await decoder.forward(ids);
    for (let i = 0; i < ids.length; i++) {
      const span = offsets[i];
      const text = request.prompt.slice(span[0], span[1]);
      store.addToken(ids[i], text, Segment.Prompt, span, out.routing[i]);
      yield { type: 'token', index: i, id: ids[i], text, segment: Segment.Prompt, span, routing: out.routing[i] };
    }
    record(out);
    yield kvEvent(0);
    yield { type: 'timing', step: 0, phase: 'prefill', runMs: out.runMs, wallMs: performance.now() - wall };

    for (let step = 1; ; step++) {
      if (request.signal?.aborted) { reason = 'aborted'; break; }
      if (generated >= request.settings.maxNewTokens) { reason = 'max_tokens'; break; }
      if (decoder.position >= config.maxPositions) { reason = 'context_full'; break; }
      const id = sampler.sample(out.logits);
      const index = store.tokenCount;
      const isEos = config.eosTokenIds.includes(id);
      const text = tokenizer.isSpecial(id) ? tokenizer.decode([id]) : utf8.decode(tokenizer.tokenBytes(id), { stream: true });
      wall = performance.now();
      out = await decoder.forward([id]);
      generated++;
      decodeMs += performance.now() - wall;
      // the end-of-sequence token is recorded but is not text of the answer
      const { segment, events: segEvents } = isEos ? { segment: Segment.Answer, events: [] } : segmenter.push(text, index);
      store.addToken(id, text, segment, [-1, -1], out.routing[0]);
      yield { type: 'token', index, id, text, segment, span: null, routing: out.routing[0] };
      for (const e of segEvents) {
        if (e.type === 'relabel') store.setSegment(e.start, e.end, e.segment);
        if (e.type === 'step') store.steps.push(e.step);
        yield { type: 'segment', event: e };
      }
      record(out);
      yield kvEvent(step);
      yield { type: 'timing', step, phase: 'decode', runMs: out.runMs, wallMs: performance.now() - wall };
      if (isEos) { reason = 'eos'; break; }
    }
  } catch (e) {
    reason = 'error';
    message = (e as Error).message;
  } finally {
    decoder.dispose();
  }
  const end = segmenter.finish();
  for (const e of end.events) {
    if (e.type === 'step') store.steps.push(e.step);
    yield { type: 'segment', event: e };
  }
  store.finish({ reason, unterminatedReasoning: end.unterminatedReasoning, ...(message ? { message } : {}) });
  yield { type: 'done', reason, unterminatedReasoning: end.unterminatedReasoning, generatedTokens: generated, decodeTokensPerSecond: decodeMs > 0 ? (generated * 1000) / decodeMs : 0, ...(message ? { message } : {}) };
  return store;
}
