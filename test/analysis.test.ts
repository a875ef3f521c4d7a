import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { coactivation } from '../extension/analysis/coactivation';
import { routerConfidence } from '../extension/analysis/confidence';
import { contrast, promptVersusGenerated, reasoningVersusAnswer } from '../extension/analysis/contrast';
import { fromStore, type LayerRouting, type RoutingInput, selectTokens, type TokenSelection } from '../extension/analysis/input';
import { expertLoads } from '../extension/analysis/load';
import { routingPaths, transitionMatrix } from '../extension/analysis/paths';
import { tokenKind } from '../extension/analysis/tokenKinds';
import { expertsOfTokenId, vocabularySpecialisation } from '../extension/analysis/vocabulary';
import { TraceStore } from '../extension/trace/store';
import type { TraceMeta } from '../extension/trace/types';

/**
 * The tiny trace the hand-computed tests use: E = 4, k = 2, MoE layers 1 and 3, five tokens.
 *   token  id  text  segment  layer 1 (ids / weights)   layer 3
 *   t0     10  'x'   prompt   0 1 / .6 .4  → top 0    2 3 / .5 .5 → top 2 (tie: the earlier)
 *   t1     11  ' ='  prompt   0 2 / .3 .7  → top 2    2 0 / .6 .4 → top 2
 *   t2     10  'x'   reason.  1 0 / .5 .5  → top 1    -  - (missing) → -1
 *   t3     12  '\n'  reason.  3 - / .9 0   → top 3    3 2 / .7 .3 → top 3
 *   t4     10  'x'   answer   0 1 / .8 .2  → top 0    2 3 / .9 .1 → top 2
 */
function tinyTrace(): RoutingInput {
  return {
    tokenCount: 5, expertsPerToken: 2, nRoutedExperts: 4, moeLayers: [1, 3],
    tokenIds: Int32Array.from([10, 11, 10, 12, 10, 0, 0]), // spare capacity past tokenCount
    tokenTexts: ['x', ' =', 'x', '\n', 'x'],
    segments: Uint8Array.from([0, 0, 1, 1, 2]),
    routing: [
      { expertIds: Int16Array.from([0, 1, 0, 2, 1, 0, 3, -1, 0, 1]), weights: Float32Array.from([0.6, 0.4, 0.3, 0.7, 0.5, 0.5, 0.9, 0, 0.8, 0.2]), scores: null },
      { expertIds: Int16Array.from([2, 3, 2, 0, -1, -1, 3, 2, 2, 3]), weights: Float32Array.from([0.5, 0.5, 0.6, 0.4, 0, 0, 0.7, 0.3, 0.9, 0.1]), scores: null },
    ],
  };
}

const ALL: TokenSelection = { start: 0, end: 5 };
const near = (actual: number, expected: number, what = '') => assert.ok(Math.abs(actual - expected) < 1e-6, `${what}: ${actual} ≠ ${expected}`);
const sameNumber = (a: number, b: number) => a === b || (Number.isNaN(a) && Number.isNaN(b));

