/**
 * Engine benchmark (not a test): prints one figure per line, each a median over rounds measured in this
 * run, on the path a user has — run() → RunChannel → a VS Code-style serialised postMessage.
 *   decode tok/s                     greedy decoding of held-out programs through run(), batch 1
 *   routing outputs overhead         decode steps (model call, the step kept: routing row, cache bytes) of the graph vs the
 *                                    same graph without routing outputs, the two in lockstep, opened afresh each round
 *                                    with each created first in turn
 *   loop overhead                    (wall − time inside session.run) / wall for whole runs, channel included, the loop
 *                                    gathering its steps for the channel's interval as the extension's does
 *   bare loop overhead               the same for the plainest greedy loop (encode, feed, argmax, cache swap) on the
 *                                    graph without routing outputs: what any decode loop costs on this machine, the
 *                                    floor under `loop overhead`
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
import { Decoder } from '../extension/engine/decoder';
import { PendingCalls } from '../extension/engine/pendingCalls';
import { run } from '../extension/engine/run';
import { argmax } from '../extension/engine/sampler';
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
  /** Wall ms of the decode steps, and their count. */
  decodeMs: number;
  tokens: number;
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
  const started = performance.now();
  const ch = channel ? new RunChannel(1, (m: HostMessage) => { posted += serializeLikeVsCode(toWire(m)).bytes; }) : undefined;
  const events = run(model, { prompt, settings: { ...DEFAULT_SAMPLING, maxNewTokens: TOKENS }, batchMs: ch ? () => ch.currentIntervalMs : 0 });
  for (;;) {
    const next = await events.next();
    if (next.done) {
      if (channel && posted === 0) throw new Error('the channel posted nothing');
      return { decodeMs, tokens, wallMs: performance.now() - started, runMs, store: next.value };
    }
    const e = next.value;
    if (e.type === 'start') ch?.start(e.store);
    else if (e.type === 'step') {
      ch?.step(e.segments);
      runMs += e.runMs;
      if (e.phase === 'decode') { decodeMs += e.wallMs; tokens += e.tokenCount; }
    } else {
      const { type: _, ...summary } = e;
      ch?.done(summary);
    }
  }
}

/**
 * Greedy decoding of `prompt` on both graphs at once, step by step, `withFirst` deciding which runs first at
 * even steps (the other first at odd ones). A step is what run() does for each token: the decoder's call
 * (session.run, the routing as one row) and keeping the step (PendingCalls: the row, the cache bytes).
 * Returns each graph's step ms.
 */
async function lockstep(withRouting: LoadedModel, bare: LoadedModel, prompt: string, withFirst: boolean): Promise<{ with: number[]; bare: number[] }> {
  const sides = [withRouting, bare].map((model) => ({ decoder: new Decoder(model), pending: PendingCalls.for(model), ms: [] as number[] }));
  try {
    const { ids } = withRouting.folder.tokenizer.encode(prompt);
    const outs = [];
    for (const side of sides) outs.push(await side.decoder.forward(ids));
    const { eosTokenIds, maxPositions } = withRouting.folder.config;
    for (let step = 0; step < TOKENS && sides[0].decoder.position < maxPositions; step++) {
      const id = argmax(outs[0].logits);
      if (eosTokenIds.includes(id)) break;
      const order = (step % 2 === 0) === withFirst ? [0, 1] : [1, 0];
      for (const j of order) {
        const side = sides[j];
        const started = performance.now();
        outs[j] = await side.decoder.forward([id]);
        if (side.pending.full) side.pending.clear();
        side.pending.push(id, outs[j], side.decoder.position, side.decoder.cache.bytesPerLayer());
        side.ms.push(performance.now() - started);
      }
      let diff = 0;
      for (let v = 0; v < outs[0].logits.length; v++) diff = Math.max(diff, Math.abs(outs[0].logits[v] - outs[1].logits[v]));
      if (diff > 1e-3) throw new Error(`the graph without routing outputs gives other logits (by ${diff}): it is not the same model`);
    }
    return { with: sides[0].ms, bare: sides[1].ms };
  } finally {
    for (const side of sides) side.decoder.dispose();
  }
}

/**
 * The plainest greedy loop over the graph without routing outputs, as any onnxruntime-node user would write
 * it: encode the prompt, feed, argmax, swap the cache. No trace, no text, no channel. Returns its
 * (wall − time inside session.run) / wall, %.
 */
