/** What each expert of a layer receives: its favourite tokens against their frequency, and token kinds. */
import { TOKEN_KINDS } from '../../extension/analysis/tokenKinds';
import { expertsOfTokenId, type VocabularySpecialisation } from '../../extension/analysis/vocabulary';
import type { ExpertColor } from '../../extension/inspector/palette';
import { quotedToken } from '../text';

const SHOWN_EXPERTS = 16;

export function VocabularyView(p: { data: VocabularySpecialisation; palette: ExpertColor[]; activeTokenId: number | null; activeText: string | null }) {
  const { data } = p;
  const kinds = TOKEN_KINDS.length;
  const experts = [...data.experts].filter((e) => e.load > 0).sort((a, b) => b.load - a.load || a.expert - b.expert).slice(0, SHOWN_EXPERTS);
  const kindOf = (e: number) => {
    let best = -1;
    for (let k = 0; k < kinds; k++) if (data.kindCounts[e * kinds + k] >= 3 && (best < 0 || data.kindLift[e * kinds + k] > data.kindLift[e * kinds + best])) best = k;
    return best < 0 || !(data.kindLift[e * kinds + best] > 1) ? '—' : `${TOKEN_KINDS[best]} ×${data.kindLift[e * kinds + best].toFixed(1)}`;
  };
  const goesTo = p.activeTokenId === null ? [] : expertsOfTokenId(data, p.activeTokenId);
  return (
    <section className="panel" aria-label="Vocabulary" data-testid="vocabulary">
      <header className="panel-head"><h2>Vocabulary, layer {data.layer}</h2></header>
      <p className="caption">
        Per expert, the tokens it receives more often than their frequency would give it (lift; needs 3 or more receptions), busiest experts first.
      </p>
      {p.activeTokenId !== null && p.activeText !== null && (
        <p className="caption" data-testid="token-experts">
          {quotedToken(p.activeText, 30)} (id {p.activeTokenId}) goes to {goesTo.length ? goesTo.map((g) => `e${g.expert} ×${g.count}`).join(', ') : 'no expert in this scope'}.
        </p>
      )}
      <table className="figures">
        <thead><tr><th>expert</th><th>load</th><th>kind</th><th>favourite tokens (count, lift)</th></tr></thead>
        <tbody>
          {experts.map((e) => (
            <tr key={e.expert}>
              <td><span className="swatch" style={{ background: p.palette[e.expert]?.background }} />e{e.expert}</td>
              <td>{e.load}</td>
              <td>{kindOf(e.expert)}</td>
              <td className="mono">{e.favourites.slice(0, 5).map((f) => `${quotedToken(f.text, 16)} ${f.count}, ×${f.lift.toFixed(1)}`).join(' · ') || '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
