import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Decoder, argmax } from '../extension/engine/decoder';
import { type LoadedModel, loadModel } from '../extension/engine/model';
import { formatPrompt } from '../extension/engine/modelDir';
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
    const { config, tokenizer } = model.folder;
    const counts = new Map<number, number[]>();
    for (const p of fixedSample(await readHeldout(BUNDLED), 20)) {
      const decoder = new Decoder(model);
      let step = await decoder.forward(tokenizer.encode(formatPrompt(model.folder, p.program)).ids);
      const tally = (routing: typeof step.routing) => {
        for (const token of routing) {
          for (const r of token) {
            const c = counts.get(r.layer) ?? new Array<number>(config.nRoutedExperts).fill(0);
            for (const e of r.expertIds) c[e]++;
            counts.set(r.layer, c);
          }
        }
      };
      tally(step.routing);
      for (let n = 0; n < 300; n++) {
        const next = argmax(step.logits);
        if (config.eosTokenIds.includes(next)) break;
        step = await decoder.forward([next]);
        tally(step.routing);
      }
      decoder.dispose();
    }
    assert.deepEqual([...counts.keys()], [1, 2, 3, 4]);
    for (const [layer, c] of counts) {
      const total = c.reduce((a, b) => a + b, 0);
      for (const [e, n] of c.entries()) assert.ok(n / total >= 0.01, `layer ${layer} expert ${e}: ${((100 * n) / total).toFixed(2)}%`);
    }
  });
});
