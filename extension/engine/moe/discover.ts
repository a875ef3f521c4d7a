/**
 * Finds every MoE layer's router in an ONNX graph by structure (node names are hints for the layer
 * number only), in the three shapes exporters emit (docs/models.md):
 *   P1  a fused com.microsoft MoE/QMoE fed raw router logits (onnxruntime-genai's builder);
 *   P2  a fused op fed a masked log-weight row built in the graph by Sigmoid → Add(bias) → TopK →
 *       GatherElements → Log → ScatterElements (LFM2-MoE's builder, DeepSeek-style selection);
 *   P3  a decomposed router: MatMul → (Softmax | Sigmoid → Add(bias)) → TopK, then the dispatch
 *       (torch.onnx / Optimum exports of Mixtral, Qwen-MoE, OLMoE, gpt-oss, GLM-4.5 / DeepSeek-V3).
 * Each found router becomes a RouterPlan: the recipe, E and k, and the tensors to expose as outputs.
 */
import { GraphIndex, type Node, intAttribute } from './graphIndex';
import type { Recipe } from './recipes';

export type Pattern = 'P1' | 'P2' | 'P3';

export interface RouterPlan {
  layer: number;
  pattern: Pattern;
  recipe: Recipe;
  experts: number;
  k: number;
  /** Gate weights renormalised over the k chosen experts. */
  normalize: boolean;
  /** Routed scaling factor applied to the gate weights (1 when none). */
  scaling: number;
  /** Graph tensors to expose, by role. Names are the graph's own. */
  tensors: {
    /** Router logits [.., E]: the scores' source for softmax and sigmoid routers, and P1's selection input. */
    logits?: string;
    /** P1 with `router_weights` (input 14): gate weights are taken from it at the chosen experts. */
    routerWeights?: string;
    /** The experts the model chose, as its TopK returned them [.., k]. */
    ids?: string;
    /** The gate weights as the model applied them [.., k] (after any normalisation and scaling). */
    gates?: string;
    /** P2: the masked log-weight row the fused op receives [.., E]. */
    maskedRow?: string;
    /** A shared expert's sigmoid gate [.., 1]. */
    sharedGate?: string;
  };
  /** Op types from the router projection to the selection, for `inspect-model`. */
  path: string[];
  /** The node that selects: the TopK, or the fused MoE op. */
  node: string;
}

export interface Discovery {
  plans: RouterPlan[];
  /** What was searched, in words, for a model where nothing was found. */
  searched: string;
  notes: string[];
}

export const SEARCHED = 'com.microsoft MoE/QMoE nodes (fed router logits, or a masked row built by TopK → ScatterElements), '
  + 'and TopK nodes over a router projection (MatMul/Gemm/MatMulNBits, through Softmax, Sigmoid, bias Add, Cast, Reshape)';

const LINEAR = new Set(['MatMul', 'Gemm', 'MatMulNBits', 'FusedMatMul', 'MatMulInteger']);
/** Ops a router's value passes through unchanged in meaning. */
const PASS = new Set(['Cast', 'Reshape', 'Identity', 'Squeeze', 'Unsqueeze', 'Flatten', 'Expand']);

interface Walk {
  /** The router projection node, and the tensor right after it (and its bias Add, if any). */
  linear: Node;
  logits: string;
  ops: string[];
  sawSoftmax: boolean;
  sawSigmoid: boolean;
  sigmoidOut?: string;
}

