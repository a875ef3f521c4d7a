import { parseArgs } from 'node:util';
import { type TraceComparison, compareTraces, comparisonToJson } from '../analysis/compare';
import { fromStore } from '../analysis/input';
import type { TraceStore } from '../trace/store';
import { bold, printable } from './terminal';
import { readTraceFile } from './traceInput';

export const COMPARE_USAGE = `moe-lens compare A.moetrace.json B.moetrace.json [--json] [--per-token]
  aligns two traces by position where their tokens agree and compares their routing layer by layer:
  expert-set overlap (Jaccard), gate-weight distance, first divergence, load difference per expert`;

export async function compareCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false }, 'per-token': { type: 'boolean', default: false } },
  });
  if (positionals.length !== 2) throw new RangeError(`compare takes two trace files, got ${positionals.length}\n${COMPARE_USAGE}`);
  const [a, b] = await Promise.all(positionals.map(readTraceFile));
  const comparison = compareTraces(fromStore(a), fromStore(b));
  if (values.json) console.log(JSON.stringify(comparisonToJson(comparison, values['per-token']), null, 2));
  else for (const line of compareSummary(comparison, a, b, positionals[0], positionals[1])) console.log(line);
  return 0;
}

const fixed = (x: number, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : '–');
const signed = (n: number) => (n > 0 ? `+${n}` : String(n));

/** The readable summary: one header, the divergence points, then one row per shared MoE layer. */
export function compareSummary(c: TraceComparison, a: TraceStore, b: TraceStore, nameA: string, nameB: string): string[] {
  const token = (t: number) => JSON.stringify(printable(a.tokenTexts()[t] ?? ''));
  const lines = [bold(`compare A ${printable(nameA)} (${c.tokensA} tokens) with B ${printable(nameB)} (${c.tokensB} tokens)`)];
  lines.push(`  models: A ${printable(a.meta.model.name)} on ${printable(a.meta.provider)}, B ${printable(b.meta.model.name)} on ${printable(b.meta.provider)}`);
  lines.push(`  aligned: ${c.aligned.length} positions hold the same token in both`);
  lines.push(c.firstTokenDifference === null
    ? '  tokens: the token streams are identical'
    : `  tokens: the streams first differ at position ${c.firstTokenDifference}${c.firstTokenDifference < c.tokensA ? ` (A ${token(c.firstTokenDifference)}, B ${JSON.stringify(printable(b.tokenTexts()[c.firstTokenDifference] ?? '(end)'))})` : ' (A ends)'}`);
  lines.push(c.firstDivergence === null
    ? '  routing: every aligned token chose the same experts in every shared layer'
    : `  routing: first divergence at token ${c.firstDivergence.token} ${token(c.firstDivergence.token)}, layer ${c.firstDivergence.layer}`);
  if (c.onlyA.length || c.onlyB.length) lines.push(`  layers routed in one trace only: A ${c.onlyA.join(', ') || '–'}; B ${c.onlyB.join(', ') || '–'}`);
  lines.push('  layer  mean Jaccard  identical sets  mean weight distance  first divergence  largest load changes (B − A)');
  for (const l of c.layers) {
    const order = Array.from(l.loadDifference.keys()).filter((e) => l.loadDifference[e] !== 0)
      .sort((x, y) => Math.abs(l.loadDifference[y]) - Math.abs(l.loadDifference[x]) || x - y).slice(0, 3);
    const shifts = order.map((e) => `e${e} ${signed(l.loadDifference[e])}`).join(', ') || 'none';
    lines.push(`  ${String(l.layer).padStart(5)}  ${fixed(l.meanJaccard).padStart(12)}  ${`${l.identicalSets}/${c.aligned.length}`.padStart(14)}  `
      + `${fixed(l.meanWeightDistance).padStart(20)}  ${(l.firstDivergence === null ? '–' : `token ${l.firstDivergence}`).padStart(16)}  ${shifts}`);
  }
  return lines;
}
