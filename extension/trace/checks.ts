/**
 * The optional `checks` field of a trace: the bundled model's written reasoning and answer checked
 * against the program's true run (programs/check). Versioned on its own (`checks.version`), so a trace
 * stays format version 1 with or without it; a reader that meets a newer checks version drops the
 * field and still loads the trace. Trace files are untrusted: every value is read by key, typed and
 * bounded, and copied into fresh objects.
 */
import { checkReasoning, type FirstMismatch, type MissingStep, type ReasoningCheck, type StepDifference, type StepVerdict } from '../programs/check';
import type { TraceStore } from './store';
import { Segment } from './types';
import { INT32_MAX, type JsonObject, TraceFormatError, asArray, asInt, asObject, at, get } from './validate';

export const CHECKS_VERSION = 1;
/** Longest step or answer text kept, and most steps: the bundled model's programs run at most 40. */
export const CHECK_LIMITS = { text: 4096, steps: 4096 } as const;

export interface ProgramCheck {
  /** The reasoning and answer checked against the program's run: ReasoningCheck's fields. */
  result: ReasoningCheck;
  /** Tokens [start, end) of each written step (verdict index order), or null when they could not be matched. */
  stepTokens: [number, number][] | null;
}

export interface TraceChecks {
  version: typeof CHECKS_VERSION;
  program: ProgramCheck;
}

export interface CompletionMarkers {
  thinkStart: string;
  thinkEnd: string;
  /** Token ids that end the sequence; a final one is not part of the answer. */
  eosTokenIds: readonly number[];
}

/**
 * Checks a finished run of a program prompt: the reasoning tokens (tags removed) against the program's
 * steps, the answer tokens against what it prints. undefined when `program` is not a program of the
 * bundled model's language (there is nothing to check against).
 */
export function checkProgramRun(store: TraceStore, program: string, markers: CompletionMarkers): TraceChecks | undefined {
  const texts = store.tokenTexts();
  const segments = store.tokenSegments();
  const ids = store.tokenIds();
  let last = store.tokenCount;
  if (last > 0 && segments[last - 1] !== Segment.Prompt && markers.eosTokenIds.includes(ids[last - 1])) last--;
  const strip = (s: string) => s.split(markers.thinkStart).join('').split(markers.thinkEnd).join('');
  let reasoning = '';
  let answer = '';
  for (let t = 0; t < last; t++) {
    if (segments[t] === Segment.Reasoning) reasoning += texts[t];
    else if (segments[t] === Segment.Answer) answer += texts[t];
  }
  const result = checkReasoning(program, strip(reasoning), answer);
  if (!result.checkable) return undefined;
  // the segmenter's steps, less those holding only a tag or whitespace, are the written steps
  const written = store.steps.filter((s) => strip(texts.slice(s.start, s.end).join('')).trim() !== '');
  const stepTokens = written.length === result.writtenStepCount ? written.map((s): [number, number] => [s.start, s.end]) : null;
  const checks: TraceChecks = { version: CHECKS_VERSION, program: { result, stepTokens } };
  // a check this reader would refuse (text beyond the limits) is left out rather than written
  try {
    readChecks(JSON.parse(checksToJson(checks)), 'checks', store.tokenCount);
  } catch {
    return undefined;
  }
  return checks;
}

/** 1-based step number, line, written and expected value: the first wrong step in words. */
export function describeMismatch(m: FirstMismatch): string {
  if (m.kind === 'wrong') {
    const d = m.difference;
    const line = /^L(\d+):/.exec(m.expected)?.[1];
    return `step ${m.index + 1}${line ? ` (line ${line})` : ''} wrote ${d.written || '(nothing)'} where the program has ${d.expected || '(nothing)'}`;
  }
  if (m.kind === 'extra') return `step ${m.index + 1} is not a step of the program`;
  return `a step is missing before written step ${m.index + 1}: ${m.expected}`;
}

export function checksToJson(checks: TraceChecks): string {
  return JSON.stringify({ version: checks.version, program: checks.program });
}

const text = (o: JsonObject, key: string, path: string): string => {
  const s = get.string(o, key, path);
  if (s.length > CHECK_LIMITS.text) throw new TraceFormatError(at(path, key), `has ${s.length} characters; at most ${CHECK_LIMITS.text}`);
  return s;
};
const textOrNull = (o: JsonObject, key: string, path: string): string | null => (get.value(o, key, path) === null ? null : text(o, key, path));
const intOrNull = (o: JsonObject, key: string, path: string, max: number): number | null =>
  (get.value(o, key, path) === null ? null : get.int(o, key, path, 0, max));
const list = (o: JsonObject, key: string, path: string): unknown[] => {
  const a = get.array(o, key, path);
  if (a.length > CHECK_LIMITS.steps) throw new TraceFormatError(at(path, key), `has ${a.length} entries; at most ${CHECK_LIMITS.steps}`);
  return a;
};

