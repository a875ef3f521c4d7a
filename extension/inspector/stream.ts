import { type HostMessage, MAX_KEPT_SCORES, type RunMode, type RunSummary, type StepColumns, type TokenColumns } from '../protocol';
import type { SegmentEvent } from '../trace/segmenter';
import type { TraceStore } from '../trace/store';
import { batchColumns, carriesScoreSums } from './wire';

/**
 * Tokens [first, end) and model calls [stepFirst, stepEnd) of a store as the columns of one message, copied
 * into views of one buffer in the wire layout (a posted buffer must not be the store's; VS Code sends it
 * as it is, see wire.ts). No tokens or no calls: that part is null. Past the scores the webview keeps
 * (MAX_KEPT_SCORES) the tokens' router scores travel as their sums per segment where those are fewer values
 * (a batch of more than 3 tokens: the sums cover 3 segments).
 */
function storeColumns(store: TraceStore, first: number, end: number, stepFirst: number, stepEnd: number, keptScores: number): { tokens: TokenColumns | null; steps: StepColumns | null } {
  const { expertsPerToken: k, nRoutedExperts: e, moeLayers, numLayers } = store.meta.model;
  const count = end - first;
  const L = moeLayers.length;
  const summed = carriesScoreSums(count, end, L * e, keptScores);
  const { tokens, steps } = batchColumns(first, count, stepFirst, stepEnd - stepFirst, { routing: L * k, scores: summed ? 0 : L * e, sums: summed ? 3 * L * e : 0, layers: numLayers });
  store.copyTokens(first, end, tokens);
  if (tokens.scoreSums) store.sumScores(first, end, tokens.scoreSums);
  tokens.texts = store.tokenTexts().slice(first, end);
  store.copySteps(stepFirst, stepEnd, steps);
  return { tokens: count > 0 ? tokens : null, steps: stepEnd > stepFirst ? steps : null };
}

/**
 * Most bytes of routing one runData carries (4 MiB): a model of 48 MoE layers × 128 experts routes ~25 KB
 * per token, and a batch that caught up on hundreds of tokens would otherwise be one message of tens of MB.
 */
export const MAX_BATCH_BYTES = 4 * 2 ** 20;

/** Tokens per runData so that a batch stays within MAX_BATCH_BYTES. */
export function tokensPerBatch(store: TraceStore): number {
  const { expertsPerToken: k, nRoutedExperts: e, moeLayers } = store.meta.model;
  return Math.max(1, Math.floor(MAX_BATCH_BYTES / (64 + moeLayers.length * (6 * k + 4 * e))));
}

/**
 * runData messages for tokens [from, store.tokenCount) and the model calls from `stepFrom`, numbered from
 * `seq`: as many as MAX_BATCH_BYTES needs, the model calls and segment events riding on the last (they may
 * refer to any of its tokens).
 */
function dataMessages(store: TraceStore, runId: number, seq: number, from: number, stepFrom: number, segments: SegmentEvent[], keptScores = MAX_KEPT_SCORES): HostMessage[] {
  const per = tokensPerBatch(store);
  const out: HostMessage[] = [];
  for (let first = from; first < store.tokenCount || out.length === 0; first += per) {
    const end = Math.min(store.tokenCount, first + per);
    const last = end === store.tokenCount;
    const { tokens, steps } = storeColumns(store, first, end, stepFrom, last ? store.stepCount : stepFrom, keptScores);
    out.push({ type: 'runData', runId, seq: seq + out.length, tokens, steps, segments: last ? segments : [] });
  }
  return out;
}

/**
 * Most of the decode thread's time batches may take. In place, right after a model call, a batch costs
 * ~30 us on an idle machine and 100-150 us on a busy one (its columns, VS Code's serialisation, all with
 * cold caches): every 16 ms that is up to ~1% of decoding. Past this share the interval stretches (to
 * MAX_INTERVAL_MS at most): the panel gets a batch every frame where that is cheap, and never costs the
 * decode loop more than this.
 */
export const CHANNEL_SHARE = 0.005;

/** The panel's batch interval, ms: one frame at 60 Hz. A live run's decode loop gathers its steps for as long (RunRequest.batchMs). */
export const FRAME_MS = 16;
const MAX_INTERVAL_MS = 50;

export interface ChannelOptions {
  /** Share of the thread batches may take (default CHANNEL_SHARE; Infinity: every intervalMs whatever they cost). */
  maxShare?: number;
  /** The clock, ms (default performance.now). */
  now?: () => number;
  /** The webview's MAX_KEPT_SCORES (tests lower it): batches ending past it carry score sums, not scores. */
  maxKeptScores?: number;
}

