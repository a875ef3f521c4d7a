/**
 * Engine benchmark (not a test): prints one figure per line, each a median over rounds measured in this
 * run, on the path a user has — run() → RunChannel → a VS Code-style serialised postMessage.
 *   decode tok/s                     greedy decoding of held-out programs through run(), batch 1
 *   routing outputs overhead         decode time per token of the model vs the same graph without routing outputs
 *   loop overhead                    (wall − time inside session.run) / wall for whole runs, channel included
 *   cold first token ms (cpu)        process start → first generated token, in a fresh process (bench/cold.ts)
 *   trace bytes per token            measured: the JSON trace file's bytes / tokens, and the store's columns
 * Run: npm run bench [-- webgpu]
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { type LoadedModel, loadModel } from '../extension/engine/model';
import { formatPrompt } from '../extension/engine/modelDir';
import { withoutGraphOutputs } from '../extension/engine/onnxGraph';
import { run } from '../extension/engine/run';
import { fixedSample, readHeldout } from '../extension/eval/heldout';
import { RunChannel } from '../extension/inspector/stream';
import { toWire } from '../extension/inspector/wire';
import type { HostMessage } from '../extension/protocol';
import { traceToJson } from '../extension/trace/jsonFormat';
import { DEFAULT_SAMPLING } from '../extension/trace/sampling';
import type { TraceStore } from '../extension/trace/store';
import { median, percentile, serializeLikeVsCode } from './measure';

const ROOT = resolve(__dirname, '..', '..');
const MODEL = join(ROOT, 'models', 'moe-lens-mini');
const ROUNDS = 4;
const PROMPTS = 10;
const TOKENS = 200;

/** The model folder with every routing output removed from the graph: the baseline a user without MoE Lens would run. */
async function withoutRouting(dir: string): Promise<string> {
  const copy = await mkdtemp(join(tmpdir(), 'moe-lens-bench-'));
  await cp(dir, copy, { recursive: true });
  const bytes = await readFile(join(dir, 'model.onnx'));
  await writeFile(join(copy, 'model.onnx'), withoutGraphOutputs(bytes, (name) => name.startsWith('routing.')));
  return copy;
}

interface RunResult {
  /** Wall ms of the decode steps, their count, and each one. */
  decodeMs: number;
  tokens: number;
  stepMs: number[];
  /** Whole-run wall ms and time inside session.run, channel included. */
  wallMs: number;
  runMs: number;
  store: TraceStore;
}

/** One greedy run of `prompt` through run(), optionally through a RunChannel whose posts are serialised as VS Code does. */
async function decodeOne(model: LoadedModel, prompt: string, channel: boolean): Promise<RunResult> {
  let decodeMs = 0;
  let tokens = 0;
  let runMs = 0;
  let posted = 0;
  const stepMs: number[] = [];
  const started = performance.now();
  const ch = channel ? new RunChannel(1, (m: HostMessage) => { posted += serializeLikeVsCode(toWire(m)).bytes; }) : undefined;
  const events = run(model, { prompt, settings: { ...DEFAULT_SAMPLING, maxNewTokens: TOKENS } });
  for (;;) {
    const next = await events.next();
    if (next.done) {
      if (channel && posted === 0) throw new Error('the channel posted nothing');
      return { decodeMs, tokens, stepMs, wallMs: performance.now() - started, runMs, store: next.value };
    }
    const e = next.value;
    if (e.type === 'start') ch?.start(e.store);
    else if (e.type === 'step') {
      ch?.step(e.segments);
      runMs += e.runMs;
      if (e.phase === 'decode') { decodeMs += e.wallMs; tokens++; stepMs.push(e.wallMs); }
    } else {
      const { type: _, ...summary } = e;
      ch?.done(summary);
    }
  }
}

async function coldFirstToken(): Promise<number> {
  const { stdout } = await promisify(execFile)(process.execPath, [join(__dirname, 'cold.js')], { cwd: ROOT });
  const m = /first token ms: ([\d.]+)/.exec(stdout);
  if (!m) throw new Error(`bench/cold printed no figure: ${stdout}`);
  return Number(m[1]);
}

async function main(): Promise<void> {
  const provider = process.argv[2] ?? 'cpu';
  const bareDir = await withoutRouting(MODEL);
  const model = await loadModel(MODEL, { providers: [provider] });
  const bare = await loadModel(bareDir, { providers: [provider] });
  try {
    const programs = fixedSample(await readHeldout(MODEL), PROMPTS);
    const prompts = programs.map((p) => formatPrompt(model.folder, p.program));
    for (const p of prompts.slice(0, 3)) { await decodeOne(model, p, true); await decodeOne(bare, p, false); } // warm-up

    // pairs of runs on the same prompt, one with and one without routing outputs (neither through the
    // channel), in alternating order, compared step by step (the same step holds the same cache in both):
    // machine noise moves both halves of a pair alike, and the median of the ratios drops outliers
    const overhead: number[] = [];
    const loop: number[] = [];
    const speed: number[] = [];
    let last: RunResult | undefined;
    for (let r = 0; r < ROUNDS; r++) {
      for (const [i, prompt] of prompts.entries()) {
        const first = (r + i) % 2 === 0;
        const a = first ? await decodeOne(model, prompt, false) : undefined;
        const b = await decodeOne(bare, prompt, false);
        const withRouting = a ?? await decodeOne(model, prompt, false);
        const steps = Math.min(withRouting.stepMs.length, b.stepMs.length);
        for (let s = 0; s < steps; s++) overhead.push((100 * (withRouting.stepMs[s] - b.stepMs[s])) / b.stepMs[s]);
        // the user's path: the same run through the channel, serialised as VS Code posts it
        const user = await decodeOne(model, prompt, true);
        loop.push((100 * (user.wallMs - user.runMs)) / user.wallMs);
        speed.push((1000 * user.tokens) / user.decodeMs);
        last = user;
      }
    }
    const cold = [await coldFirstToken(), await coldFirstToken(), await coldFirstToken()];
    const store = last?.store as TraceStore;
    const json = Buffer.byteLength(traceToJson(store));
    const spread = (xs: number[]) => `interquartile ${percentile(xs, 25).toFixed(1)} to ${percentile(xs, 75).toFixed(1)}`;
    console.log(`model: ${model.folder.dir}, provider ${model.provider}, ${prompts.length} prompts × ${ROUNDS} rounds of up to ${TOKENS} tokens (medians over ${overhead.length} pairs of steps)`);
    console.log(`decode tok/s (${model.provider}): ${median(speed).toFixed(0)}`);
    console.log(`routing outputs overhead: ${median(overhead).toFixed(1)}% (${spread(overhead)}; baseline: the same graph without its routing outputs and the nodes only they used)`);
    console.log(`loop overhead: ${median(loop).toFixed(1)}% (wall vs session.run, RunChannel + serialised posts included; ${spread(loop)})`);
    console.log(`cold first token ms (${provider}): ${median(cold).toFixed(0)} (runs: ${cold.map((x) => x.toFixed(0)).join(', ')})`);
    console.log(`trace bytes per token: ${(json / store.tokenCount).toFixed(0)} in the JSON file (${store.tokenCount} tokens, ${json} bytes); `
      + `${store.bytesPerToken().toFixed(0)} in memory (${store.meta.model.moeLayers.length} MoE layers × k=${store.meta.model.expertsPerToken}, E=${store.meta.model.nRoutedExperts})`);
  } finally {
    await model.session.release();
    await bare.session.release();
    await rm(bareDir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
