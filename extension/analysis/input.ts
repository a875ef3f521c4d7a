/**
 * The columnar input every expert analysis reads. Pure: no VS Code, no Node, no DOM, so the webview,
 * the CLI and the exporters share these analyses.
 */
import type { TraceStore } from '../trace/store';

/** One MoE layer's routing, token-major. */
export interface LayerRouting {
  /** k per token; -1 (or any id outside [0, E)) is a missing assignment and is skipped. */
  expertIds: Int16Array;
  /** k per token, beside expertIds. */
  weights: Float32Array;
  /** E per token, or null when the trace did not keep them. */
  scores: Float32Array | null;
}

export interface RoutingInput {
  tokenCount: number;
  /** k */
  expertsPerToken: number;
  /** E */
  nRoutedExperts: number;
  /** The model layer of each MoE layer; `routing` follows this order. */
  moeLayers: readonly number[];
  /** May be longer than tokenCount (spare capacity): only [0, tokenCount) is read, as for every column. */
  tokenIds: Int32Array;
  tokenTexts: readonly string[];
  /** Segment per token: 0 prompt, 1 reasoning, 2 answer. */
  segments: Uint8Array;
  routing: readonly LayerRouting[];
}

/**
 * Tokens [start, end), clamped to the trace; with `segment`, only tokens of that segment (or of any of
 * those segments: `[1, 2]` is everything generated).
 */
export interface TokenSelection {
  start: number;
  end: number;
  segment?: number | readonly number[];
}

export function fromStore(store: TraceStore): RoutingInput {
  const { expertsPerToken, nRoutedExperts, moeLayers } = store.meta.model;
  const tokenCount = store.tokenCount;
  return {
    tokenCount,
    expertsPerToken,
    nRoutedExperts,
    moeLayers,
    tokenIds: store.tokenIds(),
    tokenTexts: store.tokenTexts(),
    segments: store.tokenSegments(),
    routing: moeLayers.map((_, l) => {
      const { expertIds, weights, scores } = store.routing(l);
      return { expertIds, weights, scores: scores.length >= tokenCount * nRoutedExperts ? scores : null };
    }),
  };
}

/** The whole trace. */
export function everything(input: RoutingInput): TokenSelection {
  return { start: 0, end: input.tokenCount };
}

/** Indices of the selected tokens, ascending. */
export function selectTokens(input: RoutingInput, selection: TokenSelection): Int32Array {
  const start = Math.max(0, Math.floor(selection.start));
  const end = Math.min(input.tokenCount, Math.floor(selection.end));
  if (end <= start) return new Int32Array(0);
  const wanted = selection.segment;
  if (wanted === undefined) {
    const all = new Int32Array(end - start);
    for (let i = 0; i < all.length; i++) all[i] = start + i;
    return all;
  }
  const accepts = new Uint8Array(256);
  for (const s of typeof wanted === 'number' ? [wanted] : wanted) if (s >= 0 && s < 256) accepts[s] = 1;
  let count = 0;
  for (let t = start; t < end; t++) count += accepts[input.segments[t]];
  const picked = new Int32Array(count);
  let i = 0;
  for (let t = start; t < end; t++) if (accepts[input.segments[t]]) picked[i++] = t;
  return picked;
}

/** Whether slot `j` (token-major, k per token) holds an expert: in [0, E) and not a repeat of an earlier slot of its token. */
export function isRoutedSlot(expertIds: Int16Array, j: number, k: number, experts: number): boolean {
  const id = expertIds[j];
  if (id < 0 || id >= experts) return false;
  for (let o = j - (j % k); o < j; o++) if (expertIds[o] === id) return false;
  return true;
}
