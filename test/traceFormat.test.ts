import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { csvText, formatFloat32, routingToCsv, tokensToCsv } from '../extension/trace/csv';
import { numberList, traceFromJson, traceToJson } from '../extension/trace/jsonFormat';
import { traceFromJsonl, traceToJsonl } from '../extension/trace/jsonl';
import { TraceStore } from '../extension/trace/store';
import { Segment, type TraceMeta } from '../extension/trace/types';
import { MAX_TRACE_BYTES, TraceFormatError } from '../extension/trace/validate';
import { type Json, schemaErrors, traceSchema } from './schemaCheck';

const E = 16;
const K = 4;
const MOE = [1, 2, 4, 5];
const PROMPT = 'def f(x):\n    return x * 2, "=SUM(A1)"\nprint(f(21))\n';
// token 2, layer index 1 gets hand-set routing: tied weights and awkward floats
const TIED = { token: 2, layer: 1, ids: [3, 7, 1, 9], weights: [0.25, 0.5, 0.25, 0] };

function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function makeMeta(): TraceMeta {
  return {
    createdAt: '2025-01-02T03:04:05.678Z',
    model: { name: 'moe-lens-mini', modelType: 'deepseek_v3', numLayers: 6, moeLayers: [...MOE], nRoutedExperts: E, expertsPerToken: K,
      kvBytesPerToken: 576, kvBytesPerTokenMhaEquivalent: 4096 },
    provider: 'cpu',
    fallbacks: [{ provider: 'webgpu', reason: 'no adapter' }],
    settings: { maxNewTokens: 32, temperature: 0.7, topK: 40, topP: 0.95, seed: 1234 },
    prompt: PROMPT,
  };
}

function makeStore(options: { finish?: boolean; nanScore?: boolean } = {}): TraceStore {
  const random = mulberry32(7);
  const store = new TraceStore(makeMeta());
  const routing = (token: number) => MOE.map((_, l) => {
    const pool = Array.from({ length: E }, (_, i) => i).sort(() => random() - 0.5);
    const scores = Float32Array.from({ length: E }, (_, i) => (random() - 0.5) * 10 ** ((i % 9) - 4));
    if (token !== TIED.token || l !== TIED.layer) return { expertIds: pool.slice(0, K), weights: Float32Array.from({ length: K }, random), scores };
    scores.set([-0, 1e-45, 3.4028234663852886e38, -1e-40, 0.1]);
    if (options.nanScore) scores[5] = NaN;
    return { expertIds: TIED.ids, weights: TIED.weights, scores };
  });
  const kv = (tokens: number) => Array.from({ length: 6 }, (_, l) => (MOE.includes(l) ? tokens * 576 : tokens / 3));
  store.addToken(0, '<s>', Segment.Prompt, [0, 0], routing(0));
  for (const m of PROMPT.matchAll(/\s+|\w+|[^\w\s]/g)) {
    store.addToken(100 + store.tokenCount, m[0], Segment.Prompt, [m.index, m.index + m[0].length], routing(store.tokenCount));
  }
  store.addStep(store.tokenCount, kv(store.tokenCount), 12.345678);
  const generated = ['<think>', '\n', 'L1', ': x = 21', '\n', 'L2', ': =42 "quoted", ok', '\n', '</think>', '\n',
    '-42', '@x', '\tt', '\rr', '+1', 'é🙂\u0000', ''];
  const reasoningStart = store.tokenCount;
  for (const text of generated) {
    store.addToken(5000 + store.tokenCount, text, Segment.Reasoning, [-1, -1], routing(store.tokenCount));
    store.addStep(store.tokenCount, kv(store.tokenCount), random() * 3);
  }
  store.setSegment(reasoningStart + 9, store.tokenCount, Segment.Answer);
  store.steps.push({ start: reasoningStart + 2, end: reasoningStart + 5, line: 1 }, { start: reasoningStart + 5, end: reasoningStart + 8 });
  if (options.finish !== false) store.finish({ reason: 'eos', unterminatedReasoning: false });
  return store;
}

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.slice().buffer));

