import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** Tests run from dist/test/, bundled; the repository root is two levels up. */
export const ROOT = resolve(__dirname, '..', '..');
export const BUNDLED = join(ROOT, 'models', 'moe-lens-mini');

/** A throw-away copy of the bundled model folder, to damage in a test. */
export async function modelCopy(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'moe-lens-model-'));
  await cp(BUNDLED, dir, { recursive: true });
  return dir;
}

export async function editJson(file: string, edit: (value: Record<string, unknown>) => void): Promise<void> {
  const value = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  edit(value);
  await writeFile(file, JSON.stringify(value));
}
