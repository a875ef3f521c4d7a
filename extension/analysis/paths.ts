import { topExpertAt } from '../trace/figures';
import { type RoutingInput, selectTokens, type TokenSelection } from './input';

/** One sequence of top-1 experts across MoE layers [layerStart, layerEnd), and how many tokens took it. */
export interface RoutingPath {
  /** Top-1 expert per layer of the window; -1 where the token has no routing at that layer. */
  experts: Int16Array;
  count: number;
  /** The first selected token that took it. */
  firstToken: number;
}

/**
 * Top-1 transitions from one MoE layer to the next, sparse: entry n says `count` tokens had top-1
 * expert `from[n]` at layer `fromLayerIndex` and `to[n]` at the next. Heaviest first (ties: from, to).
 * Tokens missing either end are left out.
 */
export interface LayerTransitions {
  fromLayerIndex: number;
  from: Int16Array;
  to: Int16Array;
  count: Int32Array;
}

export interface RoutingPaths {
  /** MoE layer indices [layerStart, layerEnd) the paths run through. */
  layerStart: number;
  layerEnd: number;
  tokens: number;
  distinctPaths: number;
  /** The `top` most frequent paths, most frequent first (ties: the one seen first). */
  paths: RoutingPath[];
  /** Tokens on the paths left out of `paths`: with them, the counts sum to `tokens`. */
  otherTokens: number;
  /** One per adjacent pair of layers in the window. */
  transitions: LayerTransitions[];
}

export interface PathOptions {
  top?: number;
  layerStart?: number;
  layerEnd?: number;
}

/** Top-1 expert of every selected token at every MoE layer, layer-major (L × tokens.length). */
export function topExperts(input: RoutingInput, tokens: Int32Array, layerStart = 0, layerEnd = input.moeLayers.length): Int16Array {
  const k = input.expertsPerToken;
  const top = new Int16Array((layerEnd - layerStart) * tokens.length);
  for (let l = layerStart; l < layerEnd; l++) {
    const { expertIds, weights } = input.routing[l];
    const row = (l - layerStart) * tokens.length;
    for (let i = 0; i < tokens.length; i++) {
      const e = topExpertAt(expertIds, weights, tokens[i], k);
      top[row + i] = e < input.nRoutedExperts ? e : -1;
    }
  }
  return top;
}

export function routingPaths(input: RoutingInput, selection: TokenSelection, options: PathOptions = {}): RoutingPaths {
  const layerStart = Math.max(0, options.layerStart ?? 0);
  const layerEnd = Math.min(input.moeLayers.length, options.layerEnd ?? input.moeLayers.length);
  const width = Math.max(0, layerEnd - layerStart);
  const tokens = selectTokens(input, selection);
  const n = tokens.length;
  const top = topExperts(input, tokens, layerStart, layerStart + width);

  // a path as a string of UTF-16 code units (expert + 1, so -1 is 0): a cheap exact key
  const seen = new Map<string, { count: number; firstToken: number; position: number }>();
  const codes = new Array<number>(width);
  for (let i = 0; i < n; i++) {
    for (let l = 0; l < width; l++) codes[l] = top[l * n + i] + 1;
    const key = String.fromCharCode(...codes);
    const entry = seen.get(key);
    if (entry) entry.count++;
    else seen.set(key, { count: 1, firstToken: tokens[i], position: i });
  }
  const ranked = [...seen.values()].sort((a, b) => b.count - a.count || a.position - b.position);
  const kept = ranked.slice(0, Math.max(0, options.top ?? 20));
  const paths = kept.map(({ count, firstToken, position }) => {
    const experts = new Int16Array(width);
    for (let l = 0; l < width; l++) experts[l] = top[l * n + position];
    return { experts, count, firstToken };
  });
  let otherTokens = n;
  for (const p of paths) otherTokens -= p.count;

  const transitions: LayerTransitions[] = [];
  const cell = new Int32Array(input.nRoutedExperts * input.nRoutedExperts);
  for (let l = 0; l + 1 < width; l++) transitions.push(transitionsBetween(top, n, l, input.nRoutedExperts, cell, layerStart + l));
  return { layerStart, layerEnd: layerStart + width, tokens: n, distinctPaths: seen.size, paths, otherTokens, transitions };
}

/** Counts into `cell` (E × E, zero on entry and on return), reading back only the cells touched. */
function transitionsBetween(top: Int16Array, n: number, row: number, experts: number, cell: Int32Array, fromLayerIndex: number): LayerTransitions {
  const touched: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = top[row * n + i];
    const b = top[(row + 1) * n + i];
    if (a < 0 || b < 0) continue;
    const c = a * experts + b;
    if (cell[c]++ === 0) touched.push(c);
  }
  touched.sort((x, y) => cell[y] - cell[x] || x - y);
  const from = new Int16Array(touched.length);
  const to = new Int16Array(touched.length);
  const count = new Int32Array(touched.length);
  touched.forEach((c, m) => {
    from[m] = Math.floor(c / experts);
    to[m] = c % experts;
    count[m] = cell[c];
    cell[c] = 0;
  });
  return { fromLayerIndex, from, to, count };
}

/** A layer pair's transitions as a dense E × E count matrix, row-major (row: expert at the first layer). */
export function transitionMatrix(transitions: LayerTransitions, experts: number): Int32Array {
  const matrix = new Int32Array(experts * experts);
  for (let m = 0; m < transitions.count.length; m++) matrix[transitions.from[m] * experts + transitions.to[m]] = transitions.count[m];
  return matrix;
}
