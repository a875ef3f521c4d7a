import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { LoadedModel } from '../engine/model';
import { formatPrompt } from '../engine/modelDir';
import { run } from '../engine/run';
import { DEFAULT_SAMPLING } from '../trace/sampling';
import type { TraceStore } from '../trace/store';

export interface HeldoutProgram {
  program: string;
  think: string;
  answer: string;
  /** The prompt as the training tokenizer (Python) encoded it. */
  prompt_ids: number[];
}

export interface ProgramResult {
  index: number;
  correct: boolean;
  expected: string;
  answer: string;
  reasoning: string;
  tokens: number;
}

/** The model folder's program sets: `heldout` (also used while developing the model) and `test` (fresh, never looked at during development). */
export const PROGRAM_SETS = { heldout: 'heldout.jsonl', test: 'testset.jsonl' } as const;
export type ProgramSet = keyof typeof PROGRAM_SETS;

/** Reads a program set: a file name inside `dir` (heldout.jsonl by default) or an absolute path. */
export async function readHeldout(dir: string, file: string = PROGRAM_SETS.heldout): Promise<HeldoutProgram[]> {
  const text = await readFile(resolve(dir, file), 'utf8');
  return text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as HeldoutProgram);
}

/** The answer is what follows the reasoning's closing tag, up to the end-of-sequence token. */
export function splitCompletion(text: string, thinkEnd: string): { reasoning: string; answer: string } {
  const cut = text.indexOf(thinkEnd);
  if (cut < 0) return { reasoning: text, answer: '' };
  return { reasoning: text.slice(0, cut), answer: text.slice(cut + thinkEnd.length).replace(/^\n+|\n+$/g, '') };
}

/** Greedy-decodes one program through the engine's run loop; the trace comes back with the result. */
export async function solve(model: LoadedModel, program: HeldoutProgram, index: number, maxNewTokens = DEFAULT_SAMPLING.maxNewTokens): Promise<ProgramResult & { store: TraceStore }> {
  const { folder } = model;
  const events = run(model, { prompt: formatPrompt(folder, program.program), settings: { ...DEFAULT_SAMPLING, maxNewTokens }, batchMs: Infinity });
  let next = await events.next();
  while (!next.done) next = await events.next();
  const store = next.value;
  if (store.done?.reason === 'error') throw new Error(`program ${index + 1}: ${store.done.message}`);
  const generatedCount = Math.max(0, store.stepCount - 1);
  const out = Array.from(store.tokenIds().subarray(store.tokenCount - generatedCount));
  const generated = folder.config.eosTokenIds.includes(out[out.length - 1]) ? out.slice(0, -1) : out;
  const text = folder.tokenizer.decode(generated, false).replace(folder.thinkStart, '');
  const { reasoning, answer } = splitCompletion(text, folder.thinkEnd);
  return { index, correct: answer === program.answer, expected: program.answer, answer, reasoning, tokens: out.length, store };
}

/** A fixed, spread-out sample: every (n/count)-th program, so the same programs each run. */
export function fixedSample<T>(items: readonly T[], count: number): T[] {
  if (count >= items.length) return [...items];
  return Array.from({ length: count }, (_, i) => items[Math.floor((i * items.length) / count)]);
}
