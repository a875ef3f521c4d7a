/**
 * `npm run fuzz`: the trace readers, the webview message validator and model-folder loading under
 * fast-check, with a fixed seed. Ends with `fuzz: N inputs, C crashes, H hangs`; exits 1 on any crash or
 * hang, after printing each minimal counterexample.
 *   node dist/fuzz/main.js [--seed S] [--budget N] [--folders M] [--no-oversized]
 */
import { parseArgs } from 'node:util';
import { runFuzz } from './run';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string', default: '20261213' },
      budget: { type: 'string', default: '10000' },
      folders: { type: 'string', default: '40' },
      'no-oversized': { type: 'boolean', default: false },
    },
  });
  const [seed, budget, folders] = [Number(values.seed), Number(values.budget), Number(values.folders)];
  if (![seed, budget, folders].every(Number.isInteger)) throw new RangeError('--seed, --budget and --folders must be integers');
  const started = performance.now();
  const report = await runFuzz({ seed, budget, folders, oversized: !values['no-oversized'], log: (l) => console.log(l) });
  for (const t of report.targets) console.log(`  ${t.name}: ${t.inputs} inputs, ${t.crashes} crashes, ${t.hangs} hangs`);
  for (const f of report.failures) console.error(`\n${f}`);
  console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s, seed ${seed})`);
  console.log(`fuzz: ${report.inputs} inputs, ${report.crashes} crashes, ${report.hangs} hangs`);
  return report.crashes + report.hangs === 0 ? 0 : 1;
}

main().then((code) => { process.exitCode = code; }, (e: unknown) => { console.error(e); process.exitCode = 1; });
