/**
 * The webview's replica of the host's state, built by a pure reducer from HostMessages.
 *
 * Stream messages are applied in `seq` order per run: duplicates and anything from a run older than
 * the newest started one are dropped; a message that arrives early waits in `pending` until the gap
 * is filled (if a gap never fills, waiting stops after MAX_PENDING messages and the run says so).
 * Per-token data is columnar and append-only: successive states share the typed arrays and each reads
 * only up to its own counts, so appending never copies (a relabel, which rewrites old tokens, copies).
 */
import type { TraceChecks } from '../extension/trace/checks';
import { fromWire } from '../extension/inspector/wire';
import { type HostMessage, type Layer, MAX_KEPT_SCORES, type RunMode, type RunSummary, type StepColumns, type TokenColumns } from '../extension/protocol';
import { decodeTokensPerSecond, mhaEquivalentBytes } from '../extension/trace/figures';
import type { SamplingSettings } from '../extension/trace/sampling';
import type { SegmentEvent } from '../extension/trace/segmenter';
import { type ReasoningStep, Segment, type TraceMeta } from '../extension/trace/types';

export const MAX_PENDING = 256;
/** A row of the token view ends after a newline, at a segment change, or after this many tokens. */
export const MAX_ROW_TOKENS = 32;
const RECENT_STEPS = 32;

export interface RoutingColumns {
  expertIds: Int16Array; // k per token
  weights: Float32Array; // k per token
  scores: Float32Array; // E per token
}

export interface RunData {
  runId: number;
  mode: RunMode;
  meta: TraceMeta;
  /** The next seq this run applies. */
  nextSeq: number;
  tokenCount: number;
  ids: Int32Array;
  texts: string[];
  segments: Uint8Array;
  /** Source span per token, -1 for generated tokens. */
  spanStart: Int32Array;
  spanEnd: Int32Array;
  routing: RoutingColumns[]; // one per MoE layer, meta.model.moeLayers order
  /** First token of each row of the token view. */
  rowStarts: Int32Array;
  rowCount: number;
  stepCount: number;
  tokensInCache: Int32Array;
  /** numLayers per step. */
  kvBytes: Float64Array;
  kvTotal: Float64Array;
  mhaBytes: Float64Array;
  steps: ReasoningStep[];
  /** Time inside session.run per model call (step 0 is the prefill). */
  runMs: Float32Array;
  summary: RunSummary | null;
  /** Sequence numbers that never arrived (waiting gave up). */
  missedMessages: number;
  /**
   * Running sums per segment (3) × MoE layer × expert: assignments, and router scores. Kept as tokens
   * arrive so the load and heatmap views cost O(layers × experts) per frame, not O(tokens).
   */
  loadBySegment: Float64Array;
  scoreSumBySegment: Float64Array;
  tokensBySegment: [number, number, number];
  /** False when the router scores were dropped to keep a long run's saved state small. */
  scoresKept: boolean;
  /** What the host wants the user to know about this run's input. */
  notice?: string;
  /** The bundled model's reasoning checked against the program's run (program prompts only). */
  checks?: TraceChecks;
}

export interface InitState {
  mode: RunMode;
  defaults: SamplingSettings;
  layer: Layer;
  prompt: string;
  title: string;
}

export interface StatusState {
  state: 'loading' | 'idle' | 'running' | 'error';
  model?: string;
  provider?: string;
  message?: string;
  /** How the host reads the routing (e.g. "P2 softmax_topk: layers 0–3"). */
  routing?: string;
}

export type StreamMessage = Extract<HostMessage, { runId: number }>;

export interface InspectorState {
  init: InitState | null;
  status: StatusState | null;
  error: string | null;
  run: RunData | null;
  /** After an `init`, the next runStart is accepted whatever its id (a restarted host counts from 0 again). */
  acceptAnyRun: boolean;
  pending: StreamMessage[];
}

export const initialState: InspectorState = { init: null, status: null, error: null, run: null, acceptAnyRun: true, pending: [] };

/** `a`, or a copy with room for `need` values: twice as many, but no more than `cap` when `need` fits in it. */
function grown<T extends Int16Array | Int32Array | Uint8Array | Float32Array | Float64Array>(a: T, need: number, cap = Infinity): T {
  if (need <= a.length) return a;
  const next = new (a.constructor as new (n: number) => T)(Math.max(need, Math.min(Math.max(a.length * 2, 64), cap)));
  next.set(a);
  return next;
}

