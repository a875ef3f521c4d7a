import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { type LoadedModel, loadModel } from '../extension/engine/model';
import { formatPrompt } from '../extension/engine/modelDir';
import { type EngineEvent, run } from '../extension/engine/run';
import { Segment } from '../extension/trace/types';
import { BUNDLED, ROOT } from './helpers';

const greedy = { maxNewTokens: 400, temperature: 0, topK: 0, topP: 1, seed: 0 };

async function collect(gen: AsyncGenerator<EngineEvent, unknown>, onEvent?: (e: EngineEvent) => void) {
  const events: EngineEvent[] = [];
  for (;;) {
    const r = await gen.next();
    if (r.done) return { events, result: r.value };
    events.push(r.value);
    onEvent?.(r.value);
  }
}

describe('run: the event stream', () => {
  let model: LoadedModel;
  let prompt: string;
  before(async () => {
    model = await loadModel(BUNDLED);
    prompt = formatPrompt(model.folder, await readFile(join(ROOT, 'media', 'samples', 'loop.py'), 'utf8'));
  });
  after(() => model.session.release());

  it('streams prompt and generated tokens with routing for every MoE layer, KV bytes per step, and segments', async () => {
    const { events } = await collect(run(model, { prompt, settings: greedy }));
    const tokens = events.filter((e) => e.type === 'token');
    const kv = events.filter((e) => e.type === 'kv');
    const done = events.at(-1);
    assert.equal(done?.type, 'done');
    assert.equal(done?.type === 'done' && done.reason, 'eos');
    for (const t of tokens) assert.deepEqual(t.routing.map((r) => r.layer), [1, 2, 3, 4]);
    const prompts = tokens.filter((t) => t.span !== null);
    assert.equal(prompts.map((t) => t.text).join(''), prompt, 'prompt tokens tile the prompt');
    const generated = tokens.filter((t) => t.span === null);
    assert.ok(generated.some((t) => t.segment === Segment.Reasoning) && generated.at(-2)?.segment === Segment.Answer);
    // the latent cache grows by (kv_lora_rank + qk_rope_head_dim) fp32 values per token per layer
    const { kvLoraRank, qkRopeHeadDim, numLayers } = model.folder.config;
    for (const k of kv) {
      assert.equal(k.totalBytes, k.tokensInCache * (kvLoraRank + qkRopeHeadDim) * 4 * numLayers);
      assert.equal(k.mhaEquivalentBytes / k.totalBytes, 5);
    }
    assert.equal(kv.length, generated.length + 1);
    const steps = events.filter((e) => e.type === 'segment' && e.event.type === 'step');
    assert.ok(steps.length >= 8);
  });

  it('repeats a sampled run exactly for the same seed', async () => {
    const sampled = { ...greedy, temperature: 0.8, topP: 0.95, seed: 42, maxNewTokens: 60 };
    const ids = async () => (await collect(run(model, { prompt, settings: sampled }))).events.flatMap((e) => (e.type === 'token' ? [e.id] : []));
    assert.deepEqual(await ids(), await ids());
  });

  it('stops within one step of an abort and releases its tensors', async () => {
    const abort = new AbortController();
    let disposed = 0;
    const original = ort.Tensor.prototype.dispose;
    ort.Tensor.prototype.dispose = function (this: ort.Tensor) {
      disposed++;
      original.call(this);
    };
    try {
      let generatedAtAbort = -1;
      const { events, result } = await collect(run(model, { prompt, settings: greedy, signal: abort.signal }), (e) => {
        if (e.type === 'token' && e.span === null && e.index >= 70 && !abort.signal.aborted) {
          generatedAtAbort = e.index;
          abort.abort();
        }
      });
      const last = events.filter((e) => e.type === 'token').at(-1);
      assert.equal(last?.type === 'token' && last.index, generatedAtAbort, 'no token after the abort');
      const done = events.at(-1);
      assert.ok(done?.type === 'done' && done.reason === 'aborted');
      const store = result as { done?: { reason: string } };
      assert.equal(store.done?.reason, 'aborted');
      // every step replaces 10 cache tensors and the final dispose releases the last 10
      assert.ok(disposed >= 10 * (events.filter((e) => e.type === 'kv').length + 1), `disposed ${disposed}`);
    } finally {
      ort.Tensor.prototype.dispose = original;
    }
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