function assertSameStore(actual: TraceStore, expected: TraceStore): void {
  assert.deepEqual(actual.meta, expected.meta);
  assert.equal(actual.tokenCount, expected.tokenCount);
  assert.deepEqual(actual.tokenIds(), expected.tokenIds());
  assert.deepEqual(actual.tokenTexts(), expected.tokenTexts());
  assert.deepEqual(actual.tokenSegments(), expected.tokenSegments());
  assert.deepEqual(actual.sourceSpans(), expected.sourceSpans());
  expected.meta.model.moeLayers.forEach((_, l) => {
    const [a, b] = [actual.routing(l), expected.routing(l)];
    assert.deepEqual(a, b);
    // deepEqual treats -0 and 0 as equal in float arrays; compare the bits too
    assert.deepEqual(bits(a.weights), bits(b.weights));
    assert.deepEqual(bits(a.scores), bits(b.scores));
  });
  assert.deepEqual(actual.stepTokensInCache(), expected.stepTokensInCache());
  assert.deepEqual(actual.stepKvBytes(), expected.stepKvBytes());
  assert.deepEqual(bits(actual.stepRunMs()), bits(expected.stepRunMs()));
  assert.deepEqual(actual.steps, expected.steps);
  assert.deepEqual(actual.done, expected.done);
}

describe('trace JSON and JSONL', () => {
  it('round-trips JSON losslessly, finished or not, and empty', () => {
    for (const store of [makeStore(), makeStore({ finish: false }), new TraceStore(makeMeta())]) {
      const back = traceFromJson(traceToJson(store));
      assertSameStore(back, store);
      assert.equal(traceToJson(back), traceToJson(store));
    }
  });

  it('round-trips JSONL losslessly, one event per line in order', () => {
    const store = makeStore();
    store.finish({ reason: 'error', unterminatedReasoning: true, message: 'out of memory' });
    const text = traceToJsonl(store);
    assertSameStore(traceFromJsonl(text), store);
    assertSameStore(traceFromJsonl(text.replace(/\n/g, '\r\n')), store);
    assertSameStore(traceFromJsonl(traceToJsonl(makeStore({ finish: false }))), makeStore({ finish: false }));
    const types = text.trimEnd().split('\n').map((l) => (JSON.parse(l) as Json).type);
    const expected = ['meta', ...Array(store.tokenCount).fill('token'), ...Array(store.stepCount).fill('step'), 'reasoningStep', 'reasoningStep', 'done'];
    assert.deepEqual(types, expected);
  });

  it('keeps -0 and every float32 exactly, and refuses to write NaN', () => {
    assert.throws(() => assertSameStore(traceFromJson(traceToJson(makeStore()).replace(',-0,', ',0,')), makeStore()));
    const random = mulberry32(99);
    const raw = Uint32Array.from({ length: 50_000 }, () => Math.floor(random() * 2 ** 32));
    const floats = new Float32Array(raw.buffer).filter((v) => Number.isFinite(v));
    const back = Float32Array.from(JSON.parse(numberList(floats, 'x')) as number[]);
    assert.deepEqual(bits(back), bits(floats));
    assert.ok(Object.is((JSON.parse(numberList([-0], 'x')) as number[])[0], -0));
    assert.throws(() => traceToJson(makeStore({ nanScore: true })), /routing\[1\]\.scores\[37\] = NaN/);
    assert.throws(() => traceToJsonl(makeStore({ nanScore: true })), /NaN/);
  });
});

describe('trace CSV', () => {
  it('writes routing in long form with ranks by weight, ties by position', () => {
    const store = makeStore();
    const csv = routingToCsv(store);
    assert.ok(csv.endsWith('\n') && !csv.includes('\r'));
    const lines = csv.trimEnd().split('\n');
    assert.equal(lines[0], 'token,layer,rank,expert,weight');
    assert.equal(lines.length - 1, store.tokenCount * MOE.length * K);
    for (let r = 1; r < lines.length; r += K) {
      const group = lines.slice(r, r + K).map((l) => l.split(',').map(Number));
      const [t, layer] = group[0];
      const l = MOE.indexOf(layer);
      const { expertIds, weights } = store.routing(l);
      assert.deepEqual(group.map((g) => [g[0], g[1], g[2]]), [0, 1, 2, 3].map((rank) => [t, layer, rank]));
      for (const [, , rank, expert, weight] of group) {
        const j = Array.from(expertIds.subarray(t * K, t * K + K)).indexOf(expert);
        assert.ok(j >= 0, `expert ${expert} is in token ${t}'s top-k`);
        assert.equal(Math.fround(weight), weights[t * K + j]);
        if (rank > 0) assert.ok(weight <= group[rank - 1][4]);
      }
    }
    const start = 1 + (TIED.token * MOE.length + TIED.layer) * K;
    assert.deepEqual(lines.slice(start, start + K), ['2,2,0,7,0.5', '2,2,1,3,0.25', '2,2,2,1,0.25', '2,2,3,9,0']);
    assert.equal(formatFloat32(Math.fround(0.3)), '0.3');
    assert.equal(formatFloat32(Math.fround(1e-45)), '1e-45');
  });

  it('quotes token texts per RFC 4180 and defuses formulas', () => {
    assert.equal(csvText('=SUM(A1)'), `"'=SUM(A1)"`);
    assert.equal(csvText('say "hi", ok'), '"say ""hi"", ok"');
    assert.equal(csvText(' =x'), '" =x"');
    for (const t of ['+1', '-42', '@x', '\tt', '\rr']) assert.equal(csvText(t), `"'${t}"`);
    const store = makeStore();
    const rows = parseCsv(tokensToCsv(store));
    assert.deepEqual(rows[0], ['token', 'id', 'segment', 'text']);
    assert.equal(rows.length, store.tokenCount + 1);
    store.tokenTexts().forEach((text, t) => {
      assert.deepEqual(rows[t + 1].slice(0, 3), [String(t), String(store.tokenIds()[t]), ['prompt', 'reasoning', 'answer'][store.tokenSegments()[t]]]);
      assert.equal(rows[t + 1][3], /^[=+\-@\t\r]/.test(text) ? `'${text}` : text);
    });
  });
});

