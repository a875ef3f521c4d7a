/**
 * The GPU path without a GPU: onnxruntime-node's WebGPU execution provider (Dawn over Vulkan) runs
 * the bundled model on Mesa's software Vulkan driver, lavapipe (test/gpu/lavapipe.sh fetches it), and
 * must produce what the CPU produces. Proves correctness of the WebGPU path (KV cache kept on the
 * device between steps), not speed: lavapipe is ~100× slower than the CPU provider here.
 * Each run is a child process: the Vulkan loader reads its environment when the process starts.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { traceFromJson } from '../../extension/trace/jsonFormat';
import type { TraceStore } from '../../extension/trace/store';
import { ROOT } from '../helpers';

const exec = promisify(execFile);
const CLI = join(ROOT, 'dist', 'cli.js');
const SAMPLE = join(ROOT, 'media', 'samples', 'loop.py');
const VULKAN_ENV = join(ROOT, '.cache', 'lavapipe', 'vulkan.env');
/** Short: a step costs ~90 ms on lavapipe and the first run compiles every shader. */
const TOKENS = 40;

/** The Vulkan loader's variables from lavapipe.sh, or undefined when it has not fetched the driver. */
function lavapipeEnv(): Record<string, string> | undefined {
  if (!existsSync(VULKAN_ENV)) return undefined;
  const lines = readFileSync(VULKAN_ENV, 'utf8').split('\n').filter((l) => l.includes('='));
  return Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

describe('WebGPU execution provider on a software Vulkan driver', () => {
  const vulkan = lavapipeEnv();
  // CI sets this: there a missing driver is a failure, not a skip
  const required = process.env.MOE_LENS_REQUIRE_WEBGPU === '1';
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'moe-lens-gpu-')); });
  after(() => rm(dir, { recursive: true, force: true }));

  async function runOn(ep: string, env: NodeJS.ProcessEnv): Promise<{ trace: TraceStore; stderr: string }> {
    const out = join(dir, `${ep}-${Math.random().toString(36).slice(2)}.json`);
    const { stderr } = await exec(process.execPath, [CLI, 'run', '--prompt-file', SAMPLE, '--ep', ep, '--max-tokens', String(TOKENS), '--out', out],
      { cwd: ROOT, env, maxBuffer: 16 * 2 ** 20 });
    return { trace: traceFromJson(await readFile(out, 'utf8')), stderr };
  }

  it('produces the CPU\'s tokens, expert ids, gate weights and KV bytes, with the cache kept on the device',
    { skip: vulkan || required ? false : 'no software Vulkan driver: run `bash test/gpu/lavapipe.sh` (npm test does)', timeout: 10 * 60_000 }, async () => {
      assert.ok(vulkan, `MOE_LENS_REQUIRE_WEBGPU=1 but ${VULKAN_ENV} is missing: bash test/gpu/lavapipe.sh could not fetch the driver`);
      const [gpu, cpu] = [await runOn('webgpu', { ...process.env, ...vulkan }), await runOn('cpu', process.env)];
      // a fallback still exits 0: what ran is in the trace
      assert.equal(gpu.trace.meta.provider, 'webgpu', `WebGPU fell back: ${JSON.stringify(gpu.trace.meta.fallbacks)}`);
      assert.match(gpu.stderr, /execution provider webgpu in use \(KV cache kept on the device between steps\)/);
      assert.equal(cpu.trace.meta.provider, 'cpu');
      const [a, b] = [gpu.trace, cpu.trace];
      assert.equal(a.tokenCount, b.tokenCount);
      assert.deepEqual(Array.from(a.tokenIds()), Array.from(b.tokenIds()), 'the same tokens');
      let maxWeightDiff = 0;
      let maxScoreDiff = 0;
      a.meta.model.moeLayers.forEach((layer, l) => {
        const [ra, rb] = [a.routing(l), b.routing(l)];
        assert.deepEqual(Array.from(ra.expertIds), Array.from(rb.expertIds), `the same experts in layer ${layer}`);
        ra.weights.forEach((w, i) => { maxWeightDiff = Math.max(maxWeightDiff, Math.abs(w - rb.weights[i])); });
        ra.scores.forEach((s, i) => { maxScoreDiff = Math.max(maxScoreDiff, Math.abs(s - rb.scores[i])); });
      });
      assert.ok(maxWeightDiff <= 1e-5, `gate weights within 1e-5 (max |Δ| ${maxWeightDiff})`);
      assert.ok(maxScoreDiff <= 1e-5, `router scores within 1e-5 (max |Δ| ${maxScoreDiff})`);
      assert.deepEqual(Array.from(a.stepKvBytes()), Array.from(b.stepKvBytes()), 'the same KV-cache bytes after every step');
      console.log(`webgpu = cpu over ${a.tokenCount} tokens: max |Δ gate weight| ${maxWeightDiff.toExponential(1)}, max |Δ score| ${maxScoreDiff.toExponential(1)}`);
    });

  it('falls back to the CPU when no Vulkan driver is present, with a reason a user can read', { timeout: 120_000 }, async () => {
    // the loader (where lavapipe.sh fetched one) finds no driver; without the loader Dawn cannot even start
    const env = { ...process.env, ...(vulkan?.LD_LIBRARY_PATH ? { LD_LIBRARY_PATH: vulkan.LD_LIBRARY_PATH } : {}), VK_ICD_FILENAMES: join(dir, 'no-driver.json') };
    const { trace, stderr } = await runOn('webgpu', env);
    assert.equal(trace.meta.provider, 'cpu');
    assert.equal(trace.meta.fallbacks.length, 1);
    const { provider, reason } = trace.meta.fallbacks[0];
    assert.equal(provider, 'webgpu');
    assert.match(reason, /^Failed to get a WebGPU adapter/, 'the sentence onnxruntime wrote for users, first');
    assert.doesNotMatch(reason, /onnxruntime_src|\.cc:\d+|::/, 'no source path or C++ names');
    assert.doesNotMatch(reason, /…$/, 'not cut');
    assert.match(stderr, /execution provider webgpu failed, falling back: Failed to get a WebGPU adapter/);
  });
});
