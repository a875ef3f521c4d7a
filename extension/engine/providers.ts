import * as ort from 'onnxruntime-node';
import { ModelError } from './errors';
import { onnx, valueInfo } from './onnxGraph';

export interface ProviderFallback {
  provider: string;
  reason: string;
}

export interface OpenedSession {
  session: ort.InferenceSession;
  /** The execution provider the session was created with. */
  provider: string;
  /** Providers tried before it, each with why it was not used. */
  fallbacks: ProviderFallback[];
}

export type ProviderPreference = 'auto' | readonly string[];

/**
 * The ordered list to try. `auto` picks the CPU for small models: one decode step of the bundled
 * model costs well under a millisecond there, less than a GPU dispatch round-trip (bench/engine).
 */
export function resolveProviders(preference: ProviderPreference, modelBytes: number): string[] {
  const list = preference === 'auto' ? (modelBytes < 256 * 2 ** 20 ? ['cpu'] : ['cuda', 'webgpu', 'cpu']) : [...preference];
  if (!list.includes('cpu')) list.push('cpu');
  return list;
}

/**
 * What a session is created from: the model file, or its bytes (a graph with router outputs added)
 * together with the folder its external data (`*.onnx.data`) lives in.
 */
export type ModelSource = { path: string } | { bytes: Uint8Array; path: string; externalDataFolder: string };

export async function openSession(
  source: ModelSource,
  preference: ProviderPreference,
  modelBytes: number,
  log: (line: string) => void = () => {},
  extraOptions: ort.InferenceSession.SessionOptions = {},
): Promise<OpenedSession> {
  const fallbacks: ProviderFallback[] = [];
  const available = new Map(ort.listSupportedBackends().map((b) => [b.name, b]));
  for (const provider of resolveProviders(preference, modelBytes)) {
    if (!available.has(provider)) {
      const reason = `not built into this onnxruntime-node (it has: ${[...available.keys()].join(', ')})`;
      fallbacks.push({ provider, reason });
      log(`execution provider ${provider} skipped: ${reason}`);
      continue;
    }
    try {
      const session = await createSession(source, provider, extraOptions);
      log(`execution provider ${provider} in use${GPU_RESIDENT.has(provider) ? ' (KV cache kept on the device between steps)' : ''}`);
      return { session, provider, fallbacks };
    } catch (e) {
      const reason = readableReason((e as Error).message);
      if (provider === 'cpu') {
        throw new ModelError(source.path, `is damaged or not an ONNX model: onnxruntime could not load it (${reason})`,
          'Copy the file again, or re-export the model');
      }
      fallbacks.push({ provider, reason });
      log(`execution provider ${provider} failed, falling back: ${reason}`);
    }
  }
  throw new Error('unreachable: cpu is always tried last');
}

/**
 * Providers whose present outputs stay in device memory and are fed back as the next past
 * (onnxruntime-node's 'gpu-buffer' location is the WebGPU one).
 */
const GPU_RESIDENT = new Set(['webgpu']);

async function createSession(source: ModelSource, provider: string, extraOptions: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = {
    ...extraOptions, executionProviders: [provider], graphOptimizationLevel: 'all',
    // from bytes, onnxruntime looks for external data here (it refuses paths that leave this folder)
    ...('bytes' in source ? {
      extra: { ...extraOptions.extra, session: { ...(extraOptions.extra?.session as object | undefined), model_external_initializers_file_folder_path: source.externalDataFolder } },
    } : {}),
  };
  const create = (o: ort.InferenceSession.SessionOptions) => ('bytes' in source ? ort.InferenceSession.create(source.bytes, o) : ort.InferenceSession.create(source.path, o));
  const session = await create(options);
  if (!GPU_RESIDENT.has(provider)) return session;
  // output names are known only once a session exists: open it again with the caches left on the device
  const preferredOutputLocation = Object.fromEntries(session.outputNames.filter((n) => n.startsWith('present.')).map((n) => [n, 'gpu-buffer'] as const));
  await session.release();
  return create({ ...options, preferredOutputLocation });
}

const MAX_REASON_CHARS = 240;

/**
 * onnxruntime's message without what only its developers can use: the first line, no source
 * location (`/onnxruntime_src/…/webgpu_context.cc:136 Namespace::Function(…)::<lambda()>`), no
 * `[ONNXRuntimeError] : 1 : FAIL :` prefix, and the failed condition dropped where a sentence for
 * users follows it (`x == y was false. Failed to get a WebGPU adapter: …`). Long text is cut at a word.
 */
export function readableReason(message: string): string {
  let text = (message.split('\n').find((l) => l.trim()) ?? message).trim();
  text = text.replace(/^\S+\.(?:cc|cpp|cxx|h|hpp|mm?):\d+\s+/, '');
  const condition = / was false\.\s+/.exec(text);
  if (condition) text = text.slice(condition.index + condition[0].length);
  else text = text.replace(/^(?:[\w~]+::)+[\w~]+\(.*?\)(?:::<lambda\(\)>)?\s+/, '');
  text = text.replace(/^\[ONNXRuntimeError\]\s*:\s*\d+\s*:\s*\w+\s*:\s*/, '');
  if (text.length <= MAX_REASON_CHARS) return text;
  const cut = text.lastIndexOf(' ', MAX_REASON_CHARS);
  return `${text.slice(0, cut > MAX_REASON_CHARS / 2 ? cut : MAX_REASON_CHARS)}…`;
}

export interface ProviderProbe {
  provider: string;
  available: boolean;
  /** Why it cannot start here (readable), for those that cannot. */
  reason?: string;
}

/** A one-node graph (y = x + x): enough for an execution provider to start, or to say why it cannot. */
function probeModel(): Uint8Array {
  const float = onnx.TensorProto.DataType.FLOAT;
  return onnx.ModelProto.encode({
    irVersion: 8, opsetImport: [{ domain: '', version: 17 }], producerName: 'moe-lens-probe',
    graph: {
      name: 'probe', node: [{ opType: 'Add', input: ['x', 'x'], output: ['y'], name: 'add' }],
      input: [valueInfo('x', float, [1])], output: [valueInfo('y', float, [1])],
    },
  }).finish();
}

/**
 * Which execution providers start on this machine: each is asked to open a one-node session. Those not
 * built into onnxruntime-node (CUDA, TensorRT without their downloaded binaries) fail at once; WebGPU
 * fails without a GPU adapter (a Vulkan driver Dawn accepts, on Linux).
 */
export async function probeProviders(providers: readonly string[] = ['cpu', 'webgpu', 'cuda', 'tensorrt']): Promise<ProviderProbe[]> {
  const model = probeModel();
  const built = new Set(ort.listSupportedBackends().map((b) => b.name));
  const out: ProviderProbe[] = [];
  for (const provider of providers) {
    if (!built.has(provider)) {
      out.push({ provider, available: false, reason: `not built into this onnxruntime-node (it has: ${[...built].join(', ')})` });
      continue;
    }
    try {
      const session = await ort.InferenceSession.create(model, { executionProviders: [provider] });
      await session.release();
      out.push({ provider, available: true });
    } catch (e) {
      out.push({ provider, available: false, reason: readableReason((e as Error).message) });
    }
  }
  return out;
}
