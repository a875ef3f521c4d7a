/**
 * The Analyses tab: what the routing means, over the whole run, a segment, the selected tokens or one
 * reasoning step — co-activation, routing paths, vocabulary, router confidence, and where reasoning and
 * answer (or prompt and generated text) differ. The analyses are the shared pure ones the CLI and the
 * reports use; computed while the tab is shown, at most once per chart frame.
 */
import VscodeOption from '@vscode-elements/react-elements/dist/components/VscodeOption.js';
import VscodeSingleSelect from '@vscode-elements/react-elements/dist/components/VscodeSingleSelect.js';
import { useMemo, useState } from 'react';
import { coactivation } from '../../extension/analysis/coactivation';
import { routerConfidence } from '../../extension/analysis/confidence';
import { contrast, promptVersusGenerated, reasoningVersusAnswer } from '../../extension/analysis/contrast';
import { routingPaths } from '../../extension/analysis/paths';
import { vocabularySpecialisation } from '../../extension/analysis/vocabulary';
import type { ExpertColor } from '../../extension/inspector/palette';
import { type AnalysisScope, RIGHT_STEPS, WRONG_STEPS, checkedStepsInput, routingInputOf, scopeOptions, selectionOf } from '../analyses/input';
import { CoactivationView } from '../analyses/CoactivationView';
import { ConfidenceView } from '../analyses/ConfidenceView';
import { ContrastView } from '../analyses/ContrastView';
import { PathsView } from '../analyses/PathsView';
import { VocabularyView } from '../analyses/VocabularyView';
import type { RunData } from '../state';
import type { ChartTheme } from '../theme';

export function Analyses(p: { run: RunData; layerIndex: number; range: [number, number] | null; active: number | null; palette: ExpertColor[];
  theme: ChartTheme; version: number; onLayer(layer: number): void; onToken(t: number): void }) {
  const { run } = p;
  const [scope, setScope] = useState<AnalysisScope>('run');
  const moeLayers = run.meta.model.moeLayers;
  const l = Math.max(0, Math.min(moeLayers.length - 1, p.layerIndex));
  const options = scopeOptions(run, p.range);
  const shownScope = options.some((o) => o.value === scope) ? scope : 'run';
  const results = useMemo(() => {
    if (moeLayers.length === 0 || run.tokenCount === 0) return null;
    const input = routingInputOf(run);
    const selection = selectionOf(run, shownScope, p.range);
    const steps = checkedStepsInput(run, input);
    return {
      steps: steps && contrast(steps, routerConfidence, { ...selection, segment: WRONG_STEPS }, { ...selection, segment: RIGHT_STEPS }),
      coactivation: coactivation(input, selection, l),
      paths: routingPaths(input, selection, { top: 10 }),
      vocabulary: vocabularySpecialisation(input, selection, l),
      confidence: routerConfidence(input, selection),
      reasoning: reasoningVersusAnswer(input, routerConfidence, selection.start, selection.end),
      prompt: promptVersusGenerated(input, routerConfidence, selection.start, selection.end),
    };
    // the run's columns grow in place: `version` says when they changed
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [run.runId, p.version, run.checks, shownScope, p.range, l]);
  if (!results) return <p className="empty">This model has no MoE layers to analyse.</p>;
  const active = p.active !== null && p.active < run.tokenCount ? p.active : null;
  return (
    <div className="analyses" data-testid="analyses">
      <div className="analysis-controls">
        <label className="inline">over{' '}
          <VscodeSingleSelect value={shownScope} aria-label="Analyse over" data-testid="analysis-scope"
            onChange={(e) => setScope((e.target as HTMLSelectElement).value)}>
            {options.map((o) => <VscodeOption key={o.value} value={o.value}>{o.label}</VscodeOption>)}
          </VscodeSingleSelect>
        </label>
        <label className="inline">layer{' '}
          <VscodeSingleSelect value={String(moeLayers[l])} aria-label="Layer" data-testid="analysis-layer"
            onChange={(e) => p.onLayer(Number((e.target as HTMLSelectElement).value))}>
            {moeLayers.map((layer) => <VscodeOption key={layer} value={String(layer)}>{`layer ${layer}`}</VscodeOption>)}
          </VscodeSingleSelect>
        </label>
      </div>
      <CoactivationView data={results.coactivation} theme={p.theme} />
      <PathsView data={results.paths} moeLayers={moeLayers} />
      <VocabularyView data={results.vocabulary} palette={p.palette}
        activeTokenId={active === null ? null : run.ids[active]} activeText={active === null ? null : run.texts[active]} />
      <ConfidenceView data={results.confidence} texts={run.texts} theme={p.theme} onToken={p.onToken} />
      <ContrastView title="Reasoning against answer" a="reasoning" b="answer" data={results.reasoning} moeLayers={moeLayers} testId="contrast-reasoning" />
      {results.steps && (
        <ContrastView title="Wrong reasoning steps against right ones" a="wrong steps" b="right steps" data={results.steps} moeLayers={moeLayers} testId="contrast-checked" />
      )}
      <ContrastView title="Prompt against generated" a="prompt" b="generated" data={results.prompt} moeLayers={moeLayers} testId="contrast-prompt" />
    </div>
  );
}
