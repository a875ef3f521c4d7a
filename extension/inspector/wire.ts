/**
 * A runData batch as it crosses to the webview: every column in one ArrayBuffer.
 *
 * VS Code posts a webview message as JSON with each ArrayBuffer (and each typed array's whole buffer) sent
 * as binary beside it, and its JSON.stringify calls a replacer for every value: a batch of nine typed
 * arrays, each replaced by a reference object of seven values, cost ~20 µs of the extension host's thread
 * per post to serialise (bench/README.md). On the wire a batch is one buffer in a fixed layout plus a few
 * numbers and the token texts; the webview takes views of the buffer (no copy). The host fills the
 * columns in place (`batchColumns`), so `toWire` copies nothing either.
 *
 * Pure: the webview bundle imports it.
 */
import { type HostMessage, MAX_KEPT_SCORES, type StepColumns, type TokenColumns } from '../protocol';
import type { SegmentEvent } from '../trace/segmenter';

type RunData = Extract<HostMessage, { type: 'runData' }>;

/** Values per token and per model call of a batch's columns; routing and scores count every MoE layer. */
export interface BatchShape {
  /** MoE layers × k: ids and weights per token. */
  routing: number;
  /** MoE layers × E router scores per token (0: the batch carries none). */
  scores: number;
  /** Router score sums for the whole batch (3 × MoE layers × E past MAX_KEPT_SCORES, else 0). */
  sums: number;
  /** The model's layers: KV bytes per model call. */
  layers: number;
}

/**
 * Whether a batch of `count` tokens ending at token `end` carries its router scores summed per segment
 * (3 × MoE layers × E values) instead of every token's (`perToken`, MoE layers × E): past the scores the
 * webview keeps, and only where the sums are fewer values.
 */
export function carriesScoreSums(count: number, end: number, perToken: number, keptScores = MAX_KEPT_SCORES): boolean {
  return count > 3 && end * perToken > keptScores;
}

/** The wire form of a runData message. */
export interface RunBatch {
  type: 'runBatch';
  runId: number;
  seq: number;
  /** Tokens [first, first + count) and model calls [first, first + count) the buffer holds; texts ride in the JSON. */
  tokens: { first: number; count: number; texts: string[] } | null;
  steps: { first: number; count: number } | null;
  shape: BatchShape;
  buffer: ArrayBuffer;
  segments: SegmentEvent[];
}

interface Views { kvBytes: Float64Array; ids: Int32Array; spans: Int32Array; tokensInCache: Int32Array; weights: Float32Array; scores: Float32Array; scoreSums: Float32Array; runMs: Float32Array; expertIds: Int16Array; segments: Uint8Array }

/**
 * The buffer's layout: the columns in this order, widest elements first, so that each starts aligned to
 * its own size. `columnLengths` gives their lengths in that order, `views` makes them.
 */
const ORDER = ['kvBytes', 'ids', 'spans', 'tokensInCache', 'weights', 'scores', 'scoreSums', 'runMs', 'expertIds', 'segments'] as const;
const ELEMENT_BYTES = [8, 4, 4, 4, 4, 4, 4, 4, 2, 1];

function columnLengths(n: number, s: number, shape: BatchShape): number[] {
  return [s * shape.layers, n, 2 * n, s, n * shape.routing, n * shape.scores, shape.sums, s, n * shape.routing, n];
}

function byteLength(lengths: readonly number[]): number {
  let bytes = 0;
  for (let i = 0; i < lengths.length; i++) bytes += lengths[i] * ELEMENT_BYTES[i];
  return bytes;
}

/** The columns as views of `buffer`. Written out, one constructor per line: this runs for every batch, right after a model call. */
function views(buffer: ArrayBuffer, lengths: readonly number[]): Views {
  let at = 0;
  const kvBytes = new Float64Array(buffer, at, lengths[0]); at += kvBytes.byteLength;
  const ids = new Int32Array(buffer, at, lengths[1]); at += ids.byteLength;
  const spans = new Int32Array(buffer, at, lengths[2]); at += spans.byteLength;
  const tokensInCache = new Int32Array(buffer, at, lengths[3]); at += tokensInCache.byteLength;
  const weights = new Float32Array(buffer, at, lengths[4]); at += weights.byteLength;
  const scores = new Float32Array(buffer, at, lengths[5]); at += scores.byteLength;
  const scoreSums = new Float32Array(buffer, at, lengths[6]); at += scoreSums.byteLength;
  const runMs = new Float32Array(buffer, at, lengths[7]); at += runMs.byteLength;
  const expertIds = new Int16Array(buffer, at, lengths[8]); at += expertIds.byteLength;
  const segments = new Uint8Array(buffer, at, lengths[9]);
  return { kvBytes, ids, spans, tokensInCache, weights, scores, scoreSums, runMs, expertIds, segments };
}

