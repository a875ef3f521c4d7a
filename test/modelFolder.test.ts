import assert from 'node:assert/strict';
import { rm, stat, readdir, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ModelError } from '../extension/engine/errors';
import { loadModel } from '../extension/engine/model';
import { BUNDLED, editJson, modelCopy } from './helpers';

const copies: string[] = [];
async function damaged(damage: (dir: string) => Promise<void>): Promise<string> {
  const dir = await modelCopy();
  copies.push(dir);
  await damage(dir);
  return dir;
}

async function rejects(dir: string, file: string, pattern: RegExp): Promise<void> {
  await assert.rejects(loadModel(dir), (e: unknown) => {
    assert.ok(e instanceof ModelError, `expected a ModelError, got ${String(e)}`);
    assert.equal(e.file, file);
    assert.match(e.message, pattern);
    assert.ok(e.fix.length > 20, 'the error says what to do');
    return true;
  });
}

describe('model folder', () => {
  after(async () => Promise.all(copies.map((d) => rm(d, { recursive: true, force: true }))));

  it('loads the bundled model and reads its contract from the graph', async () => {
    const model = await loadModel(BUNDLED);
    try {
      const { config } = model.folder;
      assert.equal(model.provider, 'cpu');
      assert.deepEqual(model.layout.routedLayers, [1, 2, 3, 4]);
      assert.ok(model.layout.latentCache);
      // the cache is latent-sized: per token per layer kv_lora_rank + qk_rope_head_dim values
      const perLayer = new Map<number, number>();
      for (const c of model.layout.caches) perLayer.set(c.layer, (perLayer.get(c.layer) ?? 0) + c.emptyDims[2]);
      for (const values of perLayer.values()) assert.equal(values, config.kvLoraRank + config.qkRopeHeadDim);
      assert.equal(perLayer.size, config.numLayers);
    } finally {
      await model.session.release();
    }
  });

  it('keeps the shipped folder within 16 MB', async () => {
    let bytes = 0;
    for (const f of await readdir(BUNDLED)) bytes += (await stat(join(BUNDLED, f))).size;
    assert.ok(bytes <= 16_000_000, `${bytes} bytes`);
  });

  it('names a missing folder', async () => {
    await rejects('/nonexistent/moe-lens-model', '/nonexistent/moe-lens-model', /model folder not found/);
  });

  it('names a missing model.onnx', async () => {
    const dir = await damaged((d) => rm(join(d, 'model.onnx')));
    await rejects(dir, join(dir, 'model.onnx'), /is missing/);
  });

  it('names a corrupt model.onnx', async () => {
    const dir = await damaged(async (d) => {
      await truncate(join(d, 'model.onnx'), 4096);
    });
    await rejects(dir, join(dir, 'model.onnx'), /is damaged or not an ONNX model/);
  });

  it('names a model.onnx that is not ONNX at all', async () => {
    const dir = await damaged((d) => writeFile(join(d, 'model.onnx'), 'this is not a model'));
    await rejects(dir, join(dir, 'model.onnx'), /is damaged or not an ONNX model/);
  });

  it('names a config.json that is not JSON', async () => {
    const dir = await damaged((d) => writeFile(join(d, 'config.json'), '{ "vocab_size": '));
    await rejects(dir, join(dir, 'config.json'), /not valid JSON/);
  });

  it('names a config.json whose latent rank disagrees with the graph', async () => {
    const dir = await damaged((d) => editJson(join(d, 'config.json'), (c) => { c.kv_lora_rank = 64; }));
    await rejects(dir, join(dir, 'config.json'), /kv_lora_rank is 64 but model.onnx caches 48/);
  });

  it('names a config.json whose layer count disagrees with the graph', async () => {
    const dir = await damaged((d) => editJson(join(d, 'config.json'), (c) => { c.num_hidden_layers = 7; }));
    await rejects(dir, join(dir, 'config.json'), /num_hidden_layers is 7 but model.onnx has caches for 5 layers/);
  });

  it('names a config.json whose expert count disagrees with the graph', async () => {
    const dir = await damaged((d) => editJson(join(d, 'config.json'), (c) => { c.n_routed_experts = 8; }));
    await rejects(dir, join(dir, 'config.json'), /n_routed_experts is 8 and num_experts_per_tok 4, but model.onnx packs routing over 16 experts per token in its 4 MoE layers/);
  });

  it('names a config.json with a missing required field', async () => {
    const dir = await damaged((d) => editJson(join(d, 'config.json'), (c) => { delete c.hidden_size; }));
    await rejects(dir, join(dir, 'config.json'), /"hidden_size" must be a non-negative integer/);
  });

  it('names a missing tokenizer.json', async () => {
    const dir = await damaged((d) => rm(join(d, 'tokenizer.json')));
    await rejects(dir, join(dir, 'tokenizer.json'), /is missing/);
  });
});
