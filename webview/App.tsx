/** The inspector panel: header, run controls, token stream, and the routing / load / KV views. */
import { useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import VscodeButton from '@vscode-elements/react-elements/dist/components/VscodeButton.js';
import VscodeOption from '@vscode-elements/react-elements/dist/components/VscodeOption.js';
import VscodeSingleSelect from '@vscode-elements/react-elements/dist/components/VscodeSingleSelect.js';
import type { Layer } from '../extension/protocol';
import { DEFAULT_SAMPLING } from '../extension/trace/sampling';
import type { Inspector } from './inspector';
import { expertPalette } from '../extension/inspector/palette';
import { type RunData, tokensPerSecond } from './state';
import { segmentLoad } from './stats';
import { useChartTheme } from './theme';
import { Controls } from './views/Controls';
import { ExpertLoad } from './views/ExpertLoad';
import { Heatmap } from './views/Heatmap';
import { KvChart } from './views/KvChart';
import { Legend } from './views/Legend';
import { TokenStream } from './views/TokenStream';

const CHART_INTERVAL_MS = 250;

/** A counter that follows the run, but while it streams at most every CHART_INTERVAL_MS (charts redraw on it). */
function useChartVersion(run: RunData | null): number {
  const [version, setVersion] = useState(0);
  const last = useRef({ at: 0, runId: -1, seq: -1 });
  useEffect(() => {
    if (!run || (run.runId === last.current.runId && run.nextSeq === last.current.seq)) return;
    const now = performance.now();
    const due = run.summary !== null || run.runId !== last.current.runId || now - last.current.at >= CHART_INTERVAL_MS;
    const bump = () => {
      last.current = { at: performance.now(), runId: run.runId, seq: run.nextSeq };
      setVersion((v) => v + 1);
    };
    if (due) bump();
    else {
      const timer = setTimeout(bump, CHART_INTERVAL_MS - (now - last.current.at));
      return () => clearTimeout(timer);
    }
  }, [run]);
  return version;
}

export function App({ inspector }: { inspector: Inspector }) {
  const { state, ui } = useSyncExternalStore((l) => inspector.subscribe(l), () => inspector.current);
  const { run, init, status } = state;
  const theme = useChartTheme();
  const version = useChartVersion(run);
  const experts = run?.meta.model.nRoutedExperts ?? 0;
  const palette = useMemo(() => expertPalette(experts), [experts]);
  const layerColors = useMemo(() => expertPalette(Math.max(1, run?.meta.model.numLayers ?? 1)), [run?.meta.model.numLayers]);
  const moeLayers = run?.meta.model.moeLayers ?? [];
  const layerIndex = ui.layer === 'all' ? -1 : Math.max(0, moeLayers.indexOf(ui.layer));
  const shownLayer: Layer = ui.layer === 'all' ? 'all' : (moeLayers[layerIndex] ?? ui.layer);
  const mode = run?.mode ?? init?.mode ?? 'live';
  const running = !!run && run.summary === null && mode === 'live';
  const prompt = ui.prompt ?? init?.prompt ?? '';
  const settings = ui.settings ?? init?.defaults ?? DEFAULT_SAMPLING;
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const legendCounts = useMemo(() => (run && layerIndex >= 0 ? segmentLoad(run, layerIndex, [0, 1, 2]) : null), [run?.runId, version, layerIndex]);
  const speed = run ? (run.summary ? run.summary.decodeTokensPerSecond : tokensPerSecond(run)) : 0;
  const banner = state.error ?? (status?.state === 'error' ? status.message : undefined) ?? (run?.summary?.reason === 'error' ? run.summary.message : undefined);

  return (
    <div className={`app mode-${mode}`} data-mode={mode}>
      <header className="top">
        <h1>{init?.title ?? 'MoE Lens'}</h1>
        <span className="status" data-testid="status">
          {[run?.meta.model.name ?? status?.model, status?.provider ?? run?.meta.provider, status?.state === 'loading' ? 'loading model…' : null]
            .filter(Boolean).join(' · ')}
        </span>
        {run && (
          <span className="speed" data-testid="speed" data-running={running}>
            {speed > 0 ? `${speed.toFixed(0)} tok/s` : ''} {run.summary ? `· ${run.tokenCount} tokens · ${run.summary.reason}${run.summary.unterminatedReasoning ? ' (reasoning never closed)' : ''}` : running ? '· running' : ''}
          </span>
        )}
        {mode === 'replay' && <span className="badge" data-testid="replay-badge">replay</span>}
        <span className="grow" />
        {run && <VscodeButton secondary data-testid="export" onClick={() => inspector.post({ type: 'export' })}>Export…</VscodeButton>}
      </header>
      {banner && <div className="banner" role="alert" data-testid="banner">{banner}</div>}
      {run && run.missedMessages > 0 && <div className="banner" role="alert">{run.missedMessages} stream messages never arrived; some tokens may be missing.</div>}
      {mode === 'live' && (
        <Controls prompt={prompt} settings={settings} running={running} disabled={status?.state === 'loading'}
          onChange={(p, s) => inspector.setUi({ prompt: p, settings: s })}
          onRun={() => inspector.post({ type: 'run', prompt, settings })}
          onStop={() => run && inspector.post({ type: 'stop', runId: run.runId })} />
      )}
      {!run ? (
        <p className="empty">{mode === 'live' ? 'Run a prompt, or select code and use “MoE Lens: Inspect Selection”.' : 'Loading trace…'}</p>
      ) : (
        <div className="views">
          <div className="left">
            <div className="layer-bar">
              <label className="inline">
                colour by{' '}
                <VscodeSingleSelect data-testid="layer-select" value={String(shownLayer)} aria-label="Layer"
                  onChange={(e) => {
                    const v = (e.target as HTMLSelectElement).value;
                    inspector.selectLayer(v === 'all' ? 'all' : Number(v));
                  }}>
                  {moeLayers.map((l) => <VscodeOption key={l} value={String(l)}>layer {l}</VscodeOption>)}
                  <VscodeOption value="all">all layers (stripes)</VscodeOption>
                </VscodeSingleSelect>
              </label>
              <Legend palette={palette} counts={legendCounts} />
            </div>
            <TokenStream run={run} layer={layerIndex >= 0 ? layerIndex : 'all'} palette={palette} pinned={ui.pinned} range={ui.range}
              reasoningCollapsed={ui.reasoningCollapsed} onToggleReasoning={() => inspector.setUi({ reasoningCollapsed: !ui.reasoningCollapsed })}
              onPin={(t) => inspector.pin(t)} onRange={(r) => inspector.setUi({ range: r, heatmapScope: 'range' })}
              onRevealLine={(line) => inspector.post({ type: 'revealLine', runId: run.runId, line })} />
          </div>
          <div className="right">
            <Heatmap run={run} scope={ui.heatmapScope} pinned={ui.pinned} range={ui.range} onScope={(heatmapScope) => inspector.setUi({ heatmapScope })} />
            <KvChart run={run} theme={theme} layerColors={layerColors} version={version} />
            <ExpertLoad run={run} theme={theme} version={version} />
          </div>
        </div>
      )}
    </div>
  );
}