describe('expert analyses on a hand-computed trace', () => {
  it('selects by range and segment, reading only [0, tokenCount)', () => {
    const input = tinyTrace();
    assert.deepEqual([...selectTokens(input, { start: 1, end: 4 })], [1, 2, 3]);
    assert.deepEqual([...selectTokens(input, { start: 0, end: 99, segment: 1 })], [2, 3]);
    assert.deepEqual([...selectTokens(input, { start: 0, end: 5, segment: [1, 2] })], [2, 3, 4]);
    assert.deepEqual([...selectTokens(input, { start: -3, end: 2 })], [0, 1]);
    assert.deepEqual([...selectTokens(input, { start: 4, end: 2 })], []);
  });

  it('counts co-activation, lift and both orders', () => {
    const c = coactivation(tinyTrace(), ALL, 0);
    assert.equal(c.layer, 1);
    // routed tokens: all five (t3 has expert 3). load: e0 t0 t1 t2 t4, e1 t0 t2 t4, e2 t1, e3 t3
    assert.equal(c.routedTokens, 5);
    assert.deepEqual([...c.load], [4, 3, 1, 1]);
    assert.deepEqual([...c.loadShare], [0.8, 0.6, 0.2, 0.2]);
    // pairs: {0,1} in t0 t2 t4, {0,2} in t1
    assert.deepEqual([...c.counts], [
      4, 3, 1, 0,
      3, 3, 0, 0,
      1, 0, 1, 0,
      0, 0, 0, 1,
    ]);
    // lift = count · N / (load_i load_j): (0,1) 3·5/12 = 1.25, (0,2) 1·5/4 = 1.25, (0,0) 4·5/16 = 1.25, (3,3) 5, unseen pairs 0
    near(c.lift[0 * 4 + 1], 1.25, 'lift 0,1');
    near(c.lift[2 * 4 + 0], 1.25, 'lift 2,0');
    near(c.lift[0], 1.25, 'lift 0,0');
    near(c.lift[15], 5, 'lift 3,3');
    assert.equal(c.lift[1 * 4 + 2], 0);
    assert.deepEqual([...c.orderByLoad], [0, 1, 2, 3]); // 4, 3, 1, 1: the tie by id
    // phi (n = 5): (0,1) 3/√24 ≈ .61, (0,2) 1/4, (2,3) -1/4, (1,2) = (1,3) ≈ -.61, (0,3) -1.
    // merge 0-1 → [0 1]; 0-2: 0 is at the front, so reverse → [1 0 2]; 2-3 → [1 0 2 3]
    assert.deepEqual([...c.orderClustered], [1, 0, 2, 3]);
  });

  it('leaves lift undefined (NaN) for an expert with no load, and orders unused experts last', () => {
    const c = coactivation(tinyTrace(), ALL, 1);
    // layer 3: t2 missing, so N = 4; loads e0 1 (t1), e1 0, e2 4, e3 3
    assert.equal(c.routedTokens, 4);
    assert.deepEqual([...c.load], [1, 0, 4, 3]);
    assert.ok(Number.isNaN(c.lift[1 * 4 + 2]) && Number.isNaN(c.lift[2 * 4 + 1]) && Number.isNaN(c.lift[5]));
    near(c.lift[2 * 4 + 3], 1); // 3 · 4 / (4 · 3)
    assert.equal(c.orderClustered[3], 1);
    assert.deepEqual([...c.orderByLoad], [2, 3, 0, 1]);
  });

  it('finds routing paths and layer-to-layer transitions', () => {
    const p = routingPaths(tinyTrace(), ALL, { top: 2 });
    // paths (layer 1, layer 3): t0 (0,2) t1 (2,2) t2 (1,-1) t3 (3,3) t4 (0,2)
    assert.equal(p.tokens, 5);
    assert.equal(p.distinctPaths, 4);
    assert.deepEqual(p.paths.map((x) => [[...x.experts], x.count, x.firstToken]), [[[0, 2], 2, 0], [[2, 2], 1, 1]]);
    assert.equal(p.otherTokens, 2);
    // t2 has no expert at layer 3, so it makes no transition: 0→2 twice (t0 t4), 2→2 (t1), 3→3 (t3)
    const [t] = p.transitions;
    assert.deepEqual([[...t.from], [...t.to], [...t.count]], [[0, 2, 3], [2, 2, 3], [2, 1, 1]]);
    const m = transitionMatrix(t, 4);
    assert.equal(m[0 * 4 + 2], 2);
    assert.equal(m.reduce((a, b) => a + b, 0), 4);
  });

  it('finds each expert\'s favourite token ids and kinds', () => {
    const input = tinyTrace();
    const v = vocabularySpecialisation(input, ALL, 0, { minCount: 1 });
    // id 10 (t0 t2 t4) goes to e0 and e1 three times each; id 11 (t1) to e0, e2; id 12 (t3) to e3
    assert.deepEqual([...v.tokenIds], [10, 11, 12]);
    assert.deepEqual([...v.tokenIdCounts], [3, 1, 1]);
    assert.deepEqual(v.tokenIdTexts, ['x', ' =', '\n']);
    // e0 (load 4): id 10 lift 3·5/(3·4) = 1.25, id 11 1·5/(1·4) = 1.25: the tie goes to the larger count
    const e0 = v.experts[0];
    assert.deepEqual(e0.favourites.map((f) => [f.tokenId, f.count, f.share, f.coverage, f.lift]), [[10, 3, 0.75, 1, 1.25], [11, 1, 0.25, 1, 1.25]]);
    near(v.experts[1].favourites[0].lift, 5 / 3); // id 10: 3·5/(3·3)
    assert.equal(v.experts[3].favourites[0].lift, 5); // id 12: 1·5/(1·1)
    assert.deepEqual(vocabularySpecialisation(input, ALL, 0).experts.map((e) => e.favourites.map((f) => f.tokenId)), [[10], [10], [], []]); // minCount 3
    assert.deepEqual(expertsOfTokenId(v, 10), [{ expert: 0, count: 3 }, { expert: 1, count: 3 }]);
    assert.deepEqual(expertsOfTokenId(v, 11), [{ expert: 0, count: 1 }, { expert: 2, count: 1 }]);
    assert.deepEqual(expertsOfTokenId(v, 99), []);
    // kinds: 'x' identifier ×3, ' =' operator, '\n' newline; e0 takes 3 identifiers and the operator
    const K = v.kindTokens.length;
    const kind = (name: string) => ['special', 'newline', 'whitespace', 'number', 'identifier', 'operator', 'other'].indexOf(name);
    assert.equal(v.kindTokens[kind('identifier')], 3);
    assert.equal(v.kindCounts[0 * K + kind('identifier')], 3);
    near(v.kindLift[0 * K + kind('identifier')], 1.25); // (3/4) / (3/5)
    near(v.kindLift[3 * K + kind('newline')], 5); // (1/1) / (1/5)
    assert.equal(v.kindLift[3 * K + kind('identifier')], 0);
    assert.ok(Number.isNaN(v.kindLift[0 * K + kind('special')]));
  });

  it('classifies token text', () => {
    const cases: [string, string][] = [
      ['<think>', 'special'], ['</think>', 'special'], ['<|end|>', 'special'], ['<｜begin▁of▁sentence｜>', 'special'],
      ['\n    ', 'newline'], ['  ', 'whitespace'], ['7', 'number'], [' 12', 'number'], [' total', 'identifier'], ['otal', 'identifier'],
      [' //', 'operator'], ['):', 'operator'], ['<=', 'operator'], ['L3:', 'other'], ['', 'other'],
    ];
    for (const [text, kind] of cases) assert.equal(tokenKind(text), kind, JSON.stringify(text));
  });

  it('measures router confidence from the scores', () => {
    // E = 4, k = 2; layer 3 kept no scores, so every mean is layer 1's value
    const input = { ...tinyTrace(), routing: [{ ...tinyTrace().routing[0], scores: Float32Array.from([
      0.5, 0.5, 0, 0, // H = ln 2, normalised ln2/ln4 = 0.5; margin 2nd − 3rd = 0.5
      0.9, 0.9, 0.9, 0.9, // sigmoid-like, sums to 3.6: uniform once normalised, H = ln 4 → 1; margin 0
      1, 0, 0, 0, // H 0; margin 0 − 0 = 0
      0.4, 0.3, 0.2, 0.1, // H = −Σ p ln p ≈ 1.279854, normalised ≈ 0.923220; margin 0.3 − 0.2
      0, 0, 0, 0, // no distribution: NaN
    ]) }, tinyTrace().routing[1]] };
    const r = routerConfidence(input, ALL);
    const h = -(0.4 * Math.log(0.4) + 0.3 * Math.log(0.3) + 0.2 * Math.log(0.2) + 0.1 * Math.log(0.1));
    [Math.log(2), Math.log(4), 0, h].forEach((want, i) => near(r.entropy[i], want, `entropy ${i}`));
    [0.5, 1, 0, h / Math.log(4)].forEach((want, i) => near(r.normalizedEntropy[i], want, `normalised ${i}`));
    [0.5, 0, 0, 0.1].forEach((want, i) => near(r.margin[i], want, `margin ${i}`));
    assert.ok(Number.isNaN(r.entropy[4]) && Number.isNaN(r.entropy[5]), 'no distribution, no scores');
    near(r.meanNormalizedEntropy[3], h / Math.log(4));
    assert.ok(Number.isNaN(r.meanNormalizedEntropy[4]));
    assert.deepEqual(r.leastConfident.map((u) => u.token), [1, 3, 0, 2]);
    near(r.layerMeanNormalizedEntropy[0], (0.5 + 1 + 0 + h / Math.log(4)) / 4);
  });

  it('contrasts reasoning with answer and prompt with generated, with a load difference', () => {
    const input = tinyTrace();
    const c = promptVersusGenerated(input, (i, s) => coactivation(i, s, 0));
    assert.deepEqual(c.b.selection.segment, [1, 2]);
    assert.deepEqual([...c.a.result.load], [2, 1, 1, 0]); // t0 t1
    assert.deepEqual([...c.b.result.load], [2, 2, 0, 1]); // t2 t3 t4
    // layer 1 shares: a 2/2 1/2 1/2 0, b 2/3 2/3 0 1/3
    [1 - 2 / 3, 0.5 - 2 / 3, 0.5, -1 / 3].forEach((want, e) => near(c.loadDifference[e], want, `expert ${e}`));
    const r = reasoningVersusAnswer(input, (i, s) => routingPaths(i, s));
    assert.equal(r.a.result.tokens, 2);
    assert.equal(r.b.result.tokens, 1);
  });

  it('reads a TraceStore', () => {
    const meta = { model: { moeLayers: [1, 3], nRoutedExperts: 4, expertsPerToken: 2, numLayers: 4 } } as TraceMeta;
    const store = new TraceStore(meta);
    const tiny = tinyTrace();
    store.appendTokens({
      count: 5, ids: tiny.tokenIds.subarray(0, 5), texts: tiny.tokenTexts, segments: tiny.segments, spans: null,
      routing: tiny.routing.map((r) => ({ expertIds: r.expertIds, weights: r.weights, scores: new Float32Array(20).fill(0.25) })),
    });
    const input = fromStore(store);
    assert.deepEqual(coactivation(input, ALL, 0).counts, coactivation(tiny, ALL, 0).counts);
    near(routerConfidence(input, ALL).normalizedEntropy[0], 1);
  });
});

