/**
 * The token view's lines: what the virtualised list draws, one fixed-height line each. Laid out
 * incrementally: while a run streams, only its last row changes and rows are added after it, so each
 * frame lays out those, not the whole run again (a 20k-token run is ~1,300 rows).
 */
import { type ReasoningStep, Segment } from '../../extension/trace/types';
import type { RunData } from '../state';
import { visibleToken } from '../text';

/** A reasoning step's row: its number, and its verdict when the run was checked against the program. */
export interface StepMark {
  index: number;
  step: ReasoningStep;
  verdict?: { ok: boolean; title: string };
}

/**
 * A segment header, or tokens [start, end) of a row. A row (it ends at a newline, a segment change or
 * MAX_ROW_TOKENS) wider than the panel wraps onto continuation lines, so long reasoning lines are never
 * cut at the right edge.
 */
export type Line = { kind: 'header'; segment: Segment; key: number }
  | { kind: 'row'; start: number; end: number; continued: boolean; step: StepMark | null };

/** The checked verdicts by the first token of their step. */
function verdictsByStart(run: RunData): Map<number, { ok: boolean; title: string }> {
  const out = new Map<number, { ok: boolean; title: string }>();
  const check = run.checks?.program;
  if (!check?.stepTokens) return out;
  check.result.verdicts.forEach((v, i) => {
    const range = check.stepTokens?.[i];
    if (!range) return;
    const title = v.ok ? 'right: the program does this'
      : v.difference ? `wrong: wrote ${v.difference.written} where the program has ${v.difference.expected}`
        : v.expected === null ? 'wrong: not a step of the program' : `wrong: the program has ${v.expected}`;
    out.set(range[0], { ok: v.ok, title });
  });
  return out;
}

/** Characters a token takes on screen: its visible text plus its padding and margin. */
const tokenWidth = (text: string) => visibleToken(text).length + 0.4;

export class LineLayout {
  private lines: Line[] = [];
  /** Index in `lines` of each laid-out row's first line (its header, if it opens a segment). */
  private rowLine: number[] = [];
  private stepAt = new Map<number, StepMark>();
  /** What the layout depends on besides appended tokens; when any of it changes, everything is laid out again. */
  private basis: unknown[] = [];
  /** Token widths in characters, per run (a token's text never changes). */
  private widths: number[] = [];
  private widthsRun = -1;

  layout(run: RunData, collapsed: boolean, columns: number): Line[] {
    // a relabel replaces `segments` (and may re-cut rows), a step replaces `steps`
    const basis = [run.runId, run.segments, run.steps, run.checks, collapsed, columns];
    let from = Math.max(0, this.rowLine.length - 1); // the last row may have grown
    if (basis.length !== this.basis.length || basis.some((b, i) => b !== this.basis[i]) || from > run.rowCount) {
      this.basis = basis;
      this.stepAt = new Map();
      const verdicts = verdictsByStart(run);
      run.steps.forEach((step, index) => {
        const verdict = verdicts.get(step.start);
        this.stepAt.set(step.start, verdict ? { index, step, verdict } : { index, step });
      });
      from = 0;
    }
    if (run.runId !== this.widthsRun) {
      this.widths = [];
      this.widthsRun = run.runId;
    }
    for (let t = this.widths.length; t < run.tokenCount; t++) this.widths.push(tokenWidth(run.texts[t]));
    this.lines.length = from < this.rowLine.length ? this.rowLine[from] : this.lines.length;
    this.rowLine.length = from;
    let segment = from > 0 ? run.segments[run.rowStarts[from - 1]] : -1;
    for (let r = from; r < run.rowCount; r++) {
      this.rowLine.push(this.lines.length);
      const start = run.rowStarts[r];
      const end = r + 1 < run.rowCount ? run.rowStarts[r + 1] : run.tokenCount;
      const s = run.segments[start] as Segment;
      if (s !== segment) {
        segment = s;
        this.lines.push({ kind: 'header', segment: s, key: r });
      }
      if (s === Segment.Reasoning && collapsed) continue;
      this.layRow(start, end, columns);
    }
    return this.lines.slice();
  }

  private layRow(start: number, end: number, columns: number): void {
    const step = this.stepAt.get(start) ?? null;
    let from = start;
    let width = 0;
    for (let t = start; t < end; t++) {
      const w = this.widths[t];
      if (t > from && width + w > columns) {
        this.lines.push({ kind: 'row', start: from, end: t, continued: from !== start, step: from === start ? step : null });
        from = t;
        width = 0;
      }
      width += w;
    }
    this.lines.push({ kind: 'row', start: from, end, continued: from !== start, step: from === start ? step : null });
  }
}

/** The line (index into `lines`) holding token t, or -1 when it is not shown (collapsed reasoning). */
export function lineOf(lines: Line[], t: number): number {
  // rows are in token order; headers carry no tokens: search the rows
  let lo = 0;
  let hi = lines.length - 1;
  while (lo <= hi) {
    let mid = (lo + hi) >> 1;
    while (mid > lo && lines[mid].kind !== 'row') mid--;
    const line = lines[mid];
    if (line.kind !== 'row') {
      lo = mid + 1;
      continue;
    }
    if (t < line.start) hi = mid - 1;
    else if (t >= line.end) lo = mid + 1;
    else return mid;
  }
  return -1;
}
