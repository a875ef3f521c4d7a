/** The colour layer picker and the legend that says what a colour and a share mean. */
import VscodeOption from '@vscode-elements/react-elements/dist/components/VscodeOption.js';
import VscodeSingleSelect from '@vscode-elements/react-elements/dist/components/VscodeSingleSelect.js';
import { memo } from 'react';
import type { ExpertColor } from '../../extension/inspector/palette';
import type { Layer } from '../../extension/protocol';
import { Legend } from './Legend';

/** Memoised: its inputs change with the layer and the legend's counts, not with every streamed frame. */
export const LayerBar = memo(function LayerBar(p: { layers: readonly number[]; shown: Layer; palette: ExpertColor[]; counts: Float64Array | null; onLayer(layer: Layer): void }) {
  const explain = p.shown === 'all'
    ? 'Each token shows one stripe per MoE layer, coloured by that layer\'s top expert (the one with the largest gate weight).'
    : `Each token is coloured by its top expert at model layer ${p.shown}: the expert with the largest gate weight. The legend gives each expert's share of that layer's assignments (all tokens).`;
  return (
    <div className="layer-bar">
      <LayerSelect layers={p.layers} shown={p.shown} onLayer={p.onLayer} />
      <span className="help" tabIndex={0} role="note" title={explain} aria-label={explain} data-testid="legend-help">?</span>
      <Legend palette={p.palette} counts={p.shown === 'all' ? null : p.counts} />
    </div>
  );
});

/**
 * The picker on its own: the legend's counts change every few frames while a run streams, and the select's
 * wrapper sets every property again on each render, so its dropdown re-rendered with them.
 */
const LayerSelect = memo(function LayerSelect(p: { layers: readonly number[]; shown: Layer; onLayer(layer: Layer): void }) {
  return (
    <label className="inline">
      colour by{' '}
      <VscodeSingleSelect data-testid="layer-select" value={String(p.shown)} aria-label="Colour tokens by the top expert of layer"
        onChange={(e) => {
          const v = (e.target as HTMLSelectElement).value;
          p.onLayer(v === 'all' ? 'all' : Number(v));
        }}>
        {p.layers.map((l) => <VscodeOption key={l} value={String(l)}>layer {l}</VscodeOption>)}
        <VscodeOption value="all">all MoE layers (stripes)</VscodeOption>
      </VscodeSingleSelect>
    </label>
  );
});