function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  const row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c !== '"') field += c;
      else if (text[i + 1] === '"') field += text[++i];
      else quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === ',' || c === '\n') {
      row.push(field);
      field = '';
      if (c === '\n') rows.push(row.splice(0));
    } else field += c;
  }
  return rows;
}

const BASE = traceToJson(makeStore());
const BASE_LINES = traceToJsonl(makeStore()).split('\n');
const DELETE = Symbol('delete');

/** BASE with values set (or deleted) at dotted paths; array indices are keys too. */
function edited(...edits: [string, unknown][]): string {
  const root = JSON.parse(BASE) as Json;
  for (const [path, value] of edits) {
    const keys = path.split('.');
    const last = keys.pop() as string;
    const target = keys.reduce((o, k) => o[k] as Json, root);
    if (value === DELETE) delete target[last];
    else target[last] = value;
  }
  return JSON.stringify(root);
}

function editedArray(path: string, edit: (a: unknown[]) => void): string {
  const root = JSON.parse(BASE) as Json;
  edit(path.split('.').reduce((o, k) => o[k] as Json, root) as unknown as unknown[]);
  return JSON.stringify(root);
}

/** Replaces `from` once, failing loudly if the text does not contain it. */
function replaced(text: string, from: string, to: string): string {
  assert.ok(text.includes(from), `fixture text contains ${from}`);
  return text.replace(from, to);
}

const lineOf = (type: string, n = 0) => BASE_LINES.findIndex((l) => l.startsWith(`{"type":"${type}"`)) + n;
function jsonlWith(line: number, edit: (event: Json) => void): string {
  const lines = [...BASE_LINES];
  const event = JSON.parse(lines[line]) as Json;
  edit(event);
  lines[line] = JSON.stringify(event);
  return lines.join('\n');
}
const route = (e: Json) => (e.routing as Json[])[0];
const HEADER = '{"format":"moe-lens-trace","version":1,';

