import type * as ort from 'onnxruntime-node';
import { join } from 'node:path';
import { type ModelConfig, moeLayers } from './config';
import { LATENT_PARTS, PACKED_ROUTING, parseCacheName, pastFor, routedLayers, routingNames } from './contract';
import { ModelError } from './errors';
import type { GraphNames, ModelFolder } from './modelDir';

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
  /** Input and output names (the contract's, or those genai_config.json gives). */
  names: GraphNames;
  caches: CacheSpec[];
  /** MoE layers with routing, ascending. */
  routedLayers: number[];
  /** Experts chosen per token (k) and routed experts (E) of every MoE layer; 0 without MoE layers. */
  expertsPerToken: number;
  routedExperts: number;
  /** The graph has the contract's `routing.packed` output (one routing tensor per call). */
  packedRouting: boolean;
  vocabSize: number;
  /** float32, or float16 for half-precision exports (converted on read). */
  logitsType: ort.Tensor.Type;
  hasPositionIds: boolean;
  latentCache: boolean;
  outputNames: string[];
}

function tensorMeta(list: readonly ort.InferenceSession.ValueMetadata[]) {
  const out = new Map<string, { type: ort.Tensor.Type; shape: ReadonlyArray<number | string> }>();
  for (const m of list) if (m.isTensor) out.set(m.name, { type: m.type, shape: m.shape });
  return out;
}

/** `past_key_values.%d.key` → a matcher of names and a builder of the paired name. */
const template = (t: string) => ({
  match: new RegExp(`^${t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace('%d', '(\\d+)')}$`),
  name: (layer: number) => t.replace('%d', String(layer)),
});

/** Cache outputs paired with their inputs: by genai_config.json's templates, else present.* ↔ past_key_values.* (Optimum, transformers.js). */
function pairCaches(outputNames: readonly string[], names: GraphNames): { past: string; present: string; layer: number; part: string }[] {
  const pairs: { past: string; present: string; layer: number; part: string }[] = [];
  for (const present of outputNames) {
    const i = names.presentTemplates.findIndex((t) => template(t).match.test(present));
    if (i >= 0) {
      const layer = Number(template(names.presentTemplates[i]).match.exec(present)?.[1]);
      pairs.push({ past: template(names.pastTemplates[i]).name(layer), present, layer, part: i === 0 ? 'key' : i === 1 ? 'value' : `part${i}` });
      continue;
    }
    const past = pastFor(present);
    const parsed = parseCacheName(present);
    if (past && parsed) pairs.push({ past, present, layer: parsed.layer, part: parsed.part });
  }
  return pairs;
}

/**
 * Reads the graph's inputs and outputs and checks them against the folder. `routers` are the MoE
 * layers found by structure in a third-party graph (moe/discover.ts); without them the contract's
 * routing outputs are read. `packedLayers`: the session's graph keeps only the packed routing output,
 * and the file's per-layer outputs named these layers (onnxGraph.packedRoutingOnly).
 */
export function readLayout(session: ort.InferenceSession, folder: ModelFolder, routers?: { layers: number[]; experts: number; k: number }, packedLayers?: number[]): GraphLayout {
  const { config, names, modelPath } = folder;
  const configPath = join(folder.dir, 'config.json');
  const inputs = tensorMeta(session.inputMetadata);
  const outputs = tensorMeta(session.outputMetadata);
  for (const name of [names.inputIds, names.attentionMask]) {
    if (!inputs.has(name)) {
      throw new ModelError(modelPath, `the graph has no "${name}" input, so it is not a decoder-only language model export with a KV cache`,
        'Export with past_key_values inputs (Optimum, transformers.js, onnxruntime-genai or training/export.py conventions)');
    }
  }
  if (!outputs.has(names.logits)) throw new ModelError(modelPath, `the graph has no "${names.logits}" output`, 'Re-export the model with a logits output');

  const caches: CacheSpec[] = [];
  for (const pair of pairCaches(session.outputNames, names)) {
    const meta = inputs.get(pair.past);
    if (!meta) throw new ModelError(modelPath, `output ${pair.present} has no matching input ${pair.past}`, 'Re-export with paired cache inputs and outputs');
    caches.push({ ...pair, type: meta.type, emptyDims: meta.shape.map((d, i) => (i === 0 ? 1 : typeof d === 'number' ? d : 0)) });
  }
  const fed = new Set([names.inputIds, names.attentionMask, names.positionIds, ...caches.map((c) => c.past)]);
  const unknown = [...inputs.keys()].filter((n) => !fed.has(n));
  if (unknown.length > 0) {
    throw new ModelError(modelPath, `the graph takes inputs MoE Lens does not know how to fill: ${unknown.join(', ')}`,
      'Export the decoder with input_ids, attention_mask, position_ids and past_key_values.* inputs only');
  }
  const layers = new Set(caches.map((c) => c.layer));
  if (layers.size !== config.numLayers) {
    throw new ModelError(configPath, `num_hidden_layers is ${config.numLayers} but model.onnx has caches for ${layers.size} layers`,
      'Use the config.json that was exported with this model.onnx');
  }
  const latentCache = caches.some((c) => (LATENT_PARTS as readonly string[]).includes(c.part));
  if (latentCache) checkLatentDims(caches, config, configPath);

  let routed: number[];
  let k = 0;
  let experts = 0;
  if (routers) {
    ({ layers: routed, k, experts } = routers);
  } else {
    routed = packedLayers ?? routedLayers(session.outputNames);
    if (routed.length > 0) {
      checkRouting(routed, outputs, config, configPath);
      ({ expertsPerToken: k, nRoutedExperts: experts } = config);
    }
  }
  const vocab = outputs.get(names.logits)?.shape.at(-1);
  return {
    names, caches, routedLayers: routed, expertsPerToken: k, routedExperts: experts,
    packedRouting: !routers && routed.length > 0 && outputs.has(PACKED_ROUTING),
    vocabSize: typeof vocab === 'number' ? vocab : config.vocabSize,
    logitsType: outputs.get(names.logits)?.type ?? 'float32',
    hasPositionIds: inputs.has(names.positionIds), latentCache, outputNames: [...session.outputNames],
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
  // the packed output [B, T, L·(2k + E)]: with k from config.json, what E the graph routes over
  const packed = outputs.get(PACKED_ROUTING)?.shape.at(-1);
  if (typeof packed === 'number' && packed !== routed.length * (2 * config.expertsPerToken + config.nRoutedExperts)) {
    const experts = packed / routed.length - 2 * config.expertsPerToken;
    throw new ModelError(configPath, `n_routed_experts is ${config.nRoutedExperts} and num_experts_per_tok ${config.expertsPerToken}, but model.onnx packs routing `
      + `${Number.isInteger(experts) && experts > 0 ? `over ${experts} experts` : `of ${packed} values`} per token in its ${routed.length} MoE layers`,
    'Use the config.json that was exported with this model.onnx');
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
