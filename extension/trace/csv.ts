import type { TraceStore } from './store';
import { SEGMENT_NAMES } from './types';

/** CSV exports for spreadsheets and data frames (docs/trace-format.md); `\n` line ends. */

/** The shortest decimal that reads back as the same float32 (0.3, not 0.30000001192092896). */
export function formatFloat32(v: number): string {
  if (!Number.isFinite(v) || v === 0) return String(v);
  for (let p = 1; p <= 9; p++) {
    const d = Number(v.toPrecision(p));
    if (Math.fround(d) === v) return String(d);
  }
  return String(v);
}

/** Long form: one row per token × MoE layer × rank; rank 0 is the highest weight, ties in top-k order. */
export function routingToCsv(store: TraceStore): string {
  const { expertsPerToken: k, moeLayers } = store.meta.model;
  const layers = moeLayers.map((_, l) => store.routing(l));
  const rows = ['token,layer,rank,expert,weight'];
  const order = Array.from({ length: k }, (_, j) => j);
  for (let t = 0; t < store.tokenCount; t++) {
    for (const { layer, expertIds, weights } of layers) {
      const base = t * k;
      for (let j = 0; j < k; j++) order[j] = j;
      // `|| a - b` also orders NaN weights by position, keeping the comparator consistent
      order.sort((a, b) => (weights[base + b] - weights[base + a]) || a - b);
      order.forEach((j, rank) => rows.push(`${t},${layer},${rank},${expertIds[base + j]},${formatFloat32(weights[base + j])}`));
    }
  }
  return rows.join('\n') + '\n';
}

/**
 * An RFC 4180 field, quoted. Spreadsheets run a cell starting with = + - @ tab or CR as a formula,
 * so such text gets a leading `'` (OWASP's advice for CSV injection).
 */
export function csvText(text: string): string {
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return `"${safe.replace(/"/g, '""')}"`;
}

export function tokensToCsv(store: TraceStore): string {
  const ids = store.tokenIds();
  const texts = store.tokenTexts();
  const segments = store.tokenSegments();
  const rows = ['token,id,segment,text'];
  for (let t = 0; t < store.tokenCount; t++) rows.push(`${t},${ids[t]},${SEGMENT_NAMES[segments[t]] ?? segments[t]},${csvText(texts[t])}`);
  return rows.join('\n') + '\n';
}
