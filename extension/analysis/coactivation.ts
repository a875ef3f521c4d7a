import { isRoutedSlot, type RoutingInput, selectTokens, type TokenSelection } from './input';

/**
 * Which experts one MoE layer chooses together. Matrices are E × E, row-major, symmetric.
 *
 * lift[i][j] = P(i and j) / (p_i p_j) = counts[i][j] · N / (load_i · load_j), with N the routed tokens:
 * 1 is what independent choices at those loads would give, above 1 the pair is chosen together more
 * often, 0 never together. NaN where load_i or load_j is 0: no evidence either way (views draw it blank,
 * JSON writes null). The diagonal follows the same formula, 1 / p_i.
 */
export interface Coactivation {
  layerIndex: number;
  layer: number;
  experts: number;
  /** N: selected tokens with at least one expert at this layer. */
  routedTokens: number;
  /** Tokens choosing each expert: the diagonal of counts. */
  load: Int32Array;
  /** p_i = load_i / N (0 when N is 0). */
  loadShare: Float64Array;
  /** Tokens whose chosen set holds both i and j. */
  counts: Int32Array;
  lift: Float64Array;
  /** Experts by load, heaviest first (ties: lower id). */
  orderByLoad: Int16Array;
  /**
   * Experts ordered so that those chosen together sit together: the leaf order of single-linkage
   * clustering on the correlation (phi) of their choice indicators, merging the most correlated pair
   * first and joining clusters end to end at the linking experts. Unused experts come last, by id.
   */
  orderClustered: Int16Array;
}

export function coactivation(input: RoutingInput, selection: TokenSelection, layerIndex: number): Coactivation {
  const { expertsPerToken: k, nRoutedExperts: experts } = input;
  const { expertIds } = input.routing[layerIndex];
  const counts = new Int32Array(experts * experts);
  const chosen = new Int32Array(k);
  let routedTokens = 0;
  for (const t of selectTokens(input, selection)) {
    let n = 0;
    for (let j = t * k; j < (t + 1) * k; j++) if (isRoutedSlot(expertIds, j, k, experts)) chosen[n++] = expertIds[j];
    if (n > 0) routedTokens++;
    for (let a = 0; a < n; a++) {
      const i = chosen[a];
      counts[i * experts + i]++;
      for (let b = a + 1; b < n; b++) {
        counts[i * experts + chosen[b]]++;
        counts[chosen[b] * experts + i]++;
      }
    }
  }
  const load = new Int32Array(experts);
  const loadShare = new Float64Array(experts);
  for (let i = 0; i < experts; i++) {
    load[i] = counts[i * experts + i];
    loadShare[i] = routedTokens > 0 ? load[i] / routedTokens : 0;
  }
  const lift = new Float64Array(experts * experts);
  for (let i = 0; i < experts; i++) {
    for (let j = 0; j < experts; j++) {
      lift[i * experts + j] = load[i] > 0 && load[j] > 0 ? (counts[i * experts + j] * routedTokens) / (load[i] * load[j]) : NaN;
    }
  }
  return {
    layerIndex, layer: input.moeLayers[layerIndex], experts, routedTokens, load, loadShare, counts, lift,
    orderByLoad: orderByLoad(load), orderClustered: clusteredOrder(counts, load, routedTokens),
  };
}

/** Every expert, heaviest first; ties by lower id. */
export function orderByLoad(load: ArrayLike<number>): Int16Array {
  return Int16Array.from({ length: load.length }, (_, i) => i).sort((a, b) => load[b] - load[a] || a - b);
}

/** Correlation of two experts' choice indicators over n tokens; NaN when either is chosen by none or by all. */
function phi(together: number, loadA: number, loadB: number, n: number): number {
  const spread = loadA * (n - loadA) * loadB * (n - loadB);
  return spread > 0 ? (n * together - loadA * loadB) / Math.sqrt(spread) : NaN;
}

function clusteredOrder(counts: Int32Array, load: Int32Array, n: number): Int16Array {
  const experts = load.length;
  const used: number[] = [];
  for (let i = 0; i < experts; i++) if (load[i] > 0) used.push(i);
  const pairCount = (used.length * (used.length - 1)) / 2;
  const pairA = new Int16Array(pairCount);
  const pairB = new Int16Array(pairCount);
  const similarity = new Float64Array(pairCount);
  let p = 0;
  for (let a = 0; a < used.length; a++) {
    for (let b = a + 1; b < used.length; b++) {
      const i = used[a];
      const j = used[b];
      const r = phi(counts[i * experts + j], load[i], load[j], n);
      pairA[p] = i;
      pairB[p] = j;
      similarity[p++] = Number.isNaN(r) ? -Infinity : r;
    }
  }
  // pairs were generated in (i, j) order, so equal similarities keep it: the order is deterministic
  const byClosest = Uint32Array.from({ length: pairCount }, (_, q) => q).sort((x, y) => similarity[y] - similarity[x] || x - y);

  const clusterOf = Int32Array.from({ length: experts }, (_, i) => i);
  const members = new Map<number, number[]>(used.map((i) => [i, [i]]));
  const root = (i: number): number => {
    while (clusterOf[i] !== i) i = clusterOf[i] = clusterOf[clusterOf[i]];
    return i;
  };
  for (const q of byClosest) {
    const i = pairA[q];
    const j = pairB[q];
    const ri = root(i);
    const rj = root(j);
    if (ri === rj) continue;
    const left = members.get(ri) as number[];
    const right = members.get(rj) as number[];
    if (left[0] === i && left.length > 1) left.reverse();
    if (right[right.length - 1] === j && right.length > 1) right.reverse();
    for (const m of right) left.push(m);
    members.delete(rj);
    clusterOf[rj] = ri;
  }
  const order = new Int16Array(experts);
  let o = 0;
  for (const cluster of members.values()) for (const m of cluster) order[o++] = m;
  for (let i = 0; i < experts; i++) if (load[i] === 0) order[o++] = i;
  return order;
}