/** Walks from a tensor back to the router projection; undefined when the chain holds anything else. */
function walkBack(g: GraphIndex, tensor: string, maxSteps = 24): Walk | undefined {
  const ops: string[] = [];
  let sawSoftmax = false;
  let sawSigmoid = false;
  let sigmoidOut: string | undefined;
  let current = tensor;
  let lastLinearOut: string | undefined;
  for (let i = 0; i < maxSteps; i++) {
    const node = g.producer(current);
    if (!node) return undefined;
    const op = node.opType ?? '';
    ops.unshift(op);
    if (LINEAR.has(op)) {
      return { linear: node, logits: lastLinearOut ?? current, ops, sawSoftmax, sawSigmoid, sigmoidOut };
    }
    const inputs = (node.input ?? []).filter(Boolean);
    if (op === 'Softmax') sawSoftmax = true;
    if (op === 'Sigmoid') { sawSigmoid = true; sigmoidOut = current; }
    let next: string | undefined;
    if (PASS.has(op) || op === 'Softmax' || op === 'Sigmoid' || op === 'LogSoftmax') next = inputs[0];
    else if (op === 'Add' || op === 'Sub' || op === 'Mul') {
      // a bias or correction term: one side is a constant (or derived only from initializers)
      const data = inputs.filter((x) => g.initializer(x) === undefined && g.constant(x) === undefined);
      if (data.length !== 1) return undefined;
      next = data[0];
      // the router's own bias (gpt-oss): logits are the biased projection
      if (op === 'Add' && !sawSoftmax && !sawSigmoid && g.producer(next) && LINEAR.has(g.producer(next)?.opType ?? '')) lastLinearOut = current;
    } else if (op === 'Where') {
      // masked_fill of group-limited selection: follow the data branch that is not a constant
      const data = inputs.slice(1).filter((x) => g.constant(x) === undefined && g.initializer(x) === undefined);
      if (data.length !== 1) return undefined;
      next = data[0];
    } else return undefined;
    if (!next) return undefined;
    current = next;
  }
  return undefined;
}

/** Experts E of a router projection: its weight's output dimension. */
function expertsOf(g: GraphIndex, linear: Node, logits: string): number | undefined {
  const op = linear.opType;
  if (op === 'MatMulNBits') return intAttribute(linear, 'N', 0) || undefined;
  const [a, b] = [linear.input?.[0] ?? '', linear.input?.[1] ?? ''];
  const w = g.initializerDims(b) ?? g.initializerDims(a);
  if (w && w.length === 2) {
    if (op === 'Gemm') return intAttribute(linear, 'transB', 0) ? w[0] : w[1];
    return w[1];
  }
  const dims = g.typeOf(logits)?.dims;
  const last = dims?.at(-1);
  return typeof last === 'number' ? last : undefined;
}

/** Follows the gate weights forward through renormalisation (Div by their sum), scaling (Mul by a constant) and casts. */
function followGates(g: GraphIndex, tensor: string): { tensor: string; normalize: boolean; scaling: number } {
  let normalize = false;
  let scaling = 1;
  let current = tensor;
  for (let i = 0; i < 8; i++) {
    const next = g.consumersOf(current).find((c) => {
      const [x, y] = c.input ?? [];
      if (c.opType === 'Cast') return true;
      if (c.opType === 'Div' && x === current) return reducesFrom(g, y ?? '', current);
      if (c.opType === 'Mul') {
        const other = x === current ? y : x;
        const value = g.constant(other ?? '');
        return value !== undefined && value.length === 1;
      }
      return false;
    });
    if (!next) break;
    if (next.opType === 'Div') normalize = true;
    if (next.opType === 'Mul') {
      const [x, y] = next.input ?? [];
      scaling *= g.constant((x === current ? y : x) ?? '')?.[0] ?? 1;
    }
    current = next.output?.[0] ?? current;
  }
  return { tensor: current, normalize, scaling };
}

/** Whether `tensor` is a ReduceSum of `of` (maybe plus an epsilon, maybe cast). */
function reducesFrom(g: GraphIndex, tensor: string, of: string): boolean {
  let node = g.producer(tensor);
  for (let i = 0; i < 4 && node; i++) {
    if (node.opType === 'ReduceSum') return (node.input ?? [])[0] === of;
    if (node.opType !== 'Add' && node.opType !== 'Cast' && node.opType !== 'Clip' && node.opType !== 'Max') return false;
    const data = (node.input ?? []).find((x) => x && g.constant(x) === undefined && g.initializer(x) === undefined);
    node = data ? g.producer(data) : undefined;
  }
  return false;
}