function readDifference(v: unknown, path: string): StepDifference {
  const o = asObject(v, path);
  const d: StepDifference = { written: text(o, 'written', path), expected: text(o, 'expected', path) };
  if (Object.hasOwn(o, 'name')) d.name = text(o, 'name', path);
  return d;
}

function readVerdict(v: unknown, path: string): StepVerdict {
  const o = asObject(v, path);
  const verdict: StepVerdict = {
    index: get.int(o, 'index', path, 0, CHECK_LIMITS.steps),
    line: intOrNull(o, 'line', path, INT32_MAX),
    ok: get.boolean(o, 'ok', path),
    written: text(o, 'written', path),
    expected: textOrNull(o, 'expected', path),
    expectedIndex: intOrNull(o, 'expectedIndex', path, CHECK_LIMITS.steps),
  };
  if (Object.hasOwn(o, 'difference')) verdict.difference = readDifference(o.difference, at(path, 'difference'));
  return verdict;
}

function readMissing(v: unknown, path: string): MissingStep {
  const o = asObject(v, path);
  return { expectedIndex: get.int(o, 'expectedIndex', path, 0, CHECK_LIMITS.steps), expected: text(o, 'expected', path), beforeWritten: get.int(o, 'beforeWritten', path, 0, CHECK_LIMITS.steps) };
}

function readMismatch(v: unknown, path: string): FirstMismatch | null {
  if (v === null) return null;
  const o = asObject(v, path);
  const kind = get.string(o, 'kind', path);
  const index = get.int(o, 'index', path, 0, CHECK_LIMITS.steps);
  if (kind === 'wrong') return { kind, index, written: text(o, 'written', path), expected: text(o, 'expected', path), difference: readDifference(o.difference, at(path, 'difference')) };
  if (kind === 'extra') return { kind, index, written: text(o, 'written', path) };
  if (kind === 'missing') return { kind, index, expected: text(o, 'expected', path) };
  throw new TraceFormatError(at(path, 'kind'), `expected "wrong", "extra" or "missing", found ${JSON.stringify(kind.slice(0, 40))}`);
}

function readResult(v: unknown, path: string): ReasoningCheck {
  const o = asObject(v, path);
  if (get.value(o, 'checkable', path) !== true) throw new TraceFormatError(at(path, 'checkable'), 'expected true');
  const a = get.object(o, 'answer', path);
  const ap = at(path, 'answer');
  const verdicts = list(o, 'verdicts', path).map((x, i) => readVerdict(x, at(at(path, 'verdicts'), i)));
  const writtenStepCount = get.int(o, 'writtenStepCount', path, 0, CHECK_LIMITS.steps);
  if (verdicts.length !== writtenStepCount) throw new TraceFormatError(at(path, 'verdicts'), `has ${verdicts.length} entries; expected writtenStepCount, ${writtenStepCount}`);
  return {
    checkable: true,
    verdicts,
    missing: list(o, 'missing', path).map((x, i) => readMissing(x, at(at(path, 'missing'), i))),
    firstWrongStep: intOrNull(o, 'firstWrongStep', path, CHECK_LIMITS.steps),
    firstMismatch: readMismatch(get.value(o, 'firstMismatch', path), at(path, 'firstMismatch')),
    expectedStepCount: get.int(o, 'expectedStepCount', path, 0, CHECK_LIMITS.steps),
    writtenStepCount,
    stepCountDiffers: get.boolean(o, 'stepCountDiffers', path),
    answer: { ok: get.boolean(a, 'ok', ap), expected: text(a, 'expected', ap), written: text(a, 'written', ap) },
    correct: get.boolean(o, 'correct', path),
  };
}

/** Reads `checks`; undefined for a checks version newer than this reader's (the trace loads without it). */
export function readChecks(v: unknown, path: string, tokenCount: number): TraceChecks | undefined {
  const o = asObject(v, path);
  const version = get.int(o, 'version', path, 1, INT32_MAX);
  if (version > CHECKS_VERSION) return undefined;
  const pp = at(path, 'program');
  const p = get.object(o, 'program', path);
  const result = readResult(get.value(p, 'result', pp), at(pp, 'result'));
  const rawTokens = get.value(p, 'stepTokens', pp);
  let stepTokens: [number, number][] | null = null;
  if (rawTokens !== null) {
    const tp = at(pp, 'stepTokens');
    const a = asArray(rawTokens, tp);
    if (a.length !== result.writtenStepCount) throw new TraceFormatError(tp, `has ${a.length} entries; expected one per written step, ${result.writtenStepCount}`);
    stepTokens = a.map((x, i) => {
      const pair = asArray(x, at(tp, i));
      if (pair.length !== 2) throw new TraceFormatError(at(tp, i), 'expected [start, end]');
      const note = `the trace has ${tokenCount} tokens`;
      const start = asInt(pair[0], at(at(tp, i), 0), 0, tokenCount, note);
      const end = asInt(pair[1], at(at(tp, i), 1), start, tokenCount, note);
      return [start, end];
    });
  }
  return { version: CHECKS_VERSION, program: { result, stepTokens } };
}
