import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { traceFromJson } from '../trace/jsonFormat';
import { traceFromJsonl } from '../trace/jsonl';
import type { TraceStore } from '../trace/store';

/** Reads a trace file written by MoE Lens (.moetrace.jsonl as JSONL, anything else as JSON); throws RangeError or TraceFormatError. */
export async function readTraceFile(path: string): Promise<TraceStore> {
  const file = resolve(path);
  const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new RangeError(`cannot read the trace ${file}: ${e.code === 'ENOENT' ? 'it does not exist' : e.message}`);
  });
  return file.endsWith('.jsonl') ? traceFromJsonl(text) : traceFromJson(text);
}
