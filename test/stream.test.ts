import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { type HostMessage, type StepColumns, type TokenColumns, parseWebviewMessage } from '../extension/protocol';
import type { SegmentEvent } from '../extension/trace/segmenter';
import type { TraceStore } from '../extension/trace/store';
import { CHANNEL_SHARE, MAX_BATCH_BYTES, RunChannel, traceMessages } from '../extension/inspector/stream';
import { runSummary } from '../extension/trace/figures';
import { initialState, reduce } from '../webview/state';
import { TraceFeeder, reshapeTrace } from '../bench/streams';
import { recordRun, replayOf } from './webview/record';

type Data = Extract<HostMessage, { type: 'runData' }>;

/** Concatenates the runData batches of a run into one token batch and one step batch. */
function joined(messages: HostMessage[]): { tokens: TokenColumns; steps: StepColumns; segments: SegmentEvent[]; batches: number } {
  const data = messages.filter((m): m is Data => m.type === 'runData');
  const tokenBatches = data.flatMap((m) => (m.tokens ? [m.tokens] : []));
  const stepBatches = data.flatMap((m) => (m.steps ? [m.steps] : []));
  const cat = <T extends Int16Array | Int32Array | Uint8Array | Float32Array | Float64Array>(parts: T[], make: (n: number) => T): T => {
    const out = make(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  };
  // routing is layer-major per batch: regroup each layer's blocks in token order
  const layerMajor = <T extends Int16Array | Float32Array>(key: 'expertIds' | 'weights' | 'scores', make: (n: number) => T, layers: number): T => {
    const perLayer = Array.from({ length: layers }, (_, l) => tokenBatches.map((b) => {
      const width = (b[key].length / layers);
      return (b[key] as T).subarray(l * width, (l + 1) * width) as T;
    }));
    return cat(perLayer.flat(), make);
  };
  const layers = tokenBatches[0].expertIds.length / (tokenBatches[0].count * 4);
  return {
    tokens: {
      first: 0, count: tokenBatches.reduce((n, b) => n + b.count, 0),
      ids: cat(tokenBatches.map((b) => b.ids), (n) => new Int32Array(n)),
      texts: tokenBatches.flatMap((b) => b.texts),
      segments: cat(tokenBatches.map((b) => b.segments), (n) => new Uint8Array(n)),
      spans: cat(tokenBatches.map((b) => b.spans), (n) => new Int32Array(n)),
      expertIds: layerMajor('expertIds', (n) => new Int16Array(n), layers),
      weights: layerMajor('weights', (n) => new Float32Array(n), layers),
      scores: layerMajor('scores', (n) => new Float32Array(n), layers),
    },
    steps: {
      first: 0, count: stepBatches.reduce((n, b) => n + b.count, 0),
      tokensInCache: cat(stepBatches.map((b) => b.tokensInCache), (n) => new Int32Array(n)),
      kvBytes: cat(stepBatches.map((b) => b.kvBytes), (n) => new Float64Array(n)),
      runMs: cat(stepBatches.map((b) => b.runMs), (n) => new Float32Array(n)),
    },
    segments: data.flatMap((m) => m.segments),
    batches: data.length,
  };
}

describe('inspector stream: live runs and replays become the same columns', () => {
  let live: HostMessage[];
  let store: TraceStore;
  before(async () => {
    ({ live, store } = await recordRun(7));
  });

  it('numbers a run runStart, runData…, runDone from 0 under one run id; batches follow each other without gaps', () => {
    assert.equal(live[0].type, 'runStart');
    assert.equal(live.at(-1)?.type, 'runDone');
    live.forEach((m, i) => assert.ok('runId' in m && m.runId === 7 && m.seq === i));
    let nextToken = 0;
    let nextStep = 0;
    for (const m of live) {
      if (m.type !== 'runData') continue;
      if (m.tokens) { assert.equal(m.tokens.first, nextToken); nextToken += m.tokens.count; }
      if (m.steps) { assert.equal(m.steps.first, nextStep); nextStep += m.steps.count; }
      assert.ok(m.tokens?.ids instanceof Int32Array && m.tokens.scores instanceof Float32Array, 'columns travel as typed arrays');
    }
    assert.equal(nextToken, store.tokenCount);
    assert.equal(nextStep, store.stepCount);
    assert.ok(joined(live).batches > 10, 'a live run streams in many batches');
  });

  it('posts from the step itself: the prefill at once, then the first step 16 ms past the last batch (a timer would fire a model call late)', async () => {
    const feeder = new TraceFeeder(store);
    const posted: HostMessage[] = [];
    let clock = 1000;
    const channel = new RunChannel(3, (m) => posted.push(m), 16, { now: () => clock });
    channel.start(feeder.live);
    feeder.next();
    channel.step();
    assert.equal(posted.length, 2, 'the prefill is posted before the first decode step starts');
    const prompt = feeder.live.tokenCount;
    feeder.next();
    clock += 15.9;
    channel.step();
    assert.equal(posted.length, 2, 'a step within 16 ms of a batch waits for the next one');
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(posted.length, 2, 'nothing is posted while the thread is elsewhere (in the next model call)');
    feeder.next();
    clock += 0.1;
    channel.step();
    const batch = posted[2];
    assert.ok(batch?.type === 'runData' && batch.tokens, 'the step that ends 16 ms after the last batch posts one');
    assert.deepEqual([batch.tokens.first, batch.tokens.count], [prompt, 2]);
  });

  it('posts less often when batches would take more than CHANNEL_SHARE of the thread, and every 16 ms when they are cheap', () => {
    const cadence = (batchMs: number): number[] => {
      const feeder = new TraceFeeder(store);
      let clock = 0;
      const at: number[] = [];
      // each post costs batchMs on the clock; each model call 1 ms
      const channel = new RunChannel(4, (m) => { if (m.type === 'runData') { at.push(clock); clock += batchMs; } }, 16, { now: () => clock });
      channel.start(feeder.live);
      while (feeder.next()) { channel.step(); clock += 1; }
      return at.slice(1).map((t, i) => t - at[i]).slice(2);
    };
    const cheap = cadence(0.02);
    assert.ok(cheap.every((gap) => gap >= 16 && gap < 17.1), `cheap batches every 16 ms: ${cheap}`);
    const costly = cadence(0.2);
    const expected = 0.2 / CHANNEL_SHARE;
    assert.ok(costly.every((gap) => gap >= expected && gap < expected + 1.3), `0.2 ms batches every ${expected} ms: ${costly}`);
    const slow = cadence(2);
    assert.ok(slow.every((gap) => gap <= 53), `at most 50 ms between batches however slow: ${slow}`);
    assert.throws(() => new RunChannel(5, () => {}, 16, { maxShare: 0 }), RangeError);
  });

  it('keeps the prefill\'s batch (the whole prompt) out of the cost it spaces batches by', () => {
    const feeder = new TraceFeeder(store);
    let clock = 0;
    const at: number[] = [];
    let posts = 0;
    // the prefill's batch costs 5 ms, every later one 0.02 ms
    const channel = new RunChannel(6, (m) => { if (m.type === 'runData') { at.push(clock); clock += posts++ === 0 ? 5 : 0.02; } }, 16, { now: () => clock });
    channel.start(feeder.live);
    for (let i = 0; i < 80 && feeder.next(); i++) { channel.step(); clock += 1; }
    const gaps = at.slice(1).map((t, i) => t - at[i]);
    assert.ok(gaps.length >= 3 && gaps.every((gap) => gap < 22), `batches every ~16 ms from the first decode step on: ${gaps}`);
  });

  it('posts each batch as one buffer that holds exactly its columns: VS Code sends a typed array\'s whole buffer', () => {
    const views = (value: unknown): ArrayBufferView[] => (ArrayBuffer.isView(value) ? [value]
      : value && typeof value === 'object' ? Object.values(value).flatMap(views) : []);
    const data = [...live, ...traceMessages(store, 9, runSummary(store))].filter((m): m is Data => m.type === 'runData');
    assert.ok(data.length > 5);
    for (const m of data) {
      const columns = views(m);
      const buffers = new Set(columns.map((v) => v.buffer));
      assert.equal(buffers.size, 1, 'one buffer per batch');
      const [buffer] = buffers;
      assert.equal(buffer.byteLength, columns.reduce((n, v) => n + v.byteLength, 0), 'no byte of the buffer outside the columns');
      for (const l of store.meta.model.moeLayers.keys()) assert.notEqual(buffer, store.routing(l).scores.buffer, 'never a buffer of the store');
    }
  });

  it('splits a large model\'s routing into runData messages of at most MAX_BATCH_BYTES that the webview folds back exactly', () => {
    const large = reshapeTrace(store, 48, 128, 8);
    const messages = traceMessages(large, 9, runSummary(large));
    const data = messages.filter((m): m is Data => m.type === 'runData');
    assert.ok(data.length > 1, `a ${large.tokenCount}-token trace of 48 × 128 routing is more than one message (${data.length})`);
    messages.forEach((m, i) => assert.ok('seq' in m && m.seq === i));
    for (const m of data) {
      const bytes = m.tokens ? m.tokens.expertIds.byteLength + m.tokens.weights.byteLength + m.tokens.scores.byteLength : 0;
      assert.ok(bytes <= MAX_BATCH_BYTES, `${bytes} bytes of routing in one message`);
    }
    assert.ok(data.slice(0, -1).every((m) => m.steps === null && m.segments.length === 0), 'steps and segments ride on the last batch');
    const run = messages.reduce(reduce, initialState).run;
    assert.ok(run);
    assert.equal(run.tokenCount, large.tokenCount);
    assert.equal(run.summary?.reason, large.done?.reason);
    for (const l of [0, 47]) assert.deepEqual(run.routing[l].expertIds.subarray(0, large.tokenCount * 8), large.routing(l).expertIds);
    assert.deepEqual(run.steps, large.steps);
  });

  it('past the scores the webview keeps, sends each batch\'s score sums per segment, not every token\'s scores; the panel\'s sums stay exact', () => {
    const { moeLayers, nRoutedExperts: E } = store.meta.model;
    const L = moeLayers.length;
    const budget = Math.floor(store.tokenCount / 3) * L * E; // as if the webview kept a third of the run's scores
    const stream = (options: { maxKeptScores?: number }) => {
      const out: HostMessage[] = [];
      const feeder = new TraceFeeder(store);
      let steps = 0;
      // a batch every 5 model calls; a batch of 3 tokens or fewer keeps its scores (its sums would be more values)
      const channel = new RunChannel(3, (m) => out.push(m), 5, { maxShare: Number.POSITIVE_INFINITY, now: () => steps, ...options });
      channel.start(feeder.live);
      while (feeder.next()) {
        steps++;
        channel.step();
      }
      channel.done(runSummary(store));
      return out;
    };
    const summed = stream({ maxKeptScores: budget });
    const batches = summed.filter((m): m is Data => m.type === 'runData' && m.tokens !== null);
    let past = 0;
    for (const m of batches) {
      const t = m.tokens as TokenColumns;
      if ((t.first + t.count) * L * E > budget && t.count > 3) {
        past++;
        assert.equal(t.scores.length, 0, `batch ${m.seq}: no per-token scores past the budget`);
        assert.equal(t.scoreSums?.length, 3 * L * E);
      } else {
        assert.equal(t.scores.length, t.count * L * E, `batch ${m.seq}: scores before the budget`);
        assert.equal(t.scoreSums, undefined);
      }
    }
    assert.ok(past > 0 && past < batches.length, `${past} of ${batches.length} batches past the budget`);
    const exact = stream({}).reduce(reduce, initialState).run;
    const run = summed.reduce(reduce, initialState).run;
    assert.ok(run && exact);
    assert.equal(exact.scoresKept, true);
    assert.equal(run.scoresKept, false, 'the panel drops per-token scores once a batch comes without them');
    assert.deepEqual(run.loadBySegment, exact.loadBySegment);
    run.scoreSumBySegment.forEach((v, i) => assert.ok(Math.abs(v - exact.scoreSumBySegment[i]) <= 1e-4 * Math.max(1, Math.abs(exact.scoreSumBySegment[i])),
      `score sum ${i}: ${v} from batch sums, ${exact.scoreSumBySegment[i]} from every token`));
    assert.ok(exact.scoreSumBySegment.some((v) => v > 1), 'the sums are not trivially zero');
  });

  it('sends tokens, routing and steps equal to the trace, with every reasoning step once', () => {
    const { tokens, steps, segments } = joined(live);
    assert.deepEqual(Array.from(tokens.ids), Array.from(store.tokenIds()));
    assert.deepEqual(tokens.texts, store.tokenTexts());
    assert.deepEqual(Array.from(tokens.spans), Array.from(store.sourceSpans()));
    const k = store.meta.model.expertsPerToken;
    const n = store.tokenCount;
    store.meta.model.moeLayers.forEach((_, l) => {
      assert.deepEqual(Array.from(tokens.expertIds.subarray(l * n * k, (l + 1) * n * k)), Array.from(store.routing(l).expertIds));
    });
    assert.deepEqual(Array.from(steps.kvBytes), Array.from(store.stepKvBytes()));
    assert.deepEqual(segments.filter((e) => e.type === 'step').map((e) => e.type === 'step' && e.step), store.steps);
  });

  it('replays an exported and re-imported trace as the same columns in one batch', () => {
    const replayed = replayOf(store, 8);
    assert.deepEqual(replayed.map((m) => m.type), ['runStart', 'runData', 'runDone']);
    const a = joined(live);
    const b = joined(replayed);
    assert.deepEqual(b.tokens, { ...a.tokens, segments: store.tokenSegments() }, 'the live run\'s provisional segments are relabelled in the file');
    assert.deepEqual(Array.from(b.steps.tokensInCache), Array.from(a.steps.tokensInCache));
    assert.deepEqual(Array.from(b.steps.kvBytes), Array.from(a.steps.kvBytes));
    assert.deepEqual(b.segments, a.segments.filter((e) => e.type === 'step'));
    const liveDone = live.at(-1);
    const replayDone = replayed.at(-1);
    assert.ok(liveDone?.type === 'runDone' && replayDone?.type === 'runDone');
    assert.deepEqual(replayDone.summary, liveDone.summary);
  });
});

describe('protocol: messages from the webview are validated', () => {
  const settings = { maxNewTokens: 100, temperature: 0, topK: 0, topP: 1, seed: 1 };
  it('accepts each well-formed message and copies only known fields', () => {
    assert.deepEqual(parseWebviewMessage({ type: 'ready', extra: 1 }), { type: 'ready' });
    assert.deepEqual(parseWebviewMessage({ type: 'run', prompt: 'x = 1', settings: { ...settings, evil: true } }), { type: 'run', prompt: 'x = 1', settings });
    assert.deepEqual(parseWebviewMessage({ type: 'stop', runId: 3 }), { type: 'stop', runId: 3 });
    assert.deepEqual(parseWebviewMessage({ type: 'revealLine', runId: 3, line: 2 }), { type: 'revealLine', runId: 3, line: 2 });
    assert.deepEqual(parseWebviewMessage({ type: 'pinToken', runId: 3, index: null }), { type: 'pinToken', runId: 3, index: null });
    assert.deepEqual(parseWebviewMessage({ type: 'selectLayer', layer: 'all' }), { type: 'selectLayer', layer: 'all' });
  });
  it('rejects unknown types, wrong shapes and out-of-range values', () => {
    for (const bad of [null, 'ready', [], { type: 'eval' }, { type: 'run', prompt: '', settings }, { type: 'run', prompt: 'x', settings: { ...settings, topP: 2 } },
      { type: 'run', prompt: 'x', settings: { ...settings, topP: 0 } },
      { type: 'run', prompt: 'x', settings: { ...settings, temperature: Number.NaN } }, { type: 'run', prompt: 'x'.repeat(100_001), settings },
      { type: 'stop', runId: -1 }, { type: 'stop', runId: '1' }, { type: 'revealLine', runId: 1, line: 0 }, { type: 'pinToken', runId: 1, index: 1.5 },
      { type: 'selectLayer', layer: 'some' }, { type: '__proto__' }]) {
      assert.equal(parseWebviewMessage(bad), undefined, JSON.stringify(bad));
    }
  });
});