/**
 * Streams one run to the webview: runStart, runData batches, runDone, numbered from 0. The decode loop
 * never waits for the webview. A batch — what the store gained since the last one: token and model-call
 * columns, reasoning steps, and the relabels of tokens already sent — is posted by `step` itself, at the
 * prefill and then once `intervalMs` has passed since the last batch, or longer where batches would
 * otherwise take more than `maxShare` of the time (the webview coalesces further per animation frame).
 * Not by a timer: session.run holds the thread, so a timer set after step N fires only after step N+1's
 * model call (a slow model's panel would lag one step behind), and its work would land inside the time
 * measured as the model's.
 */
export class RunChannel {
  private seq = 0;
  private sentTokens = 0;
  private sentSteps = 0;
  private sentReasoningSteps = 0;
  private relabels: SegmentEvent[] = [];
  /** When the last batch was posted (on `now`); -Infinity: the next step posts at once. */
  private lastFlush = -Infinity;
  /** What a batch costs, ms: a moving average of the batches posted after the prefill's. */
  private flushMs = 0;
  private batches = 0;
  private store: TraceStore | undefined;
  private readonly maxShare: number;
  private readonly now: () => number;
  private readonly keptScores: number;

  constructor(readonly runId: number, private readonly post: (m: HostMessage) => void, private readonly intervalMs = FRAME_MS, options: ChannelOptions = {}) {
    this.maxShare = options.maxShare ?? CHANNEL_SHARE;
    if (!(this.maxShare > 0)) throw new RangeError(`maxShare must be above 0, not ${this.maxShare}`);
    this.now = options.now ?? (() => performance.now());
    this.keptScores = options.maxKeptScores ?? MAX_KEPT_SCORES;
  }

  /** The time between batches now, ms. */
  get currentIntervalMs(): number {
    return Math.max(this.intervalMs, Math.min(MAX_INTERVAL_MS, this.flushMs / this.maxShare));
  }

  start(store: TraceStore, mode: RunMode = 'live', notice?: string): void {
    this.store = store;
    this.post({ type: 'runStart', runId: this.runId, seq: this.seq++, mode, meta: store.meta, ...(notice ? { notice } : {}) });
  }

  /** After each engine event, with its segment events (relabels travel with the next batch): posts a batch when one is due. */
  step(segments: readonly SegmentEvent[] = []): void {
    for (const e of segments) if (e.type === 'relabel') this.relabels.push(e);
    if (this.now() - this.lastFlush >= this.currentIntervalMs) this.flush();
  }

  /** Posts what the store gained since the last batch. */
  flush(): void {
    this.lastFlush = this.now();
    const store = this.store;
    if (!store) return;
    const segments: SegmentEvent[] = this.relabels;
    for (let i = this.sentReasoningSteps; i < store.steps.length; i++) segments.push({ type: 'step', step: { ...store.steps[i] } });
    if (store.tokenCount === this.sentTokens && store.stepCount === this.sentSteps && segments.length === 0) return;
    const messages = dataMessages(store, this.runId, this.seq, this.sentTokens, this.sentSteps, segments, this.keptScores);
    this.seq += messages.length;
    this.sentTokens = store.tokenCount;
    this.sentSteps = store.stepCount;
    this.sentReasoningSteps = store.steps.length;
    this.relabels = [];
    for (const m of messages) this.post(m);
    // the prefill's batch carries the whole prompt: the cadence follows the batches after it
    if (++this.batches > 1) {
      const ms = this.now() - this.lastFlush;
      this.flushMs = this.flushMs === 0 ? ms : 0.8 * this.flushMs + 0.2 * ms;
    }
  }

  /** The run ended: the rest (the store holds the steps its end closed), then runDone. */
  done(summary: RunSummary): void {
    this.flush();
    const checks = this.store?.checks;
    this.post({ type: 'runDone', runId: this.runId, seq: this.seq++, summary, ...(checks ? { checks } : {}) });
  }
}

/**
 * A finished (or imported) trace as the messages of one run: runStart, runData with everything (one
 * message unless MAX_BATCH_BYTES splits it), runDone.
 */
export function traceMessages(store: TraceStore, runId: number, summary: RunSummary, mode: RunMode = 'replay'): HostMessage[] {
  const data = dataMessages(store, runId, 1, 0, 0, store.steps.map((step) => ({ type: 'step', step: { ...step } })));
  return [
    { type: 'runStart', runId, seq: 0, mode, meta: store.meta },
    ...data,
    { type: 'runDone', runId, seq: 1 + data.length, summary, ...(store.checks ? { checks: store.checks } : {}) },
  ];
}
