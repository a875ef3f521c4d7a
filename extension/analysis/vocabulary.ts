import { isRoutedSlot, type RoutingInput, selectTokens, type TokenSelection } from './input';
import { TOKEN_KINDS, tokenKindIndices } from './tokenKinds';

/** A token id an expert receives more than its frequency alone would give it. */
export interface FavouriteToken {
  tokenId: number;
  text: string;
  /** Times the expert received it. */
  count: number;
  /** count over the expert's load: how much of the expert's traffic it is. */
  share: number;
  /** count over the id's occurrences: how much of the id's traffic the expert takes. */
  coverage: number;
  /** P(expert | id) / P(expert) = count · N / (occurrences · load); 1 is no preference. log2 of it is the PMI. */
  lift: number;
}

export interface ExpertVocabulary {
  expert: number;
  load: number;
  /** Highest lift first (ties: higher count, then lower id), only ids received at least minCount times. */
  favourites: FavouriteToken[];
}

/**
 * Which token ids and kinds one MoE layer's experts receive. N is the selected tokens routed at this
 * layer; every count below is over them.
 */
export interface VocabularySpecialisation {
  layerIndex: number;
  layer: number;
  routedTokens: number;
  experts: ExpertVocabulary[];
  /** Distinct token ids, ascending, with their occurrences and the text of their first occurrence. */
  tokenIds: Int32Array;
  tokenIdCounts: Int32Array;
  tokenIdTexts: string[];
  /**
   * The experts each id goes to, beside tokenIds: id n's experts are
   * expertsOfTokenId[offsets[n] … offsets[n + 1]), heaviest first (ties: lower expert), with their counts.
   */
  offsets: Int32Array;
  expertsOfTokenId: Int16Array;
  expertCountsOfTokenId: Int32Array;
  /** Routed tokens of each TOKEN_KINDS kind. */
  kindTokens: Int32Array;
  /** E × kinds, row-major: tokens of each kind each expert received. */
  kindCounts: Int32Array;
  /** E × kinds: (kindCounts / load) / (kindTokens / N); NaN where the expert has no load or the kind no token. */
  kindLift: Float64Array;
}

export interface VocabularyOptions {
  /** Favourites kept per expert (default 10). */
  top?: number;
  /** Fewest receptions for an id to count as a favourite (default 3): rare ids give noisy lifts. */
  minCount?: number;
}