function topKValue(g: GraphIndex, node: Node): number | undefined {
  const fromInput = node.input?.[1] ? g.constant(node.input[1]) : undefined;
  if (fromInput?.length === 1) return fromInput[0];
  const attr = intAttribute(node, 'k', 0);
  return attr > 0 ? attr : undefined;
}

function fusedPlan(g: GraphIndex, node: Node, notes: string[]): RouterPlan | undefined {
  const inputs = node.input ?? [];
  const row = inputs[1];
  const experts = g.initializerDims(inputs[2] ?? '')?.[0];
  const k = intAttribute(node, 'k', 0);
  if (!row || !experts || !k) {
    notes.push(`${node.opType} node ${node.name}: could not read E or k`);
    return undefined;
  }
  const normalize = intAttribute(node, 'normalize_routing_weights', 0) === 1;
  const sparse = intAttribute(node, 'use_sparse_mixer', 0) === 1;
  // P2: the row was built in the graph by a TopK → ScatterElements of log-weights
  let current = row;
  for (let i = 0; i < 6; i++) {
    const p = g.producer(current);
    if (!p) break;
    if (p.opType === 'ScatterElements' || p.opType === 'ScatterND') {
      const ids = p.input?.[1] ?? '';
      const topk = g.producer(ids);
      const updates = p.input?.[2] ?? '';
      let gather = g.producer(updates);
      for (let j = 0; j < 6 && gather && (gather.opType === 'Log' || PASS.has(gather.opType ?? '')); j++) gather = g.producer(gather.input?.[0] ?? '');
      if (!topk || topk.opType !== 'TopK' || (gather?.opType !== 'GatherElements' && gather?.opType !== 'Gather')) break;
      const walk = walkBack(g, gather.input?.[0] ?? '');
      return {
        // the fused op's softmax over the masked log-weights renormalises them over the k
        layer: -1, pattern: 'P2', recipe: walk?.sawSoftmax ? 'softmax_topk' : 'sigmoid_bias', experts, k, normalize: true, scaling: 1,
        tensors: { ids, maskedRow: row, ...(walk ? { logits: walk.logits } : {}) },
        path: [...(walk?.ops ?? []), 'TopK', 'GatherElements', 'Log', 'ScatterElements', node.opType ?? 'MoE'],
        node: node.name ?? '',
      };
    }
    if (!PASS.has(p.opType ?? '')) break;
    current = p.input?.[0] ?? '';
  }
  const walk = walkBack(g, row);
  const routerWeights = inputs[14] || undefined;
  return {
    layer: -1, pattern: 'P1', recipe: sparse ? 'sparse_mixer' : 'softmax_topk', experts, k, normalize, scaling: 1,
    tensors: { logits: row, ...(routerWeights ? { routerWeights } : {}) },
    path: [...(walk?.ops ?? ['?']), node.opType ?? 'MoE'],
    node: node.name ?? '',
  };
}

function decomposedPlan(g: GraphIndex, topk: Node, walk: Walk, experts: number, k: number): RouterPlan {
  const [values, ids] = topk.output ?? [];
  let recipe: Recipe;
  let gateSource: string | undefined;
  if (walk.sawSigmoid) {
    recipe = 'sigmoid_bias';
    // weights are the unbiased sigmoid scores gathered at the chosen experts
    gateSource = g.consumersOf(ids ?? '').find((c) => (c.opType === 'GatherElements' || c.opType === 'Gather') && walk.sigmoidOut
      && reachesBack(g, c.input?.[0] ?? '', walk.sigmoidOut))?.output?.[0];
  } else if (walk.sawSoftmax) {
    recipe = 'softmax_topk';
    gateSource = values;
  } else {
    recipe = 'topk_softmax';
    gateSource = g.consumersOf(values ?? '').find((c) => c.opType === 'Softmax')?.output?.[0];
  }
  const gates = gateSource ? followGates(g, gateSource) : undefined;
  return {
    layer: -1, pattern: 'P3', recipe, experts, k,
    normalize: recipe === 'topk_softmax' || (gates?.normalize ?? false), scaling: gates?.scaling ?? 1,
    tensors: { logits: walk.logits, ids, ...(gates ? { gates: gates.tensor } : {}) },
    path: [...walk.ops, 'TopK'],
    node: topk.name ?? '',
  };
}

