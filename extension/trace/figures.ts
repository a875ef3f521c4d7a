/**
 * Figures every view of a run reports the same way — the CLI summary, the inspector, the editor. Pure:
 * no DOM, no Node, so both bundles import it.
 */
import type { TraceStore } from './store';
import type { DoneReason, TraceMeta } from './types';

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

/**
 * Decode speed, the one definition (CLI, status bar, inspector, traces): generated tokens per second of
 * model time — the time inside session.run — over decode steps [from, to). Step 0 is the prefill, and each
 * decode step generates one token. 0 when no time was measured.
 */
export function decodeTokensPerSecond(stepRunMs: ArrayLike<number>, from = 1, to = stepRunMs.length): number {
  let ms = 0;
  for (let s = Math.max(0, from); s < to; s++) ms += stepRunMs[s];
  const tokens = Math.max(0, to - Math.max(0, from));
  return ms > 0 ? (tokens * 1000) / ms : 0;
}

/** What ended a run, with its figures. */
export interface RunSummary {
  reason: DoneReason;
  unterminatedReasoning: boolean;
  generatedTokens: number;
  /** decodeTokensPerSecond over the whole run. */
  decodeTokensPerSecond: number;
  message?: string;
}

/** A run's end as the engine, the inspector and the CLI report it, from the store alone: a trace file gives the same. */
export function runSummary(store: TraceStore): RunSummary {
  const done = store.done ?? { reason: 'error' as const, unterminatedReasoning: false, message: 'the trace has no end record' };
  return { ...done, generatedTokens: Math.max(0, store.stepCount - 1), decodeTokensPerSecond: decodeTokensPerSecond(store.stepRunMs()) };
}
