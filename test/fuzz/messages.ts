/**
 * The webview → host message validator (parseWebviewMessage) under fuzz. The webview is untrusted: a
 * message may be any structured-cloneable value. The property: it never throws, and returns either
 * undefined or a fresh plain object holding only the fields of one message type, which validates again
 * to an equal value; every well-formed message is accepted unchanged.
 */
import { deepStrictEqual } from 'node:assert/strict';
import * as fc from 'fast-check';
import { HOST_ACTIONS, MAX_PROMPT_CHARS, type WebviewMessage, parseWebviewMessage } from '../../extension/protocol';
import { SAMPLING_RANGES } from '../../extension/trace/sampling';
import { jsonOr, nastyJson, nastyKey, timed } from './common';

const FIELDS: Record<WebviewMessage['type'], string[]> = {
  ready: [], export: [], run: ['prompt', 'settings'], stop: ['runId'], revealLine: ['runId', 'line'], pinToken: ['runId', 'index'],
  selectLayer: ['layer'], action: ['action'], rendered: ['runId', 'seq', 'tokens'],
};

const runId = fc.nat({ max: Number.MAX_SAFE_INTEGER });
const settings = fc.record({
  maxNewTokens: fc.integer({ min: SAMPLING_RANGES.maxNewTokens.min, max: SAMPLING_RANGES.maxNewTokens.max }),
  temperature: fc.double({ min: 0, max: 100, noNaN: true }),
  topK: fc.integer({ min: 0, max: SAMPLING_RANGES.topK.max }),
  topP: fc.double({ min: Number.MIN_VALUE, max: 1, noNaN: true }),
  seed: fc.integer({ min: 0, max: SAMPLING_RANGES.seed.max }),
}, { noNullPrototype: true });

/** Messages the webview really sends. */
export const validMessage: fc.Arbitrary<WebviewMessage> = fc.oneof(
  fc.constantFrom<WebviewMessage>({ type: 'ready' }, { type: 'export' }),
  fc.record({ type: fc.constant('run' as const), prompt: fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }), settings }, { noNullPrototype: true }),
  fc.record({ type: fc.constant('stop' as const), runId }, { noNullPrototype: true }),
  fc.record({ type: fc.constant('revealLine' as const), runId, line: fc.integer({ min: 1, max: 10_000_000 }) }, { noNullPrototype: true }),
  fc.record({ type: fc.constant('pinToken' as const), runId, index: fc.option(fc.nat(10_000_000), { nil: null }) }, { noNullPrototype: true }),
  fc.record({ type: fc.constant('selectLayer' as const), layer: fc.oneof(fc.constant('all' as const), fc.nat(10_000)) }, { noNullPrototype: true }),
  fc.record({ type: fc.constant('action' as const), action: fc.constantFrom(...HOST_ACTIONS) }, { noNullPrototype: true }),
  fc.record({ type: fc.constant('rendered' as const), runId, seq: runId, tokens: fc.nat(10_000_000) }, { noNullPrototype: true }),
);

/** Values a structured clone can carry, beyond JSON: typed arrays, maps, dates, bigints, sparse arrays, null prototypes. */
const cloneable = fc.anything({
  maxDepth: 3, withBigInt: true, withBoxedValues: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true,
  withObjectString: true, withSparseArray: true, withTypedArray: true, key: nastyKey,
});
const nastyValue = fc.oneof(
  cloneable,
  nastyJson.map((s) => { try { return JSON.parse(s) as unknown; } catch { return s; } }),
  fc.constantFrom(NaN, Infinity, -Infinity, -0, 2 ** 53, -1, 1.5, 10_000_001, Number.MAX_VALUE, 'all', '', 'x'.repeat(MAX_PROMPT_CHARS + 1), 1n, -1n, 10n ** 30n),
);

/** A real message with one field replaced, removed or added, or the message wrapped and re-keyed. */
const mutated = fc.tuple(validMessage, fc.oneof(nastyKey, fc.constantFrom('type', 'runId', 'prompt', 'settings', 'line', 'index', 'layer', 'action', 'seq', 'tokens')),
  fc.option(nastyValue, { nil: undefined }), fc.nat(4)).map(([m, key, value, how]) => {
  const out: Record<string, unknown> = { ...m };
  if (how === 0 && out.settings && typeof out.settings === 'object') (out.settings as Record<string, unknown>)[key] = value;
  else if (value === undefined) delete out[key];
  else if (how === 1) {
    // a duplicate key in JSON text: the later one wins when parsed (values too deep or not JSON stay as they are)
    try {
      return JSON.parse(JSON.stringify(out).replace(/^\{/, () => `{${JSON.stringify(key)}:${JSON.stringify(value) ?? 'null'},`)) as unknown;
    } catch {
      out[key] = value;
    }
  } else if (how === 2) Object.defineProperty(out, key, { value, enumerable: true, configurable: true, writable: true });
  else out[key] = value;
  return out as unknown;
});

export const messageInputs: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: mutated },
  { weight: 2, arbitrary: validMessage as fc.Arbitrary<unknown> },
  { weight: 2, arbitrary: cloneable },
  { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.parse(JSON.stringify({ type: 'run', ...((typeof v === 'object' && v) || {}) })) as unknown) },
  { weight: 1, arbitrary: nastyJson.map(jsonOr).map((s) => JSON.parse(`{"type":"run","prompt":"x","__proto__":${s},"settings":{"__proto__":{"maxNewTokens":1},"constructor":${s}}}`) as unknown) },
);

export function checkMessage(raw: unknown): WebviewMessage | undefined {
  const parsed = timed(() => parseWebviewMessage(raw));
  if (parsed === undefined) return undefined;
  if (Object.getPrototypeOf(parsed) !== Object.prototype || parsed === raw) throw new Error('the result is not a fresh plain object');
  const allowed = ['type', ...FIELDS[parsed.type]];
  const extra = Object.keys(parsed).filter((k) => !allowed.includes(k));
  if (extra.length > 0 || allowed.some((k) => !Object.hasOwn(parsed, k))) throw new Error(`${parsed.type} has fields ${Object.keys(parsed).join(', ')}; expected ${allowed.join(', ')}`);
  if (parsed.type === 'run') {
    if (parsed.settings === (raw as { settings?: unknown }).settings || Object.getPrototypeOf(parsed.settings) !== Object.prototype) throw new Error('run settings are not a fresh copy');
    if (Object.keys(parsed.settings).sort().join() !== Object.keys(SAMPLING_RANGES).sort().join()) throw new Error(`run settings have fields ${Object.keys(parsed.settings).join(', ')}`);
  }
  deepStrictEqual(parseWebviewMessage(parsed), parsed, 'a validated message validates again to itself');
  return parsed;
}

export interface MessageStats {
  accepted: number;
  rejected: number;
}

export function messageProperty(stats: MessageStats): fc.IProperty<[unknown]> {
  return fc.property(messageInputs, (raw) => {
    if (checkMessage(raw) === undefined) stats.rejected++;
    else stats.accepted++;
  });
}

export function validMessageProperty(): fc.IProperty<[WebviewMessage]> {
  return fc.property(validMessage, (m) => {
    deepStrictEqual(checkMessage(structuredClone(m)), m, 'a well-formed message is accepted as it is');
  });
}

