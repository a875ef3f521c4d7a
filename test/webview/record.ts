/** Event streams recorded from the real engine (the bundled model on a bundled sample program). */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadModel } from '../../extension/engine/model';
import { formatPrompt } from '../../extension/engine/modelDir';
import { run } from '../../extension/engine/run';
import { RunChannel, replayTrace } from '../../extension/inspector/stream';
import type { HostMessage } from '../../extension/protocol';
import { traceFromJson, traceToJson } from '../../extension/trace/jsonFormat';
import type { TraceStore } from '../../extension/trace/store';
import type { SamplingSettings } from '../../extension/trace/types';
import { BUNDLED, ROOT } from '../helpers';

export const GREEDY: SamplingSettings = { maxNewTokens: 400, temperature: 0, topK: 0, topP: 1, seed: 0 };

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
    for (;;) {
      const r = await gen.next();
      if (r.done) return { source, prompt, live, store: r.value };
      channel.engineEvent(r.value);
    }
  } finally {
    await model.session.release();
  }
}

/** The recorded run saved as a trace file, read back, and replayed as the trace editor would. */
export function replayOf(store: TraceStore, runId: number): HostMessage[] {
  const messages: HostMessage[] = [];
  replayTrace(traceFromJson(traceToJson(store)), runId, (m) => messages.push(m));
  return messages;
}
