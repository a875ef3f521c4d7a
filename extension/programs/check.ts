/**
 * The model's written reasoning checked against the program's true run, step by step.
 *
 * Written steps are matched to true steps by an alignment, not by position alone, so that one skipped
 * or one added step does not make every later step look wrong: steps may pair only when they name the
 * same program line (`L<n>:`), and the alignment pairs as many as it can, preferring pairs whose text
 * is identical. A paired step is ok when its text equals the true one; a written step left unpaired is
 * extra (expected: null); a true step left unpaired is missing, reported in `missing` with the written
 * step it should have come before.
 */
import { type Refusal, runProgram } from './interpreter';

/** The first thing that differs inside a step, e.g. `n=7` written where `n=5` was expected. */
export interface StepDifference {
  written: string;
  expected: string;
  /** The variable, when both sides are `name=value` of the same name. */
  name?: string;
}

export interface StepVerdict {
  /** 0-based among the written steps. */
  index: number;
  /** The program line the step names, or null when it names none. */
  line: number | null;
  ok: boolean;
  written: string;
  /** The true step it is paired with; null for an extra step. */
  expected: string | null;
  expectedIndex: number | null;
  /** For a paired step that is not ok. */
  difference?: StepDifference;
}

export interface MissingStep {
  expectedIndex: number;
  expected: string;
  /** The written step it should have come before (the written step count when it belongs at the end). */
  beforeWritten: number;
}

export type FirstMismatch =
  | { kind: 'wrong'; index: number; written: string; expected: string; difference: StepDifference }
  | { kind: 'extra'; index: number; written: string }
  | { kind: 'missing'; index: number; expected: string };

export interface ReasoningCheck {
  checkable: true;
  verdicts: StepVerdict[];
  missing: MissingStep[];
  /**
   * Where the written reasoning first departs from the true run, as an index into the written steps:
   * a wrong or extra step, or the written step before which a true step is missing (equal to the
   * written step count when the reasoning stops early). null when every step is right and none is missing.
   */
  firstWrongStep: number | null;
  firstMismatch: FirstMismatch | null;
  expectedStepCount: number;
  writtenStepCount: number;
  stepCountDiffers: boolean;
  /** Printed lines, one per line, compared with surrounding whitespace and blank lines removed. */
  answer: { ok: boolean; expected: string; written: string };
  /** Every step right, none missing, and the answer right. */
  correct: boolean;
}

export type CheckResult = ReasoningCheck | { checkable: false; refusal: Refusal };

/** Runs the program and checks the reasoning (text between <think> and </think>) and answer against it. */
export function checkReasoning(program: string, reasoning: string, answer: string): CheckResult {
  const run = runProgram(program);
  if (!run.ok) return { checkable: false, refusal: run.refusal };
  return compareWithRun(run.steps, run.printed, reasoning, answer);
}

/** Checks reasoning and answer against a run's steps and printed lines. */
export function compareWithRun(expectedSteps: readonly string[], printed: readonly string[], reasoning: string, answer: string): ReasoningCheck {
  const written = nonBlankLines(reasoning);
  const writtenLines = written.map(stepLine);
  const expectedLines = expectedSteps.map(stepLine);
  const pairs = align(written, writtenLines, expectedSteps, expectedLines);

  const verdicts: StepVerdict[] = [];
  const missing: MissingStep[] = [];
  for (const [w, x] of pairs) {
    if (w === null && x !== null) {
      missing.push({ expectedIndex: x, expected: expectedSteps[x], beforeWritten: verdicts.length });
    } else if (w !== null && x === null) {
      verdicts.push({ index: w, line: writtenLines[w], ok: false, written: written[w], expected: null, expectedIndex: null });
    } else if (w !== null && x !== null) {
      const ok = written[w] === expectedSteps[x];
      const verdict: StepVerdict = { index: w, line: writtenLines[w], ok, written: written[w], expected: expectedSteps[x], expectedIndex: x };
      if (!ok) verdict.difference = firstDifference(written[w], expectedSteps[x]);
      verdicts.push(verdict);
    }
  }

  const firstBad = verdicts.find((v) => !v.ok);
  const firstMissing = missing[0];
  let firstMismatch: FirstMismatch | null = null;
  if (firstMissing && (!firstBad || firstMissing.beforeWritten <= firstBad.index)) {
    firstMismatch = { kind: 'missing', index: firstMissing.beforeWritten, expected: firstMissing.expected };
  } else if (firstBad) {
    firstMismatch = firstBad.expected === null
      ? { kind: 'extra', index: firstBad.index, written: firstBad.written }
      : { kind: 'wrong', index: firstBad.index, written: firstBad.written, expected: firstBad.expected, difference: firstBad.difference as StepDifference };
  }

  const expectedAnswer = printed.join('\n');
  const writtenAnswer = nonBlankLines(answer).join('\n');
  const answerOk = writtenAnswer === expectedAnswer;
  return {
    checkable: true,
    verdicts,
    missing,
    firstWrongStep: firstMismatch ? firstMismatch.index : null,
    firstMismatch,
    expectedStepCount: expectedSteps.length,
    writtenStepCount: written.length,
    stepCountDiffers: written.length !== expectedSteps.length,
    answer: { ok: answerOk, expected: expectedAnswer, written: writtenAnswer },
    correct: firstMismatch === null && answerOk,
  };
}

