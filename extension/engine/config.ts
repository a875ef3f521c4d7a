import { ModelError } from './errors';

/** The fields of a Hugging Face style config.json that the engine uses. */
export interface ModelConfig {
  modelType: string;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKeyValueHeads: number;
  headDim: number;
  /** MoE */
  nRoutedExperts: number;
  nSharedExperts: number;
  expertsPerToken: number;
  firstDenseLayers: number;
  /** MLA; kvLoraRank is 0 for plain attention */
  kvLoraRank: number;
  qkRopeHeadDim: number;
  qkNopeHeadDim: number;
  vHeadDim: number;
  maxPositions: number;
  bosTokenId: number;
  eosTokenIds: number[];
  padTokenId: number;
}

type Json = Record<string, unknown>;

function int(raw: Json, file: string, key: string, fallback?: number): number {
  const v = raw[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new ModelError(file, `"${key}" must be a non-negative integer, found ${JSON.stringify(raw[key])}`,
      'Fix the field or re-export the model (training/export.py writes a complete config.json)');
  }
  return v;
}

export function parseConfig(raw: unknown, file: string): ModelConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ModelError(file, 'is not a JSON object', 'Use the config.json that came with the model');
  }
  const c = raw as Json;
  const numHeads = int(c, file, 'num_attention_heads');
  const hidden = int(c, file, 'hidden_size');
  const kvLoraRank = int(c, file, 'kv_lora_rank', 0);
  const eos = c.eos_token_id;
  const eosTokenIds = Array.isArray(eos) ? eos.map((_, i) => int(eos as unknown as Json, file, String(i))) : [int(c, file, 'eos_token_id')];
  return {
    modelType: typeof c.model_type === 'string' ? c.model_type : 'unknown',
    vocabSize: int(c, file, 'vocab_size'),
    hiddenSize: hidden,
    numLayers: int(c, file, 'num_hidden_layers'),
    numHeads,
    numKeyValueHeads: int(c, file, 'num_key_value_heads', numHeads),
    headDim: int(c, file, 'head_dim', Math.floor(hidden / Math.max(1, numHeads))),
    nRoutedExperts: int(c, file, 'n_routed_experts', int(c, file, 'num_local_experts', int(c, file, 'num_experts', 0))),
    nSharedExperts: int(c, file, 'n_shared_experts', 0),
    expertsPerToken: int(c, file, 'num_experts_per_tok', 0),
    firstDenseLayers: int(c, file, 'first_k_dense_replace', 0),
    kvLoraRank,
    qkRopeHeadDim: int(c, file, 'qk_rope_head_dim', 0),
    qkNopeHeadDim: int(c, file, 'qk_nope_head_dim', 0),
    vHeadDim: int(c, file, 'v_head_dim', 0),
    maxPositions: int(c, file, 'max_position_embeddings'),
    bosTokenId: int(c, file, 'bos_token_id', 0),
    eosTokenIds,
    padTokenId: int(c, file, 'pad_token_id', eosTokenIds[0]),
  };
}

/** MoE layer indices the config declares (DeepSeek: every layer from first_k_dense_replace on). */
export function moeLayers(config: ModelConfig): number[] {
  if (config.nRoutedExperts === 0) return [];
  const out: number[] = [];
  for (let i = config.firstDenseLayers; i < config.numLayers; i++) out.push(i);
  return out;
}

/**
 * Cache values one token adds to one layer: what the graph holds, and what plain multi-head
 * attention would hold for the same heads (K with nope+rope dims, V with v dims per head).
 */
export function cacheValuesPerToken(config: ModelConfig): { actual: number; mhaEquivalent: number } {
  if (config.kvLoraRank > 0) {
    return {
      actual: config.kvLoraRank + config.qkRopeHeadDim,
      mhaEquivalent: config.numHeads * (config.qkNopeHeadDim + config.qkRopeHeadDim + config.vHeadDim),
    };
  }
  const kv = 2 * config.numKeyValueHeads * config.headDim;
  return { actual: kv, mhaEquivalent: 2 * config.numHeads * config.headDim };
}
