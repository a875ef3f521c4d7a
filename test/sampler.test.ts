import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Rng, Sampler } from '../extension/engine/sampler';
import {
  DEFAULT_SAMPLING, SAMPLING_FIELDS, SAMPLING_RANGES, SAMPLING_SETTING_KEYS, type SamplingSettings, checkSampling, samplingFieldProblem,
} from '../extension/trace/sampling';
import { ROOT } from './helpers';

const base: SamplingSettings = { maxNewTokens: 10, temperature: 1, topK: 0, topP: 1, seed: 1 };
const logits = Float32Array.from([Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05)]);

function histogram(settings: SamplingSettings, n: number): number[] {
  const s = new Sampler(settings);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) counts[s.sample(logits)]++;
  return counts.map((c) => c / n);
}

describe('sampler', () => {
  it('is greedy at temperature 0', () => {
    const s = new Sampler({ ...base, temperature: 0 });
    for (let i = 0; i < 5; i++) assert.equal(s.sample(Float32Array.from([0.1, 3, 2.9, -1])), 1);
  });

  it('draws from softmax(logits / T) at temperature 1', () => {
    const p = histogram(base, 40_000);
    [0.5, 0.3, 0.15, 0.05].forEach((want, i) => assert.ok(Math.abs(p[i] - want) < 0.01, `p[${i}] = ${p[i]}`));
  });

  it('sharpens at low temperature', () => {
    const p = histogram({ ...base, temperature: 0.5 }, 40_000);
    // p ∝ q^2: 0.25, 0.09, 0.0225, 0.0025 → normalised
    const z = 0.25 + 0.09 + 0.0225 + 0.0025;
    assert.ok(Math.abs(p[0] - 0.25 / z) < 0.01);
    assert.ok(Math.abs(p[3] - 0.0025 / z) < 0.004);
  });

  it('keeps only the k most likely tokens with top-k', () => {
    const p = histogram({ ...base, topK: 2 }, 20_000);
    assert.equal(p[2] + p[3], 0);
    assert.ok(Math.abs(p[0] - 0.5 / 0.8) < 0.015);
  });

  it('keeps the smallest set reaching p with top-p', () => {
    const p = histogram({ ...base, topP: 0.75 }, 20_000); // 0.5 + 0.3 reaches 0.75
    assert.equal(p[2] + p[3], 0);
    assert.ok(p[1] > 0.3);
  });

  it('repeats exactly for the same seed and differs for another', () => {
    const draw = (seed: number) => {
      const s = new Sampler({ ...base, seed });
      return Array.from({ length: 50 }, () => s.sample(logits));
    };
    assert.deepEqual(draw(7), draw(7));
    assert.notDeepEqual(draw(7), draw(8));
  });

  it('produces uniform numbers in [0, 1)', () => {
    const rng = new Rng(123);
    let sum = 0;
    for (let i = 0; i < 100_000; i++) {
      const x = rng.next();
      assert.ok(x >= 0 && x < 1);
      sum += x;
    }
    assert.ok(Math.abs(sum / 100_000 - 0.5) < 0.005);
  });

  it('rejects impossible settings up front', () => {
    assert.throws(() => checkSampling({ ...base, temperature: -1 }), /temperature/);
    assert.throws(() => checkSampling({ ...base, topP: 0 }), /topP/);
    assert.throws(() => checkSampling({ ...base, topK: 1.5 }), /topK/);
    assert.throws(() => checkSampling({ ...base, maxNewTokens: 0 }), /maxNewTokens/);
    assert.throws(() => checkSampling({ ...base, seed: -3 }), /seed/);
  });
});

describe('sampling settings: one set of ranges', () => {
  it('package.json\'s settings schema allows exactly what the engine accepts', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { contributes: { configuration: { properties: Record<string, Record<string, unknown>> } } };
    const props = pkg.contributes.configuration.properties;
    for (const field of SAMPLING_FIELDS) {
      const schema = props[`moeLens.${SAMPLING_SETTING_KEYS[field]}`];
      const range = SAMPLING_RANGES[field];
      assert.ok(schema, `moeLens.${SAMPLING_SETTING_KEYS[field]} is a setting`);
      assert.equal(schema.type, range.integer ? 'integer' : 'number', field);
      assert.equal(schema.default, DEFAULT_SAMPLING[field], field);
      assert.equal(range.minExclusive ? schema.exclusiveMinimum : schema.minimum, range.min, `${field} minimum`);
      assert.equal(schema.maximum, range.max, `${field} maximum`);
    }
  });

  it('refuses topP 0 (no token would be kept) and accepts the edges of every range', () => {
    assert.match(samplingFieldProblem('topP', 0) ?? '', /topP must be a number in \(0, 1\]/);
    for (const field of SAMPLING_FIELDS) {
      const r = SAMPLING_RANGES[field];
      assert.equal(samplingFieldProblem(field, r.max), undefined, `${field} max`);
      if (!r.minExclusive) assert.equal(samplingFieldProblem(field, r.min), undefined, `${field} min`);
    }
  });
});
