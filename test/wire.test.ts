import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { serializeLikeVsCode } from '../bench/measure';
import { traceMessages } from '../extension/inspector/stream';
import { type RunBatch, fromWire, toWire } from '../extension/inspector/wire';
import type { HostMessage } from '../extension/protocol';
import { runSummary } from '../extension/trace/figures';
import type { TraceStore } from '../extension/trace/store';
import { Segment } from '../extension/trace/types';
import { initialState, reduce } from '../webview/state';
import { recordRun } from './webview/record';
import { reshapeTrace } from '../bench/streams';

type Data = Extract<HostMessage, { type: 'runData' }>;

/** A message's typed arrays as plain arrays, to compare columns whatever buffers hold them. */
const plain = (value: unknown): unknown => (ArrayBuffer.isView(value) ? Array.from(value as unknown as ArrayLike<number>)
  : Array.isArray(value) ? value.map(plain)
    : value && typeof value === 'object' ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)])) : value);

describe('runData on the wire: one buffer per batch, views of it in the webview', () => {
  let messages: HostMessage[];
  let store: TraceStore;
  before(async () => {
    const recorded = await recordRun(11);
    store = recorded.store;
    messages = [...recorded.live, ...traceMessages(store, 12, runSummary(store))];
  });

  it('sends the channel\'s batches without a copy and brings back the same columns', () => {
    const data = messages.filter((m): m is Data => m.type === 'runData');
    assert.ok(data.some((m) => m.tokens && m.steps));
    for (const m of data) {
      const wire = toWire(m) as RunBatch;
      assert.equal(wire.type, 'runBatch');
      const filled = m.tokens ? m.tokens.ids : m.steps?.kvBytes;
      assert.equal(wire.buffer, filled?.buffer, 'the columns were filled in the wire layout: no copy (steps-only and split batches too)');
      assert.deepEqual(plain(fromWire(wire)), plain(m));
    }
  });

  it('sends the batches of a split replay without a copy too (the earlier ones carry no model calls)', () => {
    const large = reshapeTrace(store, 48, 128, 8);
    const data = traceMessages(large, 13, runSummary(large)).filter((m): m is Data => m.type === 'runData');
    assert.ok(data.length > 1 && data[0].steps === null);
    for (const m of data) assert.equal((toWire(m) as RunBatch).buffer, m.tokens?.ids.buffer);
  });

  it('copies columns made elsewhere into the layout, router scores left out included', () => {
    const tokens = { first: 3, count: 2, ids: Int32Array.of(5, 6), texts: ['a', 'b\n'], segments: Uint8Array.of(Segment.Reasoning, Segment.Answer), spans: Int32Array.of(-1, -1, -1, -1), expertIds: Int16Array.of(1, 2, 3, 4, 5, 6, 7, 0), weights: new Float32Array(8).fill(0.5), scores: new Float32Array(0) };
    const steps = { first: 1, count: 1, tokensInCache: Int32Array.of(5), kvBytes: Float64Array.of(1, 2, 3), runMs: Float32Array.of(0.25) };
    const m: Data = { type: 'runData', runId: 4, seq: 2, tokens, steps, segments: [{ type: 'enter', segment: Segment.Answer, token: 4 }] };
    const wire = toWire(m) as RunBatch;
    assert.deepEqual(wire.shape, { routing: 4, scores: 0, sums: 0, layers: 3 });
    assert.notEqual(wire.buffer, tokens.ids.buffer);
    assert.deepEqual(plain(fromWire(wire)), plain(m));
    // past the webview's score budget: the batch's score sums (3 segments × 2 layers × 4 experts) travel instead
    const summed: Data = { ...m, tokens: { ...tokens, scoreSums: Float32Array.from({ length: 24 }, (_, i) => i / 8) } };
    const summedWire = toWire(summed) as RunBatch;
    assert.deepEqual(summedWire.shape, { routing: 4, scores: 0, sums: 24, layers: 3 });
    assert.deepEqual(plain(fromWire(summedWire)), plain(summed));
    assert.equal(fromWire({ ...summedWire, shape: { ...summedWire.shape, sums: 23 } }), null, 'sums that do not fill the buffer');
    const stepsOnly: Data = { ...m, tokens: null };
    assert.deepEqual(plain(fromWire(toWire(stepsOnly) as RunBatch)), plain(stepsOnly));
    assert.throws(() => toWire({ ...m, tokens: { ...tokens, spans: Int32Array.of(-1, -1) } }), RangeError, 'columns that do not match their counts are the host\'s bug, not sent');
  });

  it('is one binary part and a few JSON values when VS Code serialises it', () => {
    const m = messages.find((x): x is Data => x.type === 'runData' && x.tokens !== null && x.tokens.count > 1) as Data;
    const logical = serializeLikeVsCode(m);
    const wire = serializeLikeVsCode(toWire(m));
    assert.equal(wire.buffers.length, 1);
    assert.ok(wire.json.length < logical.json.length / 2, `${wire.json.length} vs ${logical.json.length} characters of JSON`);
    assert.equal(wire.bytes - wire.json.length, logical.bytes - logical.json.length, 'the same binary bytes');
  });

  it('folds into the same run as runData does', () => {
    const logical = messages.reduce(reduce, initialState).run;
    const wired = messages.map(toWire).reduce(reduce, initialState).run;
    assert.ok(logical && wired && wired.tokenCount === store.tokenCount);
    assert.deepEqual(plain({ ...wired, routing: wired.routing.map((r) => r.expertIds.subarray(0, store.tokenCount * store.meta.model.expertsPerToken)) }),
      plain({ ...logical, routing: logical.routing.map((r) => r.expertIds.subarray(0, store.tokenCount * store.meta.model.expertsPerToken)) }));
  });

  it('drops a batch whose sizes do not add up, and the webview ignores it', () => {
    const m = messages.find((x): x is Data => x.type === 'runData' && x.tokens !== null) as Data;
    const wire = toWire(m) as RunBatch;
    const broken: RunBatch[] = [
      { ...wire, buffer: wire.buffer.slice(0, wire.buffer.byteLength - 2) },
      { ...wire, buffer: new Uint8Array(wire.buffer) as unknown as ArrayBuffer },
      { ...wire, tokens: wire.tokens && { ...wire.tokens, texts: wire.tokens.texts.slice(1) } },
      { ...wire, tokens: wire.tokens && { ...wire.tokens, count: -1 } },
      { ...wire, shape: { ...wire.shape, routing: 1.5 } },
      { ...wire, shape: undefined as never },
      { ...wire, segments: undefined as never },
    ];
    const detached = new ArrayBuffer(0);
    structuredClone(detached, { transfer: [detached] });
    assert.equal(fromWire({ ...wire, tokens: null, steps: null, shape: { routing: 0, scores: 0, sums: 0, layers: 0 }, buffer: detached }), null, 'a detached buffer');
    const start = messages.slice(0, 1).reduce(reduce, initialState);
    for (const b of broken) {
      assert.equal(fromWire(b), null);
      assert.equal(reduce(start, { ...b, seq: 1 }), start);
    }
  });
});
