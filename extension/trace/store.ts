import type { TraceChecks } from './checks';
import { topExpertAt } from './figures';
import { packedWidth, unpackRouting } from './packedRouting';
import { DONE_REASONS, type ReasoningStep, Segment, type TraceDone, type TraceMeta } from './types';

/** A typed array that grows by doubling; `view()` is the filled part. */
class Column<A extends Float32Array | Float64Array | Int32Array | Int16Array | Uint8Array> {
  /** The storage: [0, length) filled. Replaced when it grows; read it after reserve(). */
  data: A;
  length = 0;
  /** data.length, as a number every column has (the check runs for every append, on five array types). */
  private capacity: number;
  constructor(private readonly make: (n: number) => A, capacity = 256) {
    this.data = make(capacity);
    this.capacity = capacity;
  }
  /** Makes room for n more values. */
  reserve(n: number): void {
    if (this.length + n <= this.capacity) return;
    const next = this.make(Math.max(this.capacity * 2, this.length + n));
    next.set(this.data.subarray(0, this.length));
    this.data = next;
    this.capacity = next.length;
  }
  push(values: ArrayLike<number>): void {
    this.reserve(values.length);
    this.data.set(values, this.length);
    this.length += values.length;
  }
  pushOne(value: number): void {
    this.reserve(1);
    this.data[this.length++] = value;
  }
  /** Appends `n` copies of `value`. */
  pushRepeated(value: number, n: number): void {
    this.reserve(n);
    this.data.fill(value, this.length, this.length + n);
    this.length += n;
  }
  view(): A {
    return this.data.subarray(0, this.length) as A;
  }
  /** Copies values [from, to) into `target` at `at`. */
  copyTo(target: ArrayLike<number> & { set(values: never, at: number): void }, from: number, to: number, at = 0): void {
    target.set(this.data.subarray(from, to) as never, at);
  }
  get bytesAllocated(): number {
    return this.data.byteLength;
  }
}

/*
 * One token's routing, appended value by value: a few numbers per column, where a set() call costs more
 * than the copy. One function per array type, so that each one's element accesses see a single type.
 */
function appendIds(column: Column<Int16Array>, values: ArrayLike<number>): void {
  column.reserve(values.length);
  const { data, length } = column;
  for (let i = 0; i < values.length; i++) data[length + i] = values[i];
  column.length = length + values.length;
}

function appendFloats(column: Column<Float32Array>, values: ArrayLike<number>): void {
  column.reserve(values.length);
  const { data, length } = column;
  for (let i = 0; i < values.length; i++) data[length + i] = values[i];
  column.length = length + values.length;
}

/** One MoE layer's routing for a run of tokens, token-major: ids and weights k per token, scores E per token. */
export interface LayerRoutingBatch {
  expertIds: ArrayLike<number>;
  weights: ArrayLike<number>;
  scores: ArrayLike<number>;
}

/** Tokens appended together: what one model call fed, or a whole imported trace. */
export interface TokenBatch {
  count: number;
  ids: ArrayLike<number>;
  texts: readonly string[];
  /** One segment per token, or one for all of them. */
  segments: ArrayLike<number> | Segment;
  /** [start, end] per token (2 × count), or null for generated tokens (no source span). */
  spans: ArrayLike<number> | null;
  /** One entry per MoE layer, meta.model.moeLayers order. */
  routing: readonly LayerRoutingBatch[];
}

/** One MoE layer's routing, token-major: ids and weights k per token, scores E per token. */
export interface RoutingColumns {
  layer: number;
  expertIds: Int16Array;
  weights: Float32Array;
  scores: Float32Array;
}

/**
 * An append-only, columnar record of one run: per token (prompt and generated) its id, text, source
 * span, segment and routing in every MoE layer; per model call (prefill, then each decode step) the
 * tokens it fed, KV-cache bytes per layer and time.
 */
