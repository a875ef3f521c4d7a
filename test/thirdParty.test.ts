/**
 * Third-party MoE exports (test/fixtures/models): every fixture is opened the way a user opens it
 * (loadModel: routers found by structure, exposed as outputs, read on the host) and fed exactly the
 * token ids of its reference, prompt then greedy steps with the cache. The routing and logits must
 * match what PyTorch computed, the exposure must not change the logits (same graph without the added
 * outputs), and the user's folder must stay byte for byte as it was.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import { Decoder } from '../extension/engine/decoder';
import { type LoadedModel, loadModel } from '../extension/engine/model';
import { formatModelCard, modelCard } from '../extension/engine/modelCard';
import { SEARCHED } from '../extension/engine/moe/discover';
import { NO_ROUTING } from '../extension/engine/routing';
import { layerRanges, routingSummary } from '../extension/vscode/routingSummary';
import { ROOT } from './helpers';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'models');
const MOE = ['mixtral', 'qwen2moe', 'olmoe', 'olmoe-fp16', 'gptoss', 'glm4moe', 'genai-moe', 'lfm2-moe'];
/** The exposure must leave the logits as they were (the same kernels run; fusions may differ by rounding). */
const SAME_GRAPH = 1e-5;
const SESSION: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1 };

interface LayerReference { expert_ids: number[][]; weights: number[][]; scores: number[][]; shared_gate?: number[] }
interface Reference {
  moe_layers: number[];
  dense_layers: number[];
  num_experts: number | null;
  top_k: number | null;
  pattern: string | null;
  recipe: Record<string, { topk_sorted: boolean }>;
  prompt_ids: number[];
  steps: { input_ids: number[]; past_length: number; logits_last: number[]; routing: Record<string, LayerReference> }[];
  /** float16 exports only: the reference ran in float32 on fp16-rounded weights. */
  logits_tolerance?: number;
  /** The router tensors test/fixtures/models/makers/graph.py found by structure, per layer. */
  onnx_tensors: Record<string, { router_logits?: string; router_input?: string; expert_ids?: string; weights?: string; shared_gate?: string }>;
  routing_tolerance?: number;
}

async function folderHashes(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) out[name] = createHash('sha256').update(await readFile(join(dir, name))).digest('hex');
  return out;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'lengths differ');
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** The same graph as loaded, without the router outputs (the file as the user has it), behind the same decoder. */
async function bareTwin(model: LoadedModel): Promise<LoadedModel> {
  const session = await ort.InferenceSession.create(model.folder.modelPath, { ...SESSION, executionProviders: ['cpu'] });
  for (const name of model.routing.outputNames) assert.ok(!session.outputNames.includes(name), `${name} is an output of the file itself`);
  return { ...model, session, routing: NO_ROUTING };
}

let cacheDir: string;
before(async () => { cacheDir = await mkdtemp(join(tmpdir(), 'moe-lens-third-party-')); });
after(async () => { await rm(cacheDir, { recursive: true, force: true }); });

