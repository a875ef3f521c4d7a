/**
 * Makes a third-party graph report its routing: the routers found by discover.ts become graph outputs.
 * The user's files are never written: the model's bytes are followed by a `ModelProto { graph { output } }`
 * (protobuf merges it into the graph, onnxGraph.ts) and the session is created from that buffer, with the
 * model's own folder as the folder of its external data (`*.onnx.data`). What the pass found and adds is
 * cached per model content (sha256) and pass version, so a model is searched once.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { appendGraphOutputs, decodeModel, onnx, valueInfo } from '../onnxGraph';
import { type Discovery, type RouterPlan, discoverRouters } from './discover';
import { GraphIndex } from './graphIndex';
import { type ParameterCounts, countParameters } from './parameters';

/** Bumped whenever discovery or the exposed tensors change: older cache entries are then ignored. */
export const PASS_VERSION = 2;

export interface ExposedGraph {
  /** The model's bytes with the routers' tensors added as outputs (the original bytes when nothing was found). */
  bytes: Uint8Array;
  discovery: Discovery;
  /** Element type (onnx.TensorProto.DataType) of every exposed tensor. */
  types: Record<string, number>;
  /** Where the pass's result is cached, and whether it came from there. */
  cacheFile: string;
  fromCache: boolean;
  /** Initializer bytes by role, for the model card (totals as far as the graph tells). */
  parameters: ParameterCounts;
}

interface CacheEntry {
  passVersion: number;
  discovery: Discovery;
  types: Record<string, number>;
  /** Router tensors the graph already has as outputs (not added twice). */
  alreadyOutputs: string[];
  parameters: ExposedGraph['parameters'];
}

export function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'moe-lens', 'graphs');
}

const exposedNames = (plan: RouterPlan) => Object.values(plan.tensors).filter((t): t is string => typeof t === 'string');

/** Finds the routers of a model file's bytes (or takes them from the cache), and returns the bytes to run. */
export async function exposeRouters(bytes: Uint8Array, cacheDir = defaultCacheDir()): Promise<ExposedGraph> {
  const hash = createHash('sha256').update(bytes).digest('hex');
  const cacheFile = join(cacheDir, `${hash}-v${PASS_VERSION}.json`);
  let entry: CacheEntry | undefined;
  let fromCache = false;
  try {
    const cached = JSON.parse(await readFile(cacheFile, 'utf8')) as CacheEntry;
    if (cached.passVersion === PASS_VERSION) {
      entry = cached;
      fromCache = true;
    }
  } catch {
    // not cached yet (or unreadable): search the graph
  }
  if (!entry) {
    const model = decodeModel(bytes);
    if (!model.graph) throw new Error('the file holds no graph');
    const index = new GraphIndex(model.graph);
    const discovery = discoverRouters(index);
    const types: Record<string, number> = {};
    for (const plan of discovery.plans) {
      for (const name of exposedNames(plan)) types[name] = elementTypeOf(index, name);
    }
    const outputs = new Set((model.graph.output ?? []).map((o) => o.name ?? ''));
    const alreadyOutputs = Object.keys(types).filter((n) => outputs.has(n));
    entry = { passVersion: PASS_VERSION, discovery, types, alreadyOutputs, parameters: countParameters(index, new Set(discovery.plans.map((p) => p.experts))) };
    await mkdir(cacheDir, { recursive: true }).catch(() => undefined);
    // a cache that cannot be written only costs the search next time
    await writeFile(`${cacheFile}.tmp`, JSON.stringify(entry)).then(() => rename(`${cacheFile}.tmp`, cacheFile)).catch(() => undefined);
  }
  const outputs = entry.discovery.plans.flatMap((plan) => exposedNames(plan)).filter((n, i, all) => all.indexOf(n) === i);
  const already = new Set(entry.alreadyOutputs);
  const added = outputs.filter((n) => !already.has(n)).map((n) => valueInfo(n, entry.types[n] ?? onnx.TensorProto.DataType.FLOAT, null));
  return {
    bytes: added.length > 0 ? appendGraphOutputs(bytes, added) : bytes,
    discovery: entry.discovery, types: entry.types, cacheFile, fromCache, parameters: entry.parameters,
  };
}

/** Ops whose output has the element type of one data input (the index), whatever their other inputs (shapes, indices, quantised weights) hold. */
const TYPE_FROM_INPUT: Record<string, number> = {
  Reshape: 0, Squeeze: 0, Unsqueeze: 0, Flatten: 0, Expand: 0, Transpose: 0, Identity: 0, Gather: 0, GatherElements: 0, Slice: 0,
  Softmax: 0, LogSoftmax: 0, Sigmoid: 0, Log: 0, Exp: 0, Neg: 0, Add: 0, Sub: 0, Mul: 0, Div: 0, TopK: 0, ReduceSum: 0,
  MatMul: 0, Gemm: 0, MatMulNBits: 0, FusedMatMul: 0, ScatterElements: 0, ScatterND: 0, Where: 1, Concat: 0, MoE: 0, QMoE: 0,
};

/**
 * The element type of a tensor without value_info, from its producer: TopK indices, Shape and ArgMax are
 * int64, Cast says, MatMulInteger is int32; the rest follow their data input (not a shape, index or
 * packed-weight input: a Reshape of float logits is float though its shape input is int64, and a
 * MatMulNBits over uint8 weights returns its float activation's type), traced back as far as needed.
 */
function elementTypeOf(index: GraphIndex, name: string, depth = 0): number {
  const known = index.typeOf(name)?.elemType;
  if (known) return known;
  const node = index.producer(name);
  const op = node?.opType ?? '';
  if (!node || depth > 64) return onnx.TensorProto.DataType.FLOAT;
  if (op === 'TopK' && node.output?.[1] === name) return onnx.TensorProto.DataType.INT64;
  if (op === 'Shape' || op === 'ArgMax' || op === 'ArgMin' || op === 'NonZero' || op === 'Size') return onnx.TensorProto.DataType.INT64;
  if (op === 'MatMulInteger') return onnx.TensorProto.DataType.INT32;
  if (op === 'Not' || op === 'Equal' || op === 'Less' || op === 'Greater' || op === 'And' || op === 'Or') return onnx.TensorProto.DataType.BOOL;
  if (op === 'Cast') {
    const to = (node.attribute ?? []).find((a) => a.name === 'to')?.i;
    if (to !== undefined && to !== null) return Number(to);
  }
  const input = node.input?.[TYPE_FROM_INPUT[op] ?? 0];
  return input ? elementTypeOf(index, input, depth + 1) : onnx.TensorProto.DataType.FLOAT;
}
