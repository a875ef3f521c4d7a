import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Decoder } from '../extension/engine/decoder';
import type { StepRouting } from '../extension/engine/routing';
import { argmax } from '../extension/engine/sampler';
import { type LoadedModel, loadModel } from '../extension/engine/model';
import { BUNDLED, ROOT } from './helpers';

interface ParityRow {
  input_ids: number[];
  last_logits: number[];
  argmax: number[];
  last_routing: Record<string, { expert_ids: number[]; expert_weights: number[] }>;
}

/** Token `t`'s expert ids and weights in MoE layer index `l` of a call's routing. */
const tokenRouting = (r: StepRouting, l: number, t: number) => ({
  expertIds: Array.from(r.layers[l].expertIds.subarray(t * r.k, (t + 1) * r.k)),
  weights: r.layers[l].weights.subarray(t * r.k, (t + 1) * r.k),
});

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
};

describe('onnxruntime-node against the PyTorch reference (test/fixtures/parity.json, written by training/export.py)', () => {
  let model: LoadedModel;
  let rows: ParityRow[];
  before(async () => {
    model = await loadModel(BUNDLED);
    rows = (JSON.parse(await readFile(join(ROOT, 'test', 'fixtures', 'parity.json'), 'utf8')) as { rows: ParityRow[] }).rows;
  });
  after(() => model.session.release());

  it('opens the bundled graph with its packed routing output only (the per-layer ones would be computed every step, unread)', () => {
    assert.deepEqual(model.session.outputNames.filter((n) => n.startsWith('routing.')), ['routing.packed']);
    assert.deepEqual(model.layout.routedLayers, [1, 2, 3, 4]);
    assert.ok(model.layout.packedRouting);
  });

  it('gives the same last-position logits and routing as PyTorch', async () => {
    for (const row of rows) {
      const decoder = new Decoder(model);
      const step = await decoder.forward(row.input_ids);
      decoder.dispose();
      assert.ok(maxAbsDiff(step.logits, row.last_logits) <= 1e-4);
      assert.equal(argmax(step.logits), row.argmax.at(-1));
      model.layout.routedLayers.forEach((layer, l) => {
        const r = tokenRouting(step.routing, l, row.input_ids.length - 1);
        const ref = row.last_routing[String(layer)];
        assert.deepEqual(r.expertIds, ref.expert_ids, `layer ${layer}`);
        assert.ok(maxAbsDiff(r.weights, ref.expert_weights) <= 1e-4);
        assert.ok(Math.abs(r.weights.reduce((a, b) => a + b, 0) - 1) < 1e-5, 'gate weights are normalised');
      });
    }
  });

  it('decodes incrementally over the latent cache exactly as a full recompute', async () => {
    for (const row of rows) {
      const ids = row.input_ids;
      const full = new Decoder(model);
      const reference = await full.forward(ids);
      const lastIds = model.layout.routedLayers.map((_, l) => tokenRouting(reference.routing, l, ids.length - 1).expertIds);
      full.dispose();
      const inc = new Decoder(model);
      const split = Math.floor(ids.length / 2);
      let step = await inc.forward(ids.slice(0, split));
      for (let t = split; t < ids.length; t++) step = await inc.forward([ids[t]]);
      assert.equal(inc.position, ids.length);
      const bytes = inc.cache.bytesPerLayer();
      const { kvLoraRank, qkRopeHeadDim } = model.folder.config;
      for (const b of bytes) assert.equal(b, ids.length * (kvLoraRank + qkRopeHeadDim) * 4);
      inc.dispose();
      assert.ok(maxAbsDiff(step.logits, reference.logits) <= 1e-4);
      assert.deepEqual(model.layout.routedLayers.map((_, l) => tokenRouting(step.routing, l, 0).expertIds), lastIds);
      // the same routing as the packed row a one-token step hands to the trace store
      const k = model.layout.expertsPerToken;
      assert.ok(step.packed, 'a one-token step of the bundled graph gives its routing as one packed row');
      assert.deepEqual(model.layout.routedLayers.map((_, l) => Array.from(step.packed?.subarray(l * k, (l + 1) * k) ?? [])), lastIds);
    }
  });
});
