/**
 * Two runs side by side: tokens are aligned by position, and a position counts only where both traces
 * hold the same token id there. Per MoE layer (matched by model layer number): how much the chosen
 * expert sets overlap, how far the gate weights moved, and how each expert's load changed. Pure.
 */
import { isRoutedSlot, type RoutingInput } from './input';

export interface LayerComparison {
  /** The model layer, and its index in each trace's moeLayers. */
  layer: number;
  layerIndexA: number;
  layerIndexB: number;
  /** Per aligned position (aligned order): |A ∩ B| / |A ∪ B| of the chosen experts (1 when both are empty). */
  jaccard: Float64Array;
  /**
   * Per aligned position: total variation distance ½ Σ_e |a_e − b_e| between the gate weights of the
   * chosen experts, each side normalised to sum 1 (0 = same experts at the same weights, 1 = disjoint).
   * NaN when a side has no positive weight.
   */
  weightDistance: Float64Array;
  meanJaccard: number;
  /** Mean over positions where it is defined; NaN when none is. */
  meanWeightDistance: number;
  /** Aligned positions whose chosen sets are equal. */
  identicalSets: number;
  /** The first aligned position (a token index) whose sets differ, or null. */
  firstDivergence: number | null;
  /** Assignments per expert over the aligned positions, and B − A. */
  loadA: Int32Array;
  loadB: Int32Array;
  loadDifference: Int32Array;
}

export interface TraceComparison {
  tokensA: number;
  tokensB: number;
  experts: number;
  /** Token indices where both traces hold the same token id, ascending. */
  aligned: Int32Array;
  /** The first position where the token streams differ (one ends, or ids differ); null when identical. */
  firstTokenDifference: number | null;
  /** Model layers with routing in both traces, ascending. */
  layers: LayerComparison[];
  /** Model layers routed in only one of the traces. */
  onlyA: number[];
  onlyB: number[];
  /** The first aligned token, and at it the first layer, whose expert sets differ; null when none does. */
  firstDivergence: { token: number; layer: number } | null;
}

/** Chosen experts of one token, with their weights normalised to sum 1 (weights ≤ 0 count as 0). */
function chosen(r: RoutingInput, l: number, t: number, into: Map<number, number>): number {
  into.clear();
  const k = r.expertsPerToken;
  const { expertIds, weights } = r.routing[l];
  let sum = 0;
  for (let j = t * k; j < (t + 1) * k; j++) {
    if (!isRoutedSlot(expertIds, j, k, r.nRoutedExperts)) continue;
    const w = Number.isFinite(weights[j]) && weights[j] > 0 ? weights[j] : 0;
    into.set(expertIds[j], w);
    sum += w;
  }
  return sum;
}

export function compareTraces(a: RoutingInput, b: RoutingInput): TraceComparison {
  if (a.nRoutedExperts !== b.nRoutedExperts) {
    throw new RangeError(`the traces route over different experts (${a.nRoutedExperts} and ${b.nRoutedExperts}): they come from different models`);
  }
  const experts = a.nRoutedExperts;
  const common = Math.min(a.tokenCount, b.tokenCount);
  const alignedList: number[] = [];
  let firstTokenDifference: number | null = null;
  for (let t = 0; t < common; t++) {
    if (a.tokenIds[t] === b.tokenIds[t]) alignedList.push(t);
    else firstTokenDifference ??= t;
  }
  if (firstTokenDifference === null && a.tokenCount !== b.tokenCount) firstTokenDifference = common;
  const aligned = Int32Array.from(alignedList);

  const layers: LayerComparison[] = [];
  const setA = new Map<number, number>();
  const setB = new Map<number, number>();
  a.moeLayers.forEach((layer, la) => {
    const lb = b.moeLayers.indexOf(layer);
    if (lb < 0) return;
    const n = aligned.length;
    const jaccard = new Float64Array(n);
    const weightDistance = new Float64Array(n);
    const loadA = new Int32Array(experts);
    const loadB = new Int32Array(experts);
    let identicalSets = 0;
    let firstDivergence: number | null = null;
    let jSum = 0;
    let dSum = 0;
    let dCount = 0;
    for (let i = 0; i < n; i++) {
      const t = aligned[i];
      const sumA = chosen(a, la, t, setA);
      const sumB = chosen(b, lb, t, setB);
      let both = 0;
      let distance = 0;
      for (const [e, w] of setA) {
        loadA[e]++;
        const other = setB.get(e);
        if (other !== undefined) both++;
        distance += Math.abs(w / sumA - (other ?? 0) / sumB);
      }
      for (const [e, w] of setB) {
        loadB[e]++;
        if (!setA.has(e)) distance += w / sumB;
      }
      const union = setA.size + setB.size - both;
      jaccard[i] = union === 0 ? 1 : both / union;
      weightDistance[i] = sumA > 0 && sumB > 0 ? distance / 2 : NaN;
      jSum += jaccard[i];
      if (!Number.isNaN(weightDistance[i])) {
        dSum += weightDistance[i];
        dCount++;
      }
      if (both === setA.size && both === setB.size) identicalSets++;
      else firstDivergence ??= t;
    }
    const loadDifference = new Int32Array(experts);
    for (let e = 0; e < experts; e++) loadDifference[e] = loadB[e] - loadA[e];
    layers.push({
      layer, layerIndexA: la, layerIndexB: lb, jaccard, weightDistance,
      meanJaccard: n > 0 ? jSum / n : NaN, meanWeightDistance: dCount > 0 ? dSum / dCount : NaN,
      identicalSets, firstDivergence, loadA, loadB, loadDifference,
    });
  });

  let firstDivergence: TraceComparison['firstDivergence'] = null;
  for (const l of layers) {
    if (l.firstDivergence === null) continue;
    if (!firstDivergence || l.firstDivergence < firstDivergence.token) firstDivergence = { token: l.firstDivergence, layer: l.layer };
  }
  return {
    tokensA: a.tokenCount, tokensB: b.tokenCount, experts, aligned, firstTokenDifference, layers,
    onlyA: a.moeLayers.filter((l) => !b.moeLayers.includes(l)),
    onlyB: b.moeLayers.filter((l) => !a.moeLayers.includes(l)),
    firstDivergence,
  };
}

/** Plain data for `--json`: typed arrays as arrays, NaN as null; per-token columns left out unless asked. */
export function comparisonToJson(c: TraceComparison, perToken = false): unknown {
  const num = (x: number) => (Number.isFinite(x) ? x : null);
  return {
    tokensA: c.tokensA,
    tokensB: c.tokensB,
    experts: c.experts,
    alignedTokens: c.aligned.length,
    firstTokenDifference: c.firstTokenDifference,
    firstDivergence: c.firstDivergence,
    onlyA: c.onlyA,
    onlyB: c.onlyB,
    layers: c.layers.map((l) => ({
      layer: l.layer,
      meanJaccard: num(l.meanJaccard),
      meanWeightDistance: num(l.meanWeightDistance),
      identicalSets: l.identicalSets,
      firstDivergence: l.firstDivergence,
      loadA: Array.from(l.loadA),
      loadB: Array.from(l.loadB),
      loadDifference: Array.from(l.loadDifference),
      ...(perToken ? { tokens: Array.from(c.aligned), jaccard: Array.from(l.jaccard, num), weightDistance: Array.from(l.weightDistance, num) } : {}),
    })),
  };
}
