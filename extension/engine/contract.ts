/**
 * The graph names of the MoE Lens model contract, in one place (docs/model-contract.md explains them).
 * Caches follow the transformers.js / Optimum convention: `past_key_values.{layer}.{part}` in,
 * `present.{layer}.{part}` out. Routing outputs exist for every MoE layer.
 */
export const INPUT_IDS = 'input_ids';
export const ATTENTION_MASK = 'attention_mask';
export const POSITION_IDS = 'position_ids';
export const LOGITS = 'logits';

const PAST_PREFIX = 'past_key_values.';
const PRESENT_PREFIX = 'present.';

/** Latent (MLA) cache parts, and the plain-attention ones the contract also accepts. */
export const LATENT_PARTS = ['kv_latent', 'k_rope'] as const;
export const MHA_PARTS = ['key', 'value'] as const;

export const pastName = (layer: number, part: string): string => `${PAST_PREFIX}${layer}.${part}`;
export const presentName = (layer: number, part: string): string => `${PRESENT_PREFIX}${layer}.${part}`;

/** `present.3.kv_latent` → `past_key_values.3.kv_latent`; undefined for other names. */
export function pastFor(outputName: string): string | undefined {
  return outputName.startsWith(PRESENT_PREFIX) ? PAST_PREFIX + outputName.slice(PRESENT_PREFIX.length) : undefined;
}

/** `past_key_values.3.kv_latent` → { layer: 3, part: 'kv_latent' }. */
export function parseCacheName(name: string): { layer: number; part: string } | undefined {
  const m = /^(?:past_key_values|present)\.(\d+)\.(.+)$/.exec(name);
  return m ? { layer: Number(m[1]), part: m[2] } : undefined;
}

/** Every MoE layer's routing in one tensor [B, T, L, 2k + E] (docs/model-contract.md). */
export const PACKED_ROUTING = 'routing.packed';

export const routingNames = (layer: number) => ({
  expertIds: `routing.${layer}.expert_ids`,
  expertWeights: `routing.${layer}.expert_weights`,
  routerScores: `routing.${layer}.router_scores`,
});

/** Layers that have routing outputs, from the graph's output names, ascending. */
export function routedLayers(outputNames: readonly string[]): number[] {
  const layers = new Set<number>();
  for (const name of outputNames) {
    const m = /^routing\.(\d+)\.expert_ids$/.exec(name);
    if (m) layers.add(Number(m[1]));
  }
  return [...layers].sort((a, b) => a - b);
}
