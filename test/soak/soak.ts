/**
 * The soak: many runs in one process against the bundled model, cancelled at random points — in the
 * prefill, mid-decode, or while the trace is being exported — with the panel's RunChannel dropped and
 * a new one started mid-stream, and the model released and loaded again (alternating two folders)
 * every `reloadEvery` runs. Measures resident memory after warm-up and at the end (after gc), and live
 * onnxruntime tensors: every tensor a session.run allocated (not the outputs written into the decoder's
 * preallocated step buffers) that has not been disposed, tracked by identity.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { fixedSample, readHeldout } from '../../extension/eval/heldout';
import { type LoadedModel, loadModel } from '../../extension/engine/model';
import { formatPrompt } from '../../extension/engine/modelDir';
import { run } from '../../extension/engine/run';
import { RunChannel } from '../../extension/inspector/stream';
import type { HostMessage } from '../../extension/protocol';
import { runSummary } from '../../extension/trace/figures';
import { traceFromJson, traceToJson } from '../../extension/trace/jsonFormat';
import { traceFromJsonl, traceToJsonl } from '../../extension/trace/jsonl';
import { DEFAULT_SAMPLING } from '../../extension/trace/sampling';
import type { TraceStore } from '../../extension/trace/store';
import { writeFileAtomic } from '../../extension/trace/writeAtomic';
import { BUNDLED } from '../helpers';

export interface SoakOptions {
  /** Runs measured: after the warm-up, to the end. */
  runs: number;
  seed?: number;
  /**
   * Runs before the baseline is taken (default 800). The process's resident set climbs for the first
   * ~800 runs (V8's heap capacity, onnxruntime's arena and the native allocator's pools reaching their
   * working size across ~15 model reloads: measured 2026-12-07, 171 MiB at run 100, 192 at 300, 206 at
   * 500, 209 at 800) and then holds within ~2% (213 MiB at run 2300): a baseline taken earlier measures
   * that climb, not a leak.
   */
  warmup?: number;
  reloadEvery?: number;
  maxTokens?: number;
  log?: (line: string) => void;
}

export interface SoakReport {
  runs: number;
  rssGrowthPercent: number;
  liveTensorGrowth: number;
  /** Tensors still live when no run is in progress, at the end (expected 0). */
  liveAtEnd: number;
  /** Session-allocated tensors seen in all: shows the tracking saw the runs. */
  tensorsSeen: number;
  cancels: { prefill: number; decode: number; export: number; none: number };
  panelReopens: number;
  reloads: number;
  seconds: number;
}

