/**
 * The webview's run as the shared analyses' input, and the token selections the Analyses tab offers.
 * No copies: the analyses read the run's columns where they are (spare capacity past tokenCount is ignored).
 */
import type { RoutingInput, TokenSelection } from '../../extension/analysis/input';
import { Segment } from '../../extension/trace/types';
import type { RunData } from '../state';

export function routingInputOf(run: RunData): RoutingInput {
  const { expertsPerToken, nRoutedExperts, moeLayers } = run.meta.model;
  return {
    tokenCount: run.tokenCount,
    expertsPerToken,
    nRoutedExperts,
    moeLayers,
    tokenIds: run.ids,
    tokenTexts: run.texts,
    segments: run.segments,
    routing: run.routing.map((r) => ({ expertIds: r.expertIds, weights: r.weights, scores: run.scoresKept ? r.scores : null })),
  };
}

/** `run`, `prompt`, `reasoning`, `answer`, `range` (the token view's shift-click range) or `step:<n>`. */
export type AnalysisScope = string;

export interface ScopeOption {
  value: AnalysisScope;
  label: string;
}

export function scopeOptions(run: RunData, range: [number, number] | null): ScopeOption[] {
  const options: ScopeOption[] = [
    { value: 'run', label: `whole run (${run.tokenCount} tokens)` },
    { value: 'prompt', label: `prompt (${run.tokensBySegment[Segment.Prompt]})` },
    { value: 'reasoning', label: `reasoning (${run.tokensBySegment[Segment.Reasoning]})` },
    { value: 'answer', label: `answer (${run.tokensBySegment[Segment.Answer]})` },
  ];
  if (range) options.push({ value: 'range', label: `selected tokens ${range[0]}–${range[1]}` });
  run.steps.forEach((s, i) => options.push({ value: `step:${i}`, label: `reasoning step ${i + 1}${s.line !== undefined ? ` (L${s.line})` : ''}` }));
  return options;
}

/** The selection a scope names; the whole run when it names something that is gone (a cleared range, a shorter run). */
export function selectionOf(run: RunData, scope: AnalysisScope, range: [number, number] | null): TokenSelection {
  const all = { start: 0, end: run.tokenCount };
  if (scope === 'prompt') return { ...all, segment: Segment.Prompt };
  if (scope === 'reasoning') return { ...all, segment: Segment.Reasoning };
  if (scope === 'answer') return { ...all, segment: Segment.Answer };
  if (scope === 'range' && range) return { start: range[0], end: range[1] + 1 };
  const step = /^step:(\d+)$/.exec(scope);
  if (step && run.steps[Number(step[1])]) {
    const s = run.steps[Number(step[1])];
    return { start: s.start, end: s.end };
  }
  return all;
}

/** Labels past the trace's own segments, for the checked steps' tokens. */
export const WRONG_STEPS = 3;
export const RIGHT_STEPS = 4;

/**
 * The input with the tokens of wrongly and rightly written reasoning steps labelled WRONG_STEPS and
 * RIGHT_STEPS, so any analysis can contrast them as two selections; null unless the run was checked
 * and has steps of both kinds.
 */
export function checkedStepsInput(run: RunData, input: RoutingInput): RoutingInput | null {
  const check = run.checks?.program;
  if (!check?.stepTokens) return null;
  const segments = input.segments.slice(0, run.tokenCount);
  let wrong = 0;
  let right = 0;
  check.result.verdicts.forEach((v, i) => {
    const range = check.stepTokens?.[i];
    if (!range) return;
    const [start, end] = [Math.max(0, range[0]), Math.min(run.tokenCount, range[1])];
    for (let t = start; t < end; t++) segments[t] = v.ok ? RIGHT_STEPS : WRONG_STEPS;
    if (v.ok) right++;
    else wrong++;
  });
  return wrong > 0 && right > 0 ? { ...input, segments } : null;
}