function nonBlankLines(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
}

function stepLine(step: string): number | null {
  const m = /^L(\d{1,9}):/.exec(step);
  return m ? Number(m[1]) : null;
}

/**
 * The best alignment of written to expected steps, in order: [written, expected] pairs, [written, null]
 * for an extra step, [null, expected] for a missing one. A pair must name the same line and scores 2,
 * 3 when the texts are equal; ties go to pairing, then to calling the written step extra.
 */
function align(written: readonly string[], writtenLines: readonly (number | null)[], expected: readonly string[], expectedLines: readonly (number | null)[]): [number | null, number | null][] {
  const rows = written.length;
  const cols = expected.length;
  const width = cols + 1;
  // best[i · width + j]: the best score of written[i…] against expected[j…]
  const best = new Int32Array((rows + 1) * width);
  const pairScore = (i: number, j: number): number => {
    if (writtenLines[i] === null || writtenLines[i] !== expectedLines[j]) return -1;
    return written[i] === expected[j] ? 3 : 2;
  };
  for (let i = rows - 1; i >= 0; i--) {
    for (let j = cols - 1; j >= 0; j--) {
      const pair = pairScore(i, j);
      const paired = pair < 0 ? -1 : pair + best[(i + 1) * width + j + 1];
      best[i * width + j] = Math.max(paired, best[(i + 1) * width + j], best[i * width + j + 1]);
    }
  }
  const out: [number | null, number | null][] = [];
  let i = 0;
  let j = 0;
  while (i < rows || j < cols) {
    if (i < rows && j < cols) {
      const pair = pairScore(i, j);
      if (pair >= 0 && best[i * width + j] === pair + best[(i + 1) * width + j + 1]) {
        out.push([i++, j++]);
      } else if (best[i * width + j] === best[(i + 1) * width + j]) {
        out.push([i++, null]);
      } else {
        out.push([null, j++]);
      }
    } else if (i < rows) {
      out.push([i++, null]);
    } else {
      out.push([null, j++]);
    }
  }
  return out;
}

/** The first whitespace-separated word that differs, part by part (parts are separated by ` ; `). */
function firstDifference(written: string, expected: string): StepDifference {
  const writtenParts = written.split(' ; ');
  const expectedParts = expected.split(' ; ');
  for (let p = 0; p < Math.max(writtenParts.length, expectedParts.length); p++) {
    const a = (writtenParts[p] ?? '').split(' ');
    const b = (expectedParts[p] ?? '').split(' ');
    for (let q = 0; q < Math.max(a.length, b.length); q++) {
      const w = a[q] ?? '';
      const x = b[q] ?? '';
      if (w === x) continue;
      const nameW = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(w)?.[1];
      const nameX = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(x)?.[1];
      return nameW !== undefined && nameW === nameX ? { written: w, expected: x, name: nameW } : { written: w, expected: x };
    }
  }
  return { written, expected };
}
