/**
 * The messages between the extension host and the inspector webview. Both bundles import this file;
 * it imports only types and pure helpers, so the webview bundle never pulls in engine code.
 *
 * Host → webview: `HostMessage`. A run is `runStart`, any number of `runData` and `runDone`, all
 * carrying the run id and a sequence number that starts at 0 with runStart and rises by one per
 * message. `runData` carries columns: the tokens and model calls added since the previous message, as
 * typed arrays, which the webview appends with one `set()` per column. The host posts it as `runBatch`
 * (inspector/wire.ts): every column in one ArrayBuffer, which VS Code transfers as binary, not JSON. A
 * replayed trace file is one `runData` with every token, so live and replay share one path.
 * Webview → host: `WebviewMessage`, validated by `parseWebviewMessage` before the host acts on it.
 */
import type { RunBatch } from './inspector/wire';
import type { TraceChecks } from './trace/checks';
import type { RunSummary } from './trace/figures';
import type { SegmentEvent } from './trace/segmenter';
import { type SamplingSettings, parseSampling } from './trace/sampling';
import type { TraceMeta } from './trace/types';

export const PROTOCOL_VERSION = 2;

/**
 * Router scores the webview keeps per token at most (tokens × MoE layers × experts): 32 Mi floats, 128 MiB.
 * Past it a run keeps its sums and drops the per-token scores: a 20k-token run of a model with 48 MoE
 * layers × 128 experts would hold 491 MB of them, twice that while its arrays grow. The host knows the
 * same limit: a batch of more than 3 tokens whose end lies past it carries its scores' sums per segment
 * (`TokenColumns.scoreSums`), not every token's scores, which at that shape are 90% of a batch's bytes.
 */
export const MAX_KEPT_SCORES = 32 * 2 ** 20;

export type { RunSummary };

/** Tokens [first, first + count) of a run, as columns. */
export interface TokenColumns {
  first: number;
  count: number;
  ids: Int32Array;
  texts: string[];
  /** 0 prompt, 1 reasoning, 2 answer */
  segments: Uint8Array;
  /** Source span per token (start, end), -1, -1 for generated tokens. */
  spans: Int32Array;
  /**
   * Routing, layer-major: MoE layer l's block is tokens × k ids (or weights, or tokens × E scores) from
   * l × count × k (l × count × E), token-major inside.
   */
  expertIds: Int16Array;
  weights: Float32Array;
  scores: Float32Array;
  /**
   * Only in a batch past MAX_KEPT_SCORES, whose `scores` are then empty: the batch's router scores summed
   * per segment, 3 × MoE layers × E, segment-major, then layer (each token counted in its segment as sent).
   */
  scoreSums?: Float32Array;
}

/** Model calls [first, first + count) of a run (0 is the prefill), as columns. */
export interface StepColumns {
  first: number;
  count: number;
  tokensInCache: Int32Array;
  /** count × numLayers, step-major. */
  kvBytes: Float64Array;
  /** Time inside session.run per call, ms. */
  runMs: Float32Array;
}

export type Layer = number | 'all';

export type RunMode = 'live' | 'replay';

export type HostMessage =
  /** Sent once after the webview says `ready` (and again after a settings change). */
  | { type: 'init'; protocol: typeof PROTOCOL_VERSION; mode: RunMode; defaults: SamplingSettings; layer: Layer; prompt: string; title: string }
  /** Model and provider state for the header: loading the model, idle, running, or failed. */
  | { type: 'status'; state: 'loading' | 'idle' | 'running' | 'error'; model?: string; provider?: string; message?: string; routing?: string }
  /** `notice`: what the user should know about the input (a selection the model cannot make sense of). */
  | { type: 'runStart'; runId: number; seq: number; mode: RunMode; meta: TraceMeta; notice?: string }
  /** What the run added since the previous message: tokens, model calls, and segment events (relabels, reasoning steps). */
  | { type: 'runData'; runId: number; seq: number; tokens: TokenColumns | null; steps: StepColumns | null; segments: SegmentEvent[] }
  /** runData as the host posts it: its columns in one buffer (inspector/wire.ts), views of it on arrival. */
  | RunBatch
  /** `checks`: the bundled model's reasoning checked against the program's run, when the prompt was one. */
  | { type: 'runDone'; runId: number; seq: number; summary: RunSummary; checks?: TraceChecks }
  /** Something failed outside a run (bad trace file, model would not load): shown as a banner. */
  | { type: 'error'; message: string }
  /** The shown run no longer applies (another model is being loaded, or loading failed): drop it. */
  | { type: 'clear' }
  /** Move the keyboard focus into the panel: the token list, or the prompt box. */
  | { type: 'focus'; target: 'tokens' | 'prompt' };

