import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { parseCacheName, pastFor, routedLayers } from '../extension/engine/contract';
import { StepRouting, contractReader } from '../extension/engine/routing';
import type { CacheSpec } from '../extension/engine/graph';
import { KvCache, tensorBytes } from '../extension/engine/kvCache';
import { DEFAULT_SAMPLING } from '../extension/trace/sampling';
import { packRouting } from '../extension/trace/packedRouting';
import { TraceStore } from '../extension/trace/store';
import { Segment, type TraceMeta } from '../extension/trace/types';

const spec = (layer: number, part: string, width: number): CacheSpec => ({
  past: `past_key_values.${layer}.${part}`, present: `present.${layer}.${part}`, layer, part, type: 'float32', emptyDims: [1, 0, width],
});

/** A tensor whose dispose() is counted. */
function tracked(dims: number[], log: string[], name: string): ort.Tensor {
  const t = new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
  const dispose = t.dispose.bind(t);
  t.dispose = () => {
    log.push(name);
    dispose();
  };
  return t;
}

describe('KV cache', () => {
  it('pairs present outputs with past inputs by name', () => {
    assert.equal(pastFor('present.3.kv_latent'), 'past_key_values.3.kv_latent');
    assert.equal(pastFor('logits'), undefined);
    assert.deepEqual(parseCacheName('past_key_values.12.key'), { layer: 12, part: 'key' });
    assert.equal(parseCacheName('routing.1.expert_ids'), undefined);
    assert.deepEqual(routedLayers(['logits', 'routing.4.expert_ids', 'routing.1.expert_ids', 'routing.1.router_scores']), [1, 4]);
  });

  it('starts empty from the input metadata, then feeds back each step\'s presents', () => {
    const cache = new KvCache([spec(0, 'kv_latent', 48), spec(0, 'k_rope', 16), spec(1, 'kv_latent', 48), spec(1, 'k_rope', 16)]);
    const feeds = cache.feeds();
    assert.deepEqual(Object.keys(feeds).sort(), ['past_key_values.0.k_rope', 'past_key_values.0.kv_latent', 'past_key_values.1.k_rope', 'past_key_values.1.kv_latent']);
    assert.deepEqual(feeds['past_key_values.0.kv_latent'].dims, [1, 0, 48]);
    assert.deepEqual(Array.from(cache.bytesPerLayer()), [0, 0]);
    const log: string[] = [];
    const step = (n: number) => Object.fromEntries([0, 1].flatMap((l) => [
      [`present.${l}.kv_latent`, tracked([1, n, 48], log, `s${n}.${l}.kv_latent`)],
      [`present.${l}.k_rope`, tracked([1, n, 16], log, `s${n}.${l}.k_rope`)],
    ]));
    const first = step(5);
    cache.update(first, 5);
    assert.equal(cache.sequenceLength, 5);
    assert.equal(cache.feeds()['past_key_values.1.kv_latent'], first['present.1.kv_latent']);
    assert.deepEqual(Array.from(cache.bytesPerLayer()), [5 * 64 * 4, 5 * 64 * 4]);
    assert.deepEqual(log, []);
    cache.update(step(6), 1);
    assert.deepEqual(log.sort(), ['s5.0.k_rope', 's5.0.kv_latent', 's5.1.k_rope', 's5.1.kv_latent'], 'replaced tensors are disposed at once');
    cache.dispose();
    assert.equal(log.length, 8, 'dispose releases the rest');
    assert.deepEqual(cache.feeds(), {});
  });

  it('refuses a step that lacks a present output', () => {
    const cache = new KvCache([spec(0, 'kv_latent', 4)]);
    assert.throws(() => cache.update({}, 1), /present\.0\.kv_latent/);
  });

  it('counts bytes from the tensor type and shape', () => {
    assert.equal(tensorBytes(new ort.Tensor('float32', new Float32Array(6), [1, 2, 3])), 24);
    assert.equal(tensorBytes(new ort.Tensor('float16', new Uint16Array(6), [1, 2, 3])), 12);
  });
});

