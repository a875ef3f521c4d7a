import * as ort from 'onnxruntime-node';
import { packedWidth, unpackRouting } from '../trace/packedRouting';
import type { LayerRoutingBatch } from '../trace/store';
import { PACKED_ROUTING, routingNames } from './contract';

/** One MoE layer's routing for the tokens of one model call, token-major: k ids, k weights, E scores per token. */
export interface LayerRouting extends LayerRoutingBatch {
  expertIds: Int16Array;
  weights: Float32Array;
  scores: Float32Array;
  /** The shared expert's gate per token, for layers that have one. */
  sharedGates?: Float32Array;
}

/**
 * The routing of one model call, read once into preallocated columns (one per MoE layer) that the
 * trace store then appends with one `set()` each. Reused across decode steps: valid until the next call.
 */
export class StepRouting {
  tokens = 0;
  layers: LayerRouting[] = [];
  private backing: LayerRouting[] = [];
  private capacity = 0;

  /** `sharedGates[l]`: MoE layer l has a shared-expert gate to report. */
  constructor(readonly layerCount: number, readonly k: number, readonly experts: number, private readonly sharedGates: readonly boolean[] = []) {
    this.resize(1);
  }

  /** Makes room for `tokens` tokens; the columns are views of exactly that length. */
  resize(tokens: number): void {
    if (tokens === this.tokens && this.layers.length === this.layerCount) return; // every decode step: the same views
    if (tokens > this.capacity) {
      this.capacity = Math.max(tokens, 1);
      this.backing = Array.from({ length: this.layerCount }, (_, l) => ({
        expertIds: new Int16Array(this.capacity * this.k), weights: new Float32Array(this.capacity * this.k), scores: new Float32Array(this.capacity * this.experts),
        ...(this.sharedGates[l] ? { sharedGates: new Float32Array(this.capacity) } : {}),
      }));
    }
    this.tokens = tokens;
    this.layers = this.backing.map((b) => ({
      expertIds: b.expertIds.subarray(0, tokens * this.k), weights: b.weights.subarray(0, tokens * this.k), scores: b.scores.subarray(0, tokens * this.experts),
      ...(b.sharedGates ? { sharedGates: b.sharedGates.subarray(0, tokens) } : {}),
    }));
  }
}

/** Where a model's routing comes from: graph outputs to fetch, and how to turn them into columns. */
export interface RoutingReader {
  /** Graph outputs to fetch on every call, besides the logits and the caches. */
  readonly outputNames: readonly string[];
  /** `sharedGates[l]`: MoE layer l reports a shared expert's gate (StepRouting allocates its column). */
  readonly sharedGates?: readonly boolean[];
  /** Output tensors a one-token step may write into (fixed shapes), reused from step to step. */
  stepBuffers(): Record<string, ort.Tensor>;
  /** Reads the routing of `into.tokens` fed tokens from a call's outputs. */
  read(outputs: Readonly<Record<string, ort.Tensor>>, into: StepRouting): void;
  /** The routing of a one-token step as it came, one packed row (trace/packedRouting.ts), where the graph gives that. */
  packedRow?(outputs: Readonly<Record<string, ort.Tensor>>): Float32Array;
}

/** A model without routing (no MoE layers found): nothing to fetch, nothing to read. */
export const NO_ROUTING: RoutingReader = { outputNames: [], stepBuffers: () => ({}), read: () => {} };

/**
 * The MoE Lens contract's routing outputs: `routing.packed` [B, T, L·(2k + E)] when the graph has it (one
 * tensor per call: every layer's ids, then every layer's weights, then every layer's scores), else
 * `routing.{i}.expert_ids/expert_weights/router_scores` per layer.
 */
export function contractReader(layers: readonly number[], k: number, experts: number, packed: boolean): RoutingReader {
  if (packed) {
    const width = packedWidth(layers.length, k, experts);
    return {
      outputNames: [PACKED_ROUTING],
      stepBuffers: () => ({ [PACKED_ROUTING]: new ort.Tensor('float32', new Float32Array(width), [1, 1, width]) }),
      read: (outputs, into) => unpackRouting(outputs[PACKED_ROUTING].data as Float32Array, into.tokens, k, experts, into.layers, 0),
      packedRow: (outputs) => outputs[PACKED_ROUTING].data as Float32Array,
    };
  }
  const names = layers.map(routingNames);
  return {
    outputNames: names.flatMap((n) => [n.expertIds, n.expertWeights, n.routerScores]),
    stepBuffers: () => Object.fromEntries(names.flatMap((n) => [
      [n.expertIds, new ort.Tensor('int64', new BigInt64Array(k), [1, 1, k])],
      [n.expertWeights, new ort.Tensor('float32', new Float32Array(k), [1, 1, k])],
      [n.routerScores, new ort.Tensor('float32', new Float32Array(experts), [1, 1, experts])],
    ])),
    read(outputs, into) {
      const n = into.tokens;
      names.forEach((name, l) => {
        const ids = outputs[name.expertIds].data as BigInt64Array;
        const { expertIds, weights, scores } = into.layers[l];
        for (let i = 0; i < n * k; i++) expertIds[i] = Number(ids[i]);
        weights.set((outputs[name.expertWeights].data as Float32Array).subarray(0, n * k));
        scores.set((outputs[name.routerScores].data as Float32Array).subarray(0, n * experts));
      });
    },
  };
}
