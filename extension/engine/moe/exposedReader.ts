/**
 * Reads a third-party graph's routing from the router tensors expose.ts added: the experts the model
 * used (its own TopK ids, in its order, wherever the graph has them — never re-ranked), the gate weights
 * as it applied them, and the full router distribution, per MoE layer and token.
 */
import type * as ort from 'onnxruntime-node';
import type { RoutingReader, StepRouting } from '../routing';
import type { RouterPlan } from './discover';
import { halfsToFloats, sigmoidInto, softmaxInto, softmaxTopK, sparseMixer } from './recipes';

/** A fetched tensor's values as numbers: fp16 converted, int64 to number. */
function floats(t: ort.Tensor): Float32Array {
  if (t.type === 'float32') return t.data as Float32Array;
  if (t.type === 'float16') return t.data instanceof Uint16Array ? halfsToFloats(t.data) : Float32Array.from(t.data as ArrayLike<number>);
  if (t.type === 'int64') return Float32Array.from(t.data as BigInt64Array, Number);
  return Float32Array.from(t.data as ArrayLike<number>);
}

function ints(t: ort.Tensor): ArrayLike<number> {
  return t.type === 'int64' ? Array.from(t.data as BigInt64Array, Number) : (t.data as ArrayLike<number>);
}

export function exposedReader(plans: readonly RouterPlan[]): RoutingReader {
  const outputNames = [...new Set(plans.flatMap((p) => Object.values(p.tensors).filter((t): t is string => typeof t === 'string')))];
  return {
    outputNames,
    sharedGates: plans.map((p) => p.tensors.sharedGate !== undefined),
    stepBuffers: () => ({}),
    read(outputs, into) {
      plans.forEach((plan, l) => readLayer(plan, outputs, into, l));
    },
  };
}

function readLayer(plan: RouterPlan, outputs: Readonly<Record<string, ort.Tensor>>, into: StepRouting, l: number): void {
  const { experts: E, k } = plan;
  const n = into.tokens;
  const { expertIds, weights, scores, sharedGates } = into.layers[l];
  const get = (name: string | undefined) => (name ? outputs[name] : undefined);
  const logits = get(plan.tensors.logits);
  const logitValues = logits ? floats(logits) : undefined;
  const idValues = get(plan.tensors.ids);
  const ids = idValues ? ints(idValues) : undefined;
  const gateValues = get(plan.tensors.gates);
  const gates = gateValues ? floats(gateValues) : undefined;
  const masked = get(plan.tensors.maskedRow);
  const maskedValues = masked ? floats(masked) : undefined;
  const routerWeights = get(plan.tensors.routerWeights);
  const rw = routerWeights ? floats(routerWeights) : undefined;
  const shared = get(plan.tensors.sharedGate);
  const sharedValues = shared ? floats(shared) : undefined;
  const row = new Float32Array(E);
  for (let t = 0; t < n; t++) {
    const logitRow = logitValues?.subarray(t * E, (t + 1) * E);
    const idsOut = expertIds.subarray(t * k, (t + 1) * k);
    const wOut = weights.subarray(t * k, (t + 1) * k);
    const sOut = scores.subarray(t * E, (t + 1) * E);
    if (plan.pattern === 'P1') {
      if (!logitRow) continue;
      if (plan.recipe === 'sparse_mixer') sparseMixer(logitRow, sOut, idsOut, wOut);
      else softmaxTopK(logitRow, k, plan.normalize, sOut, idsOut, wOut);
      if (rw) {
        // DeepSeek-style router_weights: chosen by input 1, weighted by input 14
        let sum = 0;
        for (let j = 0; j < k; j++) { wOut[j] = rw[t * E + idsOut[j]]; sum += wOut[j]; }
        if (plan.normalize && sum > 0) for (let j = 0; j < k; j++) wOut[j] /= sum;
        sOut.set(rw.subarray(t * E, (t + 1) * E));
      }
    } else {
      for (let j = 0; j < k; j++) idsOut[j] = ids ? ids[t * k + j] : -1;
      if (plan.recipe === 'sigmoid_bias') {
        if (logitRow) sigmoidInto(logitRow, sOut);
      } else if (logitRow) softmaxInto(logitRow, sOut);
      if (plan.pattern === 'P2' && maskedValues) {
        // what the fused op applies: softmax over the masked log-weights, at the chosen experts
        softmaxInto(maskedValues.subarray(t * E, (t + 1) * E), row);
        for (let j = 0; j < k; j++) wOut[j] = idsOut[j] >= 0 ? row[idsOut[j]] : 0;
        if (!logitRow) sOut.set(row);
      } else if (gates) {
        wOut.set(gates.subarray(t * k, (t + 1) * k));
      } else computeGates(plan, sOut, logitRow, idsOut, wOut);
    }
    if (sharedGates && sharedValues) sharedGates[t] = sharedValues[t];
  }
}

/** Gate weights by the recipe, where the graph holds no gate tensor of its own. */
function computeGates(plan: RouterPlan, scores: Float32Array, logits: ArrayLike<number> | undefined, ids: Int16Array, out: Float32Array): void {
  const k = ids.length;
  if (plan.recipe === 'topk_softmax' && logits) {
    const picked = Array.from(ids, (e) => logits[e]);
    softmaxInto(picked, out);
    return;
  }
  let sum = 0;
  for (let j = 0; j < k; j++) { out[j] = scores[ids[j]]; sum += out[j]; }
  if (plan.normalize && sum > 0) for (let j = 0; j < k; j++) out[j] /= sum;
  for (let j = 0; j < k; j++) out[j] *= plan.scaling;
}
