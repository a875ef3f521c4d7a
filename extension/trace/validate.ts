import { SAMPLING_FIELDS, type SamplingSettings, parseSampling, samplingFieldProblem } from './sampling';
import {
  DONE_REASONS, type DoneReason, type ReasoningStep, TRACE_FORMAT, TRACE_VERSION, type TraceDone,
  type TraceMeta,
} from './types';

/**
 * Checks for trace files, which are untrusted: every value is read by own key, type-checked and copied
 * into fresh objects, so unknown keys (`__proto__` and `constructor` included) never reach a result.
 */

export const MAX_TRACE_BYTES = 256 * 1024 * 1024;
export const TRACE_LIMITS = { layers: 1024, routedExperts: 4096, tokens: 10_000_000, steps: 10_000_000 } as const;
export const INT32_MAX = 0x7fffffff;

const DAMAGED = 'The file is damaged or was not written by MoE Lens; export the trace again from MoE Lens.';

export class TraceFormatError extends Error {
  /** `path` locates the problem: a JSON path such as `routing[2].weights`, or `line 7, …` in JSONL; '' is the whole file. */
  constructor(readonly path: string, readonly problem: string, readonly fix: string = DAMAGED) {
    super(`Invalid MoE Lens trace${path ? ` at ${path}` : ''}: ${problem}. ${fix}`);
    this.name = 'TraceFormatError';
  }

  within(prefix: string): TraceFormatError {
    return new TraceFormatError(this.path ? `${prefix}, ${this.path}` : prefix, this.problem, this.fix);
  }
}

export type JsonObject = Record<string, unknown>;

export function at(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return v.length > 40 ? `a ${v.length}-character string` : `the string ${JSON.stringify(v)}`;
  if (typeof v === 'number') return String(v);
  return typeof v === 'object' ? 'an object' : typeof v;
}

function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // surrogates count 2 each: a pair is 4 bytes
    if (c >= 0x80) n += c < 0x800 || (c & 0xf800) === 0xd800 ? 1 : 2;
  }
  return n;
}

/** UTF-8 never takes fewer bytes than UTF-16 code units, and at most 3 per unit. */
const isTooLarge = (text: string) => text.length > MAX_TRACE_BYTES || (text.length * 3 > MAX_TRACE_BYTES && utf8Length(text) > MAX_TRACE_BYTES);

export function checkSize(text: string): void {
  if (typeof text !== 'string') throw new TraceFormatError('', `expected text, found ${describe(text)}`);
  if (isTooLarge(text)) {
    throw new TraceFormatError('', `the file is larger than ${MAX_TRACE_BYTES / 1024 / 1024} MiB`,
      'MoE Lens does not open traces this large; record a shorter run (fewer tokens).');
  }
}

/** For writers: refuses to produce a file that readers would refuse for its size. */
export function checkWritableSize(text: string): string {
  if (isTooLarge(text)) throw new Error(`the trace would be larger than ${MAX_TRACE_BYTES / 1024 / 1024} MiB, more than MoE Lens reads back; export CSV, or record a shorter run`);
  return text;
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new TraceFormatError('', `it is not valid JSON (${(e as Error).message})`,
      'The file may be truncated or may not be a MoE Lens trace; export it again from MoE Lens.');
  }
}

export function asObject(v: unknown, path: string): JsonObject {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TraceFormatError(path, `expected an object, found ${describe(v)}`);
  return v as JsonObject;
}

export function asArray(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw new TraceFormatError(path, `expected an array, found ${describe(v)}`);
  return v;
}

export function asString(v: unknown, path: string): string {
  if (typeof v !== 'string') throw new TraceFormatError(path, `expected a string, found ${describe(v)}`);
  return v;
}

/** Throws the reason `v` is not a number in [min, max] (an integer when `integer`); never returns. */
function badNumber(v: unknown, path: string, min: number, max: number, integer: boolean, note?: string): never {
  const n = note ? ` (${note})` : '';
  if (typeof v !== 'number') throw new TraceFormatError(path, `expected ${integer ? 'an integer' : 'a number'}, found ${describe(v)}`);
  if (!Number.isFinite(v)) throw new TraceFormatError(path, `${v} is not a finite number (a literal such as 1e999 overflows)`);
  if (integer && !Number.isInteger(v)) throw new TraceFormatError(path, `expected an integer, found ${v}`);
  throw new TraceFormatError(path, v < min ? `${v} is less than ${min}${n}` : `${v} is greater than ${max}${n}`);
}

export function asInt(v: unknown, path: string, min: number, max: number, note?: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) badNumber(v, path, min, max, true, note);
  return v;
}

export function asNumber(v: unknown, path: string, min = -Number.MAX_VALUE, max = Number.MAX_VALUE): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) badNumber(v, path, min, max, false);
  return v;
}

