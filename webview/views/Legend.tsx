/** Expert colour legend with the selected layer's load, so a colour can always be read back as an id. */
import type { ExpertColor } from '../../extension/inspector/palette';

export function Legend(p: { palette: ExpertColor[]; counts: Float64Array | null }) {
  const total = p.counts ? p.counts.reduce((a, b) => a + b, 0) : 0;
  return (
    <ul className="legend" aria-label="Expert colours" data-testid="legend">
      {p.palette.map((c, e) => {
        const share = p.counts && total > 0 ? ` · ${((p.counts[e] / total) * 100).toFixed(0)}%` : '';
        return (
          <li key={e} data-expert={e} title={`expert ${e}${share ? `: ${share.slice(3)} of this layer's assignments` : ''}`}>
            <span className="chip" style={{ backgroundColor: c.background, color: c.foreground }}>E{e}</span>
            {share && <span className="share">{share.slice(3)}</span>}
          </li>
        );
      })}
    </ul>
  );
}