/**
 * Empty columns for `tokens` tokens and `steps` model calls, all views of one buffer in the wire layout:
 * fill them and `toWire` sends that buffer as it is.
 */
export function batchColumns(firstToken: number, tokens: number, firstStep: number, steps: number, shape: BatchShape): { tokens: TokenColumns; steps: StepColumns } {
  const lengths = columnLengths(tokens, steps, shape);
  const v = views(new ArrayBuffer(byteLength(lengths)), lengths);
  return {
    tokens: { first: firstToken, count: tokens, ids: v.ids, texts: [], segments: v.segments, spans: v.spans, expertIds: v.expertIds, weights: v.weights, scores: v.scores, ...sums(v) },
    steps: { first: firstStep, count: steps, tokensInCache: v.tokensInCache, kvBytes: v.kvBytes, runMs: v.runMs },
  };
}

const NONE = new Float32Array(0);

/** `scoreSums` where the batch has them: a batch without keeps the field out. */
const sums = (v: Views): { scoreSums?: Float32Array } => (v.scoreSums.length > 0 ? { scoreSums: v.scoreSums } : {});

/** runData in its wire form; other messages as they are. Copies only columns that are not already one buffer in the wire layout. */
export function toWire(m: HostMessage): HostMessage | RunBatch {
  if (m.type !== 'runData') return m;
  const t = m.tokens;
  const s = m.steps;
  const n = t ? t.count : 0;
  const steps = s ? s.count : 0;
  const shape: BatchShape = {
    routing: t && n ? t.expertIds.length / n : 0, scores: t && n ? t.scores.length / n : 0, sums: t?.scoreSums?.length ?? 0, layers: s && steps ? s.kvBytes.length / steps : 0,
  };
  const given = [s?.kvBytes ?? NONE, t?.ids ?? NONE, t?.spans ?? NONE, s?.tokensInCache ?? NONE, t?.weights ?? NONE, t?.scores ?? NONE, t?.scoreSums ?? NONE, s?.runMs ?? NONE, t?.expertIds ?? NONE, t?.segments ?? NONE];
  const lengths = columnLengths(n, steps, shape);
  if (given.some((column, i) => column.length !== lengths[i])) throw new RangeError(`runData ${m.runId}/${m.seq}: its columns do not match ${n} tokens and ${steps} model calls`);
  const bytes = byteLength(lengths);
  const first = t ? t.ids : s?.kvBytes;
  // the channel's batches: the columns already lie end to end in one buffer of exactly this size, in this
  // order (an empty column may be any array: it takes no bytes)
  let buffer = first && first.buffer.byteLength === bytes ? first.buffer as ArrayBuffer : undefined;
  let at = 0;
  for (let i = 0; i < given.length && buffer; i++) {
    if (given[i].length > 0 && (given[i].buffer !== buffer || given[i].byteOffset !== at)) buffer = undefined;
    at += given[i].byteLength;
  }
  if (!buffer) {
    buffer = new ArrayBuffer(bytes);
    const out = views(buffer, lengths);
    ORDER.forEach((name, i) => out[name].set(given[i]));
  }
  return {
    type: 'runBatch', runId: m.runId, seq: m.seq, shape, buffer, segments: m.segments,
    tokens: t ? { first: t.first, count: n, texts: t.texts } : null,
    steps: s ? { first: s.first, count: steps } : null,
  };
}

const count = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;

/** A runBatch as runData whose columns are views of its buffer; null when its sizes do not add up. */
export function fromWire(w: RunBatch): RunData | null {
  const { tokens: t, steps: s, shape } = w;
  if (!shape || !count(shape.routing) || !count(shape.scores) || !count(shape.sums) || !count(shape.layers) || !(w.buffer instanceof ArrayBuffer) || !Array.isArray(w.segments)) return null;
  if ((t && (!count(t.first) || !count(t.count) || !Array.isArray(t.texts) || t.texts.length !== t.count)) || (s && (!count(s.first) || !count(s.count)))) return null;
  const n = t?.count ?? 0;
  const steps = s?.count ?? 0;
  const lengths = columnLengths(n, steps, shape);
  if (w.buffer.byteLength !== byteLength(lengths)) return null;
  let v: Views;
  try {
    v = views(w.buffer, lengths);
  } catch {
    return null; // a detached buffer
  }
  return {
    type: 'runData', runId: w.runId, seq: w.seq, segments: w.segments,
    tokens: t ? { first: t.first, count: n, texts: t.texts, ids: v.ids, segments: v.segments, spans: v.spans, expertIds: v.expertIds, weights: v.weights, scores: v.scores, ...sums(v) } : null,
    steps: s ? { first: s.first, count: steps, tokensInCache: v.tokensInCache, kvBytes: v.kvBytes, runMs: v.runMs } : null,
  };
}