/** mulberry32: a small seeded generator, so a soak repeats. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
const memory = () => {
  const m = process.memoryUsage();
  return `JS heap ${mib(m.heapUsed)} of ${mib(m.heapTotal)}, external ${mib(m.external)}`;
};

const gc = (): void => {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) for (let i = 0; i < 3; i++) g();
};

/** Wraps a session's run to record the tensors it allocates; the Tensor prototype's dispose removes them. */
function track(model: LoadedModel, live: Set<ort.Tensor>, seen: { n: number }): void {
  const session = model.session as { run: ort.InferenceSession['run'] };
  const real = session.run.bind(model.session);
  session.run = (async (feeds: ort.InferenceSession.FeedsType, fetches?: unknown, options?: unknown) => {
    const out = await real(feeds as never, fetches as never, options as never);
    // an output given a preallocated tensor comes back as a new wrapper of that tensor's buffer: not the session's
    const given = fetches && typeof fetches === 'object' && !Array.isArray(fetches) ? fetches as Record<string, ort.Tensor | null> : {};
    for (const [name, t] of Object.entries(out)) {
      if (given[name]) continue;
      live.add(t);
      seen.n++;
    }
    return out;
  }) as ort.InferenceSession['run'];
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const { runs, seed = 1, reloadEvery = 50, maxTokens = 12, log = () => {} } = options;
  const warmup = Math.max(0, options.warmup ?? 800);
  const rand = random(seed);
  const pick = (n: number) => Math.floor(rand() * n);
  const work = await mkdtemp(join(tmpdir(), 'moe-lens-soak-'));
  const copy = join(work, 'model-copy');
  await cp(BUNDLED, copy, { recursive: true });
  const folders = [BUNDLED, copy];

  const live = new Set<ort.Tensor>();
  const seen = { n: 0 };
  const realDispose = ort.Tensor.prototype.dispose;
  ort.Tensor.prototype.dispose = function (this: ort.Tensor) {
    live.delete(this);
    realDispose.call(this);
  };
  const report: SoakReport = {
    runs: 0, rssGrowthPercent: 0, liveTensorGrowth: 0, liveAtEnd: 0, tensorsSeen: 0,
    cancels: { prefill: 0, decode: 0, export: 0, none: 0 }, panelReopens: 0, reloads: 0, seconds: 0,
  };
  const started = performance.now();
  let model: LoadedModel | undefined;
  let baseline = { rss: 0, live: 0 };
  try {
    const programs = fixedSample(await readHeldout(BUNDLED), 40);
    const load = async (i: number) => {
      if (model) await model.session.release();
      model = await loadModel(folders[i % folders.length], { sessionOptions: { intraOpNumThreads: 1, ...(process.env.SOAK_NO_ARENA ? { enableCpuMemArena: false } : {}) } });
      track(model, live, seen);
    };
    await load(0);
    let pendingExport: Promise<void> | undefined;
    for (let i = 0; i < warmup + runs; i++) {
      if (i > 0 && i % reloadEvery === 0) {
        await load(i / reloadEvery);
        report.reloads++;
      }
      const m = model as LoadedModel;
      const cancel = (['prefill', 'decode', 'export', 'none'] as const)[pick(4)];
      report.cancels[cancel]++;
      const abort = new AbortController();
      const abortAt = 1 + pick(maxTokens);
      const sampled = rand() < 0.3;
      const settings = { ...DEFAULT_SAMPLING, maxNewTokens: 1 + pick(maxTokens), ...(sampled ? { temperature: 0.8, topP: 0.95, seed: pick(1000) } : {}) };
      const prompt = formatPrompt(m.folder, programs[pick(programs.length)].program);
      // the panel: a channel that may be dropped mid-stream (the old panel's messages go nowhere) and replaced by a new one;
      // it posts after every step, whatever batches cost (the most messages a run can make)
      const first: HostMessage[] = [];
      let posted = first;
      let channel = new RunChannel(i * 2, (msg) => first.push(msg), 0, { maxShare: Infinity });
      const reopenAt = rand() < 0.3 ? pick(maxTokens) : -1;
      const events = run(m, { prompt, settings, signal: abort.signal });
      let runStore: TraceStore | undefined;
      let next = await events.next();
      while (!next.done) {
        const e = next.value;
        if (e.type === 'start') {
          runStore = e.store;
          channel.start(e.store);
          if (cancel === 'prefill') abort.abort();
        } else if (e.type === 'step') {
          channel.step(e.segments);
          if (e.step === reopenAt && runStore) {
            const reopened: HostMessage[] = [];
            posted = reopened;
            channel = new RunChannel(i * 2 + 1, (msg) => reopened.push(msg), 0, { maxShare: Infinity });
            channel.start(runStore);
            report.panelReopens++;
          }
          if (cancel === 'decode' && e.step >= abortAt) abort.abort();
        } else channel.done(e);
        next = await events.next();
      }
      const store = next.value;
      if (!store.done) throw new Error(`run ${i} ended without a done record`);
      if (posted.at(-1)?.type !== 'runDone' || posted.some((msg, j) => 'seq' in msg && msg.seq !== j)) throw new Error(`run ${i}: the panel's messages are not runStart … runDone numbered from 0`);
      // export: every few runs, to JSON or JSONL; a cancelled export is left running while the next run starts
      if (cancel === 'export' || i % 10 === 0) {
        await pendingExport;
        const file = join(work, `run-${i % 3}.moetrace.${i % 2 ? 'jsonl' : 'json'}`);
        const text = i % 2 ? traceToJsonl(store) : traceToJson(store);
        const write = writeFileAtomic(file, text);
        if (cancel === 'export') pendingExport = write;
        else {
          await write;
          if ((i % 2 ? traceFromJsonl(text) : traceFromJson(text)).tokenCount !== store.tokenCount) throw new Error(`run ${i}: the exported trace reads back short`);
        }
      }
      runSummary(store);
      if (i >= warmup) report.runs++;
      if (i + 1 === warmup) {
        await pendingExport;
        gc();
        baseline = { rss: process.memoryUsage().rss, live: live.size };
        log(`after ${warmup} warm-up runs: rss ${(baseline.rss / 2 ** 20).toFixed(1)} MiB, ${live.size} live tensors (${memory()})`);
      }
      if ((i + 1) % 100 === 0) log(`${i + 1}/${warmup + runs} runs, ${live.size} live tensors, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(1)} MiB (${memory()})`);
    }
    await pendingExport;
    // what the last model holds is part of the process either way: measure before releasing it
    await new Promise((r) => setTimeout(r, 10));
    gc();
    const rss = process.memoryUsage().rss;
    if (baseline.rss === 0) baseline = { rss, live: live.size };
    report.rssGrowthPercent = (100 * (rss - baseline.rss)) / baseline.rss;
    report.liveAtEnd = live.size;
    report.liveTensorGrowth = live.size - baseline.live;
    report.tensorsSeen = seen.n;
  } finally {
    ort.Tensor.prototype.dispose = realDispose;
    if (model) await (model as LoadedModel).session.release();
    await rm(work, { recursive: true, force: true });
  }
  report.seconds = (performance.now() - started) / 1000;
  return report;
}
