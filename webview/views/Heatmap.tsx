/**
 * Routing heatmap: MoE layers × routed experts, for the pinned token or aggregated over a scope. A table
 * for small models (every cell readable and hoverable), one canvas past MAX_TABLE_CELLS.
 */
import VscodeOption from '@vscode-elements/react-elements/dist/components/VscodeOption.js';
import VscodeSingleSelect from '@vscode-elements/react-elements/dist/components/VscodeSingleSelect.js';
import { Segment } from '../../extension/trace/types';
import type { HeatmapScope } from '../persist';
import type { RunData } from '../state';
import { type Heatmap as HeatmapData, heatmap, segmentHeatmap } from '../stats';
import { quotedToken } from '../text';
import type { ChartTheme } from '../theme';
import { CanvasGrid } from './CanvasGrid';

const MAX_TABLE_CELLS = 1024;

const SCOPES: { value: HeatmapScope; label: string }[] = [
  { value: 'token', label: 'pinned token' },
  { value: 'prompt', label: 'prompt' },
  { value: 'reasoning', label: 'reasoning' },
  { value: 'answer', label: 'answer' },
  { value: 'all', label: 'whole run' },
  { value: 'range', label: 'selected range' },
];

function dataFor(run: RunData, scope: HeatmapScope, pinned: number | null, range: [number, number] | null): { data: HeatmapData | null; caption: string } {
  switch (scope) {
    case 'token':
      return pinned === null || pinned >= run.tokenCount
        ? { data: null, caption: 'Click a token to pin it.' }
        : { data: heatmap(run, pinned, pinned + 1), caption: `token ${pinned} ${quotedToken(run.texts[pinned], 40)}: router scores, selected experts marked` };
    case 'range':
      return range === null
        ? { data: null, caption: 'Pin a token, then shift-click another to select a range.' }
        : { data: heatmap(run, range[0], range[1] + 1), caption: `tokens ${range[0]}–${range[1]}: mean router score; marks show how often each expert was selected` };
    case 'prompt':
    case 'reasoning':
    case 'answer': {
      const seg = { prompt: Segment.Prompt, reasoning: Segment.Reasoning, answer: Segment.Answer }[scope];
      return { data: segmentHeatmap(run, [seg]), caption: `${scope} (${run.tokensBySegment[seg]} tokens): mean router score; marks show how often each expert was selected` };
    }
    case 'all':
      return { data: segmentHeatmap(run, [0, 1, 2]), caption: `all ${run.tokenCount} tokens: mean router score; marks show how often each expert was selected` };
  }
}

export function Heatmap(p: { run: RunData; scope: HeatmapScope; pinned: number | null; range: [number, number] | null; theme: ChartTheme; onScope(scope: HeatmapScope): void }) {
  const { run } = p;
  const { data, caption } = dataFor(run, p.scope, p.pinned, p.range);
  const single = p.scope === 'token';
  let max = 0;
  if (data) for (const v of data.value) max = Math.max(max, v);
  return (
    <section className="panel heatmap" aria-label="Routing heatmap">
      <header className="panel-head">
        <h2>Routing heatmap</h2>
        <label className="inline">
          over{' '}
          <VscodeSingleSelect value={p.scope} data-testid="heatmap-scope" aria-label="Heatmap over"
            onChange={(e) => p.onScope((e.target as HTMLSelectElement).value as HeatmapScope)}>
            {SCOPES.map((s) => <VscodeOption key={s.value} value={s.value}>{s.label}</VscodeOption>)}
          </VscodeSingleSelect>
        </label>
      </header>
      <p className="caption">{run.scoresKept ? caption : `${caption} (router scores were not kept for this long run; marks are exact)`}</p>
      {data && data.tokens > 0 && data.layers.length * data.experts > MAX_TABLE_CELLS && (
        <CanvasGrid rows={data.layers.length} cols={data.experts} color={p.theme.heat} foreground={p.theme.foreground} testId="heatmap-canvas"
          intensity={(l, e) => (max > 0 ? data.value[l * data.experts + e] / max : 0)}
          marked={single ? (l, e) => data.selected[l * data.experts + e] > 0 : undefined}
          rowLabel={(l) => `L${data.layers[l]}`} colLabel={(e) => String(e)}
          label={`Routing heatmap, ${data.layers.length} layers × ${data.experts} experts: ${caption}`}
          describe={(l, e) => (single
            ? `layer ${data.layers[l]} expert ${e}: score ${data.value[l * data.experts + e].toFixed(3)}${data.selected[l * data.experts + e] > 0 ? ', selected' : ''}`
            : `layer ${data.layers[l]} expert ${e}: mean score ${data.value[l * data.experts + e].toFixed(3)}, selected for ${(data.selected[l * data.experts + e] * 100).toFixed(0)}% of tokens`)} />
      )}
      {data && data.tokens > 0 && data.layers.length * data.experts <= MAX_TABLE_CELLS && (
        <div className="heat-wrap">
          <table className="heat" data-testid="heatmap" data-tokens={data.tokens}>
            <thead>
              <tr>
                <th />
                {Array.from({ length: data.experts }, (_, e) => <th key={e} scope="col">{e}</th>)}
              </tr>
            </thead>
            <tbody>
              {data.layers.map((layer, l) => (
                <tr key={layer}>
                  <th scope="row">L{layer}</th>
                  {Array.from({ length: data.experts }, (_, e) => {
                    const v = data.value[l * data.experts + e];
                    const sel = data.selected[l * data.experts + e];
                    const pct = max > 0 ? Math.round((v / max) * 100) : 0;
                    const label = single
                      ? `layer ${layer} expert ${e}: score ${v.toFixed(3)}${sel > 0 ? ', selected' : ''}`
                      : `layer ${layer} expert ${e}: mean score ${v.toFixed(3)}, selected for ${(sel * 100).toFixed(0)}% of tokens`;
                    return (
                      <td key={e} data-layer={layer} data-expert={e} data-value={v.toFixed(4)} data-selected={single ? String(sel > 0) : sel.toFixed(3)}
                        className={sel > 0 ? 'sel' : undefined} title={label} aria-label={label}
                        style={{ backgroundColor: `color-mix(in srgb, var(--heat-color) ${pct}%, transparent)` }}>
                        {single ? (sel > 0 ? '●' : '') : sel >= 0.005 ? Math.round(sel * 100) : ''}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
