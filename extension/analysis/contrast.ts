import { Segment } from '../trace/types';
import type { RoutingInput, TokenSelection } from './input';
import { expertLoads, type LayerLoad, loadShares } from './load';

/** Any analysis of a selection: `coactivation` at a layer, `routingPaths`, `routerConfidence`, … */
export type SelectionAnalysis<R> = (input: RoutingInput, selection: TokenSelection) => R;

export interface ContrastSide<R> {
  selection: TokenSelection;
  result: R;
  loads: LayerLoad[];
}

/** One analysis on two selections, side by side. */
export interface Contrast<R> {
  a: ContrastSide<R>;
  b: ContrastSide<R>;
  experts: number;
  /**
   * L × E, layer-major: each expert's share of a's routed tokens minus its share of b's (shares, not
   * counts, so selections of different sizes compare). Positive: the expert is busier in a.
   */
  loadDifference: Float64Array;
}

export function contrast<R>(input: RoutingInput, analyse: SelectionAnalysis<R>, a: TokenSelection, b: TokenSelection): Contrast<R> {
  const experts = input.nRoutedExperts;
  const side = (selection: TokenSelection): ContrastSide<R> => ({ selection, result: analyse(input, selection), loads: expertLoads(input, selection) });
  const first = side(a);
  const second = side(b);
  const loadDifference = loadShares(first.loads, experts);
  const subtrahend = loadShares(second.loads, experts);
  for (let c = 0; c < loadDifference.length; c++) loadDifference[c] -= subtrahend[c];
  return { a: first, b: second, experts, loadDifference };
}

/** Reasoning (a) against answer (b), within tokens [start, end) (default: the whole trace). */
export function reasoningVersusAnswer<R>(input: RoutingInput, analyse: SelectionAnalysis<R>, start = 0, end = input.tokenCount): Contrast<R> {
  return contrast(input, analyse, { start, end, segment: Segment.Reasoning }, { start, end, segment: Segment.Answer });
}

/** Prompt (a) against everything generated, reasoning and answer (b), within tokens [start, end). */
export function promptVersusGenerated<R>(input: RoutingInput, analyse: SelectionAnalysis<R>, start = 0, end = input.tokenCount): Contrast<R> {
  return contrast(input, analyse, { start, end, segment: Segment.Prompt }, { start, end, segment: [Segment.Reasoning, Segment.Answer] });
}
