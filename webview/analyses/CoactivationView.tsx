/** Which experts a layer chooses together: the lift matrix on one canvas, ordered by load, by cluster or by id. */
import VscodeOption from '@vscode-elements/react-elements/dist/components/VscodeOption.js';
import VscodeSingleSelect from '@vscode-elements/react-elements/dist/components/VscodeSingleSelect.js';
import { useState } from 'react';
import type { Coactivation } from '../../extension/analysis/coactivation';
import type { ChartTheme } from '../theme';
import { CanvasGrid } from '../views/CanvasGrid';

type Order = 'clustered' | 'load' | 'id';

/** log2(lift) in [0, 3] as intensity: 1 is independence (blank), 8× as often as chance is full colour. */
export const liftIntensity = (lift: number) => (lift > 1 ? Math.min(1, Math.log2(lift) / 3) : 0);

export function CoactivationView(p: { data: Coactivation; theme: ChartTheme }) {
  const [order, setOrder] = useState<Order>('clustered');
  const { data } = p;
  const E = data.experts;
  const ids = order === 'clustered' ? data.orderClustered : order === 'load' ? data.orderByLoad : Int16Array.from({ length: E }, (_, e) => e);
  const cell = (r: number, c: number) => ids[r] * E + ids[c];
  const fmt = (v: number) => (Number.isNaN(v) ? 'no evidence (an expert unused)' : v.toFixed(2));
  let strongest: [number, number, number] | null = null;
  for (let i = 0; i < E; i++) for (let j = i + 1; j < E; j++) {
    const v = data.lift[i * E + j];
    if (data.counts[i * E + j] >= 2 && v > (strongest?.[2] ?? 1)) strongest = [i, j, v];
  }
  return (
    <section className="panel" aria-label="Co-activation" data-testid="coactivation">
      <header className="panel-head">
        <h2>Co-activation, layer {data.layer}</h2>
        <label className="inline">order{' '}
          <VscodeSingleSelect value={order} aria-label="Expert order" data-testid="coactivation-order"
            onChange={(e) => setOrder((e.target as HTMLSelectElement).value as Order)}>
            <VscodeOption value="clustered">clustered</VscodeOption>
            <VscodeOption value="load">by load</VscodeOption>
            <VscodeOption value="id">by id</VscodeOption>
          </VscodeSingleSelect>
        </label>
      </header>
      <p className="caption">
        Lift = how often two experts are chosen for the same token over what independent choices at their loads would give
        (1 = chance; coloured above it). {data.routedTokens} routed tokens.
        {strongest && <> Strongest pair: experts {strongest[0]} and {strongest[1]}, {strongest[2].toFixed(1)}× chance.</>}
      </p>
      <CanvasGrid rows={E} cols={E} testId="coactivation-grid" color={p.theme.reasoning} foreground={p.theme.foreground}
        label={`Co-activation lift at layer ${data.layer}, ${E} by ${E} experts`}
        intensity={(r, c) => (r === c ? 0 : liftIntensity(data.lift[cell(r, c)]))}
        rowLabel={(r) => `e${ids[r]}`} colLabel={(c) => String(ids[c])}
        describe={(r, c) => `experts ${ids[r]} and ${ids[c]}: together ${data.counts[cell(r, c)]}×, lift ${fmt(data.lift[cell(r, c)])}; loads ${data.load[ids[r]]} and ${data.load[ids[c]]}`} />
    </section>
  );
}
