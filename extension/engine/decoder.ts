import * as ort from 'onnxruntime-node';
import { ATTENTION_MASK, INPUT_IDS, LOGITS, POSITION_IDS, routingNames } from './contract';
import { KvCache } from './kvCache';
import type { LoadedModel } from './model';

/** The experts one MoE layer chose for one token. */
export interface LayerRouting {
  layer: number;
  expertIds: Int32Array;
  weights: Float32Array;
  /** The full router distribution (one score per routed expert). */
  scores: Float32Array;
}

export interface StepOutput {
  /** Logits of the last position fed. */
  logits: Float32Array;
  /** routing[t] lists, for the t-th token fed, each MoE layer's choice. */
  routing: LayerRouting[][];
  /** Wall time inside session.run, ms. */
  runMs: number;
}

const int64 = (values: ArrayLike<number>, dims: number[]) =>
  new ort.Tensor('int64', BigInt64Array.from(Array.from(values, BigInt)), dims);

/**
 * Feeds tokens to the model one call at a time over a growing KV cache (batch 1).
 * `forward(prompt)` is the prefill; `forward([token])` each decode step.
 */
export class Decoder {
  readonly cache: KvCache;
  /** Outputs to fetch: the cache's and the logits always, the routing unless turned off. */
  private readonly fetchNames: string[];
  /** Reused output buffers for one-token steps (onnxruntime-node writes into them). */
  private readonly stepOutputs: Record<string, ort.Tensor | null>;
  /** 1, 1, 1, … once per decoder; each step's attention mask is a view of it. */
  private readonly ones: BigInt64Array;

  /** `routing: false` leaves the routing outputs unread (for the benchmark's baseline). */
  constructor(private readonly model: LoadedModel, options: { routing?: boolean } = {}) {
    this.cache = new KvCache(model.layout.caches);
    const names = model.layout.outputNames;
    this.fetchNames = options.routing === false ? names.filter((n) => !n.startsWith('routing.')) : [...names];
    this.ones = new BigInt64Array(model.folder.config.maxPositions).fill(1n);
    this.stepOutputs = Object.fromEntries(this.fetchNames.map((n) => [n, stepBuffer(model, n)]));
  }

  get position(): number {
    return this.cache.sequenceLength;
  }

  async forward(ids: readonly number[]): Promise<StepOutput> {
    const { session, layout } = this.model;
    const past = this.cache.sequenceLength;
    const t = ids.length;
    const total = past + t;
    const mask = total <= this.ones.length ? this.ones.subarray(0, total) : new BigInt64Array(total).fill(1n);
    const feeds: Record<string, ort.Tensor> = {
      [INPUT_IDS]: int64(ids, [1, t]),
      [ATTENTION_MASK]: new ort.Tensor('int64', mask, [1, total]),
      ...this.cache.feeds(),
    };
    if (layout.hasPositionIds) feeds[POSITION_IDS] = int64(Array.from({ length: t }, (_, i) => past + i), [1, t]);
    const start = performance.now();
    const out = await session.run(feeds, t === 1 ? this.stepOutputs : this.fetchNames);
    const runMs = performance.now() - start;
    for (const name of [INPUT_IDS, ATTENTION_MASK, POSITION_IDS]) feeds[name]?.dispose();
    this.cache.update(out, t);
    const logitsTensor = out[LOGITS];
    const vocab = logitsTensor.dims[logitsTensor.dims.length - 1];
    const all = logitsTensor.data as Float32Array;
    const logits = all.slice((t - 1) * vocab, t * vocab);
    const routing = readRouting(out, layout.routedLayers, t);
    for (const [name, tensor] of Object.entries(out)) if (!name.startsWith('present.')) tensor.dispose();
    return { logits, routing, runMs };
  }

  dispose(): void {
    this.cache.dispose();
  }
}

/** A reusable [1, 1, n] output for one-token steps, or null where the shape grows (the caches). */
function stepBuffer(model: LoadedModel, name: string): ort.Tensor | null {
  const { config } = model.folder;
  const width = name === LOGITS ? config.vocabSize
    : name.endsWith('.router_scores') ? config.nRoutedExperts
      : name.endsWith('.expert_ids') || name.endsWith('.expert_weights') ? config.expertsPerToken : 0;
  if (width === 0) return null;
  return name.endsWith('.expert_ids')
    ? new ort.Tensor('int64', new BigInt64Array(width), [1, 1, width])
    : new ort.Tensor('float32', new Float32Array(width), [1, 1, width]);
}

export function readRouting(out: Record<string, ort.Tensor>, layers: readonly number[], t: number): LayerRouting[][] {
  const perToken: LayerRouting[][] = Array.from({ length: t }, () => []);
  for (const layer of layers) {
    const names = routingNames(layer);
    const ids = out[names.expertIds];
    const weights = out[names.expertWeights];
    const scores = out[names.routerScores];
    if (!ids || !weights || !scores) continue;
    const k = ids.dims[ids.dims.length - 1];
    const e = scores.dims[scores.dims.length - 1];
    const idData = ids.data as BigInt64Array | Int32Array;
    const wData = weights.data as Float32Array;
    const sData = scores.data as Float32Array;
    for (let i = 0; i < t; i++) {
      const expertIds = new Int32Array(k);
      for (let j = 0; j < k; j++) expertIds[j] = Number(idData[i * k + j]);
      perToken[i].push({
        layer,
        expertIds,
        weights: wData.slice(i * k, (i + 1) * k),
        scores: sData.slice(i * e, (i + 1) * e),
      });
    }
  }
  return perToken;
}

export function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/** Greedy decoding until an end-of-sequence token, the token budget, or the position limit. */
export async function greedyDecode(model: LoadedModel, promptIds: readonly number[], maxNewTokens: number): Promise<number[]> {
  const { config } = model.folder;
  const decoder = new Decoder(model);
  try {
    const budget = Math.min(maxNewTokens, config.maxPositions - promptIds.length);
    const out: number[] = [];
    let step = await decoder.forward(promptIds);
    while (out.length < budget) {
      const next = argmax(step.logits);
      out.push(next);
      if (config.eosTokenIds.includes(next) || out.length >= budget) break;
      step = await decoder.forward([next]);
    }
    return out;
  } finally {
    decoder.dispose();
  }
}
