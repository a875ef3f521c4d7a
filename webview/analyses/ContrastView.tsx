/** Where routing differs between two parts of the run: the experts whose share of tokens moved most, per layer. */
import type { RouterConfidence } from '../../extension/analysis/confidence';
import type { Contrast } from '../../extension/analysis/contrast';

const SHOWN = 3;

function meanOf(values: Float64Array): number {
  let sum = 0;
  let n = 0;
  for (const v of values) if (!Number.isNaN(v)) { sum += v; n++; }
  return n > 0 ? sum / n : NaN;
}

export function ContrastView(p: { title: string; a: string; b: string; data: Contrast<RouterConfidence>; moeLayers: readonly number[]; testId: string }) {
  const { data } = p;
  const E = data.experts;
  const sizeA = data.a.result.tokens.length;
  const sizeB = data.b.result.tokens.length;
  if (sizeA === 0 || sizeB === 0) {
    return (
      <section className="panel" aria-label={p.title} data-testid={p.testId}>
        <header className="panel-head"><h2>{p.title}</h2></header>
        <p className="caption">Needs tokens in both: {p.a} has {sizeA}, {p.b} {sizeB}.</p>
      </section>
    );
  }
  const rows = p.moeLayers.map((layer, l) => {
    const diffs = Array.from({ length: E }, (_, e) => ({ e, d: data.loadDifference[l * E + e] })).sort((x, y) => Math.abs(y.d) - Math.abs(x.d) || x.e - y.e);
    return { layer, top: diffs.slice(0, SHOWN).filter((x) => x.d !== 0) };
  });
  const pct = (d: number) => `${d > 0 ? '+' : ''}${(d * 100).toFixed(1)}`;
  const entropyA = meanOf(data.a.result.meanNormalizedEntropy);
  const entropyB = meanOf(data.b.result.meanNormalizedEntropy);
  return (
    <section className="panel" aria-label={p.title} data-testid={p.testId}>
      <header className="panel-head"><h2>{p.title}</h2></header>
      <p className="caption">
        Each expert's share of {p.a} tokens ({sizeA}) minus its share of {p.b} tokens ({sizeB}), in points; the largest moves per layer.
        {!Number.isNaN(entropyA) && !Number.isNaN(entropyB) && <> Router entropy: {entropyA.toFixed(3)} in {p.a}, {entropyB.toFixed(3)} in {p.b}.</>}
      </p>
      <table className="figures">
        <thead><tr><th>layer</th><th>busier in {p.a} (+) or in {p.b} (−)</th></tr></thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.layer}><td>L{r.layer}</td><td className="mono">{r.top.map((x) => `e${x.e} ${pct(x.d)}`).join(' · ') || 'no difference'}</td></tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