/** A seeded random trace: k distinct experts per token, some slots missing, some layers without scores. */
function randomTrace(p: { tokens: number; experts: number; k: number; layers: number; seed: number; missing: number; spare: number; scores?: boolean }): RoutingInput {
  let state = p.seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const n = p.tokens + p.spare;
  const pool = Int16Array.from({ length: p.experts }, (_, i) => i);
  const routing: LayerRouting[] = Array.from({ length: p.layers }, (_, l) => {
    const expertIds = new Int16Array(n * p.k);
    const weights = new Float32Array(n * p.k);
    for (let t = 0; t < n; t++) {
      for (let j = 0; j < p.k; j++) {
        const pick = j + Math.floor(random() * (p.experts - j));
        [pool[j], pool[pick]] = [pool[pick], pool[j]];
        expertIds[t * p.k + j] = random() < p.missing ? -1 : pool[j];
        weights[t * p.k + j] = random();
      }
    }
    const scores = p.scores === false || l % 3 === 2 ? null : Float32Array.from({ length: n * p.experts }, () => (random() < 0.1 ? 0 : random()));
    return { expertIds, weights, scores };
  });
  return {
    tokenCount: p.tokens, expertsPerToken: p.k, nRoutedExperts: p.experts,
    moeLayers: Array.from({ length: p.layers }, (_, l) => l + 1),
    tokenIds: Int32Array.from({ length: n }, () => Math.floor(random() * 12)),
    tokenTexts: Array.from({ length: n }, (_, t) => ['a', ' 1', '+', '\n', '<think>', 'L2:'][t % 6]),
    segments: Uint8Array.from({ length: n }, () => Math.floor(random() * 3)),
    routing,
  };
}

