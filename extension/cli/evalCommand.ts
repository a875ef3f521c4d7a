import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadModel } from '../engine/model';
import { PROGRAM_SETS, type ProgramSet, fixedSample, readHeldout, solve } from '../eval/heldout';
import { BUNDLED_MODEL, providersOption } from './options';

export const EVAL_USAGE = `moe-lens eval [--model DIR] [--set heldout|test | --file JSONL] [--limit N] [--show K] [--ep LIST]
  greedy-decodes the model's held-out programs (heldout.jsonl; --set test: the fresh test set, testset.jsonl;
  --file: any file in that format) and scores exact match of the answer`;

export async function evalCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string', default: BUNDLED_MODEL },
      limit: { type: 'string' },
      show: { type: 'string', default: '0' },
      ep: { type: 'string', default: 'auto' },
      set: { type: 'string', default: 'heldout' },
      file: { type: 'string' },
    },
  });
  if (!Object.hasOwn(PROGRAM_SETS, values.set)) throw new RangeError(`--set must be one of ${Object.keys(PROGRAM_SETS).join(', ')}, got "${values.set}"`);
  const setFile = values.file ? resolve(values.file) : PROGRAM_SETS[values.set as ProgramSet];
  const model = await loadModel(resolve(values.model), { providers: providersOption(values.ep), log: (l) => console.error(l) });
  try {
    const all = await readHeldout(model.folder.dir, setFile);
    const programs = values.limit ? fixedSample(all, Number(values.limit)) : all;
    const show = Number(values.show);
    console.log(`model: ${model.folder.dir} (${model.provider}), programs: ${values.file ? setFile : `${values.set} (${setFile})`}, ${programs.length}`);
    let correct = 0;
    let tokens = 0;
    const start = performance.now();
    for (const [i, program] of programs.entries()) {
      const r = await solve(model, program, i);
      correct += Number(r.correct);
      tokens += r.tokens;
      if (i < show) {
        console.log(`\n--- program ${i + 1}\n${program.program}\n--- reasoning${r.reasoning}--- answer: ${JSON.stringify(r.answer)} (${r.correct ? 'correct' : `expected ${JSON.stringify(r.expected)}`})`);
      }
      if ((i + 1) % 50 === 0) console.error(`${i + 1}/${programs.length}: ${correct} correct`);
    }
    const seconds = (performance.now() - start) / 1000;
    console.log(`\ngenerated ${tokens} tokens in ${seconds.toFixed(1)} s (${(tokens / seconds).toFixed(0)} tok/s, ${model.provider})`);
    console.log(`accuracy: ${(correct / programs.length).toFixed(4)} (${correct}/${programs.length})`);
    return 0;
  } finally {
    await model.session.release();
  }
}
