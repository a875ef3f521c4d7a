import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ModelError } from './engine/errors';
import { loadModel } from './engine/model';
import { fixedSample, readHeldout, solve } from './eval/heldout';

export const BUNDLED_MODEL = resolve(__dirname, '..', 'models', 'moe-lens-mini');

const USAGE = `moe-lens eval [--model DIR] [--limit N] [--show K] [--ep LIST]
  Greedy-decodes the model's held-out programs (heldout.jsonl) and scores exact match of the answer.`;

async function evalCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string', default: BUNDLED_MODEL },
      limit: { type: 'string' },
      show: { type: 'string', default: '0' },
      ep: { type: 'string', default: 'auto' },
    },
  });
  const providers = values.ep === 'auto' ? 'auto' : values.ep.split(',');
  const model = await loadModel(resolve(values.model), { providers, log: (l) => console.error(l) });
  const all = await readHeldout(model.folder.dir);
  const programs = values.limit ? fixedSample(all, Number(values.limit)) : all;
  const show = Number(values.show);
  console.log(`model: ${model.folder.dir} (${model.provider})`);
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
  await model.session.release();
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'eval':
      return evalCommand(rest);
    default:
      console.error(USAGE);
      return command === undefined || command === '--help' ? 0 : 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => {
    console.error(e instanceof ModelError ? `error: ${e.message}` : e);
    process.exitCode = 1;
  },
);
