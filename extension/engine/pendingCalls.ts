import { packedWidth, packRouting } from '../trace/packedRouting';
import type { StepOutput } from './decoder';
import type { LoadedModel } from './model';

/**
 * Decode steps the loop has run but not yet recorded: what each one left that does not outlive the next
 * model call (its token, its routing as one packed row, the cache's size and bytes, its time), copied into
 * fixed columns. The decode loop pushes one step here right after its model call — a few hundred bytes
 * into memory the call has just evicted from the caches — and records the batch into the trace store, text
 * and reasoning segments included, in one warm loop when it yields (run.ts).
 */
export class PendingCalls {
  /** Steps a batch holds at most: the loop yields when it is full. */
  static readonly CAPACITY = 64;
  count = 0;
  readonly ids = new Int32Array(PendingCalls.CAPACITY);
  readonly tokensInCache = new Int32Array(PendingCalls.CAPACITY);
  readonly runMs = new Float64Array(PendingCalls.CAPACITY);
  /** Filled when the batch is recorded: each token's segment. */
  readonly segments = new Uint8Array(PendingCalls.CAPACITY);
  readonly kvBytes: Float64Array;
  readonly rows: Float32Array;
  readonly width: number;

  constructor(readonly numLayers: number, moeLayers: number, readonly k: number, readonly experts: number) {
    this.width = packedWidth(moeLayers, k, experts);
    this.kvBytes = new Float64Array(PendingCalls.CAPACITY * numLayers);
    this.rows = new Float32Array(PendingCalls.CAPACITY * this.width);
  }

  /** Room for the steps of `model`. */
  static for(model: LoadedModel): PendingCalls {
    const { folder: { config }, layout } = model;
    return new PendingCalls(config.numLayers, layout.routedLayers.length, layout.expertsPerToken, layout.routedExperts);
  }

  get full(): boolean {
    return this.count === PendingCalls.CAPACITY;
  }

  /** Keeps the step that fed token `id`: its routing (the packed row as it came, else packed from the columns), the cache after it. */
  push(id: number, out: StepOutput, tokensInCache: number, kvBytes: Float64Array): void {
    const i = this.count++;
    this.ids[i] = id;
    this.tokensInCache[i] = tokensInCache;
    this.runMs[i] = out.runMs;
    this.kvBytes.set(kvBytes, i * this.numLayers);
    if (out.packed) this.rows.set(out.packed, i * this.width);
    else if (this.width > 0) packRouting(out.routing.layers, 0, this.k, this.experts, this.rows, i * this.width);
  }

  /** Empties the batch (it was recorded). */
  clear(): void {
    this.count = 0;
  }

  /** Total model time of the pending steps, ms. */
  get totalRunMs(): number {
    let ms = 0;
    for (let i = 0; i < this.count; i++) ms += this.runMs[i];
    return ms;
  }
}