const smallTrace = fc.record({
  tokens: fc.integer({ min: 0, max: 40 }), experts: fc.integer({ min: 2, max: 16 }), layers: fc.integer({ min: 1, max: 4 }),
  seed: fc.integer(), missing: fc.constantFrom(0, 0, 0.2), spare: fc.integer({ min: 0, max: 3 }), kShare: fc.double({ min: 0, max: 1, noNaN: true }),
}).map(({ kShare, ...p }) => randomTrace({ ...p, k: 1 + Math.floor(kShare * Math.min(4, p.experts - 1)) }));

const bigTrace = fc.record({ tokens: fc.integer({ min: 200, max: 300 }), seed: fc.integer() })
  .map((p) => randomTrace({ ...p, experts: 256, k: 8, layers: 60, missing: 0, spare: 0 }));

const selection = (tokenCount: number) => fc.record({
  start: fc.integer({ min: -2, max: tokenCount + 2 }), end: fc.integer({ min: -2, max: tokenCount + 2 }),
  segment: fc.option(fc.oneof(fc.integer({ min: 0, max: 2 }), fc.subarray([0, 1, 2])), { nil: undefined }),
});
const withSelection = (trace: fc.Arbitrary<RoutingInput>) => trace.chain((input) => fc.tuple(fc.constant(input), selection(input.tokenCount)));

