import type { GraphIndex } from './graphIndex';

export interface ParameterCounts {
  /** Every initializer's values (quantized weights count as stored). */
  total: number;
  /** The routed experts' weights among them. */
  routedExperts: number;
}

/** `…experts.3.w1`, `…experts_gate`, `…experts.gate_up_proj`: a routed expert's weights (a shared expert's are not). */
export const isRoutedExpertWeight = (name: string) => /(^|[./_])experts([./_]|$)/.test(name) && !/shared/.test(name);

/**
 * Parameter counts from the graph's initializer shapes (external data is not read): all, and the
 * routed experts' — stacked [E, …] weights of fused ops and gathered-weight exports, or weights whose
 * name or reading node's name says routed expert (TorchScript renames a transposed weight
 * `onnx::MatMul_123`, but its MatMul keeps the module path `/…/experts.3/w1/MatMul`).
 */
export function countParameters(index: GraphIndex, experts: ReadonlySet<number>): ParameterCounts {
  let total = 0;
  let routedExperts = 0;
  for (const t of index.graph.initializer ?? []) {
    const dims = (t.dims ?? []).map(Number);
    const n = dims.reduce((a, b) => a * b, 1);
    total += n;
    const name = t.name ?? '';
    const routed = (experts.has(dims[0]) && dims.length >= 3) || isRoutedExpertWeight(name)
      || (index.consumersOf(name).length > 0 && index.consumersOf(name).every((c) => isRoutedExpertWeight(c.name ?? '')));
    if (routed) routedExperts += n;
  }
  return { total, routedExperts };
}

/** Parameters working for one token: all but the (E − k)/E of the routed experts' weights a token skips. */
export function activeParameters(counts: ParameterCounts, experts: number, k: number): number {
  return experts > 0 ? counts.total - counts.routedExperts * (1 - k / experts) : counts.total;
}
