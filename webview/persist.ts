/**
 * What the webview keeps through hide/show (VS Code's getState/setState): the view settings, and the
 * last run in compact form (typed arrays as base64). Router scores are dropped for long runs so the
 * saved state stays small; the views then say so.
 */
import type { Layer } from '../extension/protocol';
import type { SamplingSettings } from '../extension/trace/sampling';
import { type RunData, accumulate, newRun, relayout } from './state';

export type HeatmapScope = 'token' | 'prompt' | 'reasoning' | 'answer' | 'all' | 'range';

export const TABS = ['tokens', 'routing', 'experts', 'analyses', 'kv'] as const;
export type TabName = (typeof TABS)[number];

export interface UiState {
  layer: Layer;
  /** A token picked by click; the heatmap's single-token scope shows it. */
  pinned: number | null;
  /** Tokens [from, to] chosen with shift-click, for the heatmap's range scope. */
  range: [number, number] | null;
  reasoningCollapsed: boolean;
  heatmapScope: HeatmapScope;
  prompt: string | null;
  /** The panel's title, kept so a reloaded window shows what it showed. */
  title: string | null;
  settings: SamplingSettings | null;
  tab: TabName;
  /** The token the keyboard is on in the token list. */
  active: number | null;
  /** A request from the host to move focus (counted, so each request acts once). */
  focus: { target: 'tokens' | 'prompt'; n: number } | null;
}

export const defaultUi: UiState = {
  layer: 0, pinned: null, range: null, reasoningCollapsed: false, heatmapScope: 'token', prompt: null, title: null, settings: null, tab: 'tokens', active: null, focus: null,
};

/** Runs longer than this many score values keep only the selected experts and weights. */
export const MAX_SAVED_SCORES = 400_000;
/**
 * Runs with more routing values than this (tokens × MoE layers × k: ~12 MB as ids and weights, 16 MB
 * as base64) are not saved at all: the panel is retained while hidden, the state only matters across a
 * window reload, and VS Code copies the whole state on every save. Export such a run to keep it.
 */
export const MAX_SAVED_ROUTING = 1_000_000;

export function canSaveRun(run: RunData): boolean {
  return run.tokenCount * run.routing.length * run.meta.model.expertsPerToken <= MAX_SAVED_ROUTING;
}

type Typed = Int16Array | Int32Array | Uint8Array | Float32Array | Float64Array;

/** The browser's own base64 (Chromium 140+): saving a 20k-token run by hand took a ~300 ms task every few seconds. */
const nativeToBase64 = (Uint8Array.prototype as Uint8Array & { toBase64?: (this: Uint8Array) => string }).toBase64;
const nativeFromBase64 = (Uint8Array as unknown as { fromBase64?: (s: string) => Uint8Array }).fromBase64;

function toBase64(a: Typed, length: number): string {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, length * a.BYTES_PER_ELEMENT);
  if (nativeToBase64) return nativeToBase64.call(bytes);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64<T extends Typed>(s: unknown, make: (buffer: ArrayBuffer) => T): T {
  if (typeof s !== 'string') throw new Error('not base64');
  if (nativeFromBase64) return make(nativeFromBase64(s).buffer as ArrayBuffer);
  const bin = atob(s);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return make(bytes.buffer);
}

export interface SavedRun {
  runId: number;
  mode: RunData['mode'];
  meta: RunData['meta'];
  nextSeq: number;
  tokenCount: number;
  texts: string[];
  cols: Record<string, string>;
  routing: { expertIds: string; weights: string; scores: string | null }[];
  stepCount: number;
  steps: RunData['steps'];
  summary: RunData['summary'];
  notice?: string;
  checks?: RunData['checks'];
}

