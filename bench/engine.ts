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
import type { HostMessage } from '../extension/protocol';
import { traceToJson } from '../extension/trace/jsonFormat';
import { DEFAULT_SAMPLING } from '../extension/trace/sampling';
import type { TraceStore } from '../extension/trace/store';
import { median, serializeLikeVsCode } from './measure';

const ROOT = resolve(__dirname, '..', '..');
const MODEL = join(ROOT, 'models', 'moe-lens-mini');
const ROUNDS = 7;
const TOKENS = 200;

/** The model folder with every routing output removed from the graph: the baseline a user without MoE Lens would run. */
async function withoutRouting(dir: string): Promise<string> {
  const copy = await mkdtemp(join(tmpdir(), 'moe-lens-bench-'));
  await cp(dir, copy, { recursive: true });
  const bytes = await readFile(join(dir, 'model.onnx'));
  await writeFile(join(copy, 'model.onnx'), withoutGraphOutputs(bytes, (name) => name.startsWith('routing.')));
  return copy;
}

interface RoundResult {
  /** Wall ms of decode steps, and their count. */
  decodeMs: number;
  tokens: number;
  /** Whole-run wall ms and time inside session.run, channel included. */
  wallMs: number;
  runMs: number;
  store: TraceStore;
}

async function decodeAll(model: LoadedModel, prompts: string[], channel: boolean): Promise<RoundResult> {
  let decodeMs = 0;
  let tokens = 0;
  let wallMs = 0;
  let runMs = 0;
  let store: TraceStore | undefined;
  let posted = 0;
  for (const prompt of prompts) {
    const started = performance.now();
    const ch = channel ? new RunChannel(1, (m: HostMessage) => { posted += serializeLikeVsCode(m).bytes; }) : undefined;
    const events = run(model, { prompt, settings: { ...DEFAULT_SAMPLING, maxNewTokens: TOKENS } });
    for (;;) {
      const next = await events.next();
      if (next.done) { store = next.value; break; }
      const e = next.value;
      if (e.type === 'start') ch?.start(e.store);
      else if (e.type === 'step') {
        ch?.step(e.segments);
        runMs += e.runMs;
        if (e.phase === 'decode') { decodeMs += e.wallMs; tokens++; }
      } else {
        const { type: _, ...summary } = e;
        ch?.done(summary);
      }
    }
    wallMs += performance.now() - started;
  }
  if (channel && posted === 0) throw new Error('the channel posted nothing');
  return { decodeMs, tokens, wallMs, runMs, store: store as TraceStore };
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
    const programs = fixedSample(await readHeldout(MODEL), 8);
    const prompts = programs.map((p) => formatPrompt(model.folder, p.program));
    await decodeAll(model, prompts.slice(0, 2), true); // warm-up
    await decodeAll(bare, prompts.slice(0, 2), false);

    // interleaved rounds, so drift in machine load hits both alike; medians of per-round ratios
    const overhead: number[] = [];
    const loop: number[] = [];
    const speed: number[] = [];
    let last: RoundResult | undefined;
    for (let r = 0; r < ROUNDS; r++) {
      const withRouting = await decodeAll(model, prompts, true);
      const without = await decodeAll(bare, prompts, false);
      const perTokenWith = withRouting.decodeMs / withRouting.tokens;
      const perTokenWithout = without.decodeMs / without.tokens;
      overhead.push((100 * (perTokenWith - perTokenWithout)) / perTokenWithout);
      loop.push((100 * (withRouting.wallMs - withRouting.runMs)) / withRouting.wallMs);
      speed.push(1000 / perTokenWith);
      last = withRouting;
    }
    const cold = [await coldFirstToken(), await coldFirstToken(), await coldFirstToken()];
    const store = last?.store as TraceStore;
    const json = Buffer.byteLength(traceToJson(store));
    console.log(`model: ${model.folder.dir}, provider ${model.provider}, ${prompts.length} prompts × ${TOKENS} tokens × ${ROUNDS} rounds (medians)`);
    console.log(`decode tok/s (${model.provider}): ${median(speed).toFixed(0)}`);
    console.log(`routing outputs overhead: ${median(overhead).toFixed(1)}% (per-round: ${overhead.map((x) => x.toFixed(1)).join(', ')})`);
    console.log(`loop overhead: ${median(loop).toFixed(1)}% (wall vs session.run, RunChannel + serialised posts included; per-round: ${loop.map((x) => x.toFixed(1)).join(', ')})`);
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
