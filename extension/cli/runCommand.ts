import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { checkRun } from '../engine/checkRun';
import { loadModel } from '../engine/model';
import { formatPrompt } from '../engine/modelDir';
import { run } from '../engine/run';
import { FRAME_MS } from '../inspector/stream';
import { balance, decodeTokensPerSecond, formatBytes, mhaEquivalentBytes, topExpertAt } from '../trace/figures';
import { traceToJson } from '../trace/jsonFormat';
import type { TraceStore } from '../trace/store';
import { type SamplingSettings, checkSampling } from '../trace/sampling';
import { Segment } from '../trace/types';
import { writeFileAtomic } from '../trace/writeAtomic';
import { BUNDLED_MODEL, numberOption, providersOption } from './options';
import { printCheck } from './checkSummary';
import { bold, dim, expertColor, printable } from './terminal';

export const RUN_USAGE = `moe-lens run --prompt-file FILE [--model DIR] [--out TRACE.moetrace.json] [--ep LIST]
      [--max-tokens N] [--temperature T] [--top-k K] [--top-p P] [--seed S] [--layer L] [--raw]
  streams the model's tokens coloured by their top expert at layer L, then prints speed, KV-cache
  bytes and expert load; --raw sends the file as is instead of wrapping it in the model's prompt format`;

export async function runCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string', default: BUNDLED_MODEL },
      'prompt-file': { type: 'string' },
      out: { type: 'string' },
      ep: { type: 'string', default: 'auto' },
      'max-tokens': { type: 'string' },
      temperature: { type: 'string' },
      'top-k': { type: 'string' },
      'top-p': { type: 'string' },
      seed: { type: 'string' },
      layer: { type: 'string' },
      raw: { type: 'boolean', default: false },
    },
  });
  if (!values['prompt-file']) throw new RangeError(`--prompt-file is required\n${RUN_USAGE}`);
  const settings: SamplingSettings = {
    maxNewTokens: numberOption('max-tokens', values['max-tokens'], 400),
    temperature: numberOption('temperature', values.temperature, 0),
    topK: numberOption('top-k', values['top-k'], 0),
    topP: numberOption('top-p', values['top-p'], 1),
    seed: numberOption('seed', values.seed, 0),
  };
  checkSampling(settings);
  const promptFile = resolve(values['prompt-file']);
  const source = await readFile(promptFile, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new RangeError(`cannot read the prompt file ${promptFile}: ${e.code === 'ENOENT' ? 'it does not exist' : e.message}`);
  });
  const model = await loadModel(resolve(values.model), { providers: providersOption(values.ep), log: (l) => console.error(dim(l)) });
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  try {
    const layers = model.layout.routedLayers;
    const layer = numberOption('layer', values.layer, layers[0] ?? -1);
    const layerIndex = layers.indexOf(layer);
    if (layers.length > 0 && layerIndex < 0) throw new RangeError(`--layer ${layer} has no routing; MoE layers: ${layers.join(', ')}`);
    const prompt = values.raw ? source : formatPrompt(model.folder, source);
    console.error(dim(`model ${model.folder.dir} · provider ${model.provider} · colour = top expert at layer ${layer}`));
    let store: TraceStore | undefined;
    let current: Segment = Segment.Prompt;
    const k = model.layout.expertsPerToken;
    const events = run(model, { prompt, settings, signal: abort.signal, batchMs: FRAME_MS });
    for (;;) {
      const next = await events.next();
      if (next.done) {
        store = next.value;
        break;
      }
      const e = next.value;
      if (e.type === 'start') store = e.store;
      else if (e.type === 'step' && store) {
        const routing = layerIndex >= 0 ? store.routing(layerIndex) : undefined;
        const segments = store.tokenSegments();
        for (let t = e.firstToken; t < e.firstToken + e.tokenCount; t++) {
          const segment = segments[t] as Segment;
          if (segment !== current && e.phase === 'decode') {
            process.stdout.write(bold(`\n── ${segment === Segment.Reasoning ? 'reasoning' : 'answer'} ──\n`));
            current = segment;
          }
          const top = routing ? topExpertAt(routing.expertIds, routing.weights, t, k) : -1;
          const text = printable(store.tokenTexts()[t]);
          process.stdout.write(top >= 0 ? expertColor(top, text) : text);
        }
      } else if (e.type === 'done') {
        process.stdout.write('\n');
        if (e.message) console.error(`error: ${e.message}`);
        if (e.unterminatedReasoning) console.error(dim('the reasoning was never closed'));
      }
    }
    // the bundled model's own template wraps a program: its reasoning can be checked against the program's run
    if (!values.raw) store.checks = checkRun(model.folder, store, source);
    printSummary(store, layerIndex);
    if (store.checks) printCheck(store.checks);
    if (values.out) {
      await writeFileAtomic(resolve(values.out), traceToJson(store));
      console.log(`trace: ${resolve(values.out)} (${store.tokenCount} tokens)`);
    }
    return store.done?.reason === 'error' ? 1 : 0;
  } finally {
    process.off('SIGINT', onSigint);
    await model.session.release();
  }
}

function printSummary(store: TraceStore, layerIndex: number): void {
  const { meta } = store;
  const runMs = store.stepRunMs();
  const generated = Math.max(0, store.stepCount - 1);
  const lastKv = store.stepKvBytes().slice(-meta.model.numLayers);
  const held = lastKv.reduce((a, b) => a + b, 0);
  const tokens = store.stepTokensInCache().at(-1) ?? 0;
  const mha = mhaEquivalentBytes(meta.model, tokens);
  console.log(bold('\nsummary'));
  console.log(`  done: ${store.done?.reason} after ${generated} generated tokens (prompt ${store.tokenCount - generated})`);
  console.log(`  speed: ${generated > 0 ? decodeTokensPerSecond(runMs).toFixed(0) : '–'} tok/s decode (time inside session.run), prefill ${runMs[0]?.toFixed(1)} ms, ${meta.provider}`);
  console.log(`  KV cache: ${formatBytes(held)} for ${tokens} tokens; plain multi-head attention would hold ${formatBytes(mha)} (${held > 0 ? (mha / held).toFixed(1) : '–'}× more)`);
  if (meta.model.moeLayers.length === 0) return;
  console.log(`  expert load (assignments per expert, all tokens; ▲ = layer ${meta.model.moeLayers[layerIndex]} is the colour layer):`);
  meta.model.moeLayers.forEach((layer, l) => {
    const load = Array.from(store.expertLoad(l));
    const cells = load.map((n, e) => expertColor(e, String(n).padStart(4))).join('');
    console.log(`  ${l === layerIndex ? '▲' : ' '} layer ${String(layer).padStart(2)}${cells}   max/mean ${balance(load).maxOverMean.toFixed(2)}`);
  });
}