export function newRun(runId: number, mode: RunMode, meta: TraceMeta, notice?: string): RunData {
  const { expertsPerToken: k, nRoutedExperts: e, moeLayers } = meta.model;
  const cap = 256;
  return {
    runId, mode, meta, nextSeq: 1, tokenCount: 0,
    ids: new Int32Array(cap), texts: [], segments: new Uint8Array(cap), spanStart: new Int32Array(cap), spanEnd: new Int32Array(cap),
    routing: moeLayers.map(() => ({ expertIds: new Int16Array(cap * k), weights: new Float32Array(cap * k), scores: new Float32Array(cap * e) })),
    rowStarts: new Int32Array(64), rowCount: 0,
    stepCount: 0, tokensInCache: new Int32Array(64), kvBytes: new Float64Array(64 * meta.model.numLayers), kvTotal: new Float64Array(64), mhaBytes: new Float64Array(64),
    steps: [], runMs: new Float32Array(64), summary: null, missedMessages: 0,
    loadBySegment: new Float64Array(3 * moeLayers.length * e), scoreSumBySegment: new Float64Array(3 * moeLayers.length * e),
    tokensBySegment: [0, 0, 0], scoresKept: true, ...(notice ? { notice } : {}),
  };
}

/**
 * Adds (sign 1) or removes (sign -1) token `t` of the run's columns from the per-segment sums (a relabel, a
 * restore; batches as they arrive: accumulateBatch). Moving a token whose scores were dropped to another
 * segment moves its loads, not its scores.
 */
export function accumulate(run: RunData, t: number, sign: 1 | -1): void {
  const { expertsPerToken: k, nRoutedExperts: n } = run.meta.model;
  const layers = run.routing.length;
  const seg = Math.min(2, run.segments[t]);
  run.tokensBySegment[seg] += sign;
  run.routing.forEach((r, l) => {
    const base = (seg * layers + l) * n;
    for (let j = 0; j < k; j++) {
      const e = r.expertIds[t * k + j];
      if (e >= 0 && e < n) run.loadBySegment[base + e] += sign;
    }
    if (run.scoresKept) for (let e = 0; e < n; e++) run.scoreSumBySegment[base + e] += sign * r.scores[t * n + e];
  });
}

/**
 * Adds a batch of tokens just appended at `t0` to the per-segment sums, from the batch's own columns (each
 * layer's block contiguous, read in order); its scores count whether or not the run keeps them, and a
 * batch past MAX_KEPT_SCORES brings their sums ready-made (`scoreSums`, the same layout as the run's). The
 * streaming path: at 48 layers × 128 experts, per token across the run's 48 separate arrays cost ~0.6 ms a frame.
 */
function accumulateBatch(run: RunData, c: TokenColumns, t0: number): void {
  const { expertsPerToken: k, nRoutedExperts: n } = run.meta.model;
  const layers = run.routing.length;
  const { count, expertIds, scores, scoreSums } = c;
  const { loadBySegment: load, scoreSumBySegment: sums, segments, tokensBySegment } = run;
  const withScores = scores.length === count * n * layers;
  if (!withScores && scoreSums?.length === sums.length) for (let i = 0; i < sums.length; i++) sums[i] += scoreSums[i];
  for (let t = 0; t < count; t++) tokensBySegment[Math.min(2, segments[t0 + t])]++;
  for (let l = 0; l < layers; l++) {
    for (let t = 0; t < count; t++) {
      const base = (Math.min(2, segments[t0 + t]) * layers + l) * n;
      const ids = (l * count + t) * k;
      for (let j = 0; j < k; j++) {
        const e = expertIds[ids + j];
        if (e >= 0 && e < n) load[base + e]++;
      }
      if (!withScores) continue;
      const from = (l * count + t) * n;
      for (let e = 0; e < n; e++) sums[base + e] += scores[from + e];
    }
  }
}

function startsRow(run: RunData, t: number): boolean {
  if (t === 0 || run.rowCount === 0) return true;
  if (run.segments[t] !== run.segments[t - 1]) return true;
  if (run.texts[t - 1].includes('\n')) return true;
  return t - run.rowStarts[run.rowCount - 1] >= MAX_ROW_TOKENS;
}

