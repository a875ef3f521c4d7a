/** The routing of one token in every MoE layer, shown while the pointer is over it. */
import { SEGMENT_NAMES } from '../../extension/trace/types';
import type { ExpertColor } from '../../extension/inspector/palette';
import type { RunData } from '../state';
import { routingOf } from '../stats';
import { quotedToken } from '../text';

export function HoverCard(p: { run: RunData; t: number; x: number; y: number; palette: ExpertColor[] }) {
  const { run, t } = p;
  if (t >= run.tokenCount) return null;
  const left = Math.min(p.x + 12, window.innerWidth - 340);
  const top = p.y + 16 + 200 > window.innerHeight ? p.y - 200 : p.y + 16;
  return (
    <div className="hover-card" role="tooltip" data-testid="hover-card" style={{ left: Math.max(4, left), top: Math.max(4, top) }}>
      <div className="hover-title">
        token {t} {quotedToken(run.texts[t], 60)} · id {run.ids[t]} · {SEGMENT_NAMES[run.segments[t]]}
      </div>
      <table>
        <tbody>
          {run.routing.map((_, l) => (
            <tr key={l} data-layer={run.meta.model.moeLayers[l]}>
              <th scope="row">layer {run.meta.model.moeLayers[l]}</th>
              <td>
                {routingOf(run, l, t).map((r) => (
                  <span key={r.expert} className="route">
                    <span className="swatch" style={{ backgroundColor: p.palette[r.expert]?.background }} />E{r.expert} {r.weight.toFixed(2)}
                  </span>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