/** Whether `tensor` is `target` or derived from it through pass-through ops. */
function reachesBack(g: GraphIndex, tensor: string, target: string): boolean {
  let current = tensor;
  for (let i = 0; i < 6; i++) {
    if (current === target) return true;
    const p = g.producer(current);
    if (!p || !PASS.has(p.opType ?? '')) return false;
    current = p.input?.[0] ?? '';
  }
  return false;
}

/** A shared expert's gate in `layer`: a projection to one value followed by a Sigmoid (Qwen-MoE's shared_expert_gate). */
function sharedGateOf(g: GraphIndex, layer: number): string | undefined {
  for (const node of g.nodes) {
    if (node.opType !== 'Sigmoid' || g.layerOf(node) !== layer) continue;
    const linear = g.producer(node.input?.[0] ?? '');
    if (!linear || !LINEAR.has(linear.opType ?? '')) continue;
    const w = g.initializerDims(linear.input?.[1] ?? '');
    if (w && w.length === 2 && w[1] === 1) return node.output?.[0];
  }
  return undefined;
}

export function discoverRouters(g: GraphIndex): Discovery {
  const notes: string[] = [];
  const found: { plan: RouterPlan; node: Node; order: number }[] = [];
  const byLinear = new Map<Node, { topk: Node; walk: Walk; experts: number; k: number; order: number }>();
  g.nodes.forEach((node, order) => {
    const op = node.opType ?? '';
    if ((op === 'MoE' || op === 'QMoE') && node.domain === 'com.microsoft') {
      const plan = fusedPlan(g, node, notes);
      if (plan) found.push({ plan, node, order });
      return;
    }
    if (op !== 'TopK' || (node.domain && node.domain !== 'ai.onnx')) return;
    const k = topKValue(g, node);
    const walk = walkBack(g, node.input?.[0] ?? '');
    if (!k || !walk) return;
    const experts = expertsOf(g, walk.linear, walk.logits);
    if (!experts || k >= experts) return;
    // group-limited selection puts several TopKs on one router; the last in graph order makes the final choice
    byLinear.set(walk.linear, { topk: node, walk, experts, k, order });
  });
  // a P2 row's TopK is also reached from its router: the fused op already owns it
  const owned = new Set(found.map((f) => f.plan.tensors.ids).filter(Boolean));
  for (const { topk, walk, experts, k, order } of byLinear.values()) {
    if (owned.has(topk.output?.[1])) continue;
    found.push({ plan: decomposedPlan(g, topk, walk, experts, k), node: topk, order });
  }
  found.sort((a, b) => a.order - b.order);
  // layer numbers from names; otherwise the routers' order
  const named = found.map((f) => g.layerOf(f.node) ?? g.layerOf(g.producer(f.plan.tensors.logits ?? '') ?? f.node));
  const useNames = named.every((l) => l !== undefined) && new Set(named).size === named.length;
  if (!useNames && found.length > 0) notes.push('layer numbers are the routers\' order in the graph (node names do not say)');
  const plans = found.map((f, i) => {
    const layer = useNames ? (named[i] as number) : i;
    const sharedGate = useNames ? sharedGateOf(g, layer) : undefined;
    return { ...f.plan, layer, tensors: { ...f.plan.tensors, ...(sharedGate ? { sharedGate } : {}) } };
  });
  return { plans, searched: SEARCHED, notes };
}
