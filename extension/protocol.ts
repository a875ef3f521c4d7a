/**
 * The messages between the extension host and the inspector webview. Both bundles import this file;
 * it imports only types, so the webview bundle never pulls in engine code.
 *
 * Host → webview: `HostMessage`. A run is `runStart`, any number of `runEvents` (engine events
 * batched per flush, in engine order) and `runDone`, all carrying the run id and a sequence number
 * that starts at 0 with runStart and rises by one per message. A replayed trace file is sent the
 * same way, so live and replay share one path.
 * Webview → host: `WebviewMessage`, validated by `parseWebviewMessage` before the host acts on it.
 */
import type { SegmentEvent } from './trace/segmenter';
import type { DoneReason, SamplingSettings, Segment, TraceMeta } from './trace/types';

export const PROTOCOL_VERSION = 1;

/** One MoE layer's choice for one token, as plain arrays (messages are cloned as JSON). */
export interface WireRouting {
  layer: number;
  expertIds: number[];
  weights: number[];
  /** The full router distribution, one score per routed expert. */
  scores: number[];
}

export type StreamEvent =
  /** A prompt token (span = its source range in the prompt) or a generated one (span = null). */
  | { type: 'token'; index: number; id: number; text: string; segment: Segment; span: [number, number] | null; routing: WireRouting[] }
  /** The cache after model call `step` (0 = prefill). */
  | { type: 'kv'; step: number; tokensInCache: number; bytesPerLayer: number[]; totalBytes: number; mhaEquivalentBytes: number }
  | { type: 'segment'; event: SegmentEvent }
  | { type: 'timing'; step: number; phase: 'prefill' | 'decode'; runMs: number; wallMs: number };

export interface RunSummary {
  reason: DoneReason;
  unterminatedReasoning: boolean;
  generatedTokens: number;
  decodeTokensPerSecond: number;
  message?: string;
}

export type Layer = number | 'all';

export type RunMode = 'live' | 'replay';

export type HostMessage =
  /** Sent once after the webview says `ready` (and again after a settings change). */
  | { type: 'init'; protocol: typeof PROTOCOL_VERSION; mode: RunMode; defaults: SamplingSettings; layer: Layer; prompt: string; title: string }
  /** Model and provider state for the header: loading the model, idle, running, or failed. */
  | { type: 'status'; state: 'loading' | 'idle' | 'running' | 'error'; model?: string; provider?: string; message?: string }
  | { type: 'runStart'; runId: number; seq: number; mode: RunMode; meta: TraceMeta }
  | { type: 'runEvents'; runId: number; seq: number; events: StreamEvent[] }
  | { type: 'runDone'; runId: number; seq: number; summary: RunSummary }
  /** Something failed outside a run (bad trace file, model would not load): shown as a banner. */
  | { type: 'error'; message: string };

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
  /** The webview has painted every message of run `runId` up to `seq`, `tokens` tokens in all. */
  | { type: 'rendered'; runId: number; seq: number; tokens: number };

export function assertNever(value: never): never {
  throw new Error(`unexpected ${JSON.stringify(value)}`);
}

/** Largest prompt the webview may send (characters); the model's context is far smaller. */
export const MAX_PROMPT_CHARS = 100_000;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown, min: number, max: number): v is number => Number.isInteger(v) && (v as number) >= min && (v as number) <= max;
const isNum = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max;

function parseSettings(v: unknown): SamplingSettings | undefined {
  if (!isObject(v)) return undefined;
  const { maxNewTokens, temperature, topK, topP, seed } = v;
  if (!isInt(maxNewTokens, 1, 100_000) || !isNum(temperature, 0, 100) || !isInt(topK, 0, 1_000_000) || !isNum(topP, 0, 1) || !isInt(seed, 0, 2 ** 32 - 1)) return undefined;
  return { maxNewTokens, temperature, topK, topP, seed };
}

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
      const settings = parseSettings(raw.settings);
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