/** The routed (valid, not missing) slots of the selected tokens at a layer. */
function routedSlots(input: RoutingInput, tokens: Int32Array, l: number): number {
  let n = 0;
  for (const t of tokens) for (let j = t * input.expertsPerToken; j < (t + 1) * input.expertsPerToken; j++) n += Number(input.routing[l].expertIds[j] >= 0);
  return n;
}

function checkEveryLayer(input: RoutingInput, sel: TokenSelection): void {
  const tokens = selectTokens(input, sel);
  const E = input.nRoutedExperts;
  const loads = expertLoads(input, sel);
  const confidence = routerConfidence(input, sel, tokens.length);
  for (let l = 0; l < input.moeLayers.length; l++) {
    const load = loads[l].counts.reduce((a, b) => a + b, 0);
    assert.equal(load, routedSlots(input, tokens, l));
    const c = coactivation(input, sel, l);
    for (let i = 0; i < E; i++) {
      assert.equal(c.counts[i * E + i], loads[l].counts[i]);
      for (let j = 0; j < i; j++) {
        assert.equal(c.counts[i * E + j], c.counts[j * E + i]);
        assert.ok(sameNumber(c.lift[i * E + j], c.lift[j * E + i]));
      }
    }
    assert.deepEqual([...c.orderClustered].sort((a, b) => a - b), Array.from({ length: E }, (_, i) => i));
    assert.deepEqual([...c.orderByLoad].sort((a, b) => a - b), Array.from({ length: E }, (_, i) => i));
    const v = vocabularySpecialisation(input, sel, l, { minCount: 1 });
    assert.equal(v.expertCountsOfTokenId.reduce((a, b) => a + b, 0), load);
    assert.equal(v.tokenIdCounts.reduce((a, b) => a + b, 0), c.routedTokens);
    for (const e of v.experts) for (const f of e.favourites) assert.ok(f.count <= e.load && f.share <= 1 && f.coverage <= 1);
  }
  for (let c = 0; c < confidence.entropy.length; c++) {
    const h = confidence.entropy[c];
    if (Number.isNaN(h)) continue;
    assert.ok(h >= 0 && h <= Math.log(E), `entropy ${h}`);
    assert.ok(confidence.normalizedEntropy[c] >= 0 && confidence.normalizedEntropy[c] <= 1);
    // the margin is k-th minus (k+1)-th score: undefined when every expert is selected (k = E)
    if (input.expertsPerToken < E) assert.ok(confidence.margin[c] >= 0);
    else assert.ok(Number.isNaN(confidence.margin[c]));
  }
  const paths = routingPaths(input, sel, { top: 3 });
  assert.equal(paths.paths.reduce((a, p) => a + p.count, 0) + paths.otherTokens, tokens.length);
  assert.equal(routingPaths(input, sel, { top: Infinity }).paths.reduce((a, p) => a + p.count, 0), tokens.length);
  assert.equal(paths.transitions.length, Math.max(0, input.moeLayers.length - 1));
}

