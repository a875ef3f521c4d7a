/**
 * Webview rendering benchmark (not a test): the built inspector in Debian's Chromium, fed 20k tokens.
 * The stream is a real engine recording (the bundled model on media/samples/loop.py) extended to 20k
 * tokens by repeating its reasoning tokens with fresh indices, cache sizes and step numbers.
 *   p95 frame ms @1000 tok/s — the host's RunChannel posts the stream at 1000 tok/s; per animation frame,
 *     the time from the frame's start to the end of its rendering (a task queued from rAF runs after
 *     paint), 95th percentile over the run.                                                  goal ≤ 16
 *   20k-token trace interactive ms — a whole 20k-token trace posted at once (as replayTrace does) until
 *     it is painted, acknowledged, and a click on a token has pinned it.                      goal ≤ 1000
 * Build first with `node esbuild.mjs --production` (npm run bench:webview does).
 */
import { RunChannel } from '../extension/inspector/stream';
import { type HostMessage, PROTOCOL_VERSION, type StreamEvent } from '../extension/protocol';
import { mhaEquivalentBytes } from '../extension/trace/figures';
import { Segment } from '../extension/trace/types';
import { launchChromium } from '../test/browser';
import { openInspector, startServer } from '../test/webview/harness';
import { GREEDY, recordRun } from '../test/webview/record';

const TARGET_TOKENS = 20_000;
const RATE = 1000;

/** The recording extended to `target` tokens: prompt, a long reasoning made of repeated reasoning rows, the recorded answer. */
function extend(live: HostMessage[], target: number): { start: Extract<HostMessage, { type: 'runStart' }>; events: StreamEvent[]; done: Extract<HostMessage, { type: 'runDone' }> } {
  const start = live[0];
  const done = live.at(-1);
  if (start?.type !== 'runStart' || done?.type !== 'runDone') throw new Error('the recording is not one whole run');
  const recorded = live.flatMap((m) => (m.type === 'runEvents' ? m.events : []));
  const tokens = recorded.filter((e): e is Extract<StreamEvent, { type: 'token' }> => e.type === 'token');
  const prompt = tokens.filter((t) => t.span !== null);
  const reasoning = tokens.filter((t) => t.span === null && t.segment === Segment.Reasoning);
  const answer = tokens.filter((t) => t.segment === Segment.Answer);
  const recordedSteps = recorded.flatMap((e) => (e.type === 'segment' && e.event.type === 'step' ? [e.event.step] : []));
  const { kvBytesPerToken, numLayers } = start.meta.model;
  const events: StreamEvent[] = [];
  let index = 0;
  let step = 0;
  const kv = () => {
    const tokensInCache = index;
    events.push({ type: 'kv', step, tokensInCache, bytesPerLayer: Array.from({ length: numLayers }, () => tokensInCache * kvBytesPerToken), totalBytes: tokensInCache * kvBytesPerToken * numLayers, mhaEquivalentBytes: mhaEquivalentBytes(start.meta.model, tokensInCache) });
    events.push({ type: 'timing', step, phase: step === 0 ? 'prefill' : 'decode', runMs: 0.6, wallMs: 1 });
    step++;
  };
  const push = (t: Extract<StreamEvent, { type: 'token' }>, segment: Segment) => events.push({ ...t, index: index++, segment });
  for (const t of prompt) push(t, Segment.Prompt);
  kv();
  events.push({ type: 'segment', event: { type: 'enter', segment: Segment.Reasoning, token: index } });
  const firstReasoning = reasoning[0]?.index ?? 0;
  while (index < target - answer.length) {
    const offset = index - firstReasoning;
    for (const t of reasoning) {
      if (index >= target - answer.length) break;
      push(t, Segment.Reasoning);
      for (const s of recordedSteps) if (s.end - 1 === t.index) events.push({ type: 'segment', event: { type: 'step', step: { ...s, start: s.start + offset, end: s.end + offset } } });
      kv();
    }
  }
  events.push({ type: 'segment', event: { type: 'enter', segment: Segment.Answer, token: index } });
  for (const t of answer) {
    push(t, Segment.Answer);
    kv();
  }
  return { start, events, done };
}

const p95 = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.95))] ?? 0;
};

/** Page script: records, per animation frame, the time from the frame's start to after its rendering. */
const FRAME_PROBE = `(() => {
  window.__frames = [];
  const channel = new MessageChannel();
  let started = 0;
  channel.port1.onmessage = () => window.__frames.push(performance.now() - started);
  const tick = () => { started = performance.now(); channel.port2.postMessage(0); requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
})()`;

