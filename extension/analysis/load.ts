import { isRoutedSlot, type RoutingInput, selectTokens, type TokenSelection } from './input';

/** How the selected tokens spread over one MoE layer's experts. */
export interface LayerLoad {
  /** Index into moeLayers, and the model layer it names. */
  layerIndex: number;
  layer: number;
  /** Selected tokens with at least one expert at this layer (the denominator of every share). */
  routedTokens: number;
  /** Tokens sent to each expert (length E); they sum to k × routedTokens when nothing is missing. */
  counts: Int32Array;
}

export function layerLoadOf(input: RoutingInput, tokens: Int32Array, layerIndex: number): LayerLoad {
  const { expertsPerToken: k, nRoutedExperts: experts } = input;
  const { expertIds } = input.routing[layerIndex];
  const counts = new Int32Array(experts);
  let routedTokens = 0;
  for (const t of tokens) {
    let routed = false;
    for (let j = t * k; j < (t + 1) * k; j++) {
      if (!isRoutedSlot(expertIds, j, k, experts)) continue;
      counts[expertIds[j]]++;
      routed = true;
    }
    if (routed) routedTokens++;
  }
  return { layerIndex, layer: input.moeLayers[layerIndex], routedTokens, counts };
}

/** Load of every MoE layer over a selection, moeLayers order. */
export function expertLoads(input: RoutingInput, selection: TokenSelection): LayerLoad[] {
  const tokens = selectTokens(input, selection);
  return input.moeLayers.map((_, l) => layerLoadOf(input, tokens, l));
}

/** Each expert's share of the routed tokens, layer-major (L × E); 0 for a layer with no routed token. */
export function loadShares(loads: readonly LayerLoad[], experts: number): Float64Array {
  const shares = new Float64Array(loads.length * experts);
  loads.forEach((load, l) => {
    if (load.routedTokens === 0) return;
    for (let e = 0; e < experts; e++) shares[l * experts + e] = load.counts[e] / load.routedTokens;
  });
  return shares;
}
