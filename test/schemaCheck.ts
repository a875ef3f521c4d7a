/** A checker for the subset of JSON Schema that docs/trace.schema.json uses (no validator package needed). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './helpers';

export type Json = Record<string, unknown>;
export const traceSchema = JSON.parse(readFileSync(join(ROOT, 'docs', 'trace.schema.json'), 'utf8')) as Json;

/** The paths at which `value` breaks `s` (a part of `schema`); empty when it conforms. */
export function schemaErrors(s: Json, value: unknown, schema: Json = traceSchema, path = '$'): string[] {
  if (typeof s.$ref === 'string') return schemaErrors(s.$ref.slice(2).split('/').reduce((o, k) => o[k] as Json, schema), value, schema, path);
  const out: string[] = [];
  const is = { integer: Number.isInteger(value), number: typeof value === 'number', string: typeof value === 'string', boolean: typeof value === 'boolean',
    null: value === null, array: Array.isArray(value), object: typeof value === 'object' && value !== null && !Array.isArray(value) };
  if (s.type !== undefined && !is[s.type as keyof typeof is]) return [`${path}: not ${String(s.type)}`];
  if ('const' in s && value !== s.const) out.push(`${path}: not ${String(s.const)}`);
  if (Array.isArray(s.enum) && !s.enum.includes(value)) out.push(`${path}: not in enum`);
  if (Array.isArray(s.oneOf) && (s.oneOf as Json[]).filter((o) => schemaErrors(o, value, schema, path).length === 0).length !== 1) out.push(`${path}: oneOf`);
  if (typeof value === 'number') {
    if (typeof s.minimum === 'number' && value < s.minimum) out.push(`${path}: < minimum`);
    if (typeof s.maximum === 'number' && value > s.maximum) out.push(`${path}: > maximum`);
    if (typeof s.exclusiveMinimum === 'number' && value <= s.exclusiveMinimum) out.push(`${path}: ≤ exclusiveMinimum`);
  }
  if (Array.isArray(value)) {
    if (typeof s.maxItems === 'number' && value.length > s.maxItems) out.push(`${path}: too long`);
    if (s.items) value.forEach((v, i) => out.push(...schemaErrors(s.items as Json, v, schema, `${path}[${i}]`)));
  }
  if (is.object) {
    const o = value as Json;
    for (const key of (s.required as string[] | undefined) ?? []) if (!(key in o)) out.push(`${path}.${key}: missing`);
    for (const [key, sub] of Object.entries((s.properties as Record<string, Json> | undefined) ?? {})) if (key in o) out.push(...schemaErrors(sub, o[key], schema, `${path}.${key}`));
  }
  return out;
}

