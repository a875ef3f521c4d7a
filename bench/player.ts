/**
 * A live stream replayed inside the page at the engine's pace, so that bench:webview times the inspector
 * and not the harness's delivery. The messages are those a RunChannel posts while the engine makes `rate`
 * tokens/s (computed here, in simulated time); they travel to the page before timing starts, without their
 * routing columns, which a 48 × 128 model makes ~27 KB per token — more than DevTools' pipe carries at 1000
 * tok/s. The page fills each message's routing from a pool of real columns (the trace's first tokens,
 * reused cyclically) and posts it with window.postMessage at its time, as VS Code delivers a webview message:
 * fresh typed arrays, structured-cloned, on the page's main thread.
 */
import { RunChannel } from '../extension/inspector/stream';
import { type HostMessage, MAX_KEPT_SCORES } from '../extension/protocol';
import { runSummary } from '../extension/trace/figures';
import type { TraceStore } from '../extension/trace/store';
import { TraceFeeder } from './streams';

export interface Scheduled {
  /** Milliseconds after the stream starts. */
  at: number;
  m: HostMessage;
}

/** The channel's batching interval in the extension (RunChannel's default). */
const CHANNEL_MS = 16;

/** What a RunChannel posts for `trace` decoded at `rate` tokens/s, routing columns left empty for the page to fill. */
export function scheduledStream(trace: TraceStore, runId: number, rate: number): Scheduled[] {
  const out: Scheduled[] = [];
  let now = 0;
  const feeder = new TraceFeeder(trace);
  // flushed by hand at simulated times: with this interval the channel posts by itself only at the prefill, as it does in the extension
  const channel = new RunChannel(runId, (m) => out.push({ at: now, m: withoutRouting(m) }), 2 ** 30);
  channel.start(feeder.live);
  let flushed = 0;
  while (feeder.next()) {
    channel.step();
    now += 1000 / rate;
    if (now - flushed >= CHANNEL_MS) {
      channel.flush();
      flushed = now;
    }
  }
  channel.done(runSummary(trace));
  return out;
}

function withoutRouting(m: HostMessage): HostMessage {
  if (m.type !== 'runData' || !m.tokens) return m;
  const { scoreSums: _, ...tokens } = m.tokens;
  return { ...m, tokens: { ...tokens, expertIds: new Int16Array(0), weights: new Float32Array(0), scores: new Float32Array(0) } };
}

export interface RoutingPool {
  layers: number;
  k: number;
  experts: number;
  tokens: number;
  /** Per MoE layer, token-major, as the trace store keeps them. */
  expertIds: Int16Array[];
  weights: Float32Array[];
  scores: Float32Array[];
  /** The webview's MAX_KEPT_SCORES: batches ending past it carry score sums. */
  maxKeptScores: number;
}

/** The routing of the trace's first tokens, at most `maxBytes` of it. */
export function routingPool(trace: TraceStore, maxBytes = 24 * 2 ** 20): RoutingPool {
  const { moeLayers, expertsPerToken: k, nRoutedExperts: experts } = trace.meta.model;
  const layers = moeLayers.length;
  const tokens = Math.max(1, Math.min(trace.tokenCount, Math.floor(maxBytes / (layers * (6 * k + 4 * experts)))));
  const routing = moeLayers.map((_, l) => trace.routing(l));
  return {
    layers, k, experts, tokens,
    expertIds: routing.map((r) => r.expertIds.slice(0, tokens * k)),
    weights: routing.map((r) => r.weights.slice(0, tokens * k)),
    scores: routing.map((r) => r.scores.slice(0, tokens * experts)),
    maxKeptScores: MAX_KEPT_SCORES,
  };
}

/**
 * Page script (after dist/bench/pageWire.js): `window.__play(schedule, pool)` posts every message at its
 * time (checked every 4 ms, as timers allow) as the extension does, a batch as one runBatch, filling its
 * routing columns from the pool (layer-major, as RunChannel lays them out) in the wire buffer, and past
 * `pool.maxKeptScores` the scores' sums per segment in place of the scores, as RunChannel does; resolves
 * with the seconds the stream took.
 */
export const PLAYER = `window.__play = (schedule, pool) => new Promise((resolve) => {
  const { layers: L, k, experts: E, tokens: P, maxKeptScores } = pool;
  const { batchColumns, carriesScoreSums, toWire } = window.__wire;
  const fill = (m) => {
    if (m.type !== 'runData' || !m.tokens || m.tokens.count === 0) return toWire(m);
    const { first, count: c } = m.tokens;
    const s = m.steps;
    const summed = carriesScoreSums(c, first + c, L * E, maxKeptScores);
    const columns = batchColumns(first, c, s ? s.first : 0, s ? s.count : 0, { routing: L * k, scores: summed ? 0 : L * E, sums: summed ? 3 * L * E : 0, layers: s && s.count ? s.kvBytes.length / s.count : 0 });
    for (const key of ['ids', 'segments', 'spans']) columns.tokens[key].set(m.tokens[key]);
    columns.tokens.texts = m.tokens.texts;
    if (s) for (const key of ['tokensInCache', 'kvBytes', 'runMs']) columns.steps[key].set(s[key]);
    const { expertIds: ids, weights, scores, scoreSums: sums } = columns.tokens;
    for (let l = 0; l < L; l++) {
      for (let t = 0; t < c;) {
        const p = (first + t) % P, n = Math.min(c - t, P - p);
        ids.set(pool.expertIds[l].subarray(p * k, (p + n) * k), (l * c + t) * k);
        weights.set(pool.weights[l].subarray(p * k, (p + n) * k), (l * c + t) * k);
        if (!summed) scores.set(pool.scores[l].subarray(p * E, (p + n) * E), (l * c + t) * E);
        else for (let i = 0; i < n; i++) {
          const base = (Math.min(2, m.tokens.segments[t + i]) * L + l) * E, from = (p + i) * E;
          for (let x = 0; x < E; x++) sums[base + x] += pool.scores[l][from + x];
        }
        t += n;
      }
    }
    return toWire({ ...m, tokens: columns.tokens, steps: s ? columns.steps : null });
  };
  const t0 = performance.now();
  let i = 0;
  const tick = () => {
    const now = performance.now() - t0;
    while (i < schedule.length && schedule[i].at <= now) window.postMessage(fill(schedule[i++].m), '*');
    if (i < schedule.length) setTimeout(tick, 4);
    else resolve((performance.now() - t0) / 1000);
  };
  tick();
})`;