describe('routing decoding', () => {
  const out = (t: number) => ({
    'routing.1.expert_ids': new ort.Tensor('int64', BigInt64Array.of(3n, 0n, 7n, 1n).subarray(0, 2 * t), [1, t, 2]),
    'routing.1.expert_weights': new ort.Tensor('float32', Float32Array.of(0.75, 0.25, 0.5, 0.5).subarray(0, 2 * t), [1, t, 2]),
    'routing.1.router_scores': new ort.Tensor('float32', Float32Array.from({ length: 8 * t }, (_, i) => i / 16), [1, t, 8]),
  });

  it('reads [1, T, k] ids and weights and [1, T, E] scores per layer into token-major columns', () => {
    const into = new StepRouting(1, 2, 8);
    into.resize(2);
    contractReader([1], 2, 8, false).read(out(2), into);
    assert.deepEqual(Array.from(into.layers[0].expertIds), [3, 0, 7, 1]);
    assert.deepEqual(Array.from(into.layers[0].weights), [0.75, 0.25, 0.5, 0.5]);
    assert.equal(into.layers[0].scores.length, 16);
    assert.equal(into.layers[0].scores[8], 0.5);
  });

  it('reads the packed output [1, T, L·(2k + E)] the same way: all ids, then all weights, then all scores', () => {
    const per = out(2);
    // two layers (1 and 3), the second with ids + 1
    const width = 2 * (2 * 2 + 8);
    const packed = new Float32Array(2 * width);
    for (let t = 0; t < 2; t++) {
      for (let l = 0; l < 2; l++) {
        for (let j = 0; j < 2; j++) {
          packed[t * width + l * 2 + j] = Number(per['routing.1.expert_ids'].data[t * 2 + j]) + l;
          packed[t * width + 4 + l * 2 + j] = (per['routing.1.expert_weights'].data as Float32Array)[t * 2 + j];
        }
        packed.set((per['routing.1.router_scores'].data as Float32Array).subarray(t * 8, (t + 1) * 8), t * width + 8 + l * 8);
      }
    }
    const into = new StepRouting(2, 2, 8);
    into.resize(2);
    contractReader([1, 3], 2, 8, true).read({ 'routing.packed': new ort.Tensor('float32', packed, [1, 2, width]) }, into);
    assert.deepEqual(Array.from(into.layers[0].expertIds), [3, 0, 7, 1]);
    assert.deepEqual(Array.from(into.layers[1].expertIds), [4, 1, 8, 2]);
    assert.deepEqual(Array.from(into.layers[1].weights), [0.75, 0.25, 0.5, 0.5]);
    assert.equal(into.layers[1].scores[8], 0.5);
  });
});

