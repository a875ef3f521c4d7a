/** Figures the views show, computed from the run's columns. Pure: no DOM. */
import { topExpertAt } from '../extension/trace/figures';
import { Segment } from '../extension/trace/types';
import type { RunData } from './state';

export const segmentIs = (s: number) => (segment: number) => segment === s;
export const generatedOnly = (segment: number) => segment !== Segment.Prompt;

/** Top-1 expert of token `t` at MoE layer index `l`, -1 when unknown. */
export function topExpert(run: RunData, l: number, t: number): number {
  const r = run.routing[l];
  return !r || t >= run.tokenCount ? -1 : topExpertAt(r.expertIds, r.weights, t, run.meta.model.expertsPerToken);
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
      if (run.scoresKept) for (let e = 0; e < n; e++) value[l * n + e] += r.scores[t * n + e];
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