export class TraceStore {
  readonly meta: TraceMeta;
  private readonly ids = new Column((n) => new Int32Array(n));
  private readonly segments = new Column((n) => new Uint8Array(n));
  private readonly spans = new Column((n) => new Int32Array(n));
  private readonly texts: string[] = [];
  private readonly routingIds: Column<Int16Array>[];
  private readonly routingWeights: Column<Float32Array>[];
  private readonly routingScores: Column<Float32Array>[];
  private readonly stepTokens = new Column((n) => new Int32Array(n));
  private readonly stepKv = new Column((n) => new Float64Array(n));
  private readonly stepMs = new Column((n) => new Float32Array(n));
  /**
   * The routing of the last `pendingTokens` tokens, packed rows as the decode steps gave them
   * (appendPackedTokens), not yet split into the per-layer columns: every read of those settles them first.
   */
  private readonly pendingRows = new Column((n) => new Float32Array(n));
  private pendingTokens = 0;
  readonly steps: ReasoningStep[] = [];
  done: TraceDone | undefined;
  /** The reasoning checked against the program's run (bundled model, program prompts only). */
  checks: TraceChecks | undefined;

  constructor(meta: TraceMeta) {
    this.meta = meta;
    const layers = meta.model.moeLayers.length;
    this.routingIds = Array.from({ length: layers }, () => new Column((n) => new Int16Array(n)));
    this.routingWeights = Array.from({ length: layers }, () => new Column((n) => new Float32Array(n)));
    this.routingScores = Array.from({ length: layers }, () => new Column((n) => new Float32Array(n)));
  }

  get tokenCount(): number {
    return this.ids.length;
  }

  get stepCount(): number {
    return this.stepTokens.length;
  }

  /** Appends a batch of tokens, one `set()` per column; returns the index of its first token. */
  appendTokens(b: TokenBatch): number {
    this.settle();
    const { expertsPerToken: k, nRoutedExperts: e, moeLayers } = this.meta.model;
    const n = b.count;
    if (b.ids.length !== n || b.texts.length !== n || (typeof b.segments !== 'number' && b.segments.length !== n) || (b.spans && b.spans.length !== 2 * n)) {
      throw new Error(`a batch of ${n} tokens has columns of other lengths`);
    }
    if (b.routing.length !== moeLayers.length) throw new Error(`token routing has ${b.routing.length} layers, trace has ${moeLayers.length}`);
    b.routing.forEach((r, l) => {
      if (r.expertIds.length !== n * k || r.weights.length !== n * k || r.scores.length !== n * e) throw new Error(`routing of layer ${moeLayers[l]} has the wrong width`);
    });
    b.routing.forEach((r, l) => {
      this.routingIds[l].push(r.expertIds);
      this.routingWeights[l].push(r.weights);
      this.routingScores[l].push(r.scores);
    });
    return this.pushTokens(n, b.ids, b.texts, b.segments, b.spans);
  }

  /** `n` tokens' ids, texts, segments (one each, or one for all) and source spans (null: none); returns the first one's index. */
  private pushTokens(n: number, ids: ArrayLike<number>, texts: readonly string[], segments: ArrayLike<number> | Segment, spans: ArrayLike<number> | null): number {
    const first = this.ids.length;
    this.ids.push(ids);
    for (const text of texts) this.texts.push(text);
    if (typeof segments === 'number') this.segments.pushRepeated(segments, n);
    else this.segments.push(segments);
    if (spans) this.spans.push(spans);
    else this.spans.pushRepeated(-1, 2 * n);
    return first;
  }

  /**
   * Appends one token; `span` is its source range in the prompt ([-1, -1] for generated tokens). The decode
   * loop's path, once per generated token: no batch arrays, one `set()` per routing column.
   */
  addToken(id: number, text: string, segment: Segment, span: readonly [number, number], routing: readonly LayerRoutingBatch[]): number {
    this.settle();
    const { expertsPerToken: k, nRoutedExperts: e, moeLayers } = this.meta.model;
    if (routing.length !== moeLayers.length) throw new Error(`token routing has ${routing.length} layers, trace has ${moeLayers.length}`);
    for (let l = 0; l < routing.length; l++) {
      const r = routing[l];
      if (r.expertIds.length !== k || r.weights.length !== k || r.scores.length !== e) throw new Error(`routing of layer ${moeLayers[l]} has the wrong width`);
    }
    for (let l = 0; l < routing.length; l++) {
      const r = routing[l];
      appendIds(this.routingIds[l], r.expertIds);
      appendFloats(this.routingWeights[l], r.weights);
      appendFloats(this.routingScores[l], r.scores);
    }
    return this.pushToken(id, text, segment, span[0], span[1]);
  }