export function saveRun(run: RunData): SavedRun {
  const { expertsPerToken: k, nRoutedExperts: n, numLayers } = run.meta.model;
  const T = run.tokenCount;
  const S = run.stepCount;
  const keepScores = run.scoresKept && T * n * run.routing.length <= MAX_SAVED_SCORES;
  return {
    runId: run.runId, mode: run.mode, meta: run.meta, nextSeq: run.nextSeq, tokenCount: T, texts: run.texts.slice(0, T),
    cols: {
      ids: toBase64(run.ids, T), segments: toBase64(run.segments, T), spanStart: toBase64(run.spanStart, T), spanEnd: toBase64(run.spanEnd, T),
      tokensInCache: toBase64(run.tokensInCache, S), kvBytes: toBase64(run.kvBytes, S * numLayers), kvTotal: toBase64(run.kvTotal, S), mhaBytes: toBase64(run.mhaBytes, S), runMs: toBase64(run.runMs, S),
    },
    routing: run.routing.map((r) => ({ expertIds: toBase64(r.expertIds, T * k), weights: toBase64(r.weights, T * k), scores: keepScores ? toBase64(r.scores, T * n) : null })),
    stepCount: S, steps: run.steps, summary: run.summary, ...(run.notice ? { notice: run.notice } : {}), ...(run.checks ? { checks: run.checks } : {}),
  };
}

/** Rebuilds a run from saved state; throws on anything malformed (the caller then starts empty). */
export function loadRun(saved: SavedRun): RunData {
  const run = newRun(saved.runId, saved.mode, saved.meta, typeof saved.notice === 'string' ? saved.notice : undefined);
  const { expertsPerToken: k, nRoutedExperts: n, numLayers } = saved.meta.model;
  const T = saved.tokenCount;
  const S = saved.stepCount;
  const c = saved.cols;
  const check = (a: Typed, len: number) => {
    if (a.length !== len) throw new Error('saved column has the wrong length');
    return a;
  };
  run.ids = check(fromBase64(c.ids, (b) => new Int32Array(b)), T) as Int32Array;
  run.segments = check(fromBase64(c.segments, (b) => new Uint8Array(b)), T) as Uint8Array;
  run.spanStart = check(fromBase64(c.spanStart, (b) => new Int32Array(b)), T) as Int32Array;
  run.spanEnd = check(fromBase64(c.spanEnd, (b) => new Int32Array(b)), T) as Int32Array;
  run.tokensInCache = check(fromBase64(c.tokensInCache, (b) => new Int32Array(b)), S) as Int32Array;
  run.kvBytes = check(fromBase64(c.kvBytes, (b) => new Float64Array(b)), S * numLayers) as Float64Array;
  run.kvTotal = check(fromBase64(c.kvTotal, (b) => new Float64Array(b)), S) as Float64Array;
  run.mhaBytes = check(fromBase64(c.mhaBytes, (b) => new Float64Array(b)), S) as Float64Array;
  run.runMs = check(fromBase64(c.runMs, (b) => new Float32Array(b)), S) as Float32Array;
  if (saved.texts.length !== T || saved.routing.length !== run.routing.length) throw new Error('saved run is inconsistent');
  run.texts = saved.texts.slice();
  run.scoresKept = saved.routing.every((r) => r.scores !== null);
  run.routing = saved.routing.map((r) => ({
    expertIds: check(fromBase64(r.expertIds, (b) => new Int16Array(b)), T * k) as Int16Array,
    weights: check(fromBase64(r.weights, (b) => new Float32Array(b)), T * k) as Float32Array,
    scores: r.scores === null ? new Float32Array(0) : (check(fromBase64(r.scores, (b) => new Float32Array(b)), T * n) as Float32Array),
  }));
  run.tokenCount = T;
  run.stepCount = S;
  run.nextSeq = saved.nextSeq;
  run.steps = saved.steps;
  if (saved.checks) run.checks = saved.checks;
  // a run saved mid-stream cannot go on: the window reloaded, and with it the extension host
  run.summary = saved.summary ?? { reason: 'aborted', unterminatedReasoning: false, generatedTokens: Math.max(0, S - 1), decodeTokensPerSecond: 0, message: 'the window reloaded while this run streamed' };
  for (let t = 0; t < T; t++) accumulate(run, t, 1);
  relayout(run);
  return run;
}