describe('third-party MoE exports reproduce their PyTorch reference', () => {
  for (const name of MOE) {
    test(name, async () => {
      const dir = join(FIXTURES, name);
      const ref = JSON.parse(await readFile(join(dir, 'reference.json'), 'utf8')) as Reference;
      const before = await folderHashes(dir);
      const model = await loadModel(dir, { providers: ['cpu'], cacheDir, sessionOptions: SESSION });
      const bare = await bareTwin(model);
      try {
        assert.deepEqual(model.layout.routedLayers, ref.moe_layers, 'MoE layers found');
        assert.equal(model.layout.routedExperts, ref.num_experts);
        assert.equal(model.layout.expertsPerToken, ref.top_k);
        for (const plan of model.routers?.discovery.plans ?? []) {
          // the search finds the tensors the fixture maker found (P1 reads the op's own input, the router logits' Reshape)
          const want = ref.onnx_tensors[String(plan.layer)];
          assert.equal(plan.pattern, ref.pattern, `layer ${plan.layer}: pattern`);
          assert.equal(plan.tensors.logits, plan.pattern === 'P1' ? want.router_input : want.router_logits, `layer ${plan.layer}: router logits`);
          assert.equal(plan.tensors.ids, want.expert_ids, `layer ${plan.layer}: expert ids`);
          assert.equal(plan.tensors.gates, want.weights, `layer ${plan.layer}: gate weights`);
          assert.equal(plan.tensors.sharedGate, want.shared_gate, `layer ${plan.layer}: shared gate`);
        }
        const card = await modelCard(model);
        assert.deepEqual(card.denseLayers, ref.dense_layers);
        const recipes = [...new Set(model.routers?.discovery.plans.map((p) => p.recipe))];
        assert.equal(routingSummary(model), `${ref.pattern} ${recipes[0]}: layer${ref.moe_layers.length > 1 ? 's' : ''} ${layerRanges(ref.moe_layers)}`, 'the header\'s routing line');
        const k = ref.top_k as number;
        const E = ref.num_experts as number;
        const logitsTol = ref.logits_tolerance ?? 1e-5;
        const routingTol = ref.routing_tolerance ?? 1e-5;
        const decoder = new Decoder(model);
        const plain = new Decoder(bare);
        assert.deepEqual(ref.steps[0].input_ids, ref.prompt_ids);
        try {
          for (const [s, step] of ref.steps.entries()) {
            assert.equal(decoder.position, step.past_length);
            const out = await decoder.forward(step.input_ids);
            const where = `${name} step ${s}`;
            const d = maxDiff(out.logits, step.logits_last);
            assert.ok(d <= logitsTol, `${where}: logits ${d} off the reference (tolerance ${logitsTol})`);
            const bareLogits = (await plain.forward(step.input_ids)).logits;
            const same = maxDiff(out.logits, bareLogits);
            assert.ok(same <= SAME_GRAPH, `${where}: logits ${same} off the graph without router outputs`);
            assert.equal(out.routing.tokens, step.input_ids.length);
            for (const [l, layer] of ref.moe_layers.entries()) {
              const r = step.routing[String(layer)];
              const got = out.routing.layers[l];
              const sorted = ref.recipe[String(layer)].topk_sorted;
              for (let t = 0; t < step.input_ids.length; t++) {
                const at = `${where} layer ${layer} token ${t}`;
                const ids = Array.from(got.expertIds.subarray(t * k, (t + 1) * k));
                const weights = Array.from(got.weights.subarray(t * k, (t + 1) * k));
                if (sorted) {
                  assert.deepEqual(ids, r.expert_ids[t], `${at}: expert ids`);
                  const dw = maxDiff(weights, r.weights[t]);
                  assert.ok(dw <= routingTol, `${at}: weights ${weights} vs ${r.weights[t]}`);
                } else {
                  // TopK sorted=0: the order is unspecified; weights pair with their expert
                  assert.deepEqual([...ids].sort(), [...r.expert_ids[t]].sort(), `${at}: expert ids (as a set)`);
                  for (const [j, e] of ids.entries()) {
                    const want = r.weights[t][r.expert_ids[t].indexOf(e)];
                    assert.ok(Math.abs(weights[j] - want) <= routingTol, `${at}: weight of expert ${e} ${weights[j]} vs ${want}`);
                  }
                }
                const scores = got.scores.subarray(t * E, (t + 1) * E);
                const ds = maxDiff(scores, r.scores[t]);
                assert.ok(ds <= routingTol, `${at}: scores ${Array.from(scores)} vs ${r.scores[t]}`);
                if (r.shared_gate) {
                  assert.ok(got.sharedGates, `${at}: no shared-expert gate read`);
                  assert.ok(Math.abs(got.sharedGates[t] - r.shared_gate[t]) <= routingTol, `${at}: shared gate ${got.sharedGates[t]} vs ${r.shared_gate[t]}`);
                }
              }
            }
          }
        } finally {
          decoder.dispose();
          plain.dispose();
        }
      } finally {
        await model.session.release();
        await bare.session.release();
      }
      assert.deepEqual(await folderHashes(dir), before, 'the model folder changed');
    });
  }

  test('a second load takes the router search from the cache and routes the same', async () => {
    const dir = join(FIXTURES, 'lfm2-moe');
    const first = await loadModel(dir, { providers: ['cpu'], cacheDir, sessionOptions: SESSION });
    const again = await loadModel(dir, { providers: ['cpu'], cacheDir, sessionOptions: SESSION });
    try {
      assert.equal(again.routers?.fromCache, true);
      assert.ok(again.routers?.cacheFile.startsWith(cacheDir));
      assert.deepEqual(again.routers?.discovery, first.routers?.discovery);
    } finally {
      await first.session.release();
      await again.session.release();
    }
  });

  test('dense: runs, and the card says no MoE layer was found and what was searched', async () => {
    const dir = join(FIXTURES, 'dense');
    const ref = JSON.parse(await readFile(join(dir, 'reference.json'), 'utf8')) as Reference;
    const before = await folderHashes(dir);
    const model = await loadModel(dir, { providers: ['cpu'], cacheDir, sessionOptions: SESSION });
    try {
      assert.deepEqual(model.layout.routedLayers, []);
      assert.equal(model.routing.outputNames.length, 0);
      assert.equal(model.routers?.discovery.plans.length, 0);
      assert.equal(model.routers?.discovery.searched, SEARCHED);
      const card = await modelCard(model);
      assert.deepEqual(card.moeLayers, []);
      assert.deepEqual(card.denseLayers, ref.dense_layers);
      assert.equal(card.searched, SEARCHED);
      assert.equal(routingSummary(model), 'no MoE layers found');
      const text = formatModelCard(card);
      assert.match(text, /MoE layers: none found/);
      assert.ok(text.includes(`searched for: ${SEARCHED}`), text);
      const decoder = new Decoder(model);
      try {
        for (const [s, step] of ref.steps.entries()) {
          const out = await decoder.forward(step.input_ids);
          const d = maxDiff(out.logits, step.logits_last);
          assert.ok(d <= 1e-5, `dense step ${s}: logits ${d} off the reference`);
          assert.equal(out.routing.layers.length, 0);
        }
      } finally {
        decoder.dispose();
      }
    } finally {
      await model.session.release();
    }
    assert.deepEqual(await folderHashes(dir), before, 'the model folder changed');
  });

  test('the routing line of the bundled model, and layer ranges', async () => {
    const model = await loadModel(join(ROOT, 'models', 'moe-lens-mini'), { providers: ['cpu'] });
    try {
      assert.equal(routingSummary(model), 'routing outputs (packed): layers 1–4');
    } finally {
      await model.session.release();
    }
    assert.equal(layerRanges([0, 1, 2, 5, 7, 8]), '0–2, 5, 7–8');
    assert.equal(layerRanges([]), '');
  });

  test('CLI: moe-lens run on the Mixtral export writes a trace routed in every MoE layer', async () => {
    const dir = join(FIXTURES, 'mixtral');
    const ref = JSON.parse(await readFile(join(dir, 'reference.json'), 'utf8')) as Reference;
    const before = await folderHashes(dir);
    const tmp = await mkdtemp(join(tmpdir(), 'moe-lens-third-party-cli-'));
    try {
      const promptFile = join(tmp, 'prompt.txt');
      const out = join(tmp, 't.moetrace.json');
      // the raw prompt goes as it is (no special tokens added): the BOS the reference encoding prepends is written out
      await writeFile(promptFile, '<s>def add(a, b): return a + b');
      await promisify(execFile)(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'run', '--model', dir, '--prompt-file', promptFile,
        '--raw', '--max-tokens', '8', '--ep', 'cpu', '--out', out], { cwd: ROOT, env: { ...process.env, XDG_CACHE_HOME: tmp } });
      const trace = JSON.parse(await readFile(out, 'utf8')) as {
        meta: { model: { moeLayers: number[]; nRoutedExperts: number; expertsPerToken: number } };
        tokens: { ids: number[] };
        routing: { layer: number; expertIds: number[]; weights: number[]; scores: number[] }[];
      };
      assert.deepEqual(trace.meta.model.moeLayers, ref.moe_layers);
      assert.deepEqual(trace.routing.map((r) => r.layer), ref.moe_layers);
      const n = trace.tokens.ids.length;
      // the raw prompt is the reference's prompt; greedy decoding repeats its steps
      assert.deepEqual(trace.tokens.ids.slice(0, ref.prompt_ids.length + 3), [...ref.prompt_ids, ...ref.steps.slice(1).map((s) => s.input_ids[0])]);
      assert.equal(n, ref.prompt_ids.length + 8);
      const k = ref.top_k as number;
      for (const r of trace.routing) {
        assert.equal(r.expertIds.length, n * k);
        assert.equal(r.scores.length, n * (ref.num_experts as number));
        assert.ok(r.expertIds.every((e) => Number.isInteger(e) && e >= 0 && e < (ref.num_experts as number)), `layer ${r.layer}: expert ids`);
        const first = ref.steps[0].routing[String(r.layer)];
        assert.deepEqual(r.expertIds.slice(0, ref.prompt_ids.length * k), first.expert_ids.flat(), `layer ${r.layer}: prompt routing`);
        // a generated token's routing is packed into a row at its step and recorded with its batch: the reference's too
        for (let s = 1; s < ref.steps.length; s++) {
          const t = ref.prompt_ids.length + s - 1;
          const want = ref.steps[s].routing[String(r.layer)];
          const ids = r.expertIds.slice(t * k, (t + 1) * k);
          assert.deepEqual([...ids].sort(), [...want.expert_ids[0]].sort(), `layer ${r.layer} token ${t}: expert ids`);
          for (const [j, e] of ids.entries()) {
            const w = want.weights[0][want.expert_ids[0].indexOf(e)];
            assert.ok(Math.abs(r.weights[t * k + j] - w) <= (ref.routing_tolerance ?? 1e-5), `layer ${r.layer} token ${t}: weight of expert ${e}`);
          }
        }
      }
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    assert.deepEqual(await folderHashes(dir), before, 'the model folder changed');
  });
});
