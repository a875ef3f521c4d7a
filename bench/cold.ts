/**
 * Cold start, in a fresh process: from process start to the first generated token of the bundled model
 * on the CPU — loading onnxruntime-node, the model folder and the session, tokenising, the prefill and
 * the first decode step. Printed for bench/engine.ts: `first token ms: N`.
 */
import { join, resolve } from 'node:path';
import { loadModel } from '../extension/engine/model';
import { formatPrompt } from '../extension/engine/modelDir';
import { run } from '../extension/engine/run';
import { DEFAULT_SAMPLING } from '../extension/trace/sampling';

async function main(): Promise<void> {
  const model = await loadModel(join(resolve(__dirname, '..', '..'), 'models', 'moe-lens-mini'), { providers: ['cpu'] });
  const events = run(model, { prompt: formatPrompt(model.folder, 'x = 3\nprint(x * 4)'), settings: { ...DEFAULT_SAMPLING, maxNewTokens: 1 } });
  for (;;) {
    const next = await events.next();
    if (next.done) break;
    if (next.value.type === 'step' && next.value.phase === 'decode') {
      console.log(`first token ms: ${performance.now().toFixed(1)}`); // performance.now() counts from process start
    }
  }
  await model.session.release();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
