import { type RoutingInput, selectTokens, type TokenSelection } from './input';

/** A token the router was least sure about, averaged over the MoE layers. */
export interface UncertainToken {
  token: number;
  meanNormalizedEntropy: number;
  meanMargin: number;
}

/**
 * How sure the router was, per selected token and MoE layer. Matrices are layer-major:
 * value[l · tokens.length + i] is layer l, token tokens[i]. NaN where the layer kept no scores or a
 * token's scores do not form a distribution (sum ≤ 0 or not finite).
 */
export interface RouterConfidence {
  tokens: Int32Array;
  /**
   * Entropy in nats of the scores normalised to sum 1 (sigmoid routers' scores do not), in [0, ln E].
   * Negative scores count as 0.
   */
  entropy: Float64Array;
  /** entropy / ln E, in [0, 1]: 1 is a router that could not choose at all. */
  normalizedEntropy: Float64Array;
  /** k-th highest raw score minus the (k+1)-th: how far the last chosen expert was from the first left out (≥ 0). */
  margin: Float64Array;
  /** Per token, the mean over layers that have a value (NaN when none). */
  meanNormalizedEntropy: Float64Array;
  meanMargin: Float64Array;
  /** Per layer, the mean over selected tokens that have a value. */
  layerMeanNormalizedEntropy: Float64Array;
  /** The `lowest` least confident tokens: highest mean normalised entropy first (ties: smaller margin, then earlier). */
  leastConfident: UncertainToken[];
}

export function routerConfidence(input: RoutingInput, selection: TokenSelection, lowest = 20): RouterConfidence {
  const { expertsPerToken: k, nRoutedExperts: experts } = input;
  const layers = input.routing.length;
  const tokens = selectTokens(input, selection);
  const n = tokens.length;
  const entropy = new Float64Array(layers * n).fill(NaN);
  const normalizedEntropy = new Float64Array(layers * n).fill(NaN);
  const margin = new Float64Array(layers * n).fill(NaN);
  const logE = Math.log(experts);
  const highest = new Float64Array(k + 1);

  for (let l = 0; l < layers; l++) {
    const { scores } = input.routing[l];
    if (!scores) continue;
    for (let i = 0; i < n; i++) {
      const base = tokens[i] * experts;
      // H = -Σ p ln p with p = s / S, computed in one pass as ln S - (Σ s ln s) / S
      let sum = 0;
      let weighted = 0;
      for (let e = 0; e < experts; e++) {
        const s = scores[base + e];
        if (s > 0) {
          sum += s;
          weighted += s * Math.log(s);
        }
      }
      if (!(sum > 0) || !Number.isFinite(sum)) continue;
      const h = Math.min(logE, Math.max(0, Math.log(sum) - weighted / sum));
      entropy[l * n + i] = h;
      normalizedEntropy[l * n + i] = experts > 1 ? Math.min(1, h / logE) : 0;
      if (k >= 1 && k < experts) margin[l * n + i] = kthMargin(scores, base, experts, k, highest);
    }
  }

  const meanNormalizedEntropy = new Float64Array(n);
  const meanMargin = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    meanNormalizedEntropy[i] = meanOverLayers(normalizedEntropy, i, n, layers);
    meanMargin[i] = meanOverLayers(margin, i, n, layers);
  }
  const layerMeanNormalizedEntropy = new Float64Array(layers);
  for (let l = 0; l < layers; l++) {
    let sum = 0;
    let count = 0;
    for (let i = 0; i < n; i++) {
      const v = normalizedEntropy[l * n + i];
      if (!Number.isNaN(v)) { sum += v; count++; }
    }
    layerMeanNormalizedEntropy[l] = count > 0 ? sum / count : NaN;
  }

  const ranked: number[] = [];
  for (let i = 0; i < n; i++) if (!Number.isNaN(meanNormalizedEntropy[i])) ranked.push(i);
  ranked.sort((a, b) => meanNormalizedEntropy[b] - meanNormalizedEntropy[a] || nanLast(meanMargin[a]) - nanLast(meanMargin[b]) || a - b);
  const leastConfident = ranked.slice(0, Math.max(0, lowest)).map((i) => ({ token: tokens[i], meanNormalizedEntropy: meanNormalizedEntropy[i], meanMargin: meanMargin[i] }));
  return { tokens, entropy, normalizedEntropy, margin, meanNormalizedEntropy, meanMargin, layerMeanNormalizedEntropy, leastConfident };
}

/** The (k+1) highest of one token's scores kept in `highest`, descending; returns the k-th minus the (k+1)-th. */
function kthMargin(scores: Float32Array, base: number, experts: number, k: number, highest: Float64Array): number {
  highest.fill(-Infinity);
  for (let e = 0; e < experts; e++) {
    const s = scores[base + e];
    if (!(s > highest[k])) continue;
    let j = k;
    while (j > 0 && highest[j - 1] < s) {
      highest[j] = highest[j - 1];
      j--;
    }
    highest[j] = s;
  }
  return Math.max(0, highest[k - 1] - highest[k]);
}

function meanOverLayers(values: Float64Array, i: number, n: number, layers: number): number {
  let sum = 0;
  let count = 0;
  for (let l = 0; l < layers; l++) {
    const v = values[l * n + i];
    if (!Number.isNaN(v)) { sum += v; count++; }
  }
  return count > 0 ? sum / count : NaN;
}

function nanLast(v: number): number {
  return Number.isNaN(v) ? Infinity : v;
}