function need(o: JsonObject, key: string, path: string): unknown {
  if (!Object.hasOwn(o, key)) throw new TraceFormatError(at(path, key), 'is missing');
  return o[key];
}

export const get = {
  value: need,
  object: (o: JsonObject, key: string, path: string) => asObject(need(o, key, path), at(path, key)),
  array: (o: JsonObject, key: string, path: string) => asArray(need(o, key, path), at(path, key)),
  string: (o: JsonObject, key: string, path: string) => asString(need(o, key, path), at(path, key)),
  int: (o: JsonObject, key: string, path: string, min: number, max: number, note?: string) => asInt(need(o, key, path), at(path, key), min, max, note),
  number: (o: JsonObject, key: string, path: string, min?: number, max?: number) => asNumber(need(o, key, path), at(path, key), min, max),
  boolean: (o: JsonObject, key: string, path: string): boolean => {
    const v = need(o, key, path);
    if (typeof v !== 'boolean') throw new TraceFormatError(at(path, key), `expected true or false, found ${describe(v)}`);
    return v;
  },
};

function ofLength(v: unknown, path: string, length: number, why: string): unknown[] {
  const a = asArray(v, path);
  if (a.length !== length) throw new TraceFormatError(path, `has ${a.length} entries; expected ${length} (${why})`);
  return a;
}

type IntArray = Int16Array | Int32Array | Uint8Array;

export function intColumn<A extends IntArray>(v: unknown, path: string, length: number, why: string, make: (n: number) => A,
  min: number, max: number, note?: string): A {
  const a = ofLength(v, path, length, why);
  const out = make(length);
  for (let i = 0; i < length; i++) {
    const x = a[i];
    if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max) badNumber(x, at(path, i), min, max, true, note);
    out[i] = x;
  }
  return out;
}

/** Finite numbers ≥ min that stay finite in the column's precision (1e39 is a double but not a float32). */
export function floatColumn<A extends Float32Array | Float64Array>(v: unknown, path: string, length: number, why: string,
  make: (n: number) => A, min = -Number.MAX_VALUE): A {
  const a = ofLength(v, path, length, why);
  const out = make(length);
  for (let i = 0; i < length; i++) {
    const x = a[i];
    if (typeof x !== 'number' || !Number.isFinite(x) || x < min) badNumber(x, at(path, i), min, Number.MAX_VALUE, false);
    out[i] = x;
    if (!Number.isFinite(out[i])) throw new TraceFormatError(at(path, i), `${x} is too large for a 32-bit float`);
  }
  return out;
}

export function checkHeader(o: JsonObject, path: string): void {
  const format = need(o, 'format', path);
  if (format !== TRACE_FORMAT) {
    throw new TraceFormatError(at(path, 'format'), `expected "${TRACE_FORMAT}", found ${describe(format)}`,
      'This is not a MoE Lens trace; open a .moetrace.json or .moetrace.jsonl file exported by MoE Lens.');
  }
  const version = need(o, 'version', path);
  if (typeof version === 'number' && Number.isInteger(version) && version > TRACE_VERSION) {
    throw new TraceFormatError(at(path, 'version'), `version ${version} was written by a newer MoE Lens (this one reads version ${TRACE_VERSION})`,
      'Update the MoE Lens extension to open it.');
  }
  if (version !== TRACE_VERSION) {
    throw new TraceFormatError(at(path, 'version'), `expected ${TRACE_VERSION}, found ${describe(version)}`,
      `This MoE Lens reads trace version ${TRACE_VERSION} only; export the trace again from MoE Lens.`);
  }
}

function readSettings(s: JsonObject, path: string): SamplingSettings {
  for (const field of SAMPLING_FIELDS) {
    const problem = samplingFieldProblem(field, Object.hasOwn(s, field) ? s[field] : undefined);
    if (problem) throw new TraceFormatError(at(path, field), problem.slice(field.length + 1));
  }
  return parseSampling(s) as SamplingSettings;
}

