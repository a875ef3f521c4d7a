/** Runs recorded from the real engine (the bundled model on a bundled sample program), as the host posts them. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadModel } from '../../extension/engine/model';
import { formatPrompt } from '../../extension/engine/modelDir';
import { checkRun } from '../../extension/engine/checkRun';
import { run } from '../../extension/engine/run';
import { RunChannel, traceMessages } from '../../extension/inspector/stream';
import type { HostMessage } from '../../extension/protocol';
import { runSummary } from '../../extension/trace/figures';
import { traceFromJson, traceToJson } from '../../extension/trace/jsonFormat';
import { DEFAULT_SAMPLING, type SamplingSettings } from '../../extension/trace/sampling';
import type { TraceStore } from '../../extension/trace/store';
import { BUNDLED, ROOT } from '../helpers';

export const GREEDY: SamplingSettings = { ...DEFAULT_SAMPLING };

export interface Recording {
  source: string;
  prompt: string;
  /** The live run as the panel's RunChannel posts it. */
  live: HostMessage[];
  store: TraceStore;
}

/** Runs the bundled model on media/samples/`sample` and records what the host would post. */
export async function recordRun(runId: number, sample = 'loop.py', settings = GREEDY, intervalMs = 1): Promise<Recording> {
  const model = await loadModel(BUNDLED);
  try {
    const source = await readFile(join(ROOT, 'media', 'samples', sample), 'utf8');
    const prompt = formatPrompt(model.folder, source);
    const live: HostMessage[] = [];
    const channel = new RunChannel(runId, (m) => live.push(m), intervalMs);
    const gen = run(model, { prompt, settings });
    let store: TraceStore | undefined;
    for (;;) {
      const r = await gen.next();
      if (r.done) return { source, prompt, live, store: r.value };
      const e = r.value;
      if (e.type === 'start') {
        store = e.store;
        channel.start(e.store);
      }
      else if (e.type === 'step') {
        channel.step(e.segments);
        await new Promise((resolve) => setTimeout(resolve, 0)); // let batches go out as they would in the extension host
      } else {
        const { type: _, ...summary } = e;
        if (store) store.checks = checkRun(model.folder, store, source);
        channel.done(summary);
      }
    }
  } finally {
    await model.session.release();
  }
}

/** The recorded run saved as a trace file, read back, and replayed as the trace editor would. */
export function replayOf(store: TraceStore, runId: number): HostMessage[] {
  const back = traceFromJson(traceToJson(store));
  return traceMessages(back, runId, runSummary(back));
}
