import * as ort from 'onnxruntime-node';
import { KvCache } from './kvCache';
import type { LoadedModel } from './model';
import { halfsToFloats } from './moe/recipes';
import { StepRouting } from './routing';

export interface StepOutput {
  /** Logits of the last position fed, in the decoder's own buffers: valid until its next call. */
  logits: Float32Array;
  /** The routing of every token fed, per MoE layer (read on first use); the decoder reuses it at the next call. */
  readonly routing: StepRouting;
  /**
   * A one-token step's routing as the graph packed it (trace/packedRouting.ts), where it does: the step
   * buffer itself, valid until the next call. Null otherwise.
   */
  packed: Float32Array | null;
  /** Wall time inside session.run, ms. */
  runMs: number;
}

/**
 * Feeds tokens to the model one call at a time over a growing KV cache (batch 1):
 * `forward(prompt)` is the prefill, `forward([token])` each decode step. One-token steps reuse their
 * input tensors and the output buffers of fixed shape (logits, routing), which onnxruntime-node writes
 * into; the caches are allocated by the session (on the device, for WebGPU) and owned by the KvCache.
 */
export class Decoder {
  readonly cache: KvCache;
  private readonly fetchNames: string[];
  private readonly stepOutputs: Record<string, ort.Tensor | null>;
  /** Attention masks by length, shared by the model's runs (see attentionMasks). */
  private readonly masks: AttentionMasks;
  private readonly stepIds = new BigInt64Array(1);
  private readonly stepPosition = new BigInt64Array(1);
  private readonly stepFeeds: { ids: ort.Tensor; position: ort.Tensor };
  private readonly routing: StepRouting;
  private readonly logits: Float32Array;
  /** The step buffers: written by the session each step, never disposed. */
  private readonly reused: Set<ort.Tensor>;
  /** Whether a one-token step has outputs the session allocates (not caches, not step buffers). */
  private readonly allocatedPerStep: boolean;
  /** The last call's outputs while its routing is unread (one-token steps read it only when asked). */
  private unread: Readonly<Record<string, ort.Tensor>> | null = null;

  constructor(private readonly model: LoadedModel) {
    const { layout, routing, folder } = model;
    this.cache = new KvCache(layout.caches, folder.config.numLayers);
    const { logits } = layout.names;
    this.fetchNames = [logits, ...layout.caches.map((c) => c.present), ...routing.outputNames];
    this.masks = attentionMasks(model);
    this.stepOutputs = {
      [logits]: layout.logitsType === 'float32' ? new ort.Tensor('float32', new Float32Array(layout.vocabSize), [1, 1, layout.vocabSize]) : null,
      ...Object.fromEntries(layout.caches.map((c) => [c.present, null])),
      // outputs without a buffer of their own are allocated by the session each step
      ...Object.fromEntries(routing.outputNames.map((n) => [n, null])),
      ...routing.stepBuffers(),
    };
    this.reused = new Set(Object.values(this.stepOutputs).filter((t): t is ort.Tensor => t !== null));
    this.allocatedPerStep = Object.entries(this.stepOutputs).some(([name, t]) => t === null && !this.cache.owns(name));
    this.stepFeeds = { ids: new ort.Tensor('int64', this.stepIds, [1, 1]), position: new ort.Tensor('int64', this.stepPosition, [1, 1]) };
    this.logits = new Float32Array(layout.vocabSize);
    this.routing = new StepRouting(layout.routedLayers.length, layout.expertsPerToken, layout.routedExperts, routing.sharedGates);
  }

  get position(): number {
    return this.cache.sequenceLength;
  }

  async forward(ids: readonly number[]): Promise<StepOutput> {
    const { session, layout } = this.model;
    const names = layout.names;
    const past = this.cache.sequenceLength;
    const t = ids.length;
    const total = past + t;
    const single = t === 1;
    this.unread = null;
    const feeds: Record<string, ort.Tensor> = this.cache.feeds();
    if (single) {
      this.stepIds[0] = BigInt(ids[0]);
      this.stepPosition[0] = BigInt(past);
      feeds[names.inputIds] = this.stepFeeds.ids;
      if (layout.hasPositionIds) feeds[names.positionIds] = this.stepFeeds.position;
    } else {
      feeds[names.inputIds] = new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, t]);
      if (layout.hasPositionIds) feeds[names.positionIds] = new ort.Tensor('int64', BigInt64Array.from({ length: t }, (_, i) => BigInt(past + i)), [1, t]);
    }
    feeds[names.attentionMask] = this.masks.get(total);
    const start = performance.now();
    const out = await session.run(feeds, single ? this.stepOutputs : this.fetchNames);
    const runMs = performance.now() - start;
    this.cache.update(out, t);
    const vocab = layout.vocabSize;
    const raw = out[names.logits].data as Float32Array<ArrayBuffer> | Uint16Array<ArrayBuffer>;
    const last = raw.length === vocab ? raw : raw.subarray((t - 1) * vocab, t * vocab);
    // a one-token step wrote its logits into the decoder's own step buffer: no copy
    const logits = !(last instanceof Float32Array) ? halfsToFloats(last, this.logits)
      : single ? last : (this.logits.set(last), this.logits);
    this.routing.resize(t);
    const reader = this.model.routing;
    // a one-token step's routing lies in the step buffers until the next call: it is read if asked for
    const lazy = single && !this.allocatedPerStep;
    if (lazy) this.unread = out;
    else {
      reader.read(out, this.routing);
      // what the session allocated for this call, but the caches (the cache owns those now)
      for (const [name, tensor] of Object.entries(out)) if (!this.cache.owns(name) && !this.reused.has(tensor)) tensor.dispose();
    }
    return new Step(this, logits, runMs, lazy && reader.packedRow ? reader.packedRow(out) : null);
  }

  /** The last call's routing, read from its outputs the first time it is asked for. */
  readRouting(): StepRouting {
    if (this.unread) {
      this.model.routing.read(this.unread, this.routing);
      this.unread = null;
    }
    return this.routing;
  }

  dispose(): void {
    this.cache.dispose();
  }
}

class Step implements StepOutput {
  constructor(private readonly decoder: Decoder, readonly logits: Float32Array, readonly runMs: number, readonly packed: Float32Array | null) {}

  get routing(): StepRouting {
    return this.decoder.readRouting();
  }
}

/** Attention masks of a batch-1 run without padding: all ones, [1, length]. */
interface AttentionMasks {
  get(length: number): ort.Tensor;
}

const MASKS = new WeakMap<LoadedModel, AttentionMasks>();

/**
 * The model's attention masks, one tensor per length, made on first use and shared by all its runs
 * (every one a view of a single array of ones; the session only reads its inputs): a step feeds the
 * mask of its length without building a tensor.
 */
function attentionMasks(model: LoadedModel): AttentionMasks {
  let masks = MASKS.get(model);
  if (!masks) {
    const ones = new BigInt64Array(model.folder.config.maxPositions).fill(1n);
    const byLength: ort.Tensor[] = [];
    masks = {
      // past the context (which run() never feeds) a mask is made each time, not kept
      get: (length) => (length <= ones.length ? byLength[length] ??= new ort.Tensor('int64', ones.subarray(0, length), [1, length])
        : new ort.Tensor('int64', new BigInt64Array(length).fill(1n), [1, length])),
    };
    MASKS.set(model, masks);
  }
  return masks;
}