describe('packed rows in the trace store', () => {
  const [L, k, E] = [2, 2, 8];
  const width = L * (2 * k + E);
  const meta = (): TraceMeta => ({
    createdAt: '2026-12-07T00:00:00.000Z',
    model: { name: 'm', modelType: 'deepseek_v3', numLayers: 3, moeLayers: [1, 2], nRoutedExperts: E, expertsPerToken: k, kvBytesPerToken: 8, kvBytesPerTokenMhaEquivalent: 16 },
    provider: 'cpu', fallbacks: [], settings: DEFAULT_SAMPLING, prompt: 'p',
  });
  /** Token t's packed row: ids (t + l + j) % E, weights and scores distinct per position. */
  const row = (t: number) => {
    const r = new Float32Array(width);
    for (let l = 0; l < L; l++) {
      for (let j = 0; j < k; j++) {
        r[l * k + j] = (t + l + j) % E;
        r[L * k + l * k + j] = t + l / 10 + j / 100;
      }
      for (let e = 0; e < E; e++) r[2 * L * k + l * E + e] = -t - l / 10 - e / 1000;
    }
    return r;
  };
  const layersOf = (r: Float32Array) => {
    const into = new StepRouting(L, k, E);
    contractReader([1, 2], k, E, true).read({ 'routing.packed': new ort.Tensor('float32', r, [1, 1, width]) }, into);
    return into.layers.map((c) => ({ expertIds: c.expertIds.slice(), weights: c.weights.slice(), scores: c.scores.slice() }));
  };

  it('holds the same trace as per-layer appends, whatever reads and appends come between', () => {
    const packed = new TraceStore(meta());
    const plain = new TraceStore(meta());
    // the prompt's two tokens, appended as the prefill does
    const [r0, r1] = [layersOf(row(0)), layersOf(row(1))];
    const prompt = r0.map((c, l) => ({ expertIds: [...c.expertIds, ...r1[l].expertIds], weights: [...c.weights, ...r1[l].weights], scores: [...c.scores, ...r1[l].scores] }));
    for (const s of [packed, plain]) s.appendTokens({ count: 2, ids: [7, 8], texts: ['a', 'b'], segments: Segment.Prompt, spans: [0, 1, 1, 2], routing: prompt });
    for (let t = 2; t < 12; t++) {
      const r = row(t);
      // token 6 comes the per-layer way into both; reads at 4 and 9 settle the rows pending then
      if (t === 6) packed.addToken(t, `t${t}`, Segment.Answer, [-1, -1], layersOf(r));
      else assert.equal(packed.appendPackedTokens(1, Int32Array.of(t), [`t${t}`], Uint8Array.of(Segment.Answer), r), t);
      r.fill(NaN); // the store copied the row: the step buffer is the decoder's again
      plain.addToken(t, `t${t}`, Segment.Answer, [-1, -1], layersOf(row(t)));
      if (t === 4) assert.deepEqual(packed.routing(1).scores.slice(-E), plain.routing(1).scores.slice(-E));
      if (t === 9) assert.equal(packed.bytesPerToken(), plain.bytesPerToken());
    }
    assert.equal(packed.tokenCount, 12);
    assert.deepEqual(packed.tokenIds(), plain.tokenIds());
    assert.deepEqual(packed.sourceSpans(), plain.sourceSpans());
    assert.deepEqual(packed.tokenTexts(), plain.tokenTexts());
    const copy = (s: TraceStore) => {
      const into = { ids: new Int32Array(5), segments: new Uint8Array(5), spans: new Int32Array(10), expertIds: new Int16Array(5 * L * k), weights: new Float32Array(5 * L * k), scores: new Float32Array(5 * L * E) };
      s.copyTokens(7, 12, into);
      return into;
    };
    const [a, b] = [copy(packed), copy(plain)];
    assert.deepEqual(a, b);
    for (let l = 0; l < L; l++) {
      assert.deepEqual(packed.routing(l), plain.routing(l));
      assert.deepEqual(packed.expertLoad(l), plain.expertLoad(l));
    }
    // token 11, layer 1: ids (11 + 1 + j) % 8, weight 11.1 + j / 100, score e: −11.1 − e / 1000
    assert.deepEqual(Array.from(packed.routing(1).expertIds.slice(-k)), [4, 5]);
    assert.equal(packed.routing(1).weights.at(-1), Math.fround(11.11));
    assert.equal(packed.routing(1).scores.at(-1), Math.fround(-11.1 - 7 / 1000));
  });

  it('packs one token of per-layer columns into the row it came from, and appends rows from a longer buffer as a batch', () => {
    // the decode loop's buffer holds more rows than a batch fills; its tail must not be read
    const rows = new Float32Array(4 * width).fill(NaN);
    for (let t = 0; t < 3; t++) packRouting(layersOf(row(t + 2)), 0, k, E, rows, t * width);
    for (let t = 0; t < 3; t++) assert.deepEqual(rows.subarray(t * width, (t + 1) * width), row(t + 2));
    const batched = new TraceStore(meta());
    const single = new TraceStore(meta());
    const segments = [Segment.Reasoning, Segment.Answer, Segment.Answer];
    assert.equal(batched.appendPackedTokens(3, Int32Array.of(2, 3, 4, 99), ['a', 'b', 'c'], Uint8Array.of(...segments, 0), rows), 0);
    for (let t = 0; t < 3; t++) single.appendPackedTokens(1, Int32Array.of(t + 2), ['abc'[t]], Uint8Array.of(segments[t]), row(t + 2));
    assert.equal(batched.tokenCount, 3);
    assert.deepEqual(batched.tokenIds(), single.tokenIds());
    assert.deepEqual(batched.tokenTexts(), single.tokenTexts());
    assert.deepEqual(Array.from(batched.tokenSegments()), segments);
    assert.deepEqual(Array.from(batched.sourceSpans()), new Array(6).fill(-1));
    for (let l = 0; l < L; l++) assert.deepEqual(batched.routing(l), single.routing(l));
  });

  it('refuses a row of another width', () => {
    const store = new TraceStore(meta());
    assert.throws(() => store.appendPackedTokens(1, Int32Array.of(1), ['x'], Uint8Array.of(Segment.Answer), new Float32Array(width - 1)), /rows of 2 MoE layers × \(2·2 \+ 8\) values/);
    assert.equal(store.tokenCount, 0);
  });
});
