import { topExpertAt } from './figures';
import { DONE_REASONS, type ReasoningStep, Segment, type TraceDone, type TraceMeta } from './types';

/** A typed array that grows by doubling; `view()` is the filled part. */
class Column<A extends Float32Array | Float64Array | Int32Array | Int16Array | Uint8Array> {
  private data: A;
  length = 0;
  constructor(private readonly make: (n: number) => A, capacity = 256) {
    this.data = make(capacity);
  }
  push(values: ArrayLike<number>): void {
    if (this.length + values.length > this.data.length) {
      const next = this.make(Math.max(this.data.length * 2, this.length + values.length));
      next.set(this.data.subarray(0, this.length));
      this.data = next;
    }
    this.data.set(values, this.length);
    this.length += values.length;
  }
  view(): A {
    return this.data.subarray(0, this.length) as A;
  }
  get bytesAllocated(): number {
    return this.data.byteLength;
  }
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
  readonly steps: ReasoningStep[] = [];
  done: TraceDone | undefined;

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

  /**
   * Appends one token. `routing[l]` belongs to meta.model.moeLayers[l]; `span` is its source range in
   * the prompt ([-1, -1] for generated tokens).
   */
  addToken(id: number, text: string, segment: Segment, span: readonly [number, number],
    routing: readonly { expertIds: ArrayLike<number>; weights: ArrayLike<number>; scores: ArrayLike<number> }[]): number {
    const { expertsPerToken: k, nRoutedExperts: e, moeLayers } = this.meta.model;
    if (routing.length !== moeLayers.length) throw new Error(`token routing has ${routing.length} layers, trace has ${moeLayers.length}`);
    routing.forEach((r, l) => {
      if (r.expertIds.length !== k || r.weights.length !== k || r.scores.length !== e) throw new Error(`routing of layer ${moeLayers[l]} has the wrong width`);
      this.routingIds[l].push(r.expertIds);
      this.routingWeights[l].push(r.weights);
      this.routingScores[l].push(r.scores);
    });
    this.ids.push([id]);
    this.texts.push(text);
    this.segments.push([segment]);
    this.spans.push(span);
    return this.ids.length - 1;
  }

  /** Re-labels tokens [start, end), for segments known only in retrospect. */
  setSegment(start: number, end: number, segment: Segment): void {
    this.segments.view().fill(segment, start, end);
  }

  /** Records one model call: the cache length after it, its bytes per layer (length numLayers), its time. */
  addStep(tokensInCache: number, kvBytesPerLayer: readonly number[], runMs: number): void {
    if (kvBytesPerLayer.length !== this.meta.model.numLayers) throw new Error('kv bytes must have one entry per layer');
    this.stepTokens.push([tokensInCache]);
    this.stepKv.push(kvBytesPerLayer);
    this.stepMs.push([runMs]);
  }

  finish(done: TraceDone): void {
    if (!DONE_REASONS.includes(done.reason)) throw new Error(`unknown done reason ${done.reason}`);
    this.done = done;
  }

  tokenIds(): Int32Array { return this.ids.view(); }
  tokenTexts(): readonly string[] { return this.texts; }
  tokenSegments(): Uint8Array { return this.segments.view(); }
  /** [start0, end0, start1, end1, …] */
  sourceSpans(): Int32Array { return this.spans.view(); }
  routing(layerIndex: number): RoutingColumns {
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

  /** Bytes of typed-array storage in use per token per MoE layer (for the bench). */
  routingBytesPerTokenPerLayer(): number {
    const { expertsPerToken: k, nRoutedExperts: e } = this.meta.model;
    return k * 2 + k * 4 + e * 4;
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
