/**
 * Reading and extending ONNX model files with the maintained protobuf schema (onnx-proto, protobufjs):
 * no hand-written protobuf decoding. Adding graph outputs never re-encodes the user's model: protobuf
 * merges a message field that appears twice, appending repeated fields, so the original bytes followed
 * by `ModelProto { graph { output: [...] } }` read as the model with more outputs (verified against
 * onnxruntime). Everything else in the file — unknown fields of newer ONNX versions included — stays
 * byte for byte.
 */
import { onnx } from 'onnx-proto';
import { PACKED_ROUTING, routedLayers } from './contract';

export { onnx };

export function decodeModel(bytes: Uint8Array): onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}

/** The model file with `outputs` added to its graph's outputs (the original bytes, then the addition). */
export function appendGraphOutputs(bytes: Uint8Array, outputs: readonly onnx.IValueInfoProto[]): Uint8Array {
  const addition = onnx.ModelProto.encode({ graph: { output: [...outputs] } }).finish();
  const out = new Uint8Array(bytes.length + addition.length);
  out.set(bytes, 0);
  out.set(addition, bytes.length);
  return out;
}

/** A graph output of `elemType` (onnx.TensorProto.DataType) with a shape of symbolic and fixed dimensions. */
export function valueInfo(name: string, elemType: number, dims: readonly (number | string)[] | null): onnx.IValueInfoProto {
  const shape = dims === null ? undefined : { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) };
  return { name, type: { tensorType: { elemType, ...(shape ? { shape } : {}) } } };
}

/**
 * The model re-encoded without the graph outputs `drop` names and without the nodes that only computed
 * them: onnxruntime runs every node of a graph, fetched or not, so a fair baseline must lose them too
 * (it does re-encode).
 */
export function withoutGraphOutputs(bytes: Uint8Array, drop: (name: string) => boolean): Uint8Array {
  return pruned(decodeModel(bytes), drop) ?? bytes;
}

/**
 * A contract graph with both the packed routing output and the per-layer ones, re-encoded without the
 * per-layer ones (MoE Lens fetches only the packed one). Their tensors are intermediates the packed output
 * needs anyway, but as graph outputs onnxruntime materialised each in a buffer of its own every step,
 * fetched or not: ~3–4% of a bundled-model decode step. Null for other graphs. `routedLayers`: the MoE
 * layers the per-layer outputs named.
 */
export function packedRoutingOnly(bytes: Uint8Array): { bytes: Uint8Array; routedLayers: number[] } | null {
  const model = decodeModel(bytes);
  const names = (model.graph?.output ?? []).map((o) => o.name ?? '');
  const layers = routedLayers(names);
  if (!names.includes(PACKED_ROUTING) || layers.length === 0) return null;
  const out = pruned(model, (name) => name !== PACKED_ROUTING && name.startsWith('routing.'));
  return out ? { bytes: out, routedLayers: layers } : null;
}

function pruned(model: onnx.ModelProto, drop: (name: string) => boolean): Uint8Array | null {
  const graph = model.graph;
  if (!graph) return null;
  graph.output = (graph.output ?? []).filter((o) => !drop(o.name ?? ''));
  const kept = new Set(graph.output.map((o) => o.name ?? ''));
  for (let changed = true; changed;) {
    const used = new Set<string>(kept);
    for (const n of graph.node ?? []) for (const i of n.input ?? []) used.add(i);
    const before = graph.node?.length ?? 0;
    graph.node = (graph.node ?? []).filter((n) => (n.output ?? []).some((o) => used.has(o)));
    changed = graph.node.length !== before;
  }
  return onnx.ModelProto.encode(model).finish();
}
