import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runSoak } from './soak/soak';

describe('soak (20 runs; npm run soak runs 500)', () => {
  it('cancelled runs, reopened panels and a model reload hold no onnxruntime tensor afterwards', async () => {
    const r = await runSoak({ runs: 20, seed: 3, warmup: 5, reloadEvery: 10 });
    assert.equal(r.runs, 20);
    assert.ok(r.tensorsSeen > 100, `the tracking saw the session's tensors (${r.tensorsSeen})`);
    assert.equal(r.liveTensorGrowth, 0);
    assert.equal(r.liveAtEnd, 0);
    assert.equal(r.reloads, 2, 'reloaded at runs 10 and 20 of the 25 (5 warm-up + 20)');
  });
});
