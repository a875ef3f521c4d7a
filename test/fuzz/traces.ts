/**
 * Trace readers under fuzz: the real JSON and JSONL of a run of the bundled model, and traces generated
 * from scratch, mutated — truncated, spliced, bytes overwritten (invalid UTF-8, decoded as the editor
 * does), lone UTF-16 surrogates, values swapped for other types and extreme numbers, duplicate and
 * prototype keys, deep nesting, metadata claiming huge columns. Every input must either import, and
 * then export to JSON, JSONL and CSV and read back to the same trace, or be refused with TraceFormatError.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as fc from 'fast-check';
import { loadModel } from '../../extension/engine/model';
import { formatPrompt } from '../../extension/engine/modelDir';
import { run } from '../../extension/engine/run';
import { routingToCsv, tokensToCsv } from '../../extension/trace/csv';
import { traceFromJson, traceToJson } from '../../extension/trace/jsonFormat';
import { traceFromJsonl, traceToJsonl } from '../../extension/trace/jsonl';
import { DEFAULT_SAMPLING } from '../../extension/trace/sampling';
import { TraceStore } from '../../extension/trace/store';
import { DONE_REASONS, type Segment, type TraceMeta } from '../../extension/trace/types';
import { MAX_TRACE_BYTES, TraceFormatError } from '../../extension/trace/validate';
import { BUNDLED, ROOT } from '../helpers';
import { Hang, anyText, nastyJson, nastyKey, timed } from './common';

export type Format = 'json' | 'jsonl';
export type Outcome = 'imported' | 'refused';

/** A short greedy run of the bundled model on media/samples/loop.py: a real trace, reasoning included. */
export async function realTrace(maxNewTokens = 40): Promise<TraceStore> {
  const model = await loadModel(BUNDLED);
  try {
    const prompt = formatPrompt(model.folder, await readFile(join(ROOT, 'media', 'samples', 'loop.py'), 'utf8'));
    const events = run(model, { prompt, settings: { ...DEFAULT_SAMPLING, maxNewTokens } });
    let next = await events.next();
    while (!next.done) next = await events.next();
    return next.value;
  } finally {
    await model.session.release();
  }
}

const read = (format: Format, text: string) => (format === 'json' ? traceFromJson(text) : traceFromJsonl(text));

/** The property: import, or a TraceFormatError; an import round-trips through every writer. */
export function checkTrace(text: string, format: Format): Outcome {
  let store: TraceStore;
  try {
    store = timed(() => read(format, text));
  } catch (e) {
    if (e instanceof Hang) throw e;
    if (e instanceof TraceFormatError && /^Invalid MoE Lens trace/.test(e.message) && e.fix.length > 0) return 'refused';
    throw new Error(`the ${format} reader threw something other than TraceFormatError: ${(e as Error)?.stack ?? String(e)}`, { cause: e });
  }
  timed(() => {
    const json = traceToJson(store);
    const again = traceToJson(traceFromJson(json));
    if (again !== json) throw new Error('an imported trace exported to JSON does not read back to the same trace');
    const viaJsonl = traceToJson(traceFromJsonl(traceToJsonl(store)));
    if (viaJsonl !== json) throw new Error('an imported trace exported to JSONL does not read back to the same trace');
    routingToCsv(store);
    tokensToCsv(store);
  });
  return 'imported';
}

// ---- traces generated from scratch: small, valid by construction ----

const float32 = fc.float({ noNaN: true, noDefaultInfinity: true });

