/** The run at a glance, first thing in the panel: the answer as text, the reasoning's size, why it ended, where it ran. */
import { memo } from 'react';
import { Segment } from '../../extension/trace/types';
import type { RunData } from '../state';
import { describeMismatch, type TraceChecks } from '../../extension/trace/checks';
import { escapeInvisible } from '../text';

const ENDED: Record<string, string> = {
  eos: 'the model ended it',
  max_tokens: 'token budget reached',
  context_full: 'context window full',
  aborted: 'stopped',
  error: 'failed',
};

/** Special tokens that close a reply (`<|end|>`, `</s>`, `<|im_end|>`, `<|return|>`) are not answer text. */
const CLOSING = /^(<\|[^|<>\s]{1,24}\|>|<\/s>|<eos>)$/;

/** The answer as the user reads it: the answer tokens' text, without a closing special token. */
export function answerText(run: RunData): string {
  let end = run.tokenCount;
  while (end > 0 && run.segments[end - 1] === Segment.Answer && CLOSING.test(run.texts[end - 1])) end--;
  let text = '';
  for (let t = 0; t < end; t++) if (run.segments[t] === Segment.Answer && run.spanStart[t] === -1) text += run.texts[t];
  return text.replace(/^\s+|\s+$/g, '');
}

/**
 * Memoised on `version`, the charts' counter: while a run streams, its figures and answer are redrawn with
 * the charts (every 250 ms), as often as anyone reads them, and not on every frame, where their text cost
 * the frame its layout and paint. A run's end, or another run, shows at once.
 */
export const Summary = memo(function Summary(p: { run: RunData; speed: number; running: boolean; version: number }) {
  const { run } = p;
  const answer = answerText(run);
  const reasoningTokens = run.tokensBySegment[Segment.Reasoning];
  const summary = run.summary;
  const fellBack = run.meta.fallbacks.map((f) => f.provider);
  return (
    <section className="summary" aria-label="Run summary" data-testid="summary">
      <div className="answer-line">
        <span className="label">Answer</span>
        <output className="answer" data-testid="answer" aria-live="polite">
          {answer ? escapeInvisible(answer) : <span className="muted">{p.running ? 'not yet…' : 'none: the run ended before an answer'}</span>}
        </output>
      </div>
      <ul className="facts" data-testid="facts">
        <li data-testid="reasoning-size">reasoning: {run.steps.length} steps · {reasoningTokens} tokens</li>
        <li>{run.tokenCount} tokens ({run.tokensBySegment[Segment.Prompt]} prompt)</li>
        <li data-testid="ended" data-reason={summary?.reason ?? 'running'}>
          {summary ? `ended: ${ENDED[summary.reason] ?? summary.reason}${summary.unterminatedReasoning ? ' (reasoning never closed)' : ''}` : 'running…'}
        </li>
        <li data-testid="provider" data-provider={run.meta.provider}>
          ran on <b>{run.meta.provider}</b>{fellBack.length > 0 && <span className="warn"> (not {fellBack.join(', ')}: see the warning)</span>}
        </li>
        {p.speed > 0 && <li data-testid="speed">{p.speed.toFixed(0)} tok/s</li>}
      </ul>
      {run.checks && <CheckLine checks={run.checks} />}
    </section>
  );
}, (a, b) => a.version === b.version && a.running === b.running && a.run.runId === b.run.runId && a.run.summary === b.run.summary
  && a.run.checks === b.run.checks && (b.running || a.speed === b.speed));

/** The bundled model's reasoning checked against the program's run: right, or where it first went wrong. */
function CheckLine({ checks }: { checks: TraceChecks }) {
  const r = checks.program.result;
  const answer = r.answer.ok ? 'the answer is right' : `the answer ${oneLine(r.answer.written) || '(none)'} is wrong: the program prints ${oneLine(r.answer.expected)}`;
  return (
    <p className={`check ${r.correct ? 'ok' : 'wrong'}`} data-testid="check" data-correct={String(r.correct)} data-first-wrong={r.firstWrongStep ?? ''}>
      <span aria-hidden="true">{r.correct ? '✓ ' : '✗ '}</span>
      {r.correct
        ? `Checked against the program's run: all ${r.writtenStepCount} reasoning steps and the answer are right.`
        : `Checked against the program's run: ${r.firstMismatch ? describeMismatch(r.firstMismatch) : 'every step is right'}; ${answer}.`}
    </p>
  );
}

const oneLine = (s: string) => escapeInvisible(s.trim().split('\n').join(' '));