/** What a banner's buttons ask the host to do. */
export type HostAction = 'showLog' | 'useCpu' | 'useBundledModel' | 'openSettings';
export const HOST_ACTIONS: readonly HostAction[] = ['showLog', 'useCpu', 'useBundledModel', 'openSettings'];

export type WebviewMessage =
  | { type: 'ready' }
  | { type: 'run'; prompt: string; settings: SamplingSettings }
  | { type: 'stop'; runId: number }
  /** A reasoning step that names program line `line` (1-based) was clicked. */
  | { type: 'revealLine'; runId: number; line: number }
  /** A token was pinned (or unpinned: index null); the editor highlights its source range. */
  | { type: 'pinToken'; runId: number; index: number | null }
  | { type: 'selectLayer'; layer: Layer }
  | { type: 'export' }
  | { type: 'action'; action: HostAction }
  /** The webview has painted every message of run `runId` up to `seq`, `tokens` tokens in all. */
  | { type: 'rendered'; runId: number; seq: number; tokens: number };

export function assertNever(value: never): never {
  throw new Error(`unexpected ${JSON.stringify(value)}`);
}

/** Largest prompt the webview may send (characters); the model's context is far smaller. */
export const MAX_PROMPT_CHARS = 100_000;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown, min: number, max: number): v is number => Number.isInteger(v) && (v as number) >= min && (v as number) <= max;

function parseLayer(v: unknown): Layer | undefined {
  return v === 'all' || isInt(v, 0, 10_000) ? v : undefined;
}

/**
 * Checks a message from the webview and returns a fresh copy holding only the known fields, or
 * undefined when it is not a valid message (the host ignores and logs those).
 */
export function parseWebviewMessage(raw: unknown): WebviewMessage | undefined {
  if (!isObject(raw)) return undefined;
  const runId = raw.runId;
  switch (raw.type) {
    case 'ready':
    case 'export':
      return { type: raw.type };
    case 'run': {
      const settings = parseSampling(raw.settings);
      const prompt = raw.prompt;
      if (typeof prompt !== 'string' || prompt.length === 0 || prompt.length > MAX_PROMPT_CHARS || !settings) return undefined;
      return { type: 'run', prompt, settings };
    }
    case 'stop':
      return isInt(runId, 0, Number.MAX_SAFE_INTEGER) ? { type: 'stop', runId } : undefined;
    case 'revealLine':
      return isInt(runId, 0, Number.MAX_SAFE_INTEGER) && isInt(raw.line, 1, 10_000_000) ? { type: 'revealLine', runId, line: raw.line } : undefined;
    case 'pinToken':
      return isInt(runId, 0, Number.MAX_SAFE_INTEGER) && (raw.index === null || isInt(raw.index, 0, 10_000_000)) ? { type: 'pinToken', runId, index: raw.index } : undefined;
    case 'action':
      return typeof raw.action === 'string' && (HOST_ACTIONS as readonly string[]).includes(raw.action) ? { type: 'action', action: raw.action as HostAction } : undefined;
    case 'rendered':
      return isInt(runId, 0, Number.MAX_SAFE_INTEGER) && isInt(raw.seq, 0, Number.MAX_SAFE_INTEGER) && isInt(raw.tokens, 0, 10_000_000)
        ? { type: 'rendered', runId, seq: raw.seq, tokens: raw.tokens } : undefined;
    case 'selectLayer': {
      const layer = parseLayer(raw.layer);
      return layer === undefined ? undefined : { type: 'selectLayer', layer };
    }
    default:
      return undefined;
  }
}
