import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { type LoadedModel, loadModel } from '../extension/engine/model';
import { formatPrompt } from '../extension/engine/modelDir';
import { PendingCalls } from '../extension/engine/pendingCalls';
import { type EngineEvent, type StepEvent, run } from '../extension/engine/run';
import { DEFAULT_SAMPLING } from '../extension/trace/sampling';
import type { TraceStore } from '../extension/trace/store';
import { Segment } from '../extension/trace/types';
import { BUNDLED, ROOT } from './helpers';

const greedy = DEFAULT_SAMPLING;

async function collect(gen: AsyncGenerator<EngineEvent, TraceStore>, onEvent?: (e: EngineEvent) => void) {
  const events: EngineEvent[] = [];
  for (;;) {
    const r = await gen.next();
    if (r.done) return { events, store: r.value };
    events.push(r.value);
    onEvent?.(r.value);
  }
}

const stepsOf = (events: EngineEvent[]) => events.filter((e): e is StepEvent => e.type === 'step');

describe('run: the event stream', () => {
  let model: LoadedModel;
  let prompt: string;
  before(async () => {
    model = await loadModel(BUNDLED);
    prompt = formatPrompt(model.folder, await readFile(join(ROOT, 'media', 'samples', 'loop.py'), 'utf8'));
  });
  after(() => model.session.release());

  it('yields one event per model call and records tokens, routing for every MoE layer, KV bytes and segments', async () => {
    const { events, store } = await collect(run(model, { prompt, settings: greedy }));
    assert.equal(events[0].type, 'start');
    const done = events.at(-1);
    assert.ok(done?.type === 'done' && done.reason === 'eos');
    const steps = stepsOf(events);
    assert.equal(steps.length, events.length - 2, 'nothing but start, one event per call, done');
    assert.equal(steps[0].phase, 'prefill');
    assert.ok(steps.slice(1).every((s, i) => s.phase === 'decode' && s.tokenCount === 1 && s.step === i + 1 && s.firstToken === steps[0].tokenCount + i));
    assert.equal(store.stepCount, steps.length);
    assert.equal(store.tokenCount, steps[0].tokenCount + steps.length - 1);
    assert.deepEqual(store.meta.model.moeLayers, [1, 2, 3, 4]);
    const spans = store.sourceSpans();
    const texts = store.tokenTexts();
    assert.equal(texts.slice(0, steps[0].tokenCount).join(''), prompt, 'prompt tokens tile the prompt');
    for (let t = 0; t < steps[0].tokenCount; t++) assert.equal(prompt.slice(spans[2 * t], spans[2 * t + 1]), texts[t]);
    const segments = store.tokenSegments();
    assert.ok(segments.includes(Segment.Reasoning) && segments[store.tokenCount - 2] === Segment.Answer);
    // the latent cache grows by (kv_lora_rank + qk_rope_head_dim) fp32 values per token per layer
    const { kvLoraRank, qkRopeHeadDim, numLayers } = model.folder.config;
    const kv = store.stepKvBytes();
    steps.forEach((s, i) => {
      assert.equal(store.stepTokensInCache()[i], s.tokensInCache);
      for (let l = 0; l < numLayers; l++) assert.equal(kv[i * numLayers + l], s.tokensInCache * (kvLoraRank + qkRopeHeadDim) * 4);
    });
    const k = store.meta.model.expertsPerToken;
    for (let l = 0; l < 4; l++) {
      const r = store.routing(l);
      assert.equal(r.expertIds.length, store.tokenCount * k);
      for (let t = 0; t < store.tokenCount; t++) {
        const w = r.weights.subarray(t * k, (t + 1) * k).reduce((a, b) => a + b, 0);
        assert.ok(Math.abs(w - 1) < 1e-5, `gate weights of token ${t} layer ${r.layer} sum to 1`);
      }
    }
    assert.ok(store.steps.length >= 8, 'reasoning steps');
  });

  it('gathers decode steps into batches that record exactly what one event per step records', async () => {
    const each = await collect(run(model, { prompt, settings: greedy }));
    let asked = 0;
    const batched = await collect(run(model, { prompt, settings: greedy, batchMs: () => { asked++; return Infinity; } }));
    const [prefill, ...decode] = stepsOf(batched.events);
    const generated = batched.store.tokenCount - prefill.tokenCount;
    assert.ok(generated > PendingCalls.CAPACITY, 'the run fills a batch');
    // batches are full but the last; each tiles on from the one before
    assert.deepEqual(decode.map((s) => s.tokenCount), [...new Array(Math.floor(generated / PendingCalls.CAPACITY)).fill(PendingCalls.CAPACITY), generated % PendingCalls.CAPACITY].filter((n) => n > 0));
    let next = prefill.tokenCount;
    for (const s of decode) {
      assert.equal(s.firstToken, next);
      next += s.tokenCount;
      assert.equal(s.step, next - prefill.tokenCount);
      assert.equal(s.tokensInCache, next);
    }
    assert.equal(asked, generated - decode.length, 'asked after every step but those that end a batch (full, or the end of the sequence)');
    const a = each.store;
    const b = batched.store;
    assert.deepEqual(b.tokenIds(), a.tokenIds());
    assert.deepEqual(b.tokenTexts(), a.tokenTexts());
    assert.deepEqual(b.tokenSegments(), a.tokenSegments());
    assert.deepEqual(b.sourceSpans(), a.sourceSpans());
    assert.deepEqual(b.steps, a.steps);
    assert.deepEqual(b.stepTokensInCache(), a.stepTokensInCache());
    assert.deepEqual(b.stepKvBytes(), a.stepKvBytes());
    for (let l = 0; l < 4; l++) assert.deepEqual(b.routing(l), a.routing(l));
    const segmentEvents = (events: EngineEvent[]) => stepsOf(events).flatMap((s) => s.segments);
    assert.deepEqual(segmentEvents(batched.events), segmentEvents(each.events));
    assert.ok(segmentEvents(each.events).filter((e) => e.type === 'step').length >= 8, 'the run has reasoning steps');
  });

  it('records the steps run before a model call fails', async () => {
    const session = model.session as { run: ort.InferenceSession['run'] };
    const realRun = session.run;
    let calls = 0;
    session.run = async function (this: unknown, ...args: Parameters<ort.InferenceSession['run']>) {
      if (++calls === 10) throw new Error('the device was lost');
      return realRun.apply(model.session, args as never);
    } as ort.InferenceSession['run'];
    try {
      const { events, store } = await collect(run(model, { prompt, settings: greedy, batchMs: Infinity }));
      const [prefill, ...decode] = stepsOf(events);
      assert.deepEqual(decode.map((s) => s.tokenCount), [8], 'calls 2 to 9, one batch');
      assert.equal(store.tokenCount, prefill.tokenCount + 8);
      assert.equal(store.stepCount, 9);
      assert.equal(store.routing(3).expertIds.length, store.tokenCount * store.meta.model.expertsPerToken);
      assert.deepEqual({ reason: store.done?.reason, message: store.done?.message }, { reason: 'error', message: 'the device was lost' });
    } finally {
      session.run = realRun;
    }
  });

  it('repeats a sampled run exactly for the same seed', async () => {
    const sampled = { ...greedy, temperature: 0.8, topP: 0.95, seed: 42, maxNewTokens: 60 };
    const ids = async () => Array.from((await collect(run(model, { prompt, settings: sampled }))).store.tokenIds());
    assert.deepEqual(await ids(), await ids());
  });

  /**
   * Counts, by identity, the present.* tensors session.run returns and each one's disposals while `body`
   * runs: every one must be disposed exactly once by the end (the cache replaces them step by step and
   * releases the last ones). Returns the count returned.
   */
  async function expectCachesReleased(body: () => Promise<void>): Promise<number> {
    const returned = new Set<ort.Tensor>();
    const disposed = new Map<ort.Tensor, number>();
    const session = model.session as { run: ort.InferenceSession['run'] };
    const realRun = session.run;
    const realDispose = ort.Tensor.prototype.dispose;
    session.run = async function (this: unknown, ...args: Parameters<ort.InferenceSession['run']>) {
      const out = await realRun.apply(model.session, args as never);
      for (const [name, t] of Object.entries(out)) if (name.startsWith('present.')) returned.add(t);
      return out;
    } as ort.InferenceSession['run'];
    ort.Tensor.prototype.dispose = function (this: ort.Tensor) {
      disposed.set(this, (disposed.get(this) ?? 0) + 1);
      realDispose.call(this);
    };
    try {
      await body();
    } finally {
      session.run = realRun;
      ort.Tensor.prototype.dispose = realDispose;
    }
    const leaked = [...returned].filter((t) => disposed.get(t) !== 1);
    assert.equal(leaked.length, 0, `${leaked.length} of ${returned.size} cache tensors were not disposed exactly once`);
    return returned.size;
  }

  it('stops within one step of an abort, and releases every cache tensor the model returned, each once', async () => {
    const abort = new AbortController();
    let stepAtAbort = -1;
    const returned = await expectCachesReleased(async () => {
      const { events, store } = await collect(run(model, { prompt, settings: greedy, signal: abort.signal }), (e) => {
        if (e.type === 'step' && e.step >= 20 && !abort.signal.aborted) {
          stepAtAbort = e.step;
          abort.abort();
        }
      });
      assert.equal(stepsOf(events).at(-1)?.step, stepAtAbort, 'no model call after the abort');
      assert.equal(store.done?.reason, 'aborted');
    });
    assert.equal(returned, model.layout.caches.length * (stepAtAbort + 1), 'one present per cache part per call');
  });

  it('releases the cache when the consumer stops taking events', async () => {
    const returned = await expectCachesReleased(async () => {
      const events = run(model, { prompt, settings: greedy, batchMs: 5 });
      let next = await events.next();
      while (!next.done && !(next.value.type === 'step' && next.value.phase === 'decode')) next = await events.next();
      assert.ok(!next.done && next.value.type === 'step' && next.value.tokenCount >= 1);
      await events.return(undefined as never);
    });
    assert.ok(returned > model.layout.caches.length, 'the run got past the prefill');
  });

  it('ends with a clear error for a prompt longer than the context', async () => {
    const { events } = await collect(run(model, { prompt: 'x = 1\n'.repeat(400), settings: greedy }));
    const done = events.at(-1);
    assert.ok(done?.type === 'done' && done.reason === 'error');
    assert.match(done.type === 'done' ? done.message ?? '' : '', /the model's context is 512/);
  });

  it('falls back from an unavailable provider with the reason, and records the one used', async () => {
    const lines: string[] = [];
    const m = await loadModel(BUNDLED, { providers: ['cuda', 'cpu'], log: (l) => lines.push(l) });
    try {
      assert.equal(m.provider, 'cpu');
      assert.equal(m.fallbacks[0].provider, 'cuda');
      assert.ok(m.fallbacks[0].reason.length > 10);
      assert.ok(lines.some((l) => l.includes('cuda')));
      const { events } = await collect(run(m, { prompt, settings: { ...greedy, maxNewTokens: 3 } }));
      const start = events[0];
      assert.ok(start.type === 'start' && start.meta.provider === 'cpu' && start.meta.fallbacks[0].provider === 'cuda');
    } finally {
      await m.session.release();
    }
  });
});