export function vocabularySpecialisation(input: RoutingInput, selection: TokenSelection, layerIndex: number, options: VocabularyOptions = {}): VocabularySpecialisation {
  const { expertsPerToken: k, nRoutedExperts: experts } = input;
  const top = options.top ?? 10;
  const minCount = options.minCount ?? 3;
  const { expertIds } = input.routing[layerIndex];
  const tokens = selectTokens(input, selection);
  const kindOfToken = tokenKindIndices(input.tokenTexts, tokens);
  const kindCount = TOKEN_KINDS.length;

  // (token id, expert) pairs as one sortable number each: id · E + expert
  const pairKeys = new Float64Array(tokens.length * k);
  const routedIds = new Float64Array(tokens.length);
  const firstText = new Map<number, string>();
  const load = new Int32Array(experts);
  const kindTokens = new Int32Array(kindCount);
  const kindCounts = new Int32Array(experts * kindCount);
  let pairs = 0;
  let routedTokens = 0;
  tokens.forEach((t, i) => {
    const id = input.tokenIds[t];
    const pairsBefore = pairs;
    for (let j = t * k; j < (t + 1) * k; j++) {
      if (!isRoutedSlot(expertIds, j, k, experts)) continue;
      const e = expertIds[j];
      pairKeys[pairs++] = id * experts + e;
      load[e]++;
      kindCounts[e * kindCount + kindOfToken[i]]++;
    }
    if (pairs === pairsBefore) return;
    routedIds[routedTokens++] = id;
    kindTokens[kindOfToken[i]]++;
    if (!firstText.has(id)) firstText.set(id, input.tokenTexts[t] ?? '');
  });
  const sortedPairs = pairKeys.subarray(0, pairs).sort();
  const sortedIds = routedIds.subarray(0, routedTokens).sort();

  const distinct = runLengths(sortedIds);
  const tokenIds = Int32Array.from(distinct.values);
  const tokenIdCounts = distinct.counts;
  const tokenIdTexts = Array.from(tokenIds, (id) => firstText.get(id) ?? '');

  const cells = runLengths(sortedPairs);
  const offsets = new Int32Array(tokenIds.length + 1);
  const expertsOfTokenId = new Int16Array(cells.values.length);
  const expertCountsOfTokenId = new Int32Array(cells.values.length);
  const candidates: FavouriteToken[][] = Array.from({ length: experts }, () => []);
  let n = 0;
  for (let c = 0; c < cells.values.length; c++) {
    const id = Math.floor(cells.values[c] / experts);
    const e = cells.values[c] - id * experts;
    while (tokenIds[n] !== id) offsets[++n] = c;
    const count = cells.counts[c];
    expertsOfTokenId[c] = e;
    expertCountsOfTokenId[c] = count;
    if (count >= minCount) {
      const occurrences = tokenIdCounts[n];
      candidates[e].push({ tokenId: id, text: tokenIdTexts[n], count, share: count / load[e], coverage: count / occurrences, lift: (count * routedTokens) / (occurrences * load[e]) });
    }
  }
  while (n < tokenIds.length) offsets[++n] = cells.values.length;
  for (let m = 0; m < tokenIds.length; m++) sortSegmentByCount(expertsOfTokenId, expertCountsOfTokenId, offsets[m], offsets[m + 1]);

  const kindLift = new Float64Array(experts * kindCount);
  for (let e = 0; e < experts; e++) {
    for (let q = 0; q < kindCount; q++) {
      kindLift[e * kindCount + q] = load[e] > 0 && kindTokens[q] > 0 ? (kindCounts[e * kindCount + q] * routedTokens) / (load[e] * kindTokens[q]) : NaN;
    }
  }
  return {
    layerIndex, layer: input.moeLayers[layerIndex], routedTokens,
    experts: candidates.map((list, e) => ({
      expert: e, load: load[e],
      favourites: list.sort((a, b) => b.lift - a.lift || b.count - a.count || a.tokenId - b.tokenId).slice(0, top),
    })),
    tokenIds, tokenIdCounts, tokenIdTexts, offsets, expertsOfTokenId, expertCountsOfTokenId, kindTokens, kindCounts, kindLift,
  };
}

/** The experts a token id went to at this layer, heaviest first; empty when the id was not routed. */
export function expertsOfTokenId(v: VocabularySpecialisation, tokenId: number): { expert: number; count: number }[] {
  let lo = 0;
  let hi = v.tokenIds.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v.tokenIds[mid] < tokenId) lo = mid + 1;
    else hi = mid;
  }
  if (v.tokenIds[lo] !== tokenId) return [];
  const out: { expert: number; count: number }[] = [];
  for (let c = v.offsets[lo]; c < v.offsets[lo + 1]; c++) out.push({ expert: v.expertsOfTokenId[c], count: v.expertCountsOfTokenId[c] });
  return out;
}

function runLengths(sorted: Float64Array): { values: Float64Array; counts: Int32Array } {
  let runs = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) runs++;
  const values = new Float64Array(runs);
  const counts = new Int32Array(runs);
  let r = -1;
  for (let i = 0; i < sorted.length; i++) {
    if (i === 0 || sorted[i] !== sorted[i - 1]) values[++r] = sorted[i];
    counts[r]++;
  }
  return { values, counts };
}

/** Insertion sort of one id's few experts (at most E), by count descending, then expert ascending. */
function sortSegmentByCount(experts: Int16Array, counts: Int32Array, from: number, to: number): void {
  for (let i = from + 1; i < to; i++) {
    const e = experts[i];
    const c = counts[i];
    let j = i - 1;
    while (j >= from && (counts[j] < c || (counts[j] === c && experts[j] > e))) {
      experts[j + 1] = experts[j];
      counts[j + 1] = counts[j];
      j--;
    }
    experts[j + 1] = e;
    counts[j + 1] = c;
  }
}
