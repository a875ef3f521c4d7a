/**
 * Sampling settings: the one type, its defaults and its ranges, used by the sampler, the protocol's
 * validator, the VS Code settings (package.json's schema is tested against these ranges), the CLI and
 * the trace reader. Pure: the webview bundle imports it too.
 */

export interface SamplingSettings {
  maxNewTokens: number;
  /** 0 = greedy */
  temperature: number;
  /** 0 = off */
  topK: number;
  /** 1 = off */
  topP: number;
  seed: number;
}

export const DEFAULT_SAMPLING: Readonly<SamplingSettings> = Object.freeze({ maxNewTokens: 400, temperature: 0, topK: 0, topP: 1, seed: 0 });

export interface SamplingRange {
  integer: boolean;
  min: number;
  /** The minimum itself is not allowed (topP: 0 would keep no token). */
  minExclusive?: boolean;
  max: number;
  /** What the value does, for settings and errors. */
  meaning: string;
}

export const SAMPLING_RANGES: Readonly<Record<keyof SamplingSettings, SamplingRange>> = Object.freeze({
  maxNewTokens: { integer: true, min: 1, max: 100_000, meaning: 'most tokens generated per run' },
  temperature: { integer: false, min: 0, max: 100, meaning: 'sampling temperature; 0 is greedy' },
  topK: { integer: true, min: 0, max: 1_000_000, meaning: 'sample from the k most likely tokens; 0 is off' },
  topP: { integer: false, min: 0, minExclusive: true, max: 1, meaning: 'nucleus sampling threshold; 1 is off' },
  seed: { integer: true, min: 0, max: 0xffffffff, meaning: 'seed of the sampler: the same seed repeats a sampled run' },
});

export const SAMPLING_FIELDS = Object.keys(SAMPLING_RANGES) as (keyof SamplingSettings)[];

/** The VS Code setting (`moeLens.<key>`) of each field; package.json's schema states the same ranges (tested). */
export const SAMPLING_SETTING_KEYS: Readonly<Record<keyof SamplingSettings, string>> = Object.freeze({
  maxNewTokens: 'maxTokens', temperature: 'temperature', topK: 'topK', topP: 'topP', seed: 'seed',
});

/**
 * A short description of an untrusted value for an error message: never JSON.stringify, which throws on
 * bigints and on nesting deeper than the stack, and would copy a huge string or array into the message.
 */
function shown(value: unknown): string {
  if (typeof value === 'string') return value.length > 40 ? `a ${value.length}-character string` : JSON.stringify(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object' && value !== null) return 'an object';
  return typeof value === 'bigint' ? `${value}n` : typeof value === 'symbol' || typeof value === 'function' ? typeof value : String(value);
}

/** Why `value` is not a valid `field`, or undefined when it is. */
export function samplingFieldProblem(field: keyof SamplingSettings, value: unknown): string | undefined {
  const r = SAMPLING_RANGES[field];
  const ok = typeof value === 'number' && Number.isFinite(value) && (!r.integer || Number.isInteger(value))
    && (r.minExclusive ? value > r.min : value >= r.min) && value <= r.max;
  if (ok) return undefined;
  const range = `${r.minExclusive ? '(' : '['}${r.min}, ${r.max}]`;
  return `${field} must be ${r.integer ? 'an integer' : 'a number'} in ${range} (${r.meaning}), not ${shown(value)}`;
}

/** The first problem of a settings object, or undefined when every field is valid. */
export function samplingProblem(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'sampling settings must be an object';
  for (const field of SAMPLING_FIELDS) {
    const problem = samplingFieldProblem(field, (raw as Record<string, unknown>)[field]);
    if (problem) return problem;
  }
  return undefined;
}

/** A fresh copy holding only the known fields, or undefined when any is missing or out of range. */
export function parseSampling(raw: unknown): SamplingSettings | undefined {
  if (samplingProblem(raw) !== undefined) return undefined;
  const r = raw as SamplingSettings;
  return { maxNewTokens: r.maxNewTokens, temperature: r.temperature, topK: r.topK, topP: r.topP, seed: r.seed };
}

/** Rejects impossible settings up front, naming the field and its allowed range. */
export function checkSampling(settings: SamplingSettings): void {
  const problem = samplingProblem(settings);
  if (problem) throw new RangeError(problem);
}