  /** One token's id, text, segment and source span; returns its index. */
  private pushToken(id: number, text: string, segment: Segment, spanStart: number, spanEnd: number): number {
    const index = this.ids.length;
    this.ids.pushOne(id);
    this.texts.push(text);
    this.segments.pushOne(segment);
    this.spans.pushOne(spanStart);
    this.spans.pushOne(spanEnd);
    return index;
  }

  /**
   * Appends `count` generated tokens whose routing is packed rows, `count` rows end to end from the start of
   * `rows`: the decode loop's batch (engine/pendingCalls.ts). One set() per column; the rows are split into
   * the per-layer columns when those are next read.
   */
  appendPackedTokens(count: number, ids: Int32Array, texts: readonly string[], segments: Uint8Array, rows: Float32Array): number {
    const { expertsPerToken: k, nRoutedExperts: e, moeLayers } = this.meta.model;
    const width = packedWidth(moeLayers.length, k, e);
    if (ids.length < count || texts.length !== count || segments.length < count || rows.length < count * width) {
      throw new Error(`${count} packed tokens need ${count} ids, texts and segments and ${count} rows of ${moeLayers.length} MoE layers × (2·${k} + ${e}) values`);
    }
    this.pendingRows.push(rows.subarray(0, count * width));
    this.pendingTokens += count;
    return this.pushTokens(count, ids.subarray(0, count), texts, segments.subarray(0, count), null);
  }

  /** Splits the pending packed rows into the per-layer routing columns. */
  private settle(): void {
    const n = this.pendingTokens;
    if (n === 0) return;
    const { expertsPerToken: k, nRoutedExperts: e } = this.meta.model;
    const sinks = [];
    for (let l = 0; l < this.routingIds.length; l++) {
      const ids = this.routingIds[l];
      const weights = this.routingWeights[l];
      const scores = this.routingScores[l];
      ids.reserve(n * k);
      weights.reserve(n * k);
      scores.reserve(n * e);
      sinks.push({ expertIds: ids.data, weights: weights.data, scores: scores.data });
      ids.length += n * k;
      weights.length += n * k;
      scores.length += n * e;
    }
    unpackRouting(this.pendingRows.data, n, k, e, sinks, this.ids.length - n);
    this.pendingRows.length = 0;
    this.pendingTokens = 0;
  }

  /** Re-labels tokens [start, end), for segments known only in retrospect. */
  setSegment(start: number, end: number, segment: Segment): void {
    this.segments.view().fill(segment, start, end);
  }

  /** Records one model call: the cache length after it, its bytes per layer (length numLayers), its time. */
  addStep(tokensInCache: number, kvBytesPerLayer: ArrayLike<number>, runMs: number): void {
    if (kvBytesPerLayer.length !== this.meta.model.numLayers) throw new Error('kv bytes must have one entry per layer');
    this.stepTokens.pushOne(tokensInCache);
    this.stepKv.push(kvBytesPerLayer);
    this.stepMs.pushOne(runMs);
  }

  /** Records `count` model calls at once, their columns from index 0 (kvBytes numLayers per call). */
  addSteps(count: number, tokensInCache: Int32Array, kvBytes: Float64Array, runMs: Float64Array): void {
    const layers = this.meta.model.numLayers;
    if (tokensInCache.length < count || runMs.length < count || kvBytes.length < count * layers) throw new Error(`a batch of ${count} model calls has short columns`);
    this.stepTokens.push(tokensInCache.subarray(0, count));
    this.stepKv.push(kvBytes.subarray(0, count * layers));
    this.stepMs.push(runMs.subarray(0, count));
  }

  finish(done: TraceDone): void {
    if (!DONE_REASONS.includes(done.reason)) throw new Error(`unknown done reason ${done.reason}`);
    this.done = done;
  }

  /**
   * Copies tokens [first, end) into `into`: ids, segments and spans from index 0, routing layer-major (MoE
   * layer l's block of (end − first) × k ids, weights, and × E scores, at l times its size; no scores where
   * `into.scores` is empty). One copy per column, no views of the store made on the way: the run channel's
   * path, every 16 ms.
   */
  copyTokens(first: number, end: number, into: { ids: Int32Array; segments: Uint8Array; spans: Int32Array; expertIds: Int16Array; weights: Float32Array; scores: Float32Array }): void {
    this.settle();
    const { expertsPerToken: k, nRoutedExperts: e } = this.meta.model;
    const n = end - first;
    this.ids.copyTo(into.ids, first, end);
    this.segments.copyTo(into.segments, first, end);
    this.spans.copyTo(into.spans, 2 * first, 2 * end);
    for (let l = 0; l < this.routingIds.length; l++) {
      this.routingIds[l].copyTo(into.expertIds, first * k, end * k, l * n * k);
      this.routingWeights[l].copyTo(into.weights, first * k, end * k, l * n * k);
      if (into.scores.length > 0) this.routingScores[l].copyTo(into.scores, first * e, end * e, l * n * e);
    }
  }

