import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { parseCacheName, pastFor, routedLayers } from '../extension/engine/contract';
import { StepRouting, contractReader } from '../extension/engine/routing';
import type { CacheSpec } from '../extension/engine/graph';
import { KvCache, tensorBytes } from '../extension/engine/kvCache';

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
