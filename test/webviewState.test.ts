import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type HostMessage, MAX_KEPT_SCORES, PROTOCOL_VERSION, type StepColumns, type TokenColumns } from '../extension/protocol';
import type { SegmentEvent } from '../extension/trace/segmenter';
import { Segment, type TraceMeta } from '../extension/trace/types';
import { loadRun, saveRun } from '../webview/persist';
import { type InspectorState, MAX_PENDING, MAX_ROW_TOKENS, accumulate, initialState, reduce } from '../webview/state';
import { balance } from '../extension/trace/figures';
import { heatmap, kvFigures, segmentHeatmap, segmentLoad, topExpert } from '../webview/stats';
import { LineLayout } from '../webview/views/lines';

// Small synthetic messages exercise the reducer's ordering rules; the Chromium suite feeds real engine recordings.
const meta: TraceMeta = {
  createdAt: '2026-01-01T00:00:00Z',
  model: { name: 'm', modelType: 'deepseek_v3', numLayers: 3, moeLayers: [1, 2], nRoutedExperts: 4, expertsPerToken: 2, kvBytesPerToken: 256, kvBytesPerTokenMhaEquivalent: 1280 },
  provider: 'cpu', fallbacks: [], settings: { maxNewTokens: 10, temperature: 0, topK: 0, topP: 1, seed: 0 }, prompt: 'p',
};

/** Token columns for tokens from `first`: routing of token t in layer index l: experts (t + l + 1) % 4 and (t + l + 2) % 4, weights 0.7, 0.3. */
function tokens(first: number, list: [string, Segment][]): TokenColumns {
  const n = list.length;
  const layerBlock = (fill: (t: number, l: number) => number[]) => [0, 1].flatMap((l) => list.flatMap((_, i) => fill(first + i, l)));
  return {
    first, count: n,
    ids: Int32Array.from(list, (_, i) => 100 + first + i),
    texts: list.map(([text]) => text),
    segments: Uint8Array.from(list, ([, segment]) => segment),
    spans: Int32Array.from(list.flatMap(([, segment], i) => (segment === Segment.Prompt ? [first + i, first + i + 1] : [-1, -1]))),
    expertIds: Int16Array.from(layerBlock((t, l) => [(t + l + 1) % 4, (t + l + 2) % 4])),
    weights: Float32Array.from(layerBlock(() => [0.7, 0.3])),
    scores: Float32Array.from(layerBlock(() => [0.1, 0.2, 0.3, 0.4])),
  };
}

/** Model calls from `first`, each leaving `tokensInCache` tokens: 256 bytes per token in each of the 3 layers. */
const steps = (first: number, tokensInCache: number[]): StepColumns => ({
  first, count: tokensInCache.length,
  tokensInCache: Int32Array.from(tokensInCache),
  kvBytes: Float64Array.from(tokensInCache.flatMap((n) => [256 * n, 256 * n, 256 * n])),
  runMs: Float32Array.from(tokensInCache, () => 2),
});

function runMessages(runId: number): HostMessage[] {
  return [
    { type: 'runStart', runId, seq: 0, mode: 'live', meta },
    { type: 'runData', runId, seq: 1, tokens: tokens(0, [['a', Segment.Prompt], ['b\n', Segment.Prompt]]), steps: steps(0, [2]), segments: [] },
    { type: 'runData', runId, seq: 2, tokens: tokens(2, [['<th', Segment.Answer], ['ink>', Segment.Reasoning]]), steps: steps(1, [3]),
      segments: [{ type: 'relabel', start: 2, end: 3, segment: Segment.Reasoning }] },
    { type: 'runData', runId, seq: 3, tokens: tokens(4, [['x', Segment.Reasoning], ['42', Segment.Answer]]), steps: steps(2, [4, 5]),
      segments: [{ type: 'step', step: { start: 3, end: 5, line: 2 } }] },
    { type: 'runDone', runId, seq: 4, summary: { reason: 'eos', unterminatedReasoning: false, generatedTokens: 4, decodeTokensPerSecond: 100 } },
  ];
}

const fold = (messages: HostMessage[], from: InspectorState = initialState) => messages.reduce(reduce, from);

/** The visible content of a state: what the views read. */
function content(s: InspectorState) {
  const r = s.run;
  if (!r) return null;
  return {
    runId: r.runId, tokens: r.texts.slice(0, r.tokenCount), segments: Array.from(r.segments.subarray(0, r.tokenCount)), rows: Array.from(r.rowStarts.subarray(0, r.rowCount)),
    steps: r.steps, kv: Array.from(r.kvTotal.subarray(0, r.stepCount)), done: r.summary?.reason ?? null, load: Array.from(r.loadBySegment), missed: r.missedMessages,
    experts: Array.from(r.routing[1].expertIds.subarray(0, r.tokenCount * 2)),
  };
}

