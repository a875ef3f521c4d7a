import type * as ort from 'onnxruntime-node';
import { type ModelConfig, moeLayers } from './config';
import { ATTENTION_MASK, INPUT_IDS, LATENT_PARTS, LOGITS, PACKED_ROUTING, POSITION_IDS, parseCacheName, pastFor, routedLayers, routingNames } from './contract';
import { ModelError } from './errors';

export interface CacheSpec {
  past: string;
  present: string;
  layer: number;
  part: string;
  type: ort.Tensor.Type;
  /** Shape of an empty cache: batch 1, every symbolic dimension 0 (the sequence). */
  emptyDims: number[];
}

/** What the graph exposes, read from the session's metadata and checked against config.json. */
export interface GraphLayout {
  caches: CacheSpec[];
  /** MoE layers with routing, ascending. */
  routedLayers: number[];
  /** Experts chosen per token (k) and routed experts (E) of every MoE layer; 0 without MoE layers. */
  expertsPerToken: number;
  routedExperts: number;
  /** The graph has the contract's `routing.packed` output (one routing tensor per call). */
  packedRouting: boolean;
  vocabSize: number;
  hasPositionIds: boolean;
  latentCache: boolean;
  outputNames: string[];
}

function tensorMeta(list: readonly ort.InferenceSession.ValueMetadata[]) {
  const out = new Map<string, { type: ort.Tensor.Type; shape: ReadonlyArray<number | string> }>();
  for (const m of list) if (m.isTensor) out.set(m.name, { type: m.type, shape: m.shape });
  return out;
}

export function readLayout(session: ort.InferenceSession, config: ModelConfig, modelPath: string, configPath: string): GraphLayout {
  const inputs = tensorMeta(session.inputMetadata);
  const outputs = tensorMeta(session.outputMetadata);
  for (const name of [INPUT_IDS, ATTENTION_MASK]) {
    if (!inputs.has(name)) {
      throw new ModelError(modelPath, `the graph has no "${name}" input, so it is not a decoder-only language model export`,
        'Export with past_key_values inputs (Optimum, transformers.js or training/export.py conventions)');
    }
  }
  if (!outputs.has(LOGITS)) throw new ModelError(modelPath, 'the graph has no "logits" output', 'Re-export the model with a logits output');

  const caches: CacheSpec[] = [];
  for (const present of session.outputNames) {
    const past = pastFor(present);
    const parsed = parseCacheName(present);
    if (!past || !parsed) continue;
    const meta = inputs.get(past);
    if (!meta) throw new ModelError(modelPath, `output ${present} has no matching input ${past}`, 'Re-export with paired cache inputs and outputs');
    caches.push({
      past, present, layer: parsed.layer, part: parsed.part, type: meta.type,
      emptyDims: meta.shape.map((d, i) => (i === 0 ? 1 : typeof d === 'number' ? d : 0)),
    });
  }
  const layers = new Set(caches.map((c) => c.layer));
  if (layers.size !== config.numLayers) {
    throw new ModelError(configPath, `num_hidden_layers is ${config.numLayers} but model.onnx has caches for ${layers.size} layers`,
      'Use the config.json that was exported with this model.onnx');
  }
  const latentCache = caches.some((c) => (LATENT_PARTS as readonly string[]).includes(c.part));
  if (latentCache) checkLatentDims(caches, config, configPath);

  const routed = routedLayers(session.outputNames);
  if (routed.length > 0) checkRouting(routed, outputs, config, configPath);
  const vocab = outputs.get(LOGITS)?.shape.at(-1);
  return {
    caches, routedLayers: routed,
    expertsPerToken: routed.length > 0 ? config.expertsPerToken : 0,
    routedExperts: routed.length > 0 ? config.nRoutedExperts : 0,
    packedRouting: routed.length > 0 && outputs.has(PACKED_ROUTING),
    vocabSize: typeof vocab === 'number' ? vocab : config.vocabSize,
    hasPositionIds: inputs.has(POSITION_IDS), latentCache, outputNames: [...session.outputNames],
  };
}

function checkLatentDims(caches: CacheSpec[], config: ModelConfig, configPath: string): void {
  const expected: Record<string, [string, number]> = {
    kv_latent: ['kv_lora_rank', config.kvLoraRank],
    k_rope: ['qk_rope_head_dim', config.qkRopeHeadDim],
  };
  for (const c of caches) {
    const want = expected[c.part];
    const got = c.emptyDims[c.emptyDims.length - 1];
    if (want && got !== want[1]) {
      throw new ModelError(configPath, `${want[0]} is ${want[1]} but model.onnx caches ${got} values per token in ${c.past}`,
        'Use the config.json that was exported with this model.onnx');
    }
  }
}

function checkRouting(routed: number[], outputs: ReturnType<typeof tensorMeta>, config: ModelConfig, configPath: string): void {
  const declared = moeLayers(config);
  if (declared.join() !== routed.join()) {
    throw new ModelError(configPath, `declares MoE layers [${declared.join(', ')}] but model.onnx routes in layers [${routed.join(', ')}]`,
      'Check first_k_dense_replace, num_hidden_layers and n_routed_experts against the export');
  }
  for (const layer of routed) {
    const names = routingNames(layer);
    const k = outputs.get(names.expertIds)?.shape.at(-1);
    const e = outputs.get(names.routerScores)?.shape.at(-1);
    if (typeof k === 'number' && k !== config.expertsPerToken) {
      throw new ModelError(configPath, `num_experts_per_tok is ${config.expertsPerToken} but layer ${layer} of model.onnx picks ${k}`,
        'Use the config.json that was exported with this model.onnx');
    }
    if (typeof e === 'number' && e !== config.nRoutedExperts) {
      throw new ModelError(configPath, `n_routed_experts is ${config.nRoutedExperts} but layer ${layer} of model.onnx scores ${e}`,
        'Use the config.json that was exported with this model.onnx');
    }
  }
}
