import { type SamplingSettings, checkSampling } from '../trace/sampling';

/** xoshiro128** seeded through splitmix32: small, fast, and the same stream on every platform. */
export class Rng {
  private s: Uint32Array;
  constructor(seed: number) {
    let x = seed >>> 0;
    const next = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s = Uint32Array.of(next(), next(), next(), next());
  }
  /** Uniform in [0, 1). */
  next(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result / 2 ** 32;
  }
}

const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;

/** Picks the next token from logits: greedy at temperature 0, else softmax sampling after top-k and top-p. */
export class Sampler {
  private readonly rng: Rng;
  constructor(private readonly settings: SamplingSettings) {
    checkSampling(settings);
    this.rng = new Rng(settings.seed);
  }

  sample(logits: Float32Array): number {
    const { temperature, topK, topP } = this.settings;
    if (temperature === 0) return argmax(logits);
    let order = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a]);
    if (topK > 0 && topK < order.length) order = order.slice(0, topK);
    const max = logits[order[0]];
    const probs = order.map((i) => Math.exp((logits[i] - max) / temperature));
    const sum = probs.reduce((a, b) => a + b, 0);
    let keep = probs.length;
    if (topP < 1) {
      let mass = 0;
      for (let j = 0; j < probs.length; j++) {
        mass += probs[j] / sum;
        if (mass >= topP) {
          keep = j + 1;
          break;
        }
      }
    }
    const kept = probs.slice(0, keep);
    const total = kept.reduce((a, b) => a + b, 0);
    let r = this.rng.next() * total;
    for (let j = 0; j < keep; j++) {
      r -= kept[j];
      if (r < 0) return order[j];
    }
    return order[keep - 1];
  }
}

export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}
