import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { traceFromJson, traceToJson } from '../extension/trace/jsonFormat';
import { ROOT } from './helpers';

const exec = promisify(execFile);
const CLI = join(ROOT, 'dist', 'cli.js');
const SAMPLE = join(ROOT, 'media', 'samples', 'loop.py');

describe('cli: moe-lens run, as the demo runs it', () => {
  it('streams, summarises, and writes a trace that re-imports identically', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'moe-lens-cli-')), 'trace.moetrace.json');
    const { stdout, stderr } = await exec(process.execPath, [CLI, 'run', '--prompt-file', SAMPLE, '--out', out, '--ep', 'cuda,cpu'], { cwd: ROOT });
    assert.match(stderr, /execution provider cuda failed, falling back: .+/);
    assert.match(stdout, /── reasoning ──[\s\S]*── answer ──/);
    assert.match(stdout, /done: eos after \d+ generated tokens/);
    assert.match(stdout, /KV cache: .* \(5\.0× more\)/);
    assert.match(stdout, /layer {2}4 .* max\/mean \d\.\d\d/);
    const text = await readFile(out, 'utf8');
    const store = traceFromJson(text);
    assert.equal(traceToJson(store), text, 're-export is byte-identical');
    assert.equal(store.meta.provider, 'cpu');
    assert.deepEqual(store.meta.fallbacks.map((f) => f.provider), ['cuda']);
    const n = store.tokenCount;
    store.meta.model.moeLayers.forEach((_, l) => assert.equal(store.routing(l).expertIds.length, n * store.meta.model.expertsPerToken));
    const prompt = Array.from(store.sourceSpans()).filter((_, i) => i % 2 === 0 && _ >= 0).length;
    assert.equal(store.stepCount, n - prompt + 1, 'KV bytes for the prefill and every decode step');
    assert.equal(store.done?.reason, 'eos');
  });

  it('says which prompt file is missing, with exit code 2', async () => {
    await assert.rejects(exec(process.execPath, [CLI, 'run', '--prompt-file', '/nonexistent/p.py']), (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 2);
      assert.match(e.stderr, /^error: cannot read the prompt file \/nonexistent\/p\.py: it does not exist/);
      return true;
    });
  });
});