  /**
   * Adds the router scores of tokens [first, end) to `into`, per segment: 3 × MoE layers × E, segment-major,
   * then layer (a batch's `scoreSums`, the webview's per-segment sums). Tokens without scores add nothing.
   */
  sumScores(first: number, end: number, into: Float32Array): void {
    this.settle();
    const e = this.meta.model.nRoutedExperts;
    const layers = this.routingScores.length;
    const segments = this.segments.view();
    for (let l = 0; l < layers; l++) {
      const scores = this.routingScores[l].view();
      const last = Math.min(end, Math.floor(scores.length / e));
      for (let t = first; t < last; t++) {
        const seg = segments[t] > 2 ? 2 : segments[t];
        let at = (seg * layers + l) * e;
        for (let i = t * e, stop = i + e; i < stop; i++, at++) into[at] += scores[i];
      }
    }
  }

  /** Copies model calls [first, end) into `into` from index 0 (KV bytes step-major, numLayers per call). */
  copySteps(first: number, end: number, into: { tokensInCache: Int32Array; kvBytes: Float64Array; runMs: Float32Array }): void {
    const layers = this.meta.model.numLayers;
    this.stepTokens.copyTo(into.tokensInCache, first, end);
    this.stepKv.copyTo(into.kvBytes, first * layers, end * layers);
    this.stepMs.copyTo(into.runMs, first, end);
  }

  tokenIds(): Int32Array { return this.ids.view(); }
  tokenTexts(): readonly string[] { return this.texts; }
  tokenSegments(): Uint8Array { return this.segments.view(); }
  /** [start0, end0, start1, end1, …] */
  sourceSpans(): Int32Array { return this.spans.view(); }
  routing(layerIndex: number): RoutingColumns {
    this.settle();
    return {
      layer: this.meta.model.moeLayers[layerIndex],
      expertIds: this.routingIds[layerIndex].view(),
      weights: this.routingWeights[layerIndex].view(),
      scores: this.routingScores[layerIndex].view(),
    };
  }
  stepTokensInCache(): Int32Array { return this.stepTokens.view(); }
  /** step-major: [step0 layer0, step0 layer1, …] */
  stepKvBytes(): Float64Array { return this.stepKv.view(); }
  stepRunMs(): Float32Array { return this.stepMs.view(); }

  /** Bytes the per-token columns hold per token, measured from the columns in use (texts as UTF-16). */
  bytesPerToken(): number {
    if (this.tokenCount === 0) return 0;
    this.settle();
    const used = (c: Column<Float32Array | Float64Array | Int32Array | Int16Array | Uint8Array>) => c.view().byteLength;
    let bytes = used(this.ids) + used(this.segments) + used(this.spans);
    for (const cols of [this.routingIds, this.routingWeights, this.routingScores]) for (const c of cols) bytes += used(c);
    for (const t of this.texts) bytes += 2 * t.length;
    return bytes / this.tokenCount;
  }

  /** Top-1 expert of every token at one MoE layer (by index into moeLayers). */
  topExpert(layerIndex: number): Int16Array {
    const { expertsPerToken: k } = this.meta.model;
    const { expertIds, weights } = this.routing(layerIndex);
    const out = new Int16Array(this.tokenCount);
    for (let t = 0; t < out.length; t++) out[t] = topExpertAt(expertIds, weights, t, k);
    return out;
  }

  /** Assignments per expert at one MoE layer over tokens [start, end). */
  expertLoad(layerIndex: number, start = 0, end = this.tokenCount): Int32Array {
    const { expertsPerToken: k, nRoutedExperts: e } = this.meta.model;
    const { expertIds } = this.routing(layerIndex);
    const out = new Int32Array(e);
    for (let i = start * k; i < end * k; i++) out[expertIds[i]]++;
    return out;
  }
}
