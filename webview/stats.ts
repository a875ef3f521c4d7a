/** Figures the views show, computed from the run's columns. Pure: no DOM. */
import { Segment } from '../extension/trace/types';
import type { RunData } from './state';

export interface Balance {
  assignments: number;
  /** Busiest expert's load over the mean load (1 = perfectly balanced). */
  maxOverMean: number;
  /** Shannon entropy of the load in bits, and as a fraction of log2(E) (1 = uniform). */
  entropyBits: number;
  normalizedEntropy: number;
}

/** Assignments per expert at MoE layer index `l` over tokens [from, to) whose segment passes `keep`. */
export function expertLoad(run: RunData, l: number, keep: (segment: number) => boolean = () => true, from = 0, to = run.tokenCount): Float64Array {
  const { expertsPerToken: k, nRoutedExperts: n } = run.meta.model;
  const counts = new Float64Array(n);
  const ids = run.routing[l]?.expertIds;
  if (!ids) return counts;
  for (let t = from; t < to; t++) {
    if (!keep(run.segments[t])) continue;
    for (let j = 0; j < k; j++) {
      const e = ids[t * k + j];
      if (e >= 0 && e < n) counts[e]++;
    }
  }
  return counts;
}

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

export const segmentIs = (s: number) => (segment: number) => segment === s;
export const generatedOnly = (segment: number) => segment !== Segment.Prompt;

/** Top-1 expert of token `t` at MoE layer index `l`, -1 when unknown. */
export function topExpert(run: RunData, l: number, t: number): number {
  const k = run.meta.model.expertsPerToken;
  const r = run.routing[l];
  if (!r || t >= run.tokenCount) return -1;
  let best = -1;
  let bestW = -Infinity;
  for (let j = 0; j < k; j++) {
    const w = r.weights[t * k + j];
    if (r.expertIds[t * k + j] >= 0 && w > bestW) {
      bestW = w;
      best = r.expertIds[t * k + j];
    }
  }
  return best;
}

/** Token `t`'s selected experts at layer index `l`, heaviest first. */
export function routingOf(run: RunData, l: number, t: number): { expert: number; weight: number }[] {
  const k = run.meta.model.expertsPerToken;
  const r = run.routing[l];
  const out: { expert: number; weight: number }[] = [];
  if (!r || t >= run.tokenCount) return out;
  for (let j = 0; j < k; j++) if (r.expertIds[t * k + j] >= 0) out.push({ expert: r.expertIds[t * k + j], weight: r.weights[t * k + j] });
  return out.sort((a, b) => b.weight - a.weight);
}

export interface Heatmap {
  layers: number[];
  experts: number;
  /** layers × experts, row-major: router score (one token) or mean router score (a range). */
  value: Float64Array;
  /** layers × experts: 1/0 selected (one token) or the share of tokens routed there (a range). */
  selected: Float64Array;
  tokens: number;
}

/** Layers × experts over tokens [from, to) whose segment passes `keep` (a single token: from = t, to = t + 1). */
export function heatmap(run: RunData, from: number, to: number, keep: (segment: number) => boolean = () => true): Heatmap {
  const { expertsPerToken: k, nRoutedExperts: n, moeLayers } = run.meta.model;
  const value = new Float64Array(moeLayers.length * n);
  const selected = new Float64Array(moeLayers.length * n);
  let tokens = 0;
  const end = Math.min(to, run.tokenCount);
  for (let t = Math.max(0, from); t < end; t++) {
    if (!keep(run.segments[t])) continue;
    tokens++;
    run.routing.forEach((r, l) => {
      for (let e = 0; e < n; e++) value[l * n + e] += r.scores[t * n + e];
      for (let j = 0; j < k; j++) {
        const e = r.expertIds[t * k + j];
        if (e >= 0 && e < n) selected[l * n + e] += 1;
      }
    });
  }
  if (tokens > 1) for (let i = 0; i < value.length; i++) {
    value[i] /= tokens;
    selected[i] /= tokens;
  }
  return { layers: [...moeLayers], experts: n, value, selected, tokens };
}

export interface KvFigures {
  tokensInCache: number;
  latentBytes: number;
  mhaBytes: number;
  /** MHA-equivalent over actual bytes. */
  ratio: number;
}

export function kvFigures(run: RunData): KvFigures | null {
  const s = run.stepCount - 1;
  if (s < 0) return null;
  const latentBytes = run.kvTotal[s];
  const mhaBytes = run.mhaBytes[s];
  return { tokensInCache: run.tokensInCache[s], latentBytes, mhaBytes, ratio: latentBytes > 0 ? mhaBytes / latentBytes : 0 };
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

/** Assignments per expert at MoE layer index `l` in the given segments, from the running sums. */
export function segmentLoad(run: RunData, l: number, segments: readonly number[]): Float64Array {
  const n = run.meta.model.nRoutedExperts;
  const layers = run.routing.length;
  const out = new Float64Array(n);
  for (const s of segments) {
    const base = (s * layers + l) * n;
    for (let e = 0; e < n; e++) out[e] += run.loadBySegment[base + e];
  }
  return out;
}

/** The heatmap over whole segments, from the running sums. */
export function segmentHeatmap(run: RunData, segments: readonly number[]): Heatmap {
  const { nRoutedExperts: n, moeLayers } = run.meta.model;
  const layers = moeLayers.length;
  const value = new Float64Array(layers * n);
  const selected = new Float64Array(layers * n);
  let tokens = 0;
  for (const s of segments) {
    tokens += run.tokensBySegment[s];
    for (let i = 0; i < layers * n; i++) {
      value[i] += run.scoreSumBySegment[s * layers * n + i];
      selected[i] += run.loadBySegment[s * layers * n + i];
    }
  }
  if (tokens > 0) for (let i = 0; i < value.length; i++) {
    value[i] /= tokens;
    selected[i] /= tokens;
  }
  return { layers: [...moeLayers], experts: n, value, selected, tokens };
}