async function main(): Promise<void> {
  const rec = await recordRun(1, 'loop.py', GREEDY, 16);
  const { start, events, done } = extend(rec.live, TARGET_TOKENS);
  const tokenCount = events.filter((e) => e.type === 'token').length;
  console.log(`stream: the bundled model's run on media/samples/loop.py (${rec.store.tokenCount} tokens, real engine), extended to ${tokenCount} tokens by repeating its reasoning tokens`);
  const browser = await launchChromium();
  const server = await startServer();
  try {
    const init: HostMessage = { type: 'init', protocol: PROTOCOL_VERSION, mode: 'live', defaults: GREEDY, layer: start.meta.model.moeLayers[0], prompt: rec.source, title: 'MoE Lens' };

    // baseline: frames of the idle panel
    const idle = await openInspector(browser, server.url, 'dark');
    await idle.post([init]);
    await idle.page.evaluate(FRAME_PROBE);
    await new Promise((r) => setTimeout(r, 2000));
    const idleFrames = (await idle.page.evaluate('window.__frames')) as number[];
    await idle.close();

    // live at 1000 tok/s through the host's RunChannel (batches every 16 ms)
    const live = await openInspector(browser, server.url, 'dark');
    await live.post([init]);
    await live.page.evaluate(FRAME_PROBE);
    const cdp = await live.context.newCDPSession(live.page);
    await cdp.send('Performance.enable');
    const outbox: HostMessage[] = [];
    const channel = new RunChannel(10, (m) => outbox.push(m), 16);
    channel.start(start.meta);
    const began = Date.now();
    let next = 0;
    while (next < events.length) {
      const due = Math.floor(((Date.now() - began) / 1000) * RATE);
      while (next < events.length) {
        const e = events[next];
        if (e.type === 'token' && e.index >= due) break;
        channel.push(e);
        next++;
      }
      if (outbox.length > 0) await live.post(outbox.splice(0));
      await new Promise((r) => setTimeout(r, 4));
    }
    channel.done(done.summary);
    await live.post(outbox.splice(0));
    const streamed = (Date.now() - began) / 1000;
    const last = (await live.posted()).length;
    void last;
    await new Promise((r) => setTimeout(r, 300));
    const frames = (await live.page.evaluate('window.__frames')) as number[];
    const metrics = Object.fromEntries(((await cdp.send('Performance.getMetrics')).metrics as { name: string; value: number }[]).map((m) => [m.name, m.value]));
    const work = (await live.page.evaluate('window.__moeLensStats.workMs')) as number[];
    const ack = (await live.posted()).filter((m) => m.type === 'rendered').at(-1);
    await live.close();
    console.log(`streamed ${tokenCount} tokens in ${streamed.toFixed(1)} s (${(tokenCount / streamed).toFixed(0)} tok/s); last ack: ${ack?.tokens} tokens; ${frames.length} frames`);
    console.log(`p95 frame ms @1000 tok/s: ${p95(frames).toFixed(1)}`);
    console.log(`  of which message folding + React commit (p95): ${p95(work).toFixed(1)} ms; worst frame ${Math.max(...frames).toFixed(1)} ms`);
    console.log(`  baseline, idle panel (p95): ${p95(idleFrames).toFixed(1)} ms`);
    console.log(`  main thread over the run: script ${metrics.ScriptDuration?.toFixed(1)} s, style ${metrics.RecalcStyleDuration?.toFixed(1)} s, layout ${metrics.LayoutDuration?.toFixed(1)} s, tasks ${metrics.TaskDuration?.toFixed(1)} s`);

    // flat out: the whole trace at once, until painted, acknowledged and interactive (a click pins a token)
    const runs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const page = await openInspector(browser, server.url, 'dark');
      const messages: HostMessage[] = [{ ...init, mode: 'replay' }, { ...start, runId: 20 + i, seq: 0, mode: 'replay' }, { type: 'runEvents', runId: 20 + i, seq: 1, events }, { type: 'runDone', runId: 20 + i, seq: 2, summary: done.summary }];
      await page.page.evaluate((m) => { (globalThis as unknown as { __bench: unknown }).__bench = m; }, messages);
      const ms = (await page.page.evaluate(`new Promise((resolve) => {
        const t0 = performance.now();
        for (const m of window.__bench) window.postMessage(m, '*');
        const wait = () => {
          if (!window.__posted.some((m) => m.type === 'rendered' && m.seq === 2)) return requestAnimationFrame(wait);
          const token = document.querySelector('[data-t]');
          token.dispatchEvent(new MouseEvent('click', { bubbles: true }));
          const pinned = () => (document.querySelector('.tok.pinned') ? resolve(performance.now() - t0) : requestAnimationFrame(pinned));
          pinned();
        };
        wait();
      })`)) as number;
      runs.push(ms);
      await page.close();
    }
    console.log(`20k-token trace interactive ms: ${Math.round([...runs].sort((a, b) => a - b)[1])}`);
    console.log(`  median of 3 (${runs.map((r) => Math.round(r)).join(', ')} ms), from posting the messages to a click having pinned a token`);
  } finally {
    await browser.close();
    await server.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
