import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseWebviewMessage } from '../extension/protocol';
import { traceFromJson } from '../extension/trace/jsonFormat';
import { TraceFormatError } from '../extension/trace/validate';
import { runFuzz } from './fuzz/run';

describe('fuzz (small budget; npm run fuzz runs 10,000 inputs)', () => {
  it('trace readers, webview messages and model folders: no crash, no hang', async () => {
    const report = await runFuzz({ seed: 7, budget: 400, folders: 6 });
    assert.deepEqual(report.failures, []);
    assert.equal(report.crashes + report.hangs, 0);
    assert.ok(report.inputs >= 400, `${report.inputs} inputs`);
  });

  it('regressions: an untrusted sampling value that JSON.stringify cannot show is refused, not thrown', () => {
    // both once threw out of samplingFieldProblem: a RangeError (deep nesting), a TypeError (bigint)
    const deep = '['.repeat(20_000) + ']'.repeat(20_000);
    const real = '{"format":"moe-lens-trace","version":1,"meta":{"createdAt":"","model":{"name":"m","modelType":"t","numLayers":1,"moeLayers":[],'
      + `"nRoutedExperts":1,"expertsPerToken":1,"kvBytesPerToken":0,"kvBytesPerTokenMhaEquivalent":0},"provider":"cpu","fallbacks":[],"settings":{"maxNewTokens":${deep}},"prompt":""}}`;
    assert.throws(() => traceFromJson(real), (e) => e instanceof TraceFormatError && /settings.maxNewTokens: must be an integer in .*, not an array of 1\./.test(e.message) && e.message.length < 400);
    assert.equal(parseWebviewMessage({ type: 'run', prompt: 'x', settings: { maxNewTokens: 1n } }), undefined);
  });
});