const HOSTILE: { name: string; text: () => string; path: string; message?: RegExp; jsonl?: boolean }[] = [
  { name: 'a 1e999 weight', path: 'routing[1].weights[5]', message: /Infinity is not a finite number/,
    text: () => replaced(edited(['routing.1.weights.5', 0.123456789]), '0.123456789', '1e999') },
  { name: 'a weight beyond float32', path: 'routing[0].weights[0]', message: /32-bit float/, text: () => edited(['routing.0.weights.0', 1e39]) },
  { name: 'an expert id = E', path: 'routing[2].expertIds[6]', message: /16 is greater than 15/, text: () => edited(['routing.2.expertIds.6', E]) },
  { name: 'a repeated expert', path: 'routing[0].expertIds[9]', message: /twice .* token 2/,
    text: () => editedArray('routing.0.expertIds', (a) => { a[9] = a[8]; }) },
  { name: 'a top-level __proto__ posing as the header', path: 'format', message: /missing/,
    text: () => replaced(BASE, HEADER, '{"__proto__":{"format":"moe-lens-trace","version":1,"polluted":true},') },
  { name: 'a __proto__ supplying numLayers', path: 'meta.model.numLayers', message: /missing/,
    text: () => replaced(edited(['meta.model.numLayers', DELETE]), '"model":{', '"model":{"__proto__":{"numLayers":6},') },
  { name: 'a future version', path: 'version', message: /newer MoE Lens.*update the MoE Lens extension/i, text: () => edited(['version', 2]) },
  { name: 'a version that is a string', path: 'version', message: /found the string "1"/, text: () => edited(['version', '1']) },
  { name: 'another format', path: 'format', message: /not a MoE Lens trace/, text: () => edited(['format', 'chrome-trace']) },
  { name: 'truncated JSON', path: '', message: /not valid JSON/, text: () => BASE.slice(0, BASE.length >> 1) },
  { name: 'an array at the top', path: '', message: /expected an object/, text: () => '[1,2]' },
  { name: 'a text short', path: 'tokens.texts', message: /expected 51/, text: () => editedArray('tokens.texts', (a) => a.pop()) },
  { name: 'scores long', path: 'routing[3].scores', message: /nRoutedExperts 16 × 51 tokens/, text: () => editedArray('routing.3.scores', (a) => a.push(0)) },
  { name: 'kvBytes short', path: 'steps.kvBytes', message: /numLayers 6 × 18 steps/, text: () => editedArray('steps.kvBytes', (a) => a.pop()) },
  { name: 'negative kvBytes', path: 'steps.kvBytes[3]', message: /less than 0/, text: () => edited(['steps.kvBytes.3', -1]) },
  { name: '5000 experts', path: 'meta.model.nRoutedExperts', text: () => edited(['meta.model.nRoutedExperts', 5000]) },
  { name: 'k > E', path: 'meta.model.expertsPerToken', message: /nRoutedExperts is 16/, text: () => edited(['meta.model.expertsPerToken', 17]) },
  { name: '2000 layers', path: 'meta.model.numLayers', message: /greater than 1024/, text: () => edited(['meta.model.numLayers', 2000]) },
  { name: 'MoE layers out of order', path: 'meta.model.moeLayers[2]', message: /ascending/, text: () => edited(['meta.model.moeLayers', [1, 4, 2, 5]]) },
  { name: 'a MoE layer ≥ numLayers', path: 'meta.model.moeLayers[3]', text: () => edited(['meta.model.moeLayers', [1, 2, 4, 6]]) },
  { name: 'a routing layer not in moeLayers', path: 'routing[1].layer', text: () => edited(['routing.1.layer', 3]) },
  { name: 'a routing layer missing', path: 'routing', message: /has 3 layers; expected 4/, text: () => editedArray('routing', (a) => a.pop()) },
  { name: 'segment 3', path: 'tokens.segments[4]', text: () => edited(['tokens.segments.4', 3]) },
  { name: 'a negative token id', path: 'tokens.ids[0]', text: () => edited(['tokens.ids.0', -1]) },
  { name: 'a fractional token id', path: 'tokens.ids[1]', message: /integer/, text: () => edited(['tokens.ids.1', 1.5]) },
  { name: 'a span past the prompt', path: 'tokens.spans[0]', message: /prompt's length/, text: () => edited(['tokens.spans.1', PROMPT.length + 1]) },
  { name: 'a half-generated span', path: 'tokens.spans[2]', text: () => edited(['tokens.spans.2', -1]) },
  { name: 'a step ending before it starts', path: 'reasoningSteps[0]', message: /start 36 is after end 20/, text: () => edited(['reasoningSteps.0.end', 20]) },
  { name: 'a step past the tokens', path: 'reasoningSteps[1].end', text: () => edited(['reasoningSteps.1.end', 52]) },
  { name: 'an unknown done reason', path: 'done.reason', text: () => edited(['done.reason', 'crashed']) },
  { name: 'no done', path: 'done', message: /missing/, text: () => edited(['done', DELETE]) },
  { name: 'a text that is a number', path: 'tokens.texts[2]', text: () => edited(['tokens.texts.2', 7]) },
  { name: 'topP 0', path: 'meta.settings.topP', text: () => edited(['meta.settings.topP', 0]) },
  { name: 'a fallback that is a string', path: 'meta.fallbacks[0]', text: () => edited(['meta.fallbacks.0', 'cpu']) },
  { name: 'over 256 MiB', path: '', message: /larger than 256 MiB/, text: () => 'x'.repeat(MAX_TRACE_BYTES + 1) },
  { name: 'over 10 million tokens', path: 'tokens.ids', message: /at most 10000000/, text: () => replaced(BASE, '"ids":[', `"ids":[${'0,'.repeat(10_000_000)}`) },
  { name: 'JSONL: a bad line', jsonl: true, path: 'line 5', message: /not valid JSON/,
    text: () => BASE_LINES.map((l, i) => (i === 4 ? l.slice(0, 40) : l)).join('\n') },
  { name: 'JSONL: tokens out of order', jsonl: true, path: 'line 3, index', message: /expected 1/,
    text: () => [BASE_LINES[0], BASE_LINES[1], ...BASE_LINES.slice(3)].join('\n') },
  { name: 'JSONL: a 1e999 weight', jsonl: true, path: 'line 4, routing[0].weights[1]', message: /finite/,
    text: () => replaced(jsonlWith(3, (e) => { (route(e).weights as number[])[1] = 0.123456789; }), '0.123456789', '1e999') },
  { name: 'JSONL: no meta first', jsonl: true, path: 'line 1, type', text: () => BASE_LINES.slice(1).join('\n') },
  { name: 'JSONL: a future version', jsonl: true, path: 'line 1, version', message: /newer MoE Lens/, text: () => jsonlWith(0, (e) => { e.version = 3; }) },
  { name: 'JSONL: an event after done', jsonl: true, path: `line ${lineOf('done') + 2}, type`,
    text: () => [...BASE_LINES.slice(0, -1), BASE_LINES[lineOf('step')]].join('\n') },
  { name: 'JSONL: an unknown event', jsonl: true, path: `line ${lineOf('step') + 1}, type`, message: /unknown event type "stop"/,
    text: () => jsonlWith(lineOf('step'), (e) => { e.type = 'stop'; }) },
  { name: 'JSONL: a reasoning step past the tokens', jsonl: true, path: `line ${lineOf('reasoningStep') + 1}, end`,
    text: () => jsonlWith(lineOf('reasoningStep'), (e) => { e.end = 99; }) },
  { name: 'JSONL: an unknown segment', jsonl: true, path: 'line 3, segment', text: () => jsonlWith(2, (e) => { e.segment = 'thinking'; }) },
  { name: 'JSONL: kvBytes short', jsonl: true, path: `line ${lineOf('step', 2)}, kvBytes`,
    text: () => jsonlWith(lineOf('step', 1), (e) => { (e.kvBytes as number[]).pop(); }) },
  { name: 'JSONL: an expert id = E', jsonl: true, path: 'line 2, routing[0].expertIds[0]', text: () => jsonlWith(1, (e) => { (route(e).expertIds as number[])[0] = E; }) },
];

describe('trace import of hostile files', () => {
  for (const c of HOSTILE) {
    it(`rejects ${c.name}`, () => {
      const text = c.text();
      assert.throws(() => (c.jsonl ? traceFromJsonl(text) : traceFromJson(text)), (e: unknown) => {
        assert.ok(e instanceof TraceFormatError, `a TraceFormatError, not ${String(e)}`);
        assert.equal(e.path, c.path, e.message);
        assert.ok(e.message.includes(c.path) && e.message.endsWith(e.fix), e.message);
        if (c.message) assert.match(e.message, c.message);
        return true;
      });
    });
  }

  it('ignores unknown keys, __proto__ and constructor included, without polluting prototypes', () => {
    const text = replaced(replaced(BASE, HEADER, `${HEADER}"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}},"extra":[1],`),
      '"settings":{', '"settings":{"__proto__":{"polluted":3},');
    const store = traceFromJson(text);
    assertSameStore(store, makeStore());
    assert.equal(Object.getPrototypeOf(store.meta.settings), Object.prototype);
    assert.equal(({} as Json).polluted, undefined);
    assert.ok(!('format' in {}));
  });
});

describe('trace schema', () => {
  const schema = traceSchema;
  const errors = (s: Json, value: unknown) => schemaErrors(s, value);

  it('describes what traceToJson writes, and no more', () => {
    const written = JSON.parse(BASE) as Json;
    assert.deepEqual(schema.required, Object.keys(written));
    // and the one optional field, written only for a checked run (test/cliExport.test.ts validates one)
    assert.deepEqual(Object.keys(schema.properties as Json), [...Object.keys(written), 'checks']);
    assert.deepEqual(errors(schema, written), []);
    assert.deepEqual(errors(schema, JSON.parse(traceToJson(makeStore({ finish: false })))), []);
    assert.deepEqual(errors(schema, JSON.parse(edited(['version', 2]))), ['$.version: not 1']);
    assert.deepEqual(errors(schema, JSON.parse(edited(['tokens.segments.3', 3]))), ['$.tokens.segments[3]: > maximum']);
    assert.deepEqual(errors(schema, JSON.parse(edited(['done', DELETE]))), ['$.done: missing']);
    assert.deepEqual(errors(schema, JSON.parse(edited(['done.reason', 'crashed']))), ['$.done: oneOf']);
  });
});