describe('webview reducer: merges stream messages by run id and seq', () => {
  it('builds columns, rows, relabels, steps and KV from an in-order run', () => {
    const s = fold(runMessages(1));
    const c = content(s);
    assert.deepEqual(c?.tokens, ['a', 'b\n', '<th', 'ink>', 'x', '42']);
    assert.deepEqual(c?.segments, [0, 0, 1, 1, 1, 2], 'the relabel moved token 2 into the reasoning');
    assert.deepEqual(c?.rows, [0, 2, 5], 'rows break after a newline and at segment changes');
    assert.deepEqual(c?.steps, [{ start: 3, end: 5, line: 2 }]);
    assert.equal(c?.done, 'eos');
    assert.deepEqual(s.run && s.run.tokensBySegment, [2, 3, 1]);
    assert.ok(s.run && s.run.nextSeq === 5);
  });

  it('gives the same state for shuffled and duplicated delivery as for in-order delivery', () => {
    const ordered = content(fold(runMessages(1)));
    const m = runMessages(1);
    for (const order of [[4, 3, 2, 1, 0], [0, 2, 2, 1, 3, 1, 4, 4], [1, 0, 3, 4, 2, 0]]) {
      assert.deepEqual(content(fold(order.map((i) => m[i]))), ordered, `order ${order}`);
    }
  });

  it('ignores a stale run once a newer one started, and a repeated runStart', () => {
    const a = runMessages(1);
    const b = runMessages(2);
    const s = fold([...a.slice(0, 2), b[0], ...a.slice(2), b[1], a[0]]);
    assert.equal(s.run?.runId, 2);
    assert.deepEqual(content(s)?.tokens, ['a', 'b\n']);
    assert.equal(reduce(s, b[0]), s, 'a duplicate runStart changes nothing');
  });

  it('accepts a run with a lower id after init (a restarted host counts again), but not without one', () => {
    const later = fold(runMessages(5));
    assert.equal(fold(runMessages(1), later).run?.runId, 5);
    const init: HostMessage = { type: 'init', protocol: PROTOCOL_VERSION, mode: 'replay', defaults: meta.settings, layer: 1, prompt: '', title: 't' };
    assert.equal(fold([init, ...runMessages(1)], later).run?.runId, 1);
  });

  it('stops waiting for a lost message after MAX_PENDING and counts what was missed', () => {
    const start: HostMessage = { type: 'runStart', runId: 1, seq: 0, mode: 'live', meta };
    const later: HostMessage[] = Array.from({ length: MAX_PENDING + 2 }, (_, i) => ({ type: 'runData', runId: 1, seq: i + 2, tokens: null, steps: null, segments: [] }));
    const s = fold([start, ...later]);
    assert.equal(s.run?.missedMessages, 1, 'seq 1 never came');
    assert.equal(s.run?.nextSeq, MAX_PENDING + 4);
    assert.equal(s.pending.length, 0);
  });

  it('never changes an earlier state (so re-running the reducer on it is safe)', () => {
    const m = runMessages(1);
    const s1 = fold(m.slice(0, 2));
    const before = content(s1);
    fold(m.slice(2), s1);
    fold(m.slice(2), s1);
    assert.deepEqual(content(s1), before);
    assert.deepEqual(content(fold(m.slice(2), s1)), content(fold(m)));
  });

  it('cuts rows at MAX_ROW_TOKENS tokens without newlines', () => {
    const list = Array.from({ length: MAX_ROW_TOKENS * 2 + 1 }, (): [string, Segment] => ['w', Segment.Prompt]);
    const s = fold([{ type: 'runStart', runId: 1, seq: 0, mode: 'live', meta }, { type: 'runData', runId: 1, seq: 1, tokens: tokens(0, list), steps: null, segments: [] }]);
    assert.deepEqual(content(s)?.rows, [0, MAX_ROW_TOKENS, 2 * MAX_ROW_TOKENS]);
  });

  it('survives hide/show: the saved run loads back to the same content, with or without router scores', () => {
    const s = fold(runMessages(1));
    assert.ok(s.run);
    const saved = JSON.parse(JSON.stringify(saveRun(s.run)));
    const back = loadRun(saved);
    assert.deepEqual(content({ ...s, run: back }), content(s));
    assert.deepEqual(Array.from(back.routing[0].scores.subarray(0, 24)), Array.from(s.run.routing[0].scores.subarray(0, 24)));
    assert.throws(() => loadRun({ ...saved, tokenCount: 99 }), /wrong length|inconsistent/);
  });
});

