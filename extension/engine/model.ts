import { readFile } from 'node:fs/promises';
import type * as ort from 'onnxruntime-node';
import { ModelError } from './errors';
import { type GraphLayout, readLayout } from './graph';
import type { Discovery } from './moe/discover';
import { type ExposedGraph, exposeRouters } from './moe/expose';
import { exposedReader } from './moe/exposedReader';
import { type ModelFolder, readModelFolder } from './modelDir';
import { type ModelSource, type ProviderFallback, type ProviderPreference, openSession } from './providers';
import { NO_ROUTING, type RoutingReader, contractReader } from './routing';
import { PACKED_ROUTING } from './contract';
import { packedRoutingOnly } from './onnxGraph';

export interface LoadedModel {
  folder: ModelFolder;
  session: ort.InferenceSession;
  layout: GraphLayout;
  /** How each call's routing is read from the graph's outputs. */
  routing: RoutingReader;
  /**
   * For a graph that does not follow the MoE Lens contract: the routers found by structure and exposed
   * as outputs, what was searched, and the parameter counts the graph tells.
   */
  routers?: Pick<ExposedGraph, 'discovery' | 'cacheFile' | 'fromCache' | 'parameters'>;
  provider: string;
  fallbacks: ProviderFallback[];
}

export interface LoadOptions {
  providers?: ProviderPreference;
  log?: (line: string) => void;
  /** Where the router search's results are cached (default: ~/.cache/moe-lens/graphs). */
  cacheDir?: string;
  /** Session options beyond the provider (thread counts, spinning), merged under the provider choice. */
  sessionOptions?: ort.InferenceSession.SessionOptions;
}

/** MoE Lens's own exports carry routing outputs by name; a cheap look at the bytes tells, before any parsing. */
function hasContractRouting(bytes: Uint8Array): boolean {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = buffer.indexOf('routing.'); at >= 0; at = buffer.indexOf('routing.', at + 1)) {
    if (/^routing\.(?:packed|\d+\.expert_ids)/.test(buffer.toString('latin1', at, at + 32))) return true;
  }
  return false;
}

/** The routers of a third-party graph, as the layout's MoE layers (every one must route over the same E and k). */
function routedOf(discovery: Discovery, modelPath: string): { layers: number[]; experts: number; k: number } {
  const plans = discovery.plans;
  if (plans.length === 0) return { layers: [], experts: 0, k: 0 };
  const { experts, k } = plans[0];
  const odd = plans.find((p) => p.experts !== experts || p.k !== k);
  if (odd) {
    throw new ModelError(modelPath, `layer ${odd.layer} routes to ${odd.k} of ${odd.experts} experts, layer ${plans[0].layer} to ${k} of ${experts}`,
      'MoE Lens shows models whose MoE layers all have the same number of experts and top-k');
  }
  return { layers: plans.map((p) => p.layer), experts, k };
}

/**
 * Reads, opens and checks a model folder; every failure is a ModelError naming file and fix. A graph
 * without the contract's routing outputs has its routers found and exposed (moe/expose.ts), in memory:
 * the user's files are only read.
 */
export async function loadModel(dir: string, options: LoadOptions = {}): Promise<LoadedModel> {
  const folder = await readModelFolder(dir);
  const bytes = new Uint8Array(await readFile(folder.modelPath));
  const damaged = (e: unknown) => new ModelError(folder.modelPath, `is damaged or not an ONNX model (reading its graph failed: ${(e as Error).message})`,
    'Copy the file again, or re-export the model');
  let exposed: ExposedGraph | undefined;
  let packed: ReturnType<typeof packedRoutingOnly> = null;
  try {
    if (!hasContractRouting(bytes)) exposed = await exposeRouters(bytes, options.cacheDir);
    // a contract graph with the packed routing output loses its per-layer ones in memory: materialised every step, never fetched
    else if (Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes(PACKED_ROUTING)) packed = packedRoutingOnly(bytes);
  } catch (e) {
    throw damaged(e);
  }
  for (const note of exposed?.discovery.notes ?? []) options.log?.(`routers: ${note}`);
  const source = exposed ? { bytes: exposed.bytes, path: folder.modelPath, externalDataFolder: folder.dir }
    : packed ? { bytes: packed.bytes, path: folder.modelPath, externalDataFolder: folder.dir } : { path: folder.modelPath };
  const open = (s: ModelSource) => openSession(s, options.providers ?? 'auto', folder.modelBytes, options.log, options.sessionOptions);
  let opened;
  try {
    opened = await open(source);
  } catch (e) {
    if (!packed) throw e;
    // the re-encoded graph (protobuf schema of the ONNX version MoE Lens knows) did not open: the file as it is
    options.log?.(`the graph without its per-layer routing outputs did not open (${(e as Error).message}); opening the file as it is`);
    packed = null;
    opened = await open({ path: folder.modelPath });
  }
  const { session, provider, fallbacks } = opened;
  try {
    const routed = exposed ? routedOf(exposed.discovery, folder.modelPath) : undefined;
    const layout = readLayout(session, folder, routed, packed?.routedLayers);
    let routing: RoutingReader = NO_ROUTING;
    if (exposed && exposed.discovery.plans.length > 0) routing = exposedReader(exposed.discovery.plans);
    else if (!exposed && layout.routedLayers.length > 0) routing = contractReader(layout.routedLayers, layout.expertsPerToken, layout.routedExperts, layout.packedRouting);
    const routers = exposed ? { discovery: exposed.discovery, cacheFile: exposed.cacheFile, fromCache: exposed.fromCache, parameters: exposed.parameters } : undefined;
    return { folder, session, layout, routing, ...(routers ? { routers } : {}), provider, fallbacks };
  } catch (e) {
    await session.release();
    throw e;
  }
}
