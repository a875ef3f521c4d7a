/**
 * Figures every view of a run reports the same way — the CLI summary, the inspector, the editor. Pure:
 * no DOM, no Node, so both bundles import it.
 */
import type { TraceMeta } from './types';

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 ** 2).toFixed(2)} MiB`;
}

/** Bytes plain multi-head attention would hold for `tokensInCache` tokens in every layer. */
export function mhaEquivalentBytes(model: TraceMeta['model'], tokensInCache: number): number {
  return tokensInCache * model.kvBytesPerTokenMhaEquivalent * model.numLayers;
}

/**
 * The expert that colours token `t`: the heaviest gate weight among its `k` selected experts (ties: the
 * earlier), ids < 0 skipped; -1 when none. Not simply the first id: DeepSeek-V3 selects by score plus a
 * balancing bias, so the selection order is not the weight order.
 */
export function topExpertAt(expertIds: ArrayLike<number>, weights: ArrayLike<number>, t: number, k: number): number {
  let best = -1;
  let bestWeight = -Infinity;
  for (let j = t * k; j < (t + 1) * k; j++) {
    if (expertIds[j] >= 0 && weights[j] > bestWeight) {
      bestWeight = weights[j];
      best = expertIds[j];
    }
  }
  return best;
}

export interface Balance {
  assignments: number;
  /** Busiest expert's load over the mean load (1 = perfectly balanced). */
  maxOverMean: number;
  /** Shannon entropy of the load in bits, and as a fraction of log2(E) (1 = uniform). */
  entropyBits: number;
  normalizedEntropy: number;
}

/** Balance of one layer's assignments per expert. */
export function balance(counts: ArrayLike<number>): Balance {
  let total = 0;
  let max = 0;
  for (let i = 0; i < counts.length; i++) {
    total += counts[i];
    max = Math.max(max, counts[i]);
  }
  let entropyBits = 0;
  if (total > 0) for (let i = 0; i < counts.length; i++) if (counts[i] > 0) entropyBits -= (counts[i] / total) * Math.log2(counts[i] / total);
  const mean = total / Math.max(1, counts.length);
  return {
    assignments: total,
    maxOverMean: mean > 0 ? max / mean : 0,
    entropyBits,
    normalizedEntropy: counts.length > 1 && total > 0 ? entropyBits / Math.log2(counts.length) : 0,
  };
}
