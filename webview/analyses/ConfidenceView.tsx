/** How sure the router was: mean normalised entropy per token over the run, and the least confident tokens. */
import type uPlot from 'uplot';
import type { RouterConfidence } from '../../extension/analysis/confidence';
import { quotedToken } from '../text';
import { type ChartTheme, themeKey } from '../theme';
import { UPlotChart } from '../views/UPlotChart';

function options(theme: ChartTheme) {
  return (width: number): uPlot.Options => ({
    width,
    height: 120,
    legend: { show: false },
    cursor: { y: false },
    scales: { x: { time: false }, y: { range: [0, 1] } },
    axes: [
      { stroke: theme.foreground, grid: { show: false }, font: theme.font, size: 24 },
      { stroke: theme.foreground, grid: { stroke: theme.grid, width: 1 }, font: theme.font, size: 40, values: (_u, v) => v.map((x) => x.toFixed(1)) },
    ],
    series: [{ label: 'token' }, { label: 'mean normalised entropy', stroke: theme.heat, width: 1, points: { show: false }, spanGaps: false }],
  });
}

export function ConfidenceView(p: { data: RouterConfidence; texts: readonly string[]; theme: ChartTheme; onToken(t: number): void }) {
  const { data } = p;
  const chart: uPlot.AlignedData = [Array.from(data.tokens), Array.from(data.meanNormalizedEntropy, (v) => (Number.isNaN(v) ? null : v))];
  let sum = 0;
  let n = 0;
  for (const v of data.meanNormalizedEntropy) if (!Number.isNaN(v)) { sum += v; n++; }
  return (
    <section className="panel" aria-label="Router confidence" data-testid="confidence">
      <header className="panel-head"><h2>Router confidence</h2></header>
      {n === 0 ? (
        <p className="caption">This trace kept no router scores: confidence needs them.</p>
      ) : (
        <>
          <p className="caption">
            Entropy of the router's scores per token, averaged over layers, 0 (sure) to 1 (could not choose); mean {(sum / n).toFixed(3)} over {n} tokens.
          </p>
          <UPlotChart optionsKey={themeKey(p.theme)} options={options(p.theme)} data={chart} testId="confidence-chart"
            label={`Router entropy per token, mean ${(sum / n).toFixed(3)}`} />
          <h3>Least confident tokens</h3>
          <ol className="uncertain" data-testid="uncertain-tokens">
            {data.leastConfident.slice(0, 10).map((u) => (
              <li key={u.token}>
                <button className="link" onClick={() => p.onToken(u.token)} title="Show this token in the token view">
                  token {u.token} {quotedToken(p.texts[u.token] ?? '', 24)}
                </button>{' '}
                entropy {u.meanNormalizedEntropy.toFixed(3)}, margin {u.meanMargin.toFixed(3)}
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}
