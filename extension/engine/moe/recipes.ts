/**
 * Routing on the host: the recipes MoE families use, computed from router tensors a graph exposes
 * (docs/models.md). Each writes one token's k expert ids, k gate weights and E scores into columns.
 * Used where the graph does not hold the values itself: for fused MoE ops (P1), which take the router
 * logits and select inside the kernel, and for the full distribution (scores) of every pattern.
 */

export type Recipe = 'softmax_topk' | 'topk_softmax' | 'sigmoid_bias' | 'sparse_mixer';

/** Softmax of `row` into `out` (numerically stable). */
export function softmaxInto(row: ArrayLike<number>, out: Float32Array | Float64Array, outOffset = 0): void {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i] > max) max = row[i];
  let sum = 0;
  for (let i = 0; i < row.length; i++) {
    const e = Math.exp(row[i] - max);
    out[outOffset + i] = e;
    sum += e;
  }
  for (let i = 0; i < row.length; i++) out[outOffset + i] /= sum;
}

export function sigmoidInto(row: ArrayLike<number>, out: Float32Array | Float64Array, outOffset = 0): void {
  for (let i = 0; i < row.length; i++) out[outOffset + i] = 1 / (1 + Math.exp(-row[i]));
}

/** Indices of the k largest values, largest first; ties go to the lower index (std::partial_sort with a stable comparator). */
export function topK(values: ArrayLike<number>, k: number): number[] {
  const chosen: number[] = [];
  for (let j = 0; j < k; j++) {
    let best = -1;
    for (let i = 0; i < values.length; i++) {
      if (chosen.includes(i)) continue;
      if (best < 0 || values[i] > values[best]) best = i;
    }
    if (best < 0) break;
    chosen.push(best);
  }
  return chosen;
}

/**
 * Mixtral / Qwen-MoE / OLMoE and onnxruntime's MoE op: p = softmax(logits); the k most probable experts;
 * their probabilities, renormalised over the k when `normalize` (equal to top-k-then-softmax).
 */
export function softmaxTopK(logits: ArrayLike<number>, k: number, normalize: boolean, scores: Float32Array, ids: Int16Array, weights: Float32Array): void {
  softmaxInto(logits, scores);
  const chosen = topK(scores, k);
  let sum = 0;
  chosen.forEach((e, j) => { ids[j] = e; weights[j] = scores[e]; sum += scores[e]; });
  if (normalize && sum > 0) for (let j = 0; j < chosen.length; j++) weights[j] /= sum;
}

/**
 * Phi-3.5-MoE's sparse mixer (top-2, onnxruntime's CUDA kernel, jitter 0.01): each round takes the
 * largest remaining logit and weighs it against the logits within a relative margin of it; the second
 * round excludes the first winner.
 */
export function sparseMixer(logits: ArrayLike<number>, scores: Float32Array, ids: Int16Array, weights: Float32Array, eps = 0.01): void {
  softmaxInto(logits, scores);
  const excluded = new Set<number>();
  for (let round = 0; round < 2; round++) {
    let winner = -1;
    for (let e = 0; e < logits.length; e++) if (!excluded.has(e) && (winner < 0 || logits[e] > logits[winner])) winner = e;
    const top = logits[winner];
    let sum = 0;
    for (let e = 0; e < logits.length; e++) {
      if (excluded.has(e)) continue;
      const masked = (top - logits[e]) > 2 * eps * Math.max(Math.abs(logits[e]), Math.abs(top));
      if (!masked) sum += Math.exp(logits[e] - top);
    }
    ids[round] = winner;
    weights[round] = 1 / sum; // exp(top - top) / Σ
    excluded.add(winner);
  }
}

/** Float16 bits → float32 values (onnxruntime-node hands fp16 tensors over as Uint16Array). */
export function halfsToFloats(bits: Uint16Array, out: Float32Array = new Float32Array(bits.length)): Float32Array {
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i];
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const fraction = h & 0x3ff;
    out[i] = exponent === 0 ? sign * 2 ** -14 * (fraction / 1024)
      : exponent === 0x1f ? (fraction ? Number.NaN : sign * Infinity)
        : sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
  }
  return out;
}
