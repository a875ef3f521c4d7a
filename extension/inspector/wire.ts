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
import type { HostMessage, StepColumns, TokenColumns } from '../protocol';
import type { SegmentEvent } from '../trace/segmenter';

type RunData = Extract<HostMessage, { type: 'runData' }>;

/** Values per token and per model call of a batch's columns; routing and scores count every MoE layer. */
export interface BatchShape {
  /** MoE layers × k: ids and weights per token. */
  routing: number;
  /** MoE layers × E router scores per token (0: the batch carries none). */
  scores: number;
  /** The model's layers: KV bytes per model call. */
  layers: number;
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

interface Column { readonly length: number; readonly byteOffset: number; readonly buffer: ArrayBufferLike; set(values: ArrayLike<number>): void }
interface Ctor { new (buffer: ArrayBuffer, byteOffset: number, length: number): Column; readonly BYTES_PER_ELEMENT: number }
type Name = 'kvBytes' | 'ids' | 'spans' | 'tokensInCache' | 'weights' | 'scores' | 'runMs' | 'expertIds' | 'segments';

/** The columns in buffer order: widest elements first, so that every column starts aligned to its own size. */
const LAYOUT: readonly { name: Name; type: Ctor; length: (tokens: number, steps: number, shape: BatchShape) => number }[] = [
  { name: 'kvBytes', type: Float64Array, length: (_, s, sh) => s * sh.layers },
  { name: 'ids', type: Int32Array, length: (n) => n },
  { name: 'spans', type: Int32Array, length: (n) => 2 * n },
  { name: 'tokensInCache', type: Int32Array, length: (_, s) => s },
  { name: 'weights', type: Float32Array, length: (n, _, sh) => n * sh.routing },
  { name: 'scores', type: Float32Array, length: (n, _, sh) => n * sh.scores },
  { name: 'runMs', type: Float32Array, length: (_, s) => s },
  { name: 'expertIds', type: Int16Array, length: (n, _, sh) => n * sh.routing },
  { name: 'segments', type: Uint8Array, length: (n) => n },
];

interface Views { kvBytes: Float64Array; ids: Int32Array; spans: Int32Array; tokensInCache: Int32Array; weights: Float32Array; scores: Float32Array; runMs: Float32Array; expertIds: Int16Array; segments: Uint8Array }

function byteLength(tokens: number, steps: number, shape: BatchShape): number {
  return LAYOUT.reduce((bytes, c) => bytes + c.length(tokens, steps, shape) * c.type.BYTES_PER_ELEMENT, 0);
}

function views(buffer: ArrayBuffer, tokens: number, steps: number, shape: BatchShape): Views {
  const out: Partial<Record<Name, Column>> = {};
  let offset = 0;
  for (const c of LAYOUT) {
    const length = c.length(tokens, steps, shape);
    out[c.name] = new c.type(buffer, offset, length);
    offset += length * c.type.BYTES_PER_ELEMENT;
  }
  return out as unknown as Views;
}

/**
 * Empty columns for `tokens` tokens and `steps` model calls, all views of one buffer in the wire layout:
 * fill them and `toWire` sends that buffer as it is.
 */
export function batchColumns(firstToken: number, tokens: number, firstStep: number, steps: number, shape: BatchShape): { tokens: TokenColumns; steps: StepColumns } {
  const v = views(new ArrayBuffer(byteLength(tokens, steps, shape)), tokens, steps, shape);
  return {
    tokens: { first: firstToken, count: tokens, ids: v.ids, texts: [], segments: v.segments, spans: v.spans, expertIds: v.expertIds, weights: v.weights, scores: v.scores },
    steps: { first: firstStep, count: steps, tokensInCache: v.tokensInCache, kvBytes: v.kvBytes, runMs: v.runMs },
  };
}

const NONE = new Float32Array(0);

/** runData in its wire form; other messages as they are. Copies only columns that are not already one buffer in the wire layout. */
export function toWire(m: HostMessage): HostMessage | RunBatch {
  if (m.type !== 'runData') return m;
  const t = m.tokens;
  const s = m.steps;
  const n = t ? t.count : 0;
  const steps = s ? s.count : 0;
  const shape: BatchShape = { routing: t && n ? t.expertIds.length / n : 0, scores: t && n ? t.scores.length / n : 0, layers: s && steps ? s.kvBytes.length / steps : 0 };
  // in LAYOUT order
  const given: readonly (Column & ArrayLike<number>)[] = [s?.kvBytes ?? NONE, t?.ids ?? NONE, t?.spans ?? NONE, s?.tokensInCache ?? NONE, t?.weights ?? NONE, t?.scores ?? NONE, s?.runMs ?? NONE, t?.expertIds ?? NONE, t?.segments ?? NONE];
  let buffer = (t ? t.ids.buffer : s?.kvBytes.buffer) as ArrayBuffer | undefined;
  let offset = 0;
  for (let i = 0; i < LAYOUT.length && buffer; i++) {
    const c = LAYOUT[i];
    const length = c.length(n, steps, shape);
    if (given[i].buffer !== buffer || given[i].byteOffset !== offset || given[i].length !== length) buffer = undefined;
    offset += length * c.type.BYTES_PER_ELEMENT;
  }
  if (!buffer || buffer.byteLength !== offset) {
    buffer = new ArrayBuffer(byteLength(n, steps, shape));
    let at = 0;
    for (let i = 0; i < LAYOUT.length; i++) {
      const c = LAYOUT[i];
      const length = c.length(n, steps, shape);
      new c.type(buffer, at, length).set(given[i]);
      at += length * c.type.BYTES_PER_ELEMENT;
    }
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
  if (!shape || !count(shape.routing) || !count(shape.scores) || !count(shape.layers) || !(w.buffer instanceof ArrayBuffer)) return null;
  if ((t && (!count(t.first) || !count(t.count) || !Array.isArray(t.texts) || t.texts.length !== t.count)) || (s && (!count(s.first) || !count(s.count)))) return null;
  const n = t?.count ?? 0;
  const steps = s?.count ?? 0;
  if (w.buffer.byteLength !== byteLength(n, steps, shape)) return null;
  const v = views(w.buffer, n, steps, shape);
  return {
    type: 'runData', runId: w.runId, seq: w.seq, segments: w.segments,
    tokens: t ? { first: t.first, count: n, texts: t.texts, ids: v.ids, segments: v.segments, spans: v.spans, expertIds: v.expertIds, weights: v.weights, scores: v.scores } : null,
    steps: s ? { first: s.first, count: steps, tokensInCache: v.tokensInCache, kvBytes: v.kvBytes, runMs: v.runMs } : null,
  };
}
