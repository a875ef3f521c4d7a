/**
 * `npm run soak`: 800 warm-up runs, then 500 measured runs (or --warmup W --runs N) of the bundled model in
 * one process, cancelled at random points, with panels closing and reopening mid-stream and the model
 * reloaded every 50 runs. Ends with `soak: N runs, rss growth X%, live tensors growth Y` (growth over the
 * measured runs); exits 1 unless X ≤ 5 and Y = 0 (and none live at the end).
 *   node --expose-gc dist/soak/main.js [--runs N] [--warmup W] [--seed S] [--reload-every R]
 */
import { parseArgs } from 'node:util';
import { runSoak } from './soak';

const MAX_RSS_GROWTH_PERCENT = 5;

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '500' }, warmup: { type: 'string', default: '800' }, seed: { type: 'string', default: '1' }, 'reload-every': { type: 'string', default: '50' } } });
  const runs = Number(values.runs);
  const seed = Number(values.seed);
  const warmup = Number(values.warmup);
  if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(seed) || !Number.isInteger(warmup) || warmup < 0) {
    throw new RangeError('--runs must be a positive integer, --warmup a non-negative integer and --seed an integer');
  }
  if (!(globalThis as { gc?: unknown }).gc) console.error('warning: run with node --expose-gc for a steady rss figure');
  const r = await runSoak({ runs, warmup, seed, reloadEvery: Number(values['reload-every']) || 50, log: (l) => console.log(l) });
  console.log(`cancels: ${JSON.stringify(r.cancels)}, panel reopens ${r.panelReopens}, model reloads ${r.reloads}, `
    + `${r.tensorsSeen} session tensors tracked, ${r.liveAtEnd} live at the end (${r.seconds.toFixed(1)} s)`);
  console.log(`soak: ${r.runs} runs, rss growth ${r.rssGrowthPercent.toFixed(1)}%, live tensors growth ${r.liveTensorGrowth}`);
  return r.rssGrowthPercent <= MAX_RSS_GROWTH_PERCENT && r.liveTensorGrowth === 0 && r.liveAtEnd === 0 ? 0 : 1;
}

main().then((code) => { process.exitCode = code; }, (e: unknown) => { console.error(e); process.exitCode = 1; });