function layoutRowsFrom(run: RunData, from: number): void {
  while (run.rowCount > 0 && run.rowStarts[run.rowCount - 1] >= from) run.rowCount--;
  // the row holding `from` may now end differently: lay it out again from its start
  const start = run.rowCount > 0 ? run.rowStarts[--run.rowCount] : 0;
  for (let t = start; t < run.tokenCount; t++) {
    if (startsRow(run, t)) {
      run.rowStarts = grown(run.rowStarts, run.rowCount + 1);
      run.rowStarts[run.rowCount++] = t;
    }
  }
}

/** Lays out every row again (after a restore). */
export function relayout(run: RunData): void {
  run.rowCount = 0;
  layoutRowsFrom(run, 0);
}

/** Appends a batch of token columns: one `set()` per column (routing: one per layer and kind). */
function appendTokens(run: RunData, c: TokenColumns): void {
  if (c.first !== run.tokenCount) return; // tokens arrive in order within a run; anything else is not this run's next batch
  const { expertsPerToken: k, nRoutedExperts: n } = run.meta.model;
  const t0 = run.tokenCount;
  const end = t0 + c.count;
  run.ids = grown(run.ids, end);
  run.segments = grown(run.segments, end);
  run.spanStart = grown(run.spanStart, end);
  run.spanEnd = grown(run.spanEnd, end);
  run.ids.set(c.ids, t0);
  run.segments.set(c.segments, t0);
  for (let i = 0; i < c.count; i++) {
    run.spanStart[t0 + i] = c.spans[2 * i];
    run.spanEnd[t0 + i] = c.spans[2 * i + 1];
  }
  for (let i = 0; i < c.count; i++) run.texts[t0 + i] = c.texts[i];
  // a trace without router scores sends none; a run past the budget stops keeping them
  if (run.scoresKept && (end * n * run.routing.length > MAX_KEPT_SCORES || c.scores.length < c.count * n * run.routing.length)) run.scoresKept = false;
  run.routing = run.routing.map((r, l) => {
    const next = {
      expertIds: grown(r.expertIds, end * k), weights: grown(r.weights, end * k),
      // doubling past the budget would allocate (and copy) up to twice it at once: 48 x 128 stalled a frame for ~100 ms
      scores: run.scoresKept ? grown(r.scores, end * n, Math.floor(MAX_KEPT_SCORES / (n * run.routing.length)) * n) : new Float32Array(0),
    };
    next.expertIds.set(c.expertIds.subarray(l * c.count * k, (l + 1) * c.count * k), t0 * k);
    next.weights.set(c.weights.subarray(l * c.count * k, (l + 1) * c.count * k), t0 * k);
    if (run.scoresKept) next.scores.set(c.scores.subarray(l * c.count * n, (l + 1) * c.count * n), t0 * n);
    return next;
  });
  run.tokenCount = end;
  accumulateBatch(run, c, t0);
  for (let t = t0; t < end; t++) {
    if (startsRow(run, t)) {
      run.rowStarts = grown(run.rowStarts, run.rowCount + 1);
      run.rowStarts[run.rowCount++] = t;
    }
  }
}

function appendSteps(run: RunData, c: StepColumns): void {
  if (c.first !== run.stepCount) return;
  const layers = run.meta.model.numLayers;
  const s0 = run.stepCount;
  const end = s0 + c.count;
  run.tokensInCache = grown(run.tokensInCache, end);
  run.kvBytes = grown(run.kvBytes, end * layers);
  run.kvTotal = grown(run.kvTotal, end);
  run.mhaBytes = grown(run.mhaBytes, end);
  run.runMs = grown(run.runMs, end);
  run.tokensInCache.set(c.tokensInCache, s0);
  run.kvBytes.set(c.kvBytes, s0 * layers);
  run.runMs.set(c.runMs, s0);
  for (let s = s0; s < end; s++) {
    let total = 0;
    for (let l = 0; l < layers; l++) total += run.kvBytes[s * layers + l];
    run.kvTotal[s] = total;
    run.mhaBytes[s] = mhaEquivalentBytes(run.meta.model, run.tokensInCache[s]);
  }
  run.stepCount = end;
}

