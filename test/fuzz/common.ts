/**
 * Shared pieces of the fuzz harness (test/fuzz/main.ts, test/fuzz.test.ts): a target is a fast-check
 * property over untrusted input; a failure is a crash (anything but the project's refusal error, or a
 * wrong round trip) or a hang (one input over the time limit), reported with fast-check's shrunk
 * (minimal) counterexample.
 */
import * as fc from 'fast-check';

export const HANG_MS = 1000;

export class Hang extends Error {
  constructor(readonly ms: number) {
    super(`one input took ${ms.toFixed(0)} ms (limit ${HANG_MS} ms)`);
    this.name = 'Hang';
  }
}

/** Runs `f`, throwing Hang when it took longer than the limit (a synchronous reader cannot be interrupted, only timed). */
export function timed<T>(f: () => T): T {
  const start = performance.now();
  const out = f();
  const ms = performance.now() - start;
  if (ms > HANG_MS) throw new Hang(ms);
  return out;
}

export async function timedAsync<T>(f: () => Promise<T>, limitMs = HANG_MS): Promise<T> {
  const start = performance.now();
  const out = await f();
  const ms = performance.now() - start;
  if (ms > limitMs) throw new Hang(ms);
  return out;
}

export interface TargetResult {
  name: string;
  inputs: number;
  crashes: number;
  hangs: number;
  /** The minimal counterexample and its error, when the target failed. */
  failure?: string;
}

export interface FuzzOptions {
  seed: number;
  /** Inputs for the fast targets; slow ones (model folders) take a share of it. */
  budget: number;
  log?: (line: string) => void;
}

function show(v: unknown): string {
  const s = fc.stringify(v);
  return s.length > 2000 ? `${s.slice(0, 2000)}… (${s.length} characters)` : s;
}

/** Checks one property and turns fast-check's report into counts. */
export async function runTarget<T>(name: string, property: fc.IProperty<T> | fc.IAsyncProperty<T>, seed: number, numRuns: number): Promise<TargetResult> {
  const details = await fc.check(property as fc.IAsyncProperty<T>, { seed, numRuns, endOnFailure: false });
  if (!details.failed) return { name, inputs: details.numRuns, crashes: 0, hangs: 0 };
  const error = details.errorInstance;
  const hang = error instanceof Hang;
  const failure = `${name}: ${hang ? 'hang' : 'crash'} after ${details.numRuns} inputs (seed ${seed}, path ${details.counterexamplePath ?? '?'}; `
    + `shrunk ${details.numShrinks} times)\n  minimal counterexample: ${show(details.counterexample)}\n  error: ${error instanceof Error ? error.stack ?? error.message : String(error)}`;
  return { name, inputs: details.numRuns, crashes: hang ? 0 : 1, hangs: hang ? 1 : 0, failure };
}

/** What fast-check's `fc.string` calls units: any UTF-16 code unit, lone surrogates included. */
export const anyText = (maxLength = 40) => fc.string({ unit: 'binary', maxLength });

/** JSON snippets a reader should refuse or bound: type swaps, extreme and NaN-like numbers, deep nesting. */
export const nastyJson = fc.oneof(
  fc.constantFrom(
    'null', 'true', 'false', '""', '"x"', '[]', '{}', '0', '-0', '-1', '1.5', '1e999', '-1e999', '1e-999', 'NaN', 'Infinity',
    '-Infinity', '2147483647', '2147483648', '-2147483649', '9007199254740993', '1.7976931348623157e308', '5e-324',
    '4294967296', '268435456', '65536', '32768', '"NaN"', '"1"', '[1]', '[[[]]]', '{"__proto__":{"polluted":1}}',
    '{"constructor":{"prototype":{"polluted":1}}}', '"\\ud800"', '"\\udfff\\ud800"', '"\\u0000"', '[null]', '[-1,-1]', '[0,0]',
  ),
  fc.integer({ min: 1, max: 200_000 }).map((d) => '['.repeat(d) + ']'.repeat(d)),
  fc.integer({ min: 1, max: 50_000 }).map((d) => '{"a":'.repeat(d) + '0' + '}'.repeat(d)),
  fc.double().map((x) => (Number.isFinite(x) ? (Object.is(x, -0) ? '-0' : String(x)) : 'null')),
  fc.integer().map(String),
  anyText().map((s) => JSON.stringify(s)),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null'),
);

/** Keys a reader must not be confused by: its own, prototype-polluting ones, near misses. */
export const nastyKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', 'format', 'version', 'meta', 'tokens',
    'ids', 'texts', 'segments', 'spans', 'routing', 'layer', 'expertIds', 'weights', 'scores', 'steps', 'tokensInCache', 'kvBytes', 'runMs',
    'reasoningSteps', 'done', 'reason', 'type', 'index', 'model', 'numLayers', 'moeLayers', 'nRoutedExperts', 'expertsPerToken', 'settings', 'prompt'),
  anyText(12),
);

/** The snippet when it is JSON (1e999 is, NaN is not), else null. */
export function jsonOr(s: string): string {
  try {
    JSON.parse(s);
    return s;
  } catch {
    return 'null';
  }
}
