import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareTraces, comparisonToJson } from '../extension/analysis/compare';
import type { RoutingInput } from '../extension/analysis/input';

/** A hand-built trace: k = 2, E = 4; `layers` maps model layer → [ids, weights] per token. */
function trace(ids: number[], layers: Record<number, [number, number][][]>): RoutingInput {
  const moeLayers = Object.keys(layers).map(Number).sort((a, b) => a - b);
  return {
    tokenCount: ids.length,
    expertsPerToken: 2,
    nRoutedExperts: 4,
    moeLayers,
    tokenIds: Int32Array.from(ids),
    tokenTexts: ids.map(String),
    segments: new Uint8Array(ids.length),
    routing: moeLayers.map((layer) => ({
      expertIds: Int16Array.from(layers[layer].flatMap((tok) => tok.map(([e]) => e))),
      weights: Float32Array.from(layers[layer].flatMap((tok) => tok.map(([, w]) => w))),
      scores: null,
    })),
  };
}

const close = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual - expected) < 1e-6, `${what}: ${actual} ≠ ${expected}`);

describe('compareTraces: two traces aligned by position where their tokens agree', () => {
  // token 2 differs (7 against 8), so positions 0, 1 and 3 are aligned
  const a = trace([5, 6, 7, 9], {
    1: [[[0, 0.6], [1, 0.4]], [[0, 0.5], [1, 0.5]], [[0, 1], [1, 0]], [[2, 1], [3, 1]]],
    3: [[[0, 1], [1, 1]], [[0, 1], [1, 1]], [[0, 1], [1, 1]], [[0, 1], [1, 1]]],
  });
  const b = trace([5, 6, 8, 9], {
    1: [[[1, 0.4], [0, 0.6]], [[0, 0.75], [2, 0.25]], [[3, 1], [2, 0]], [[1, 0.7], [0, 0.3]]],
    2: [[[0, 1], [1, 1]], [[0, 1], [1, 1]], [[0, 1], [1, 1]], [[0, 1], [1, 1]]],
  });
  const c = compareTraces(a, b);

  it('aligns positions 0, 1 and 3 and names position 2 as the first token difference', () => {
    assert.deepEqual(Array.from(c.aligned), [0, 1, 3]);
    assert.equal(c.firstTokenDifference, 2);
    assert.deepEqual(c.onlyA, [3]);
    assert.deepEqual(c.onlyB, [2]);
    assert.equal(c.layers.length, 1, 'only layer 1 is routed in both');
  });

  it('computes Jaccard and weight distance per token by hand', () => {
    const l = c.layers[0];
    // t0: the same set in another slot order: J = 1, d = 0
    // t1: {0,1} against {0,2}: J = 1/3; d = ½(|.5 − .75| + |.5 − 0| + |0 − .25|) = 0.5
    // t3: {2,3} (weights 1, 1 → .5, .5) against {1,0}: J = 0, d = 1
    assert.deepEqual(Array.from(l.jaccard).map((x) => Number(x.toFixed(6))), [1, 0.333333, 0]);
    close(l.weightDistance[0], 0, 'd0');
    close(l.weightDistance[1], 0.5, 'd1');
    close(l.weightDistance[2], 1, 'd3');
    close(l.meanJaccard, 4 / 9, 'mean Jaccard');
    close(l.meanWeightDistance, 0.5, 'mean distance');
    assert.equal(l.identicalSets, 1);
    assert.equal(l.firstDivergence, 1);
    assert.deepEqual(c.firstDivergence, { token: 1, layer: 1 });
  });

  it('counts load per expert over the aligned tokens and their difference B − A', () => {
    const l = c.layers[0];
    assert.deepEqual(Array.from(l.loadA), [2, 2, 1, 1]);
    assert.deepEqual(Array.from(l.loadB), [3, 2, 1, 0]);
    assert.deepEqual(Array.from(l.loadDifference), [1, 0, 0, -1]);
  });

  it('finds the first divergence over all layers: the earliest token, then the earliest layer', () => {
    const same = [[[0, 1], [1, 1]], [[0, 1], [1, 1]]] as [number, number][][];
    const x = trace([1, 2], { 1: same, 3: same });
    const y = trace([1, 2], { 1: [[[0, 1], [1, 1]], [[0, 1], [2, 1]]], 3: [[[0, 1], [3, 1]], [[0, 1], [1, 1]]] });
    const r = compareTraces(x, y);
    assert.deepEqual(r.firstDivergence, { token: 0, layer: 3 });
    assert.deepEqual(r.layers.map((l) => l.firstDivergence), [1, 0]);
    assert.equal(r.firstTokenDifference, null);
    const self = compareTraces(x, x);
    assert.equal(self.firstDivergence, null);
    assert.deepEqual(self.layers.map((l) => [l.meanJaccard, l.meanWeightDistance, l.identicalSets]), [[1, 0, 2], [1, 0, 2]]);
  });

  it('treats a longer trace that continues a shorter one as differing where the shorter ends', () => {
    const one = [[[0, 1], [1, 1]]] as [number, number][][];
    const r = compareTraces(trace([4], { 1: one }), trace([4, 4], { 1: [...one, ...one] }));
    assert.equal(r.firstTokenDifference, 1);
    assert.equal(r.aligned.length, 1);
  });

  it('skips missing slots (id -1) and gives NaN distance where a side has no weight', () => {
    const r = compareTraces(trace([1], { 1: [[[0, 1], [-1, 0]]] }), trace([1], { 1: [[[0, 0], [1, 0]]] }));
    const l = r.layers[0];
    close(l.jaccard[0], 0.5, 'J of {0} and {0,1}');
    assert.ok(Number.isNaN(l.weightDistance[0]));
    assert.ok(Number.isNaN(l.meanWeightDistance));
    assert.equal((comparisonToJson(r) as { layers: { meanWeightDistance: unknown }[] }).layers[0].meanWeightDistance, null, 'JSON writes NaN as null');
  });

  it('refuses traces over different numbers of experts', () => {
    const x = trace([1], { 1: [[[0, 1], [1, 1]]] });
    assert.throws(() => compareTraces(x, { ...x, nRoutedExperts: 8 }), /different experts \(4 and 8\)/);
  });
});