export const arbStore: fc.Arbitrary<TraceStore> = fc.record({
  numLayers: fc.integer({ min: 1, max: 4 }), e: fc.integer({ min: 1, max: 6 }), tokens: fc.integer({ min: 0, max: 5 }),
  steps: fc.integer({ min: 0, max: 4 }), prompt: anyText(20),
}).chain(({ numLayers, e, tokens, steps, prompt }) => fc.record({
  numLayers: fc.constant(numLayers), e: fc.constant(e), tokens: fc.constant(tokens), prompt: fc.constant(prompt),
  moeLayers: fc.subarray(Array.from({ length: numLayers }, (_, i) => i)),
  k: fc.integer({ min: 1, max: e }),
  ids: fc.array(fc.integer({ min: 0, max: 0x7fffffff }), { minLength: tokens, maxLength: tokens }),
  texts: fc.array(anyText(6), { minLength: tokens, maxLength: tokens }),
  segments: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: tokens, maxLength: tokens }),
  spans: fc.array(fc.oneof(fc.constant([-1, -1]), fc.tuple(fc.nat(prompt.length), fc.nat(prompt.length)).map(([a, b]) => [Math.min(a, b), Math.max(a, b)])),
    { minLength: tokens, maxLength: tokens }),
  perms: fc.array(fc.shuffledSubarray(Array.from({ length: e }, (_, i) => i), { minLength: e, maxLength: e }), { minLength: tokens * numLayers, maxLength: tokens * numLayers }),
  floats: fc.array(float32, { minLength: (2 * e) * tokens * numLayers, maxLength: (2 * e) * tokens * numLayers }),
  stepCache: fc.array(fc.integer({ min: 0, max: 0x7fffffff }), { minLength: steps, maxLength: steps }),
  stepKv: fc.array(fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }), { minLength: steps * numLayers, maxLength: steps * numLayers }),
  stepMs: fc.array(fc.float({ min: 0, noNaN: true, noDefaultInfinity: true }), { minLength: steps, maxLength: steps }),
  reasoning: fc.array(fc.record({ a: fc.nat(tokens), b: fc.nat(tokens), line: fc.option(fc.nat(1000), { nil: undefined }) }), { maxLength: 3 }),
  done: fc.option(fc.record({ reason: fc.constantFrom(...DONE_REASONS), unterminatedReasoning: fc.boolean(), message: fc.option(anyText(10), { nil: undefined }) }), { nil: undefined }),
  settings: fc.record({ maxNewTokens: fc.integer({ min: 1, max: 100_000 }), temperature: fc.double({ min: 0, max: 100, noNaN: true }),
    topK: fc.integer({ min: 0, max: 1_000_000 }), topP: fc.double({ min: Number.MIN_VALUE, max: 1, noNaN: true }), seed: fc.integer({ min: 0, max: 0xffffffff }) }),
  name: anyText(8), createdAt: anyText(8),
})).map((g) => {
  const meta: TraceMeta = {
    createdAt: g.createdAt, provider: 'cpu', fallbacks: [], settings: g.settings, prompt: g.prompt,
    model: { name: g.name, modelType: 'fuzz', numLayers: g.numLayers, moeLayers: g.moeLayers, nRoutedExperts: g.e, expertsPerToken: g.k, kvBytesPerToken: 256, kvBytesPerTokenMhaEquivalent: 1280 },
  };
  const store = new TraceStore(meta);
  let f = 0;
  for (let t = 0; t < g.tokens; t++) {
    const routing = g.moeLayers.map((_, l) => ({
      expertIds: g.perms[t * g.numLayers + l].slice(0, g.k),
      weights: g.floats.slice(f, (f += g.k)),
      scores: g.floats.slice(f, (f += g.e)),
    }));
    store.addToken(g.ids[t], g.texts[t], g.segments[t] as Segment, g.spans[t] as [number, number], routing);
  }
  g.stepCache.forEach((c, i) => store.addStep(c, g.stepKv.slice(i * g.numLayers, (i + 1) * g.numLayers), g.stepMs[i]));
  for (const r of g.reasoning) store.steps.push({ start: Math.min(r.a, r.b), end: Math.max(r.a, r.b), ...(r.line === undefined ? {} : { line: r.line }) });
  if (g.done) store.finish({ reason: g.done.reason, unterminatedReasoning: g.done.unterminatedReasoning, ...(g.done.message === undefined ? {} : { message: g.done.message }) });
  return store;
});

// ---- mutations ----

export type Edit =
  | { kind: 'truncate'; at: number }
  | { kind: 'splice'; at: number; remove: number; insert: string }
  | { kind: 'byte'; at: number; byte: number }
  | { kind: 'replace'; path: number[]; snippet: string | undefined }
  | { kind: 'duplicateKey'; at: number; key: string; snippet: string }
  | { kind: 'claimHuge'; line: number };

const position = fc.nat({ max: 1 << 30 });
export const arbEdit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: position }),
  fc.record({ kind: fc.constant('splice' as const), at: position, remove: fc.nat(40), insert: fc.oneof(anyText(12), nastyJson, fc.constantFrom('\n', '\r\n', ',', '"', '\\', '}', ']', '\ud800', '\udc00', '\ufeff')) }),
  fc.record({ kind: fc.constant('byte' as const), at: position, byte: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0xff, 0xfe, 0xc0, 0xc3, 0xed, 0x80, 0xbf, 0x00)) }),
  fc.record({ kind: fc.constant('replace' as const), path: fc.array(fc.nat(1 << 20), { maxLength: 7 }), snippet: fc.option(nastyJson, { nil: undefined, freq: 8 }) }),
  fc.record({ kind: fc.constant('duplicateKey' as const), at: position, key: nastyKey, snippet: nastyJson }),
  fc.record({ kind: fc.constant('claimHuge' as const), line: fc.nat(1 << 20) }),
);

const SENTINEL = '\u0001fuzz-sentinel\u0001';
const decodeLoose = (bytes: Uint8Array) => new TextDecoder('utf-8', { fatal: false }).decode(bytes);
type Json = Record<string, unknown> | unknown[];
const isContainer = (v: unknown): v is Json => typeof v === 'object' && v !== null;

