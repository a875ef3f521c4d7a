import { resolve } from 'node:path';
import type { ProviderPreference } from '../engine/providers';

/** dist/cli.js sits one level below the repository (or extension package) root. */
export const BUNDLED_MODEL = resolve(__dirname, '..', 'models', 'moe-lens-mini');

export function providersOption(value: string): ProviderPreference {
  return value === 'auto' ? 'auto' : value.split(',').map((s) => s.trim()).filter(Boolean);
}

export function numberOption(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new RangeError(`--${name} must be a number, got "${value}"`);
  return n;
}
