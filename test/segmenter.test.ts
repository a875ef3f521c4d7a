import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Segmenter } from '../extension/trace/segmenter';
import { type ReasoningStep, Segment } from '../extension/trace/types';

const TAGS = { thinkStart: '<think>', thinkEnd: '</think>' };

/** Feeds pieces; returns each token's final segment (relabels applied) and the steps. */
function segment(pieces: string[], options = TAGS) {
  const s = new Segmenter(options);
  const labels: Segment[] = [];
  const apply = (events: ReturnType<Segmenter['push']>['events']) => {
    for (const e of events) if (e.type === 'relabel') labels.fill(e.segment, e.start, e.end);
  };
  pieces.forEach((p, i) => {
    const r = s.push(p, i);
    labels.push(r.segment);
    apply(r.events);
  });
  const end = s.finish();
  return { labels, steps: s.steps as ReasoningStep[], unterminated: end.unterminatedReasoning };
}

const R = Segment.Reasoning;
const A = Segment.Answer;

describe('segmenter', () => {
  it('splits whole tags, and reasoning into numbered steps', () => {
    const { labels, steps, unterminated } = segment(['<think>', '\n', 'L1: a = 1', '\n', 'L2: print(a)', '\n', '</think>', '\n', '1']);
    assert.deepEqual(labels, [R, R, R, R, R, R, R, A, A]);
    assert.deepEqual(steps, [{ start: 2, end: 4, line: 1 }, { start: 4, end: 6, line: 2 }]);
    assert.equal(unterminated, false);
  });

  it('recognises tags split across tokens', () => {
    const { labels, steps } = segment(['<th', 'in', 'k>', 'step one\n', '</', 'thi', 'nk>', 'answer']);
    assert.deepEqual(labels, [R, R, R, R, R, R, R, A]);
    assert.deepEqual(steps, [{ start: 3, end: 4 }]);
  });

  it('keeps text that only looks like a tag', () => {
    const a = segment(['<thinking>', ' about it']);
    assert.deepEqual(a.labels, [A, A]);
    const b = segment(['<think>', 'x < y and </thin', 'ner> is not a tag\n', '</think>', 'ok']);
    assert.deepEqual(b.labels, [R, R, R, R, A]);
    assert.equal(b.steps.length, 1);
  });

  it('treats a start tag after other text as answer text', () => {
    const { labels } = segment(['The answer', ' <think>', 'no']);
    assert.deepEqual(labels, [A, A, A]);
  });

  it('closes only at the first end tag', () => {
    const { labels } = segment(['<think>', 'a', '</think>', 'b ', '</think>', 'c']);
    assert.deepEqual(labels, [R, R, R, A, A, A]);
  });

  it('reports reasoning that never closes, and closes its last step', () => {
    const { labels, steps, unterminated } = segment(['<think>', 'L1: x', ' = 2']);
    assert.deepEqual(labels, [R, R, R]);
    assert.equal(unterminated, true);
    assert.deepEqual(steps, [{ start: 1, end: 3, line: 1 }]);
  });

  it('starts in reasoning when the prompt opened it', () => {
    const { labels } = segment(['first', '</think>', 'done'], { ...TAGS, startsInReasoning: true } as never);
    assert.deepEqual(labels, [R, R, A]);
  });

  it('accepts leading whitespace before the start tag, relabelling it', () => {
    const { labels } = segment(['\n', ' <', 'think>', 'x\n', '</think>']);
    assert.deepEqual(labels, [R, R, R, R, R]);
  });

  it('puts a step that spans several lines in one token into several steps', () => {
    const { steps } = segment(['<think>', 'L1: a\nL2: b\n', '</think>']);
    assert.deepEqual(steps, [{ start: 1, end: 2, line: 1 }, { start: 1, end: 2, line: 2 }]);
  });

  it('names a program line only for a plausible line number', () => {
    const { steps } = segment(['<think>', `L${'9'.repeat(400)}: x\n`, 'L123456789: y\n', '</think>']);
    assert.deepEqual(steps, [{ start: 1, end: 2 }, { start: 2, end: 3, line: 123456789 }]);
  });
});
