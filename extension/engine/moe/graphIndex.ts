/**
 * An index over an ONNX graph for structural search: which node produces a tensor, which nodes read it,
 * initializer shapes and small constant values, attributes, and which decoder layer a node belongs to.
 * Built once per model; pure reading, nothing is changed.
 */
import type { onnx } from '../onnxGraph';
import { halfsToFloats } from './recipes';

export type Node = onnx.INodeProto;

const DATA_TYPE = { FLOAT: 1, INT32: 6, INT64: 7, FLOAT16: 10, DOUBLE: 11 } as const;

/** ONNX element type (TensorProto.DataType) → onnxruntime-node's tensor type name. */
export const ORT_TYPE: Record<number, string> = { 1: 'float32', 6: 'int32', 7: 'int64', 10: 'float16', 11: 'float64', 16: 'bfloat16' };

const num = (v: number | { toNumber(): number } | null | undefined): number => (typeof v === 'number' ? v : v ? v.toNumber() : 0);

export class GraphIndex {
  readonly nodes: Node[];
  private readonly producers = new Map<string, Node>();
  private readonly consumers = new Map<string, Node[]>();
  private readonly initializers = new Map<string, onnx.ITensorProto>();
  private readonly valueTypes = new Map<string, { elemType: number; dims: (number | string)[] | null }>();
  readonly outputs: Set<string>;
  readonly inputs: Set<string>;

  constructor(readonly graph: onnx.IGraphProto) {
    this.nodes = graph.node ?? [];
    for (const t of graph.initializer ?? []) if (t.name) this.initializers.set(t.name, t);
    for (const n of this.nodes) {
      for (const o of n.output ?? []) if (o) this.producers.set(o, n);
      for (const i of n.input ?? []) {
        if (!i) continue;
        const list = this.consumers.get(i) ?? [];
        list.push(n);
        this.consumers.set(i, list);
      }
    }
    for (const v of [...(graph.valueInfo ?? []), ...(graph.input ?? []), ...(graph.output ?? [])]) {
      const t = v.type?.tensorType;
      if (!v.name || !t) continue;
      const dims = t.shape?.dim ? t.shape.dim.map((d) => (d.dimParam ? d.dimParam : d.dimValue !== undefined && d.dimValue !== null ? num(d.dimValue) : '?')) : null;
      this.valueTypes.set(v.name, { elemType: t.elemType ?? 0, dims });
    }
    this.outputs = new Set((graph.output ?? []).map((o) => o.name ?? ''));
    this.inputs = new Set((graph.input ?? []).map((o) => o.name ?? ''));
  }

  producer(tensor: string): Node | undefined {
    return this.producers.get(tensor);
  }

  consumersOf(tensor: string): Node[] {
    return this.consumers.get(tensor) ?? [];
  }

  initializer(name: string): onnx.ITensorProto | undefined {
    return this.initializers.get(name);
  }

  /** Shape of an initializer (weights), or undefined for other tensors. */
  initializerDims(name: string): number[] | undefined {
    const t = this.initializers.get(name);
    return t ? (t.dims ?? []).map(num) : undefined;
  }

  /** Declared element type and shape, from value_info, graph inputs/outputs or initializers. */
  typeOf(tensor: string): { elemType: number; dims: (number | string)[] | null } | undefined {
    const known = this.valueTypes.get(tensor);
    if (known) return known;
    const init = this.initializers.get(tensor);
    return init ? { elemType: init.dataType ?? 0, dims: (init.dims ?? []).map(num) } : undefined;
  }

  /** The numbers of a small constant (an initializer or a Constant node's value), or undefined. */
  constant(tensor: string): number[] | undefined {
    const init = this.initializers.get(tensor);
    if (init) return tensorValues(init);
    const node = this.producers.get(tensor);
    if (node?.opType === 'Constant') {
      const value = attribute(node, 'value');
      if (value?.t) return tensorValues(value.t);
      if (value?.f !== undefined && value.f !== null && value.type === 1) return [value.f];
      const ints = attribute(node, 'value_ints')?.ints;
      if (ints) return ints.map(num);
      const int = attribute(node, 'value_int');
      if (int) return [num(int.i)];
      const floats = attribute(node, 'value_floats')?.floats;
      if (floats) return [...floats];
      const float = attribute(node, 'value_float');
      if (float) return [float.f ?? 0];
    }
    return undefined;
  }

  /**
   * The decoder layer a node belongs to, from its name (`/model/layers.3/…`, `model.layers.3.…`). (The
   * dynamo exporter's name scopes live in NodeProto.metadata_props, newer than onnx-proto's schema; for
   * such graphs the caller numbers routers by their order and the config's MoE layers.)
   */
  layerOf(node: Node): number | undefined {
    const fromName = /(?:^|[/.])layers?[._/](\d+)(?:[/.]|$)/.exec(node.name ?? '');
    return fromName ? Number(fromName[1]) : undefined;
  }
}

export function attribute(node: Node, name: string): onnx.IAttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}

export function intAttribute(node: Node, name: string, fallback: number): number {
  const a = attribute(node, name);
  return a && a.i !== undefined && a.i !== null ? num(a.i) : fallback;
}

export function stringAttribute(node: Node, name: string): string | undefined {
  const s = attribute(node, name)?.s;
  return s ? new TextDecoder().decode(s) : undefined;
}

function tensorValues(t: onnx.ITensorProto): number[] | undefined {
  const count = (t.dims ?? []).map(num).reduce((a, b) => a * b, 1);
  if (count > 4096 || t.dataLocation === 1) return undefined; // weights, or stored outside the file: not a small constant
  const raw = t.rawData;
  switch (t.dataType) {
    case DATA_TYPE.FLOAT:
      if (t.floatData?.length) return [...t.floatData];
      return raw?.length ? Array.from(new Float32Array(copy(raw).buffer)) : [];
    case DATA_TYPE.DOUBLE:
      if (t.doubleData?.length) return [...t.doubleData];
      return raw?.length ? Array.from(new Float64Array(copy(raw).buffer)) : [];
    case DATA_TYPE.INT64:
      if (t.int64Data?.length) return t.int64Data.map(num);
      return raw?.length ? Array.from(new BigInt64Array(copy(raw).buffer), Number) : [];
    case DATA_TYPE.INT32:
      if (t.int32Data?.length) return [...t.int32Data];
      return raw?.length ? Array.from(new Int32Array(copy(raw).buffer)) : [];
    case DATA_TYPE.FLOAT16:
      return Array.from(halfsToFloats(raw?.length ? new Uint16Array(copy(raw).buffer) : Uint16Array.from(t.int32Data ?? [])));
    default:
      return undefined;
  }
}

/** A raw_data field on an aligned buffer of its own (it may sit at any offset of the file). */
const copy = (bytes: Uint8Array) => Uint8Array.from(bytes);
