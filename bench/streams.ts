/** Traces for the webview benchmark: a real recording extended to any length, and synthetic model shapes. */
import { Rng } from '../extension/engine/sampler';
import type { LayerRoutingBatch } from '../extension/trace/store';
import { TraceStore } from '../extension/trace/store';
import { Segment, type TraceMeta } from '../extension/trace/types';

const tokenRouting = (store: TraceStore, t: number): LayerRoutingBatch[] => {
  const { expertsPerToken: k, nRoutedExperts: e } = store.meta.model;
  return store.meta.model.moeLayers.map((_, l) => {
    const r = store.routing(l);
    return { expertIds: r.expertIds.subarray(t * k, (t + 1) * k), weights: r.weights.subarray(t * k, (t + 1) * k), scores: r.scores.subarray(t * e, (t + 1) * e) };
  });
};

/**
 * `source` (a finished run) extended to `target` tokens: its prompt, a long reasoning made of its
 * reasoning tokens repeated (with their reasoning steps), its answer. One model call per generated token.
 */
export function extendTrace(source: TraceStore, target: number): TraceStore {
  const out = new TraceStore(source.meta);
  const segments = source.tokenSegments();
  const spans = source.sourceSpans();
  const texts = source.tokenTexts();
  const ids = source.tokenIds();
  const all = Array.from({ length: source.tokenCount }, (_, t) => t);
  const prompt = all.filter((t) => spans[2 * t] !== -1);
  const reasoning = all.filter((t) => spans[2 * t] === -1 && segments[t] === Segment.Reasoning);
  const answer = all.filter((t) => segments[t] === Segment.Answer);
  const kvPerToken = source.meta.model.kvBytesPerToken;
  const layers = source.meta.model.numLayers;
  const step = () => out.addStep(out.tokenCount, new Float64Array(layers).fill(out.tokenCount * kvPerToken), 0.6);
  const copy = (t: number, segment: Segment) => out.addToken(ids[t], texts[t], segment, [spans[2 * t], spans[2 * t + 1]], tokenRouting(source, t));
  for (const t of prompt) copy(t, Segment.Prompt);
  step();
  const first = reasoning[0] ?? 0;
  while (out.tokenCount < target - answer.length && reasoning.length > 0) {
    const offset = out.tokenCount - first;
    for (const t of reasoning) {
      if (out.tokenCount >= target - answer.length) break;
      copy(t, Segment.Reasoning);
      for (const s of source.steps) if (s.end - 1 === t) out.steps.push({ ...s, start: s.start + offset, end: s.end + offset });
      step();
    }
  }
  for (const t of answer) {
    copy(t, Segment.Answer);
    step();
  }
  out.finish(source.done ?? { reason: 'eos', unterminatedReasoning: false });
  return out;
}

/**
 * The same tokens routed by a model of another shape — `layers` MoE layers of `experts` experts, top-`k`
 * — with seeded random routers (softmax scores, the top k as the choice): the volume of routing a real
 * model streams (48 × 128 is 10–100× the bundled model's).
 */
export function reshapeTrace(source: TraceStore, layers: number, experts: number, k: number, seed = 1): TraceStore {
  const meta: TraceMeta = {
    ...source.meta,
    model: { ...source.meta.model, name: `synthetic-${layers}x${experts}`, numLayers: layers + 1, moeLayers: Array.from({ length: layers }, (_, i) => i + 1), nRoutedExperts: experts, expertsPerToken: k },
  };
  const out = new TraceStore(meta);
  const rng = new Rng(seed);
  const n = source.tokenCount;
  const routing = Array.from({ length: layers }, () => {
    const expertIds = new Int16Array(n * k);
    const weights = new Float32Array(n * k);
    const scores = new Float32Array(n * experts);
    const logits = new Float64Array(experts);
    for (let t = 0; t < n; t++) {
      let sum = 0;
      for (let e = 0; e < experts; e++) { logits[e] = Math.exp(3 * rng.next()); sum += logits[e]; }
      for (let e = 0; e < experts; e++) scores[t * experts + e] = logits[e] / sum;
      const order = Array.from({ length: experts }, (_, e) => e).sort((a, b) => logits[b] - logits[a]).slice(0, k);
      const top = order.reduce((s, e) => s + logits[e], 0);
      order.forEach((e, j) => { expertIds[t * k + j] = e; weights[t * k + j] = logits[e] / top; });
    }
    return { expertIds, weights, scores };
  });
  out.appendTokens({ count: n, ids: source.tokenIds(), texts: source.tokenTexts(), segments: source.tokenSegments(), spans: source.sourceSpans(), routing });
  const perLayer = source.meta.model.kvBytesPerToken;
  const cache = source.stepTokensInCache();
  for (let s = 0; s < source.stepCount; s++) out.addStep(cache[s], new Float64Array(layers + 1).fill(cache[s] * perLayer), source.stepRunMs()[s]);
  for (const s of source.steps) out.steps.push({ ...s });
  out.finish(source.done ?? { reason: 'eos', unterminatedReasoning: false });
  return out;
}

/**
 * Replays a finished trace into a live store the way the engine fills it: the prompt in one call,
 * then one token per call, with the reasoning steps each token completes.
 */
export class TraceFeeder {
  readonly live: TraceStore;
  private step = 0;
  private readonly promptTokens: number;

  constructor(private readonly source: TraceStore) {
    this.live = new TraceStore(source.meta);
    const spans = source.sourceSpans();
    let p = 0;
    while (p < source.tokenCount && spans[2 * p] !== -1) p++;
    this.promptTokens = p;
  }

  get done(): boolean {
    return this.live.tokenCount >= this.source.tokenCount;
  }

  /** Feeds the next model call; false when there is none. */
  next(): boolean {
    if (this.done) return false;
    const src = this.source;
    const first = this.live.tokenCount;
    const end = first === 0 ? this.promptTokens : first + 1;
    const { expertsPerToken: k, nRoutedExperts: e, numLayers } = src.meta.model;
    this.live.appendTokens({
      count: end - first, ids: src.tokenIds().subarray(first, end), texts: src.tokenTexts().slice(first, end), segments: src.tokenSegments().subarray(first, end),
      spans: src.sourceSpans().subarray(2 * first, 2 * end),
      routing: src.meta.model.moeLayers.map((_, l) => {
        const r = src.routing(l);
        return { expertIds: r.expertIds.subarray(first * k, end * k), weights: r.weights.subarray(first * k, end * k), scores: r.scores.subarray(first * e, end * e) };
      }),
    });
    const s = Math.min(this.step, src.stepCount - 1);
    this.live.addStep(src.stepTokensInCache()[s], src.stepKvBytes().subarray(s * numLayers, (s + 1) * numLayers), src.stepRunMs()[s]);
    for (const st of src.steps) if (st.end === end) this.live.steps.push({ ...st });
    this.step++;
    return true;
  }
}
