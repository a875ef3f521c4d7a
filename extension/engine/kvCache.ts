import * as ort from 'onnxruntime-node';
import type { CacheSpec } from './graph';

const BYTES_PER_ELEMENT: Partial<Record<ort.Tensor.Type, number>> = {
  float32: 4, float16: 2, int64: 8, int32: 4, int8: 1, uint8: 1, bool: 1,
};

export function tensorBytes(t: ort.Tensor): number {
  return t.dims.reduce((a, b) => a * b, 1) * (BYTES_PER_ELEMENT[t.type] ?? 4);
}

/**
 * The past caches fed to each step: present outputs become the next step's past inputs, paired
 * by name; a replaced tensor is disposed at once (it may live on a GPU).
 */
export class KvCache {
  private tensors = new Map<string, ort.Tensor>();
  private length = 0;

  constructor(private readonly specs: readonly CacheSpec[]) {
    this.reset();
  }

  /** Tokens the cache holds. */
  get sequenceLength(): number {
    return this.length;
  }

  feeds(): Record<string, ort.Tensor> {
    return Object.fromEntries(this.tensors);
  }

  /** Takes the present outputs of a step; they are owned by the cache from now on. */
  update(outputs: Record<string, ort.Tensor>, addedTokens: number): void {
    for (const spec of this.specs) {
      const next = outputs[spec.present];
      if (!next) throw new Error(`step returned no ${spec.present}`);
      this.tensors.get(spec.past)?.dispose();
      this.tensors.set(spec.past, next);
    }
    this.length += addedTokens;
  }

  /** Bytes held per layer, read from the tensors themselves. */
  bytesPerLayer(): number[] {
    const out: number[] = [];
    for (const spec of this.specs) {
      const t = this.tensors.get(spec.past);
      out[spec.layer] = (out[spec.layer] ?? 0) + (t ? tensorBytes(t) : 0);
    }
    return out;
  }

  reset(): void {
    this.dispose();
    for (const spec of this.specs) {
      const size = spec.emptyDims.reduce((a, b) => a * b, 1);
      const data = spec.type === 'float16' ? new Uint16Array(size) : new Float32Array(size);
      this.tensors.set(spec.past, new ort.Tensor(spec.type, data, spec.emptyDims));
    }
    this.length = 0;
  }

  dispose(): void {
    for (const t of this.tensors.values()) t.dispose();
    this.tensors.clear();
  }
}
