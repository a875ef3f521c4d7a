/**
 * Engine benchmark (not a test): prints one figure per line. Run: npm run bench
 *   decode tok/s (cpu)         greedy decoding of held-out programs through Decoder, batch 1
 *   loop overhead              (wall − time inside session.run) / wall for the full event loop (run())
 *   routing outputs overhead   decode time reading all outputs vs leaving the routing outputs unfetched
 *   trace bytes/token/layer    routing storage of the columnar trace per token per MoE layer
 */
import { resolve } from 'node:path';
import { Decoder } from '../extension/engine/decoder';
import { type LoadedModel, loadModel } from '../extension/engine/model';
import { formatPrompt } from '../extension/engine/modelDir';
import { run } from '../extension/engine/run';
import { argmax } from '../extension/engine/sampler';
import { fixedSample, readHeldout } from '../extension/eval/heldout';

const MODEL = resolve(__dirname, '..', '..', 'models', 'moe-lens-mini');
const ROUNDS = 5;

async function decodeLoop(model: LoadedModel, prompts: number[][], routing: boolean): Promise<{ tokens: number; ms: number }> {
  let tokens = 0;
  let ms = 0;
  for (const ids of prompts) {
    const decoder = new Decoder(model, { routing });
    let step = await decoder.forward(ids);
    const start = performance.now();
    for (let n = 0; n < 200; n++) {
      step = await decoder.forward([argmax(step.logits)]);
      tokens++;
    }
    ms += performance.now() - start;
    decoder.dispose();
  }
  return { tokens, ms };
}

async function main(): Promise<void> {
  const provider = process.argv[2] ?? 'cpu';
  const model = await loadModel(MODEL, { providers: [provider] });
  const programs = fixedSample(await readHeldout(MODEL), 8);
  const prompts = programs.map((p) => model.folder.tokenizer.encode(formatPrompt(model.folder, p.program)).ids);
  await decodeLoop(model, prompts.slice(0, 2), true); // warm-up

  // interleave the two variants so drift in machine load hits both alike
  const withRouting = { tokens: 0, ms: 0 };
  const without = { tokens: 0, ms: 0 };
  for (let r = 0; r < ROUNDS; r++) {
    const a = await decodeLoop(model, prompts, true);
    const b = await decodeLoop(model, prompts, false);
    withRouting.tokens += a.tokens; withRouting.ms += a.ms;
    without.tokens += b.tokens; without.ms += b.ms;
  }
  const perTokWith = withRouting.ms / withRouting.tokens;
  const perTokWithout = without.ms / without.tokens;

  let wall = 0;
  let inside = 0;
  let generated = 0;
  let bytesPerTokenLayer = 0;
  for (let r = 0; r < ROUNDS; r++) {
    for (const p of programs) {
      const start = performance.now();
      const gen = run(model, { prompt: formatPrompt(model.folder, p.program), settings: { maxNewTokens: 400, temperature: 0, topK: 0, topP: 1, seed: 0 } });
      let next = await gen.next();
      while (!next.done) next = await gen.next();
      wall += performance.now() - start;
      const store = next.value;
      inside += store.stepRunMs().reduce((a, b) => a + b, 0);
      generated += store.stepCount - 1;
      bytesPerTokenLayer = store.routingBytesPerTokenPerLayer();
    }
  }
  console.log(`model: ${model.folder.dir}, provider ${model.provider}, ${prompts.length} prompts × ${ROUNDS} rounds`);
  console.log(`decode tok/s (${model.provider}): ${(1000 / perTokWith).toFixed(0)}`);
  console.log(`decode tok/s without reading routing (${model.provider}): ${(1000 / perTokWithout).toFixed(0)}`);
  console.log(`routing outputs overhead: ${((100 * (perTokWith - perTokWithout)) / perTokWithout).toFixed(1)}%`);
  console.log(`loop overhead: ${((100 * (wall - inside)) / wall).toFixed(1)}% (${generated} tokens through run(), ${(generated / (wall / 1000)).toFixed(0)} tok/s end to end)`);
  console.log(`trace routing bytes per token per MoE layer: ${bytesPerTokenLayer}`);
  await model.session.release();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