async function bareLoop(bare: LoadedModel, prompt: string): Promise<number> {
  const started = performance.now();
  const decoder = new Decoder(bare);
  let runMs = 0;
  try {
    const { eosTokenIds, maxPositions } = bare.folder.config;
    let out = await decoder.forward(bare.folder.tokenizer.encode(prompt).ids);
    runMs += out.runMs;
    for (let step = 0; step < TOKENS && decoder.position < maxPositions; step++) {
      const id = argmax(out.logits);
      if (eosTokenIds.includes(id)) break;
      out = await decoder.forward([id]);
      runMs += out.runMs;
    }
  } finally {
    decoder.dispose();
  }
  const wall = performance.now() - started;
  return (100 * (wall - runMs)) / wall;
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
  const sessions: LoadedModel[] = [];
  try {
    const programs = fixedSample(await readHeldout(MODEL), PROMPTS);
    const overhead: number[] = [];
    /** The same, per prompt and round: the summed steps of each graph. */
    const perRun: number[] = [];
    const loop: number[] = [];
    const bareOverhead: number[] = [];
    const speed: number[] = [];
    let last: RunResult | undefined;
    let model: LoadedModel | undefined;
    let prompts: string[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      // the graphs are opened afresh each round, in turns first: of two sessions of one and the same graph
      // decoding in lockstep, the one created first ran 2–7% slower in some processes (an A/A check), which
      // taken alone would be read as the routing outputs' cost
      for (const s of sessions.splice(0)) await s.session.release();
      for (const dir of r % 2 === 0 ? [MODEL, bareDir] : [bareDir, MODEL]) sessions.push(await loadModel(dir, { providers: [provider] }));
      const [withRouting, bare] = r % 2 === 0 ? sessions : [sessions[1], sessions[0]];
      model = withRouting;
      prompts = programs.map((p) => formatPrompt(withRouting.folder, p.program));
      for (const p of prompts.slice(0, r === 0 ? 3 : 1)) { await decodeOne(withRouting, p, true); await decodeOne(bare, p, false); } // warm-up

      // the two graphs in lockstep on the same prompt: each decode step runs on one, then on the other (the
      // order alternating), so the two calls compared are ~1 ms apart and the machine's drift, which moves
      // separate runs by ±10%, cancels; the median of the ratios drops outliers
      for (const [i, prompt] of prompts.entries()) {
        const pair = await lockstep(withRouting, bare, prompt, (r + i) % 2 === 0);
        let withMs = 0;
        let bareMs = 0;
        for (let s = 0; s < pair.with.length; s++) {
          overhead.push((100 * (pair.with[s] - pair.bare[s])) / pair.bare[s]);
          withMs += pair.with[s];
          bareMs += pair.bare[s];
        }
        if (pair.with.length > 0) perRun.push((100 * (withMs - bareMs)) / bareMs);
        // the user's path: the same run through the channel, serialised as VS Code posts it
        const user = await decodeOne(withRouting, prompt, true);
        loop.push((100 * (user.wallMs - user.runMs)) / user.wallMs);
        speed.push((1000 * user.tokens) / user.decodeMs);
        bareOverhead.push(await bareLoop(bare, prompt));
        last = user;
      }
    }
    if (!model || !last) throw new Error('no rounds ran');
    const cold = [await coldFirstToken(), await coldFirstToken(), await coldFirstToken()];
    const store = last.store;
    const json = Buffer.byteLength(traceToJson(store));
    const spread = (xs: number[]) => `interquartile ${percentile(xs, 25).toFixed(1)} to ${percentile(xs, 75).toFixed(1)}`;
    console.log(`model: ${model.folder.dir}, provider ${model.provider}, ${prompts.length} prompts × ${ROUNDS} rounds of up to ${TOKENS} tokens`);
    console.log(`decode tok/s (${model.provider}): ${median(speed).toFixed(0)}`);
    console.log(`routing outputs overhead: ${median(overhead).toFixed(1)}% (median of ${overhead.length} steps run on both graphs in lockstep, ${spread(overhead)}; per prompt ${median(perRun).toFixed(1)}%, ${spread(perRun)}; `
      + 'baseline: the same graph without its routing outputs and the nodes only they used)');
    console.log(`loop overhead: ${median(loop).toFixed(1)}% (wall vs session.run, RunChannel + serialised posts included; ${spread(loop)})`);
    console.log(`bare loop overhead: ${median(bareOverhead).toFixed(1)}% (reference: encode, feed, argmax and cache swap only, on the graph without routing outputs; ${spread(bareOverhead)}; `
      + `MoE Lens's own share of the loop: ${(median(loop) - median(bareOverhead)).toFixed(1)} points)`);
    console.log(`cold first token ms (${provider}): ${median(cold).toFixed(0)} (runs: ${cold.map((x) => x.toFixed(0)).join(', ')})`);
    console.log(`trace bytes per token: ${(json / store.tokenCount).toFixed(0)} in the JSON file (${store.tokenCount} tokens, ${json} bytes); `
      + `${store.bytesPerToken().toFixed(0)} in memory (${store.meta.model.moeLayers.length} MoE layers × k=${store.meta.model.expertsPerToken}, E=${store.meta.model.nRoutedExperts})`);
  } finally {
    for (const s of sessions) await s.session.release();
    await rm(bareDir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