describe('webview statistics', () => {
  const run = fold(runMessages(1)).run;
  assert.ok(run);
  it('top-1 expert is the heaviest selected one', () => {
    assert.equal(topExpert(run, 0, 0), 1);
    assert.equal(topExpert(run, 1, 3), 1);
  });
  it('expert load per segment and balance figures', () => {
    assert.deepEqual(Array.from(segmentLoad(run, 0, [Segment.Prompt])), [0, 1, 2, 1]);
    const b = balance([2, 2, 2, 2]);
    assert.equal(b.maxOverMean, 1);
    assert.equal(b.normalizedEntropy, 1);
    const skew = balance([8, 0, 0, 0]);
    assert.equal(skew.maxOverMean, 4);
    assert.equal(skew.entropyBits, 0);
    assert.equal(balance([0, 0]).maxOverMean, 0);
  });
  it('heatmap for one token, a range and a segment', () => {
    const one = heatmap(run, 2, 3);
    assert.deepEqual(Array.from(one.value.subarray(0, 4)), [0.1, 0.2, 0.3, 0.4].map((x) => Math.fround(x)));
    assert.deepEqual(Array.from(one.selected.subarray(0, 4)), [0, 0, 0, 1].map((x, e) => (e === 3 || e === 0 ? 1 : x)));
    const seg = segmentHeatmap(run, [Segment.Reasoning]);
    assert.equal(seg.tokens, 3);
    const range = heatmap(run, 2, 5);
    assert.deepEqual(Array.from(range.selected), Array.from(seg.selected), 'the reasoning is tokens 2–4');
  });
  it('KV figures from the last step', () => {
    assert.deepEqual(kvFigures(run), { tokensInCache: 5, latentBytes: 3840, mhaBytes: 19200, ratio: 5 });
  });
});

describe('webview state: router scores of a very long run', () => {
  it('past MAX_KEPT_SCORES drops the per-token scores but keeps exact loads and score sums', () => {
    // the bench's shape: its budget (5461 tokens) is no power of two, so doubling the score columns would overshoot it
    const L = 48;
    const E = 128;
    const k = 8;
    const big: TraceMeta = { ...meta, model: { ...meta.model, numLayers: L, moeLayers: Array.from({ length: L }, (_, l) => l), nRoutedExperts: E, expertsPerToken: k } };
    const perBatch = 512;
    const batches = Math.ceil(MAX_KEPT_SCORES / (L * E) / perBatch) + 1;
    const batch = (b: number): TokenColumns => {
      const first = b * perBatch;
      const expertIds = new Int16Array(L * perBatch * k);
      for (let i = 0; i < expertIds.length; i++) expertIds[i] = (i * 7 + b) % E;
      const scores = new Float32Array(L * perBatch * E).fill(1 / E);
      return {
        first, count: perBatch, ids: new Int32Array(perBatch), texts: Array.from({ length: perBatch }, () => 't'), segments: new Uint8Array(perBatch).fill(Segment.Reasoning),
        spans: new Int32Array(2 * perBatch).fill(-1), expertIds, weights: new Float32Array(L * perBatch * k).fill(1 / k), scores,
      };
    };
    let s = reduce(initialState, { type: 'runStart', runId: 1, seq: 0, mode: 'live', meta: big });
    for (let b = 0; b < batches; b++) {
      s = reduce(s, { type: 'runData', runId: 1, seq: b + 1, tokens: batch(b), steps: null, segments: [] });
      const held = s.run?.routing.reduce((a, r) => a + r.scores.length, 0) ?? 0;
      assert.ok(held <= MAX_KEPT_SCORES, `after batch ${b}: ${held} score values allocated, budget ${MAX_KEPT_SCORES}`);
    }
    const run = s.run;
    assert.ok(run);
    const T = batches * perBatch;
    assert.equal(run.tokenCount, T);
    assert.equal(run.scoresKept, false);
    assert.ok(run.routing.every((r) => r.scores.length === 0), 'no per-token scores held');
    // every token's scores are 1/E: the reasoning sums are T / E per expert in every layer, all tokens counted
    const base = (Segment.Reasoning * L + 5) * E;
    assert.ok(Math.abs(run.scoreSumBySegment[base + 3] - T / E) < 1e-6 * T);
    assert.equal(run.loadBySegment.subarray(base, base + E).reduce((a, b) => a + b, 0), T * k);
    assert.equal(heatmap(run, 0, 10).value.every((v) => v === 0), true, 'a range heatmap has no scores to show, only marks');
  });
});

