import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type LoadedModel, loadModel } from '../extension/engine/model';
import { fixedSample, readHeldout, solve } from '../extension/eval/heldout';
import { BUNDLED } from './helpers';

describe('the bundled model on held-out programs (CPU)', () => {
  let model: LoadedModel;
  before(async () => {
    model = await loadModel(BUNDLED, { providers: ['cpu'] });
  });
  after(() => model.session.release());

  it('answers at least 90% of a fixed sample of 100 held-out programs exactly', async () => {
    const programs = fixedSample(await readHeldout(BUNDLED), 100);
    let correct = 0;
    for (const [i, p] of programs.entries()) correct += Number((await solve(model, p, i)).correct);
    console.log(`held-out sample accuracy: ${correct}/100`);
    assert.ok(correct >= 90, `${correct}/100`);
  });

  it('routes to every expert of every MoE layer at least 1% of the time', async () => {
    const { nRoutedExperts } = model.folder.config;
    const counts = new Map<number, Float64Array>();
    for (const [i, p] of fixedSample(await readHeldout(BUNDLED), 20).entries()) {
      const { store } = await solve(model, p, i, 300);
      store.meta.model.moeLayers.forEach((layer, l) => {
        const c = counts.get(layer) ?? new Float64Array(nRoutedExperts);
        store.expertLoad(l).forEach((n, e) => { c[e] += n; });
        counts.set(layer, c);
      });
    }
    assert.deepEqual([...counts.keys()], [1, 2, 3, 4]);
    for (const [layer, c] of counts) {
      const total = c.reduce((a, b) => a + b, 0);
      for (const [e, n] of c.entries()) assert.ok(n / total >= 0.01, `layer ${layer} expert ${e}: ${((100 * n) / total).toFixed(2)}%`);
    }
  });
});