function applySegment(run: RunData, e: SegmentEvent): void {
  if (e.type === 'step') run.steps = [...run.steps, { ...e.step }];
  else if (e.type === 'relabel') {
    const end = Math.min(e.end, run.tokenCount);
    if (e.start >= end) return;
    run.segments = run.segments.slice(); // earlier states keep their labels and rows
    run.rowStarts = run.rowStarts.slice();
    for (let t = e.start; t < end; t++) {
      if (run.segments[t] === e.segment) continue;
      accumulate(run, t, -1);
      run.segments[t] = e.segment;
      accumulate(run, t, 1);
    }
    layoutRowsFrom(run, e.start);
  }
  // 'enter' repeats what the tokens' segments already say
}

/** Applies one in-order stream message to a copy of `run`. */
function applyStream(run: RunData, m: StreamMessage): RunData {
  const next: RunData = {
    ...run, nextSeq: m.seq + 1,
    // the sums are small: copied so that no earlier state changes
    loadBySegment: run.loadBySegment.slice(), scoreSumBySegment: run.scoreSumBySegment.slice(), tokensBySegment: [...run.tokensBySegment],
  };
  if (m.type === 'runData') {
    if (m.tokens) appendTokens(next, m.tokens);
    if (m.steps) appendSteps(next, m.steps);
    for (const e of m.segments) applySegment(next, e);
  }
  else if (m.type === 'runDone') {
    next.summary = m.summary;
    if (m.checks) next.checks = m.checks;
  }
  return next;
}

/** Applies whatever in `pending` continues the current run; gives up waiting when too much piles up. */
function drain(state: InspectorState): InspectorState {
  let { run, pending } = state;
  if (!run) return state;
  for (;;) {
    const current: RunData = run;
    const mine = pending.filter((m) => m.runId === current.runId && m.type !== 'runStart');
    const next = mine.find((m) => m.seq === current.nextSeq)
      ?? (pending.length > MAX_PENDING && mine.length > 0 ? mine.reduce((a, b) => (b.seq < a.seq ? b : a)) : undefined);
    if (!next) break;
    const skipped = next.seq - current.nextSeq;
    run = applyStream(current, next);
    if (skipped > 0) run.missedMessages += skipped;
    const applied = next;
    pending = pending.filter((m) => m !== applied && !(m.runId === applied.runId && m.seq <= applied.seq));
  }
  return run === state.run && pending === state.pending ? state : { ...state, run, pending };
}

export function reduce(state: InspectorState, m: HostMessage): InspectorState {
  switch (m.type) {
    case 'init':
      return { ...state, init: { mode: m.mode, defaults: m.defaults, layer: m.layer, prompt: m.prompt, title: m.title }, acceptAnyRun: true };
    case 'status': {
      const { type: _, ...status } = m;
      return { ...state, status };
    }
    case 'error':
      return { ...state, error: m.message };
    case 'clear':
      return { ...state, run: null, pending: [], acceptAnyRun: true };
    case 'focus':
      return state; // a view request, handled by the inspector
    case 'runStart': {
      const current = state.run;
      const isNew = !current || m.runId > current.runId || state.acceptAnyRun;
      if (!isNew) return state;
      const run = newRun(m.runId, m.mode, m.meta, m.notice);
      return drain({ ...state, run, error: null, acceptAnyRun: false, pending: state.pending.filter((p) => p.runId === m.runId) });
    }
    case 'runBatch': {
      const data = fromWire(m);
      return data ? reduce(state, data) : state;
    }
    case 'runData':
    case 'runDone': {
      const current = state.run;
      if (current && m.runId === current.runId) {
        if (m.seq < current.nextSeq) return state; // duplicate
        if (m.seq === current.nextSeq) return drain({ ...state, run: applyStream(current, m) });
        return drain({ ...state, pending: [...state.pending, m] });
      }
      if (!current || m.runId > current.runId || state.acceptAnyRun) {
        // its runStart has not arrived yet
        return { ...state, pending: [...state.pending.filter((p) => p.runId === m.runId), m].slice(-4 * MAX_PENDING) };
      }
      return state; // a stale run
    }
  }
}

/** Decode tokens per second over the most recent steps (figures.ts's one definition). */
export function tokensPerSecond(run: RunData): number {
  return decodeTokensPerSecond(run.runMs, Math.max(1, run.stepCount - RECENT_STEPS), run.stepCount);
}

export const isPromptToken = (run: RunData, t: number) => run.spanStart[t] !== -1 || run.segments[t] === Segment.Prompt;