/** Replaces (or, with no snippet, deletes) the value a path of indices leads to; one JSON document. */
function replaceIn(doc: string, path: number[], snippet: string | undefined): string {
  let root: unknown;
  try {
    root = JSON.parse(doc);
  } catch {
    return doc;
  }
  if (path.length === 0 || !isContainer(root)) return snippet ?? '';
  let parent: Json = root;
  let key: string | number = 0;
  for (let i = 0; i < path.length; i++) {
    const keys: (string | number)[] = Array.isArray(parent) ? parent.map((_, j) => j) : Object.keys(parent);
    if (keys.length === 0) break;
    key = keys[path[i] % keys.length];
    const child: unknown = (parent as Record<string | number, unknown>)[key];
    if (i === path.length - 1 || !isContainer(child) || (Array.isArray(child) ? child.length === 0 : Object.keys(child).length === 0)) break;
    parent = child;
  }
  if (snippet === undefined) {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete (parent as Record<string, unknown>)[key];
    return JSON.stringify(root);
  }
  (parent as Record<string | number, unknown>)[key] = SENTINEL;
  return JSON.stringify(root).replace(JSON.stringify(SENTINEL), () => snippet);
}

/** A meta claiming the largest model the reader allows, so every column it then expects is enormous. */
function claimHuge(doc: string): string {
  let root: unknown;
  try {
    root = JSON.parse(doc);
  } catch {
    return doc;
  }
  const model = (root as { meta?: { model?: Record<string, unknown> } })?.meta?.model;
  if (!isContainer(model)) return doc;
  Object.assign(model, { numLayers: 1024, moeLayers: Array.from({ length: 1024 }, (_, i) => i), nRoutedExperts: 4096, expertsPerToken: 4096 });
  return JSON.stringify(root);
}

/** Applies an edit; structural ones act on the whole JSON document, or on one line of JSONL. */
export function applyEdit(text: string, format: Format, edit: Edit): string {
  const at = text.length === 0 ? 0 : edit.kind === 'truncate' || edit.kind === 'splice' || edit.kind === 'byte' || edit.kind === 'duplicateKey' ? edit.at % (text.length + 1) : 0;
  switch (edit.kind) {
    case 'truncate':
      return text.slice(0, at);
    case 'splice':
      return text.slice(0, at) + edit.insert + text.slice(at + edit.remove);
    case 'byte': {
      const bytes = new TextEncoder().encode(text);
      if (bytes.length === 0) return text;
      bytes[edit.at % bytes.length] = edit.byte;
      return decodeLoose(bytes);
    }
    case 'duplicateKey': {
      // right after an opening brace at or past `at` (wrapping around), so it precedes that object's own keys
      const brace = text.indexOf('{', at) >= 0 ? text.indexOf('{', at) : text.indexOf('{');
      if (brace < 0) return text;
      return `${text.slice(0, brace + 1)}${JSON.stringify(edit.key)}:${edit.snippet},${text.slice(brace + 1)}`;
    }
    case 'replace':
    case 'claimHuge': {
      // a document nested too deep for JSON.stringify (an earlier edit) stays as it is
      const one = (doc: string) => {
        try {
          return edit.kind === 'replace' ? replaceIn(doc, edit.path, edit.snippet) : claimHuge(doc);
        } catch {
          return doc;
        }
      };
      if (format === 'json') return one(text);
      const lines = text.split('\n');
      const pick = edit.kind === 'replace' ? (edit.path[0] ?? 0) : edit.line;
      const i = pick % lines.length;
      lines[i] = one(lines[i]);
      return lines.join('\n');
    }
  }
}

export interface TraceInput {
  source: { kind: 'real'; format: Format } | { kind: 'generated'; store: TraceStore; format: Format } | { kind: 'raw'; text: string; format: Format };
  edits: Edit[];
}

export function traceInputs(): fc.Arbitrary<TraceInput> {
  const format = fc.constantFrom<Format>('json', 'jsonl');
  return fc.record({
    source: fc.oneof(
      { weight: 5, arbitrary: format.map((f) => ({ kind: 'real' as const, format: f })) },
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('generated' as const), store: arbStore, format }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('raw' as const), text: fc.oneof(anyText(200), fc.jsonValue().map((v) => JSON.stringify(v) ?? ''), nastyJson), format }) },
    ),
    edits: fc.array(arbEdit, { maxLength: 3 }),
  });
}

export function inputText(input: TraceInput, real: { json: string; jsonl: string }): string {
  const { source } = input;
  let text = source.kind === 'real' ? real[source.format] : source.kind === 'raw' ? source.text
    : source.format === 'json' ? traceToJson(source.store) : traceToJsonl(source.store);
  for (const edit of input.edits) text = applyEdit(text, source.format, edit);
  return text;
}

export interface TraceStats {
  imported: number;
  refused: number;
}

export function traceProperty(real: { json: string; jsonl: string }, stats: TraceStats): fc.IProperty<[TraceInput]> {
  return fc.property(traceInputs(), (input) => {
    const outcome = checkTrace(inputText(input, real), input.source.format);
    stats[outcome]++;
    // an unedited trace — real or generated — must import, and the real one re-export byte for byte
    if (input.edits.length === 0 && input.source.kind !== 'raw' && outcome !== 'imported') throw new Error('a valid trace was refused');
  });
}

/** Fixed inputs fast-check would never draw: texts past the size limit (a 256 MiB claim made real). */
export function* oversizedInputs(): Generator<[string, Format]> {
  const big = ' '.repeat(MAX_TRACE_BYTES + 1);
  yield [big, 'json'];
  yield [big, 'jsonl'];
}
