import * as ort from 'onnxruntime-node';
import type { CacheSpec } from './graph';

const BYTES_PER_ELEMENT: Partial<Record<ort.Tensor.Type, number>> = {
  float32: 4, float16: 2, int64: 8, int32: 4, int8: 1, uint8: 1, bool: 1,
};

/** A tensor's bytes, from its shape and type (a loop, no closure: the decode loop calls this for every cache, every step). */
export function tensorBytes(t: ort.Tensor): number {
  let elements = 1;
  for (let d = 0; d < t.dims.length; d++) elements *= t.dims[d];
  return elements * (BYTES_PER_ELEMENT[t.type] ?? 4);
}

/**
 * The past caches fed to each step: present outputs become the next step's past inputs, paired
 * by name; a replaced tensor is released at once (it may live on a GPU). Bytes per layer are read from
 * the tensors' shapes once per update.
 */
export class KvCache {
  private readonly presents: Set<string>;
  private readonly bytes: Float64Array;
  private length = 0;

  /** `numLayers`: the model's layers, cached or not (bytes are reported for each). */
  constructor(private readonly specs: readonly CacheSpec[], numLayers = specs.reduce((n, s) => Math.max(n, s.layer + 1), 0)) {
    this.presents = new Set(specs.map((s) => s.present));
    this.bytes = new Float64Array(numLayers);
    this.reset();
  }

  /** Tokens the cache holds. */
  get sequenceLength(): number {
    return this.length;
  }

  /** Whether `outputName` is a cache output (owned by the cache once update() took it). */
  owns(outputName: string): boolean {
    return this.presents.has(outputName);
  }

  /** The past inputs of the next call, by name: one object, updated in place (the decoder adds its inputs to it). */
  feeds(): Record<string, ort.Tensor> {
    return this.pastFeeds;
  }

  private pastFeeds: Record<string, ort.Tensor> = {};

  /** Takes the present outputs of a step; they are owned by the cache from now on. */
  update(outputs: Record<string, ort.Tensor>, addedTokens: number): void {
    this.bytes.fill(0);
    const feeds = this.pastFeeds;
    for (const spec of this.specs) {
      const next = outputs[spec.present];
      if (!next) throw new Error(`step returned no ${spec.present}`);
      feeds[spec.past].dispose();
      feeds[spec.past] = next;
      this.bytes[spec.layer] += tensorBytes(next);
    }
    this.length += addedTokens;
  }

  /** Bytes held per layer (a view, updated in place by every update()). */
  bytesPerLayer(): Float64Array {
    return this.bytes;
  }

  reset(): void {
    this.dispose();
    for (const spec of this.specs) {
      const size = spec.emptyDims.reduce((a, b) => a * b, 1);
      const data = spec.type === 'float16' ? new Uint16Array(size) : new Float32Array(size);
      this.pastFeeds[spec.past] = new ort.Tensor(spec.type, data, spec.emptyDims);
    }
    this.length = 0;
    this.bytes.fill(0);
    for (const spec of this.specs) this.bytes[spec.layer] += tensorBytes(this.pastFeeds[spec.past]);
  }

  dispose(): void {
    for (const spec of this.specs) this.pastFeeds[spec.past]?.dispose();
    this.pastFeeds = {};
  }
}