export function readMeta(v: unknown, path: string): TraceMeta {
  const m = asObject(v, path);
  const mp = at(path, 'model');
  const model = get.object(m, 'model', path);
  const numLayers = get.int(model, 'numLayers', mp, 1, TRACE_LIMITS.layers);
  const moePath = at(mp, 'moeLayers');
  const moeLayers: number[] = [];
  get.array(model, 'moeLayers', mp).forEach((x, i) => {
    const layer = asInt(x, at(moePath, i), 0, numLayers - 1, `numLayers is ${numLayers}`);
    if (i > 0 && layer <= moeLayers[i - 1]) {
      throw new TraceFormatError(at(moePath, i), `layer ${layer} follows ${moeLayers[i - 1]}; MoE layers must be strictly ascending`);
    }
    moeLayers.push(layer);
  });
  const nRoutedExperts = get.int(model, 'nRoutedExperts', mp, 1, TRACE_LIMITS.routedExperts);
  const fallbacks = get.array(m, 'fallbacks', path).map((f, i) => {
    const fp = at(at(path, 'fallbacks'), i);
    const o = asObject(f, fp);
    return { provider: get.string(o, 'provider', fp), reason: get.string(o, 'reason', fp) };
  });
  return {
    createdAt: get.string(m, 'createdAt', path),
    model: {
      name: get.string(model, 'name', mp),
      modelType: get.string(model, 'modelType', mp),
      numLayers,
      moeLayers,
      nRoutedExperts,
      expertsPerToken: get.int(model, 'expertsPerToken', mp, 1, nRoutedExperts, `nRoutedExperts is ${nRoutedExperts}`),
      kvBytesPerToken: get.number(model, 'kvBytesPerToken', mp, 0),
      kvBytesPerTokenMhaEquivalent: get.number(model, 'kvBytesPerTokenMhaEquivalent', mp, 0),
    },
    provider: get.string(m, 'provider', path),
    fallbacks,
    settings: readSettings(get.object(m, 'settings', path), at(path, 'settings')),
    prompt: get.string(m, 'prompt', path),
  };
}

/** `null` is a run that did not finish. */
export function readDone(v: unknown, path: string): TraceDone | undefined {
  if (v === null) return undefined;
  const o = asObject(v, path);
  const reason = need(o, 'reason', path);
  if (!DONE_REASONS.includes(reason as DoneReason)) {
    throw new TraceFormatError(at(path, 'reason'), `expected one of ${DONE_REASONS.join(', ')}, found ${describe(reason)}`);
  }
  const done: TraceDone = { reason: reason as DoneReason, unterminatedReasoning: get.boolean(o, 'unterminatedReasoning', path) };
  if (Object.hasOwn(o, 'message')) done.message = get.string(o, 'message', path);
  return done;
}

export function readReasoningStep(v: unknown, path: string, tokenCount: number): ReasoningStep {
  const o = asObject(v, path);
  const note = `the trace has ${tokenCount} tokens`;
  const start = get.int(o, 'start', path, 0, tokenCount, note);
  const end = get.int(o, 'end', path, 0, tokenCount, note);
  if (start > end) throw new TraceFormatError(path, `start ${start} is after end ${end}`);
  const step: ReasoningStep = { start, end };
  if (Object.hasOwn(o, 'line')) step.line = get.int(o, 'line', path, 0, Number.MAX_VALUE);
  return step;
}

/** A token's source range in the prompt, or [-1, -1] for a generated token. */
export function checkSpan(start: number, end: number, promptLength: number, path: string): void {
  if (start === -1 && end === -1) return;
  if (!(start >= 0 && start <= end && end <= promptLength)) {
    throw new TraceFormatError(path, `[${start}, ${end}] is not a range of the prompt; expected 0 ≤ start ≤ end ≤ ${promptLength} (the prompt's length), or [-1, -1] for a generated token`);
  }
}

export interface LayerColumns {
  expertIds: Int16Array;
  weights: Float32Array;
  scores: Float32Array;
}

/** One MoE layer's routing for `tokens` tokens, the first of which is token `firstToken`. */
export function readRoutingLayer(v: unknown, path: string, layer: number, meta: TraceMeta, tokens: number, firstToken = 0): LayerColumns {
  const o = asObject(v, path);
  const found = get.int(o, 'layer', path, 0, INT32_MAX);
  if (found !== layer) throw new TraceFormatError(at(path, 'layer'), `is ${found}; expected ${layer}, in the order of meta.model.moeLayers`);
  const { expertsPerToken: k, nRoutedExperts: e } = meta.model;
  const idsPath = at(path, 'expertIds');
  const expertIds = intColumn(need(o, 'expertIds', path), idsPath, k * tokens, `expertsPerToken ${k} × ${tokens} tokens`,
    (n) => new Int16Array(n), 0, e - 1, `nRoutedExperts is ${e}`);
  const seen = new Int32Array(e).fill(-1);
  for (let t = 0; t < tokens; t++) {
    for (let j = t * k; j < (t + 1) * k; j++) {
      if (seen[expertIds[j]] === t) throw new TraceFormatError(at(idsPath, j), `expert ${expertIds[j]} appears twice in the top-${k} of token ${firstToken + t}`);
      seen[expertIds[j]] = t;
    }
  }
  return {
    expertIds,
    weights: floatColumn(need(o, 'weights', path), at(path, 'weights'), k * tokens, `expertsPerToken ${k} × ${tokens} tokens`, (n) => new Float32Array(n)),
    scores: floatColumn(need(o, 'scores', path), at(path, 'scores'), e * tokens, `nRoutedExperts ${e} × ${tokens} tokens`, (n) => new Float32Array(n)),
  };
}