describe('per-segment sums', () => {
  it('summed batch by batch as tokens stream, they equal the sums of every token counted one by one', () => {
    // distinct ids and scores per token and layer, three segments, batches of 1, 3 and 5 tokens
    const E = 4;
    const list: [string, Segment][] = Array.from({ length: 9 }, (_, t) => [`t${t}`, (t % 3) as Segment]);
    const batchOf = (first: number, n: number): TokenColumns => {
      const c = tokens(first, list.slice(first, first + n));
      c.scores = Float32Array.from({ length: 2 * n * E }, (_, i) => {
        const [l, t, e] = [Math.floor(i / (n * E)), first + Math.floor((i % (n * E)) / E), i % E];
        return (l + 1) * 100 + t + e / 10;
      });
      return c;
    };
    const s = fold([
      { type: 'runStart', runId: 1, seq: 0, mode: 'live', meta },
      { type: 'runData', runId: 1, seq: 1, tokens: batchOf(0, 1), steps: null, segments: [] },
      { type: 'runData', runId: 1, seq: 2, tokens: batchOf(1, 3), steps: null, segments: [] },
      { type: 'runData', runId: 1, seq: 3, tokens: batchOf(4, 5), steps: null, segments: [] },
    ]);
    const run = s.run;
    assert.ok(run && run.tokenCount === 9);
    const streamed = { load: Array.from(run.loadBySegment), scores: Array.from(run.scoreSumBySegment), tokens: [...run.tokensBySegment] };
    const recount = { ...run, loadBySegment: new Float64Array(run.loadBySegment.length), scoreSumBySegment: new Float64Array(run.scoreSumBySegment.length), tokensBySegment: [0, 0, 0] as [number, number, number] };
    for (let t = 0; t < run.tokenCount; t++) accumulate(recount, t, 1);
    assert.deepEqual(streamed, { load: Array.from(recount.loadBySegment), scores: Array.from(recount.scoreSumBySegment), tokens: recount.tokensBySegment });
    // token 5 (answer), layer index 1 adds its score for expert 2: 200 + 5 + 0.2, with the other answer tokens' (2 and 8)
    assert.ok(Math.abs(run.scoreSumBySegment[(Segment.Answer * 2 + 1) * E + 2] - (3 * 200 + 2 + 5 + 8 + 3 * 0.2)) < 1e-3);
  });
});

describe('token view layout (LineLayout)', () => {
  it('laid out frame by frame as a run streams, it gives the lines a fresh layout gives', () => {
    // texts of several widths with newlines, a reasoning opened by a relabel, steps as rows complete
    const words = ['L1:', ' total', ' =', ' 12345678901234567890', '\n', ' x', ';', ' n=7', '\n', '\u200b'];
    const messages: HostMessage[] = [{ type: 'runStart', runId: 1, seq: 0, mode: 'live', meta }];
    let first = 0;
    for (let batch = 0; batch < 60; batch++) {
      const n = 1 + (batch % 5);
      const list = Array.from({ length: n }, (_, i): [string, Segment] => [words[(first + i) % words.length], first + i < 3 ? Segment.Prompt : Segment.Reasoning]);
      const segments: SegmentEvent[] = [];
      if (batch === 2) segments.push({ type: 'relabel', start: 3, end: first, segment: Segment.Answer });
      if (batch % 7 === 6) segments.push({ type: 'step', step: { start: Math.max(3, first - 4), end: first, line: 1 + (batch % 3) } });
      messages.push({ type: 'runData', runId: 1, seq: messages.length, tokens: tokens(first, list), steps: null, segments });
      first += n;
    }
    for (const columns of [12, 40]) {
      for (const collapsed of [false, true]) {
        const incremental = new LineLayout();
        let state = initialState;
        for (const m of messages) {
          state = reduce(state, m);
          const run = state.run;
          if (!run) continue;
          assert.deepEqual(incremental.layout(run, collapsed, columns), new LineLayout().layout(run, collapsed, columns), `after seq ${'seq' in m ? m.seq : '?'}, ${columns} columns, collapsed ${collapsed}`);
        }
        if (!collapsed) assert.ok(incremental.layout(state.run as NonNullable<typeof state.run>, collapsed, columns).length > 20, 'the run made many lines');
      }
    }
  });
});
