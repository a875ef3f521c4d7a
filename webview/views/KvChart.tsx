/** KV cache: bytes held vs tokens in the cache, stacked per layer, with the plain-MHA equivalent. */
import { useMemo } from 'react';
import type uPlot from 'uplot';
import type { ExpertColor } from '../../extension/inspector/palette';
import { formatBytes } from '../../extension/trace/figures';
import type { RunData } from '../state';
import { kvFigures } from '../stats';
import { type ChartTheme, themeKey } from '../theme';
import { UPlotChart } from './UPlotChart';

function options(theme: ChartTheme, layers: number, colors: ExpertColor[]) {
  return (width: number): uPlot.Options => {
    const series: uPlot.Series[] = [{ label: 'tokens in cache' }];
    // cumulative per layer, top first, so each fill covers only its own band
    for (let l = layers - 1; l >= 0; l--) series.push({ label: `layers 0–${l}`, stroke: colors[l].background, fill: colors[l].background, width: 1, points: { show: false } });
    series.push({ label: 'MHA equivalent', stroke: theme.mha, width: 2, dash: [6, 4], points: { show: false } });
    return {
      width,
      height: 180,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: false } },
      axes: [
        { stroke: theme.foreground, grid: { stroke: theme.grid, width: 1 }, font: theme.font, label: 'tokens in cache', labelFont: theme.font, labelSize: 18 },
        { stroke: theme.foreground, grid: { stroke: theme.grid, width: 1 }, font: theme.font, size: 76, values: (_u, v) => v.map((x) => formatBytes(x)) },
      ],
      series,
    };
  };
}

const MAX_POINTS = 1500;

export function KvChart(p: { run: RunData; theme: ChartTheme; layerColors: ExpertColor[]; version: number }) {
  const { run } = p;
  const layers = run.meta.model.numLayers;
  const data = useMemo((): uPlot.AlignedData => {
    // at most MAX_POINTS steps are drawn (every n-th and the last): the cache grows linearly, so nothing visible is lost
    const S = run.stepCount;
    const stride = Math.max(1, Math.ceil(S / MAX_POINTS));
    const picks: number[] = [];
    for (let s = 0; s < S; s += stride) picks.push(s);
    if (S > 0 && picks.at(-1) !== S - 1) picks.push(S - 1);
    const x = picks.map((s) => run.tokensInCache[s]);
    const cumulative: number[][] = [];
    let running = new Float64Array(picks.length);
    for (let l = 0; l < layers; l++) {
      const next = new Float64Array(picks.length);
      picks.forEach((s, i) => { next[i] = running[i] + run.kvBytes[s * layers + l]; });
      cumulative.push(Array.from(next));
      running = next;
    }
    return [x, ...cumulative.reverse(), picks.map((s) => run.mhaBytes[s])];
    // the columns grow in place (append-only): `version` says when they changed
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [run.runId, p.version]);
  const f = kvFigures(run);
  const perLayer = run.stepCount > 0 ? Array.from(run.kvBytes.subarray((run.stepCount - 1) * layers, run.stepCount * layers)) : [];
  return (
    <section className="panel kv" aria-label="KV cache">
      <header className="panel-head">
        <h2>KV cache</h2>
      </header>
      {f ? (
        <p className="kv-figures" data-testid="kv-figures" data-latent={f.latentBytes} data-mha={f.mhaBytes} data-ratio={f.ratio.toFixed(2)} data-tokens={f.tokensInCache}>
          <span><b>{formatBytes(f.latentBytes)}</b> held for {f.tokensInCache} tokens ({formatBytes(run.meta.model.kvBytesPerToken)} per token per layer)</span>
          <span>vs <b>{formatBytes(f.mhaBytes)}</b> for plain multi-head attention</span>
          <span className="ratio"><b>{f.ratio.toFixed(1)}×</b> smaller</span>
        </p>
      ) : (
        <p className="caption">No cache yet.</p>
      )}
      <UPlotChart optionsKey={`${themeKey(p.theme)}|${layers}`} options={options(p.theme, layers, p.layerColors)} data={data} testId="kv-chart"
        label={f ? `KV cache bytes by tokens in cache, stacked over ${layers} layers: ${formatBytes(f.latentBytes)} now vs ${formatBytes(f.mhaBytes)} for multi-head attention` : 'KV cache chart'} />
      <ul className="kv-legend">
        {perLayer.map((b, l) => (
          <li key={l}><span className="swatch" style={{ backgroundColor: p.layerColors[l].background }} />layer {l}: {formatBytes(b)}</li>
        ))}
        <li><span className="swatch dashed" />MHA equivalent</li>
      </ul>
    </section>
  );
}
