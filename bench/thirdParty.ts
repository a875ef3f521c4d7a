/**
 * Routing overhead on a third-party export (not a test): a graph without routing outputs of its own
 * (test/fixtures/models/mixtral by default), run as loadModel runs it — the routers found by structure,
 * exposed as graph outputs, read on the host every step — against the same graph without the exposed
 * outputs (withoutGraphOutputs, as bench/engine.ts builds its baseline), through the same run() loop.
 * Rounds are paired and alternate which side goes first; each pair is compared step by step (the same
 * step holds the same cache on both sides). Prints the median decode-step ms both ways and the ratio.
 * Run: npm run bench:third-party [-- MODEL_DIR]
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type LoadedModel, loadModel } from '../extension/engine/model';
import { exposeRouters } from '../extension/engine/moe/expose';
import { withoutGraphOutputs } from '../extension/engine/onnxGraph';
import { openSession } from '../extension/engine/providers';
import { NO_ROUTING } from '../extension/engine/routing';
import { run } from '../extension/engine/run';
import { DEFAULT_SAMPLING } from '../extension/trace/sampling';
import { median, percentile } from './measure';

const ROOT = resolve(__dirname, '..', '..');
const MODEL = resolve(process.argv[2] ?? join(ROOT, 'test', 'fixtures', 'models', 'mixtral'));
const ROUNDS = 30;
const TOKENS = 64;

/** Wall ms of each decode step of one greedy run, and the tokens it generated. */
async function decodeSteps(model: LoadedModel, prompt: string): Promise<{ stepMs: number[]; ids: number[] }> {
  const stepMs: number[] = [];
  const events = run(model, { prompt, settings: { ...DEFAULT_SAMPLING, maxNewTokens: TOKENS } });
  for (;;) {
    const next = await events.next();
    if (next.done) {
      if (next.value.done?.reason === 'error') throw new Error(next.value.done.message);
      return { stepMs, ids: Array.from(next.value.tokenIds()) };
    }
    if (next.value.type === 'step' && next.value.phase === 'decode') stepMs.push(next.value.wallMs);
  }
}

async function main(): Promise<void> {
  const cacheDir = await mkdtemp(join(tmpdir(), 'moe-lens-bench-third-party-'));
  const model = await loadModel(MODEL, { providers: ['cpu'], cacheDir });
  // the baseline: the graph loadModel ran, less the outputs it added (and any node only they used). The
  // exposed bytes are the file followed by a second `graph { output }`, which onnxruntime merges but
  // protobufjs (decodeModel) does not: it keeps only the second graph. So the baseline is built from the
  // file's own bytes, the graph the exposure appended to; its outputs must be the exposed graph's minus the added.
  const fileBytes = new Uint8Array(await readFile(model.folder.modelPath));
  const exposed = await exposeRouters(fileBytes, cacheDir);
  const added = new Set(model.routing.outputNames);
  const bareBytes = withoutGraphOutputs(fileBytes, (name) => added.has(name));
  const { session } = await openSession({ bytes: bareBytes, path: model.folder.modelPath, externalDataFolder: model.folder.dir }, ['cpu'], model.folder.modelBytes);
  const bare: LoadedModel = { ...model, session, routing: NO_ROUTING };
  try {
    if (added.size === 0) throw new Error(`${MODEL}: no routers found, nothing to compare`);
    if (session.outputNames.some((n) => added.has(n))) throw new Error('the baseline still has router outputs');
    if (session.outputNames.length + added.size !== model.session.outputNames.length || exposed.bytes.length <= fileBytes.length) {
      throw new Error('the baseline is not the exposed graph less the router outputs');
    }
    const ref = JSON.parse(await readFile(join(MODEL, 'reference.json'), 'utf8').catch(() => '{}')) as { prompt_ids?: number[] };
    const prompt = ref.prompt_ids ? model.folder.tokenizer.decode(ref.prompt_ids) : 'def add(a, b): return a + b';
    const a0 = await decodeSteps(model, prompt);
    const b0 = await decodeSteps(bare, prompt);
    if (a0.ids.join() !== b0.ids.join()) throw new Error('the two graphs decode different tokens');
    for (let i = 0; i < 3; i++) { await decodeSteps(model, prompt); await decodeSteps(bare, prompt); } // warm-up

    const withMs: number[] = [];
    const bareMs: number[] = [];
    const ratios: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const first = r % 2 === 0;
      const a = first ? await decodeSteps(model, prompt) : undefined;
      const b = await decodeSteps(bare, prompt);
      const w = a ?? await decodeSteps(model, prompt);
      const steps = Math.min(w.stepMs.length, b.stepMs.length);
      for (let s = 0; s < steps; s++) {
        withMs.push(w.stepMs[s]);
        bareMs.push(b.stepMs[s]);
        ratios.push(w.stepMs[s] / b.stepMs[s]);
      }
    }
    const plans = model.routers?.discovery.plans ?? [];
    console.log(`model: ${MODEL} (${plans.map((p) => `layer ${p.layer} ${p.pattern} ${p.recipe}`).join('; ')}), provider ${model.provider}, `
      + `${ROUNDS} paired rounds × ${TOKENS} decode steps (${ratios.length} pairs of steps), ${added.size} router outputs exposed`);
    console.log(`median decode step ms, router outputs exposed: ${median(withMs).toFixed(4)}`);
    console.log(`median decode step ms, same graph without them: ${median(bareMs).toFixed(4)}`);
    console.log(`ratio of medians: ${(median(withMs) / median(bareMs)).toFixed(3)}; median of paired step ratios: ${median(ratios).toFixed(3)} `
      + `(interquartile ${percentile(ratios, 25).toFixed(3)} to ${percentile(ratios, 75).toFixed(3)})`);
  } finally {
    await model.session.release();
    await session.release();
    await rm(cacheDir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