describe('expert analyses on random traces (fast-check)', () => {
  it('selections hold exactly the tokens in range and segment', () => {
    fc.assert(fc.property(withSelection(smallTrace), ([input, sel]) => {
      const want = [];
      const segments = sel.segment === undefined ? null : typeof sel.segment === 'number' ? [sel.segment] : sel.segment;
      for (let t = Math.max(0, sel.start); t < Math.min(sel.end, input.tokenCount); t++) if (!segments || segments.includes(input.segments[t])) want.push(t);
      assert.deepEqual([...selectTokens(input, sel)], want);
    }));
  });

  it('loads sum to k × tokens when nothing is missing', () => {
    fc.assert(fc.property(smallTrace.filter((i) => i.routing.every((r) => !r.expertIds.subarray(0, i.tokenCount * i.expertsPerToken).includes(-1))), (input) => {
      for (const load of expertLoads(input, { start: 0, end: input.tokenCount })) {
        assert.equal(load.counts.reduce((a, b) => a + b, 0), input.expertsPerToken * input.tokenCount);
        assert.equal(load.routedTokens, input.tokenCount);
      }
    }));
  });

  it('keeps every invariant on small traces', () => {
    fc.assert(fc.property(withSelection(smallTrace), ([input, sel]) => checkEveryLayer(input, sel)), { numRuns: 150 });
  });

  it('keeps every invariant at 256 experts × 60 layers', () => {
    fc.assert(fc.property(withSelection(bigTrace), ([input, sel]) => checkEveryLayer(input, sel)), { numRuns: 2 });
  });

  it('gives each side of a contrast exactly the analysis of its selection', () => {
    fc.assert(fc.property(withSelection(smallTrace), selection(40), ([input, a], b) => {
      const analyses = [
        (i: RoutingInput, s: TokenSelection) => coactivation(i, s, 0),
        (i: RoutingInput, s: TokenSelection) => routingPaths(i, s),
        (i: RoutingInput, s: TokenSelection) => vocabularySpecialisation(i, s, input.moeLayers.length - 1),
        (i: RoutingInput, s: TokenSelection) => routerConfidence(i, s),
      ];
      for (const analyse of analyses) {
        const c = contrast<unknown>(input, analyse, a, b);
        assert.deepEqual(c.a.result, analyse(input, a));
        assert.deepEqual(c.b.result, analyse(input, b));
        const sharesA = expertLoads(input, a);
        const sharesB = expertLoads(input, b);
        const E = input.nRoutedExperts;
        sharesA.forEach((la, l) => {
          for (let e = 0; e < E; e++) {
            const want = (la.routedTokens ? la.counts[e] / la.routedTokens : 0) - (sharesB[l].routedTokens ? sharesB[l].counts[e] / sharesB[l].routedTokens : 0);
            near(c.loadDifference[l * E + e], want);
          }
        });
      }
    }), { numRuns: 60 });
  });

  it('stays fast at 20k tokens × 60 layers × 256 experts', () => {
    const noScores = randomTrace({ tokens: 20_000, experts: 256, k: 8, layers: 60, seed: 7, missing: 0, spare: 0, scores: false });
    const started = performance.now();
    for (let l = 0; l < 60; l++) coactivation(noScores, { start: 0, end: 20_000 }, l);
    const paths = routingPaths(noScores, { start: 0, end: 20_000 });
    vocabularySpecialisation(noScores, { start: 0, end: 20_000 }, 0);
    const ms = performance.now() - started;
    console.log(`co-activation of 60 layers, paths and one layer's vocabulary over 20k tokens: ${ms.toFixed(0)} ms`);
    assert.equal(paths.transitions.length, 59);
    assert.ok(ms < 10_000, `${ms} ms`);
  });
});
