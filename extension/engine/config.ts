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
  /** MoE (field names vary by family: n_routed_experts / num_local_experts / num_experts) */
  nRoutedExperts: number;
  nSharedExperts: number;
  expertsPerToken: number;
  firstDenseLayers: number;
  /** Qwen-MoE: layers whose MLP is dense, and every how many layers one is sparse. */
  mlpOnlyLayers: number[];
  decoderSparseStep: number;
  /** Renormalise the k gate weights (absent: the family's default, so the graph decides). */
  normTopkProb?: boolean;
  scoringFunc?: string;
  routedScalingFactor?: number;
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

function intList(raw: Json, file: string, key: string): number[] {
  const v = raw[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x) && x >= 0)) {
    throw new ModelError(file, `"${key}" must be a list of layer numbers, found ${JSON.stringify(v).slice(0, 80)}`, 'Fix the field or re-export the model');
  }
  return v as number[];
}

/** The first of `keys` that holds a non-negative integer (families name the same thing differently). */
function firstInt(raw: Json, file: string, keys: string[], fallback: number): number {
  const key = keys.find((k) => raw[k] !== undefined && raw[k] !== null);
  return key ? int(raw, file, key) : fallback;
}

export function parseConfig(raw: unknown, file: string, generation: Record<string, unknown> = {}): ModelConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ModelError(file, 'is not a JSON object', 'Use the config.json that came with the model');
  }
  const c = raw as Json;
  const numHeads = int(c, file, 'num_attention_heads');
  const hidden = int(c, file, 'hidden_size');
  const kvLoraRank = int(c, file, 'kv_lora_rank', 0);
  // generation_config.json's end-of-sequence ids are the ones generation stops on (gpt-oss lists several)
  const eosRaw = generation.eos_token_id ?? c.eos_token_id;
  const eosList = Array.isArray(eosRaw) ? eosRaw : eosRaw === undefined || eosRaw === null ? [] : [eosRaw];
  const eosTokenIds = eosList.map((_, i) => int(eosList as unknown as Json, file, String(i)));
  if (eosTokenIds.length === 0) throw new ModelError(file, 'has no "eos_token_id" (nor does generation_config.json)', 'Add the end-of-sequence token id from the model\'s tokenizer');
  const bool = (key: string) => (typeof c[key] === 'boolean' ? (c[key] as boolean) : undefined);
  const number = (key: string) => (typeof c[key] === 'number' && Number.isFinite(c[key]) ? (c[key] as number) : undefined);
  return {
    modelType: typeof c.model_type === 'string' ? c.model_type : 'unknown',
    vocabSize: int(c, file, 'vocab_size'),
    hiddenSize: hidden,
    numLayers: int(c, file, 'num_hidden_layers'),
    numHeads,
    numKeyValueHeads: int(c, file, 'num_key_value_heads', numHeads),
    headDim: int(c, file, 'head_dim', Math.floor(hidden / Math.max(1, numHeads))),
    nRoutedExperts: firstInt(c, file, ['n_routed_experts', 'num_local_experts', 'num_experts'], 0),
    nSharedExperts: firstInt(c, file, ['n_shared_experts'], typeof c.shared_expert_intermediate_size === 'number' && c.shared_expert_intermediate_size > 0 ? 1 : 0),
    expertsPerToken: firstInt(c, file, ['num_experts_per_tok', 'experts_per_token', 'moe_topk'], 0),
    firstDenseLayers: firstInt(c, file, ['first_k_dense_replace', 'num_dense_layers'], 0),
    mlpOnlyLayers: intList(c, file, 'mlp_only_layers'),
    decoderSparseStep: firstInt(c, file, ['decoder_sparse_step'], 1) || 1,
    normTopkProb: bool('norm_topk_prob'),
    scoringFunc: typeof c.scoring_func === 'string' ? c.scoring_func : undefined,
    routedScalingFactor: number('routed_scaling_factor'),
    kvLoraRank,
    qkRopeHeadDim: int(c, file, 'qk_rope_head_dim', 0),
    qkNopeHeadDim: int(c, file, 'qk_nope_head_dim', 0),
    vHeadDim: int(c, file, 'v_head_dim', 0),
    maxPositions: firstInt(c, file, ['max_position_embeddings', 'n_positions', 'max_sequence_length'], 4096),
    bosTokenId: typeof c.bos_token_id === 'number' ? int(c, file, 'bos_token_id') : 0,
    eosTokenIds,
    padTokenId: int(c, file, 'pad_token_id', eosTokenIds[0]),
  };
}

/**
 * MoE layer indices the config declares: every layer from first_k_dense_replace (DeepSeek) or
 * num_dense_layers (LFM2) on, but the mlp_only_layers and, with decoder_sparse_step n, only every n-th
 * (Qwen-MoE).
 */
export function moeLayers(config: ModelConfig): number[] {
  if (config.nRoutedExperts === 0) return [];
  const out: number[] = [];
  for (let i = config.firstDenseLayers; i < config.numLayers; i++) {
    if (config.mlpOnlyLayers.includes(i) || (i + 1) % config.decoderSparseStep !== 0) continue;
    out.push(i);
  }
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
