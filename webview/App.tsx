/**
 * The inspector panel: header, notices, the run summary (the answer first), run controls, and the views
 * in tabs that take the panel's remaining height — tokens, routing, experts, analyses, KV cache.
 */
import { type ReactNode, memo, useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import VscodeButton from '@vscode-elements/react-elements/dist/components/VscodeButton.js';
import VscodeTabHeader from '@vscode-elements/react-elements/dist/components/VscodeTabHeader.js';
import VscodeTabPanel from '@vscode-elements/react-elements/dist/components/VscodeTabPanel.js';
import VscodeTabs from '@vscode-elements/react-elements/dist/components/VscodeTabs.js';
import { expertPalette } from '../extension/inspector/palette';
import type { Layer } from '../extension/protocol';
import { DEFAULT_SAMPLING } from '../extension/trace/sampling';
import type { Inspector } from './inspector';
import { TABS } from './persist';
import { Analyses } from './views/Analyses';
import { type RunData, tokensPerSecond } from './state';
import { segmentLoad } from './stats';
import { useChartTheme } from './theme';
import { Controls } from './views/Controls';
import { ExpertLoad } from './views/ExpertLoad';
import { Heatmap } from './views/Heatmap';
import { KvChart } from './views/KvChart';
import { LayerBar } from './views/LayerBar';
import { Notices } from './views/Notices';
import { Summary } from './views/Summary';
import { TokenStream } from './views/TokenStream';

const CHART_INTERVAL_MS = 250;
const TAB_LABELS: Record<(typeof TABS)[number], string> = { tokens: 'Tokens', routing: 'Routing', experts: 'Experts', analyses: 'Analyses', kv: 'KV cache' };

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

/**
 * A tab's view mounts the first time its tab is shown, renders while it is shown, and keeps what it last
 * drew while hidden: over a streaming run, the heatmap, the load and KV charts would otherwise redraw out
 * of sight on every frame, and a trace opened on the tokens tab built them (uPlot's charts, the heatmap's
 * select, which measures itself, forcing a layout of the page) before its first paint.
 */
const WhenShown = memo(function WhenShown({ shown, children }: { shown: boolean; children: ReactNode }) {
  const [seen, setSeen] = useState(shown);
  if (shown && !seen) setSeen(true);
  return shown || seen ? <>{children}</> : null;
}, (_before, next) => !next.shown);

export function App({ inspector }: { inspector: Inspector }) {
  const { state, ui } = useSyncExternalStore((l) => inspector.subscribe(l), () => inspector.current);
  const { run, init, status } = state;
  const theme = useChartTheme();
  const version = useChartVersion(run);
  const experts = run?.meta.model.nRoutedExperts ?? 0;
  const palette = useMemo(() => expertPalette(experts, theme.background || undefined), [experts, theme.background]);
  const layerColors = useMemo(() => expertPalette(Math.max(1, run?.meta.model.numLayers ?? 1), theme.background || undefined), [run?.meta.model.numLayers, theme.background]);
  const moeLayers = run?.meta.model.moeLayers ?? [];
  const layerIndex = ui.layer === 'all' ? -1 : Math.max(0, moeLayers.indexOf(ui.layer));
  const shownLayer: Layer = ui.layer === 'all' ? 'all' : (moeLayers[layerIndex] ?? ui.layer);
  const mode = run?.mode ?? init?.mode ?? 'live';
  const running = !!run && run.summary === null && mode === 'live';
  const prompt = ui.prompt ?? init?.prompt ?? '';
  const settings = ui.settings ?? init?.defaults ?? DEFAULT_SAMPLING;
  const programLines = mode === 'live' && prompt ? prompt.split('\n').length : 0;
  const legendCounts = useMemo(() => (run && layerIndex >= 0 ? segmentLoad(run, layerIndex, [0, 1, 2]) : null),
    // the load sums grow in place: `version` says when they changed
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [run?.runId, version, layerIndex]);
  const speed = run ? (run.summary ? run.summary.decodeTokensPerSecond : tokensPerSecond(run)) : 0;
  const provider = run?.meta.provider ?? status?.provider;
  const title = ui.title ?? init?.title ?? 'MoE Lens';
  // callbacks that keep their identity across streamed frames, so that the memoised views skip those frames
  const runId = run?.runId;
  const selectLayer = useCallback((l: Layer) => inspector.selectLayer(l), [inspector]);
  const changeControls = useCallback((p: string, s: typeof settings) => inspector.setUi({ prompt: p, settings: s }), [inspector]);
  const runPrompt = useCallback(() => inspector.post({ type: 'run', prompt, settings }), [inspector, prompt, settings]);
  const stop = useCallback(() => { if (runId !== undefined) inspector.post({ type: 'stop', runId }); }, [inspector, runId]);
  // elements that keep their identity across streamed frames: @lit/react sets every element property it is
  // given on each render, and `slot` and `title` are attributes too; set again every frame, they re-slotted
  // the tab headers and laid the whole panel out again
  const canExport = !!run && !running;
  const exportButton = useMemo(() => (
    <VscodeButton secondary data-testid="export" disabled={!canExport} title="Save this run as a trace (JSON, JSONL or CSV)"
      onClick={() => inspector.post({ type: 'export' })}>Export…</VscodeButton>
  ), [inspector, canExport]);
  const selectTab = useCallback((e: Event) => inspector.setUi({ tab: TABS[(e as CustomEvent<{ selectedIndex: number }>).detail.selectedIndex] ?? 'tokens' }), [inspector]);
  const tabHeaders = useMemo(() => TABS.map((tab) => <VscodeTabHeader key={`h-${tab}`} slot="header" data-testid={`tab-${tab}`}>{TAB_LABELS[tab]}</VscodeTabHeader>), []);

  return (
    <div className={`app mode-${mode}`} data-mode={mode}>
      <header className="top">
        <h1 title={title}>{title}</h1>
        <span className="status" data-testid="status">
          {[run?.meta.model.name ?? status?.model, provider, status?.state === 'loading' ? 'loading model…' : running ? 'running' : null].filter(Boolean).join(' · ')}
        </span>
        {mode === 'live' && status?.routing && (
          <span className="routing-source" data-testid="routing-source" title={`How MoE Lens reads this model's routing: ${status.routing}`}>{status.routing}</span>
        )}
        {mode === 'replay' && <span className="badge" data-testid="replay-badge">replay</span>}
        <span className="grow" />
        {exportButton}
      </header>
      <Notices state={state} run={run} onAction={(action) => inspector.post({ type: 'action', action })} />
      {run && <Summary run={run} speed={speed} running={running} version={version} />}
      {mode === 'live' && (
        <Controls prompt={prompt} settings={settings} running={running} disabled={status?.state === 'loading'} focus={ui.focus?.target === 'prompt' ? ui.focus.n : 0}
          onChange={changeControls} onRun={runPrompt} onStop={stop} />
      )}
      {!run ? (
        <p className="empty">{mode === 'live' ? 'Run a prompt, or select code and use “MoE Lens: Inspect Selection”.' : 'Loading trace…'}</p>
      ) : (
        <VscodeTabs className="views" selectedIndex={TABS.indexOf(ui.tab)} data-testid="tabs"
          onVscTabsSelect={selectTab}>
          {tabHeaders}
          <VscodeTabPanel className="tab-panel tab-tokens">
            <LayerBar layers={moeLayers} shown={shownLayer} palette={palette} counts={legendCounts} onLayer={selectLayer} />
            <TokenStream run={run} layer={layerIndex >= 0 ? layerIndex : 'all'} palette={palette} pinned={ui.pinned} range={ui.range} active={ui.active}
              programLines={programLines} focus={ui.focus?.target === 'tokens' ? ui.focus.n : 0}
              reasoningCollapsed={ui.reasoningCollapsed} onToggleReasoning={() => inspector.setUi({ reasoningCollapsed: !ui.reasoningCollapsed })}
              onActive={(t) => inspector.setUi({ active: t })}
              onPin={(t) => inspector.pin(t)} onRange={(r) => inspector.setUi({ range: r, heatmapScope: 'range' })}
              onRevealLine={(line) => inspector.post({ type: 'revealLine', runId: run.runId, line })} />
          </VscodeTabPanel>
          <VscodeTabPanel className="tab-panel">
            <WhenShown shown={ui.tab === 'routing'}>
              <Heatmap run={run} scope={ui.heatmapScope} pinned={ui.pinned} range={ui.range} theme={theme} onScope={(heatmapScope) => inspector.setUi({ heatmapScope })} />
            </WhenShown>
          </VscodeTabPanel>
          <VscodeTabPanel className="tab-panel">
            <WhenShown shown={ui.tab === 'experts'}>
              <ExpertLoad run={run} theme={theme} version={version} />
            </WhenShown>
          </VscodeTabPanel>
          <VscodeTabPanel className="tab-panel">
            {ui.tab === 'analyses' && (
              <Analyses run={run} layerIndex={layerIndex} range={ui.range} active={ui.active ?? ui.pinned} palette={palette} theme={theme} version={version}
                onLayer={(l) => inspector.selectLayer(l)} onToken={(t) => { inspector.pin(t); inspector.setUi({ tab: 'tokens', active: t }); }} />
            )}
          </VscodeTabPanel>
          <VscodeTabPanel className="tab-panel">
            <WhenShown shown={ui.tab === 'kv'}>
              <KvChart run={run} theme={theme} layerColors={layerColors} version={version} />
            </WhenShown>
          </VscodeTabPanel>
        </VscodeTabs>
      )}
    </div>
  );
}
