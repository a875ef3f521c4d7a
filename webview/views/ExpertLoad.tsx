/** Expert load per MoE layer: assignments per expert in reasoning vs answer, with balance figures. */
import { useMemo } from 'react';
import type uPlot from 'uplot';
import { Segment } from '../../extension/trace/types';
import type { RunData } from '../state';
import { balance } from '../../extension/trace/figures';
import { segmentLoad } from '../stats';
import { type ChartTheme, themeKey } from '../theme';
import { UPlotChart } from './UPlotChart';
import { barPaths } from './bars';

const MAX_CHARTS = 8;

function options(theme: ChartTheme, layer: number, experts: number) {
  return (width: number): uPlot.Options => ({
    width,
    height: 110,
    legend: { show: false },
    cursor: { show: false },
    scales: { x: { time: false, range: [-0.6, experts - 0.4] }, y: { range: (_u, _min, max) => [0, Math.max(max, 1e-6) * 1.08] } },
    axes: [
      { stroke: theme.foreground, grid: { show: false }, ticks: { show: false }, font: theme.font, size: 22, splits: () => Array.from({ length: experts }, (_, e) => e), values: (u, v) => {
        const every = [1, 2, 4, 8, 16].find((step) => (u.bbox.width / (window.devicePixelRatio || 1) / experts) * step >= 16) ?? 16;
        return v.map((e) => (e % every === 0 ? String(e) : ''));
      } },
      { stroke: theme.foreground, grid: { stroke: theme.grid, width: 1 }, font: theme.font, size: 46, values: (_u, v) => v.map((x) => `${Math.round(x * 100)}%`) },
    ],
    series: [
      {},
      { label: `layer ${layer} reasoning`, fill: theme.reasoning, stroke: theme.reasoning, paths: barPaths(0, 2), points: { show: false } },
      { label: `layer ${layer} answer`, fill: theme.answer, stroke: theme.answer, paths: barPaths(1, 2), points: { show: false } },
    ],
  });
}

const share = (counts: Float64Array) => {
  const total = counts.reduce((a, b) => a + b, 0);
  return Array.from(counts, (c) => (total > 0 ? c / total : 0));
};

export function ExpertLoad(p: { run: RunData; theme: ChartTheme; version: number }) {
  const { run } = p;
  const { moeLayers, nRoutedExperts: n } = run.meta.model;
  const rows = useMemo(() => moeLayers.map((layer, l) => {
    const reasoning = segmentLoad(run, l, [Segment.Reasoning]);
    const answer = segmentLoad(run, l, [Segment.Answer]);
    const all = segmentLoad(run, l, [Segment.Prompt, Segment.Reasoning, Segment.Answer]);
    return { layer, l, reasoning, answer, b: { reasoning: balance(reasoning), answer: balance(answer), all: balance(all) } };
    // the load sums grow in place: `version` says when they changed
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }), [run.runId, p.version]);
  const fmt = (b: ReturnType<typeof balance>) => (b.assignments > 0 ? `${b.maxOverMean.toFixed(2)} · ${b.normalizedEntropy.toFixed(2)}` : '—');
  return (
    <section className="panel load" aria-label="Expert load">
      <header className="panel-head">
        <h2>Expert load</h2>
        <span className="key"><span className="swatch reasoning" />reasoning <span className="swatch answer" />answer</span>
      </header>
      <table className="figures" data-testid="balance">
        <thead>
          <tr><th>layer</th><th title="busiest expert's load / mean load · entropy / log2(experts)">reasoning max/mean · entropy</th><th>answer max/mean · entropy</th><th>all tokens max/mean · entropy</th></tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.layer} data-layer={r.layer} data-max-over-mean={r.b.all.maxOverMean.toFixed(3)} data-entropy={r.b.all.normalizedEntropy.toFixed(3)}>
              <th scope="row">L{r.layer}</th><td>{fmt(r.b.reasoning)}</td><td>{fmt(r.b.answer)}</td><td>{fmt(r.b.all)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="load-charts">
        {rows.slice(0, MAX_CHARTS).map((r) => (
          <figure key={r.layer}>
            <figcaption>layer {r.layer}: share of assignments per expert</figcaption>
            <UPlotChart optionsKey={`${themeKey(p.theme)}|${n}|${r.layer}`} options={options(p.theme, r.layer, n)} label={`Layer ${r.layer} expert load, reasoning vs answer`}
              data={[Array.from({ length: n }, (_, e) => e), share(r.reasoning), share(r.answer)]} />
          </figure>
        ))}
      </div>
    </section>
  );
}
