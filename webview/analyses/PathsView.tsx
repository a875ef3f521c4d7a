/** The most frequent top-1 expert sequences across the MoE layers. */
import type { RoutingPaths } from '../../extension/analysis/paths';

export function PathsView(p: { data: RoutingPaths; moeLayers: readonly number[] }) {
  const { data } = p;
  const layers = p.moeLayers.slice(data.layerStart, data.layerEnd);
  const strongest = data.transitions.map((t) => (t.count.length > 0 ? { from: t.from[0], to: t.to[0], count: t.count[0], layer: p.moeLayers[t.fromLayerIndex] } : null));
  return (
    <section className="panel" aria-label="Routing paths" data-testid="paths">
      <header className="panel-head"><h2>Routing paths</h2></header>
      <p className="caption">
        Top-1 expert per layer ({layers.map((l) => `L${l}`).join(' → ')}): {data.distinctPaths} distinct paths over {data.tokens} tokens.
      </p>
      <table className="figures">
        <thead><tr><th>path</th><th>tokens</th><th>share</th><th>first at</th></tr></thead>
        <tbody>
          {data.paths.map((path, i) => (
            <tr key={i}>
              <td className="mono">{Array.from(path.experts, (e) => (e < 0 ? '·' : `e${e}`)).join(' → ')}</td>
              <td>{path.count}</td>
              <td>{data.tokens > 0 ? `${((path.count / data.tokens) * 100).toFixed(1)}%` : '—'}</td>
              <td>token {path.firstToken}</td>
            </tr>
          ))}
          {data.otherTokens > 0 && <tr><td>other paths</td><td>{data.otherTokens}</td><td>{((data.otherTokens / data.tokens) * 100).toFixed(1)}%</td><td /></tr>}
        </tbody>
      </table>
      {strongest.some(Boolean) && (
        <p className="caption">Busiest hand-offs: {strongest.filter((s): s is NonNullable<typeof s> => !!s).map((s) => `L${s.layer} e${s.from} → e${s.to} (${s.count})`).join(', ')}.</p>
      )}
    </section>
  );
}
