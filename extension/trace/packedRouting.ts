/**
 * The packed routing row: one token's routing in every MoE layer as one float32 row of L·(2k + E) values,
 * MoE layers in order — every layer's k expert ids, then every layer's k weights, then every layer's E
 * router scores. The contract's `routing.packed` output holds one such row per token fed
 * (docs/model-contract.md); the trace store keeps decode steps' rows as they come and splits them later.
 */

/** Values in one packed row. */
export const packedWidth = (layers: number, k: number, experts: number): number => layers * (2 * k + experts);

/** One MoE layer's token-major columns: k ids and k weights, E scores per token. */
export interface RoutingSink {
  expertIds: Int16Array;
  weights: Float32Array;
  scores: Float32Array;
}

/**
 * Splits `tokens` packed rows (from the start of `packed`) into each layer's columns, token t at token
 * index `at + t` there. Element loops: per layer and token, a subarray and set() cost more than copying E values.
 */
export function unpackRouting(packed: Float32Array, tokens: number, k: number, experts: number, into: readonly RoutingSink[], at: number): void {
  const L = into.length;
  const width = packedWidth(L, k, experts);
  for (let t = 0; t < tokens; t++) {
    const row = t * width;
    const ids = (at + t) * k;
    const sc = (at + t) * experts;
    for (let l = 0; l < L; l++) {
      const { expertIds, weights, scores } = into[l];
      const i = row + l * k;
      const w = row + L * k + l * k;
      for (let j = 0; j < k; j++) {
        expertIds[ids + j] = packed[i + j];
        weights[ids + j] = packed[w + j];
      }
      const s = row + 2 * L * k + l * experts;
      for (let e = 0; e < experts; e++) scores[sc + e] = packed[s + e];
    }
  }
}

/** The inverse of unpackRouting for one token: token `t` of each layer's columns as one packed row, written into `row` at `at`. */
export function packRouting(from: readonly RoutingSink[], t: number, k: number, experts: number, row: Float32Array, at: number): void {
  const L = from.length;
  for (let l = 0; l < L; l++) {
    const { expertIds, weights, scores } = from[l];
    const i = at + l * k;
    const w = at + L * k + l * k;
    for (let j = 0; j < k; j++) {
      row[i + j] = expertIds[t * k + j];
      row[w + j] = weights[t * k + j];
    }
    const s = at + 2 * L * k + l * experts;
    for (let e = 0; e < experts; e++) row[s + e] = scores[t * experts + e];
  }
}
