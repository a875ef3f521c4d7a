/** Runs every fuzz target with one seed and budget; used by `npm run fuzz` (main.ts) and test/fuzz.test.ts. */
import { rm } from 'node:fs/promises';
import { traceToJson } from '../../extension/trace/jsonFormat';
import { traceToJsonl } from '../../extension/trace/jsonl';
import { type FuzzOptions, Hang, type TargetResult, runTarget } from './common';
import { type MessageStats, messageProperty, validMessageProperty } from './messages';
import { type FolderStats, folderProperty, makeFolderRoot } from './modelFolders';
import { type TraceStats, checkTrace, oversizedInputs, realTrace, traceProperty } from './traces';

export interface FuzzReport {
  inputs: number;
  crashes: number;
  hangs: number;
  targets: TargetResult[];
  failures: string[];
}

export interface FuzzRunOptions extends FuzzOptions {
  /** Damaged model folders to try (each opens a session: about a second apiece). */
  folders: number;
  /** Also feed texts past the 256 MiB limit (allocates that much once). */
  oversized?: boolean;
}

/** A fixed input that must be refused (or imported) within the limit; counted like one drawn input. */
function fixedCase(name: string, f: () => void): TargetResult {
  try {
    f();
    return { name, inputs: 1, crashes: 0, hangs: 0 };
  } catch (e) {
    const hang = e instanceof Hang;
    return { name, inputs: 1, crashes: hang ? 0 : 1, hangs: hang ? 1 : 0, failure: `${name}: ${(e as Error).stack ?? String(e)}` };
  }
}

export async function runFuzz(options: FuzzRunOptions): Promise<FuzzReport> {
  const log = options.log ?? (() => {});
  const { seed, budget } = options;
  const store = await realTrace();
  const real = { json: traceToJson(store), jsonl: traceToJsonl(store) };
  log(`real trace: ${store.tokenCount} tokens, ${real.json.length} characters of JSON`);
  const targets: TargetResult[] = [];

  targets.push(fixedCase('real trace round trip', () => {
    for (const format of ['json', 'jsonl'] as const) {
      if (checkTrace(real[format], format) !== 'imported') throw new Error(`the real ${format} trace was refused`);
    }
  }));
  if (options.oversized) {
    for (const [text, format] of oversizedInputs()) {
      targets.push(fixedCase(`oversized ${format}`, () => {
        if (checkTrace(text, format) !== 'refused') throw new Error('a text over the size limit was imported');
      }));
    }
  }

  const traceStats: TraceStats = { imported: 0, refused: 0 };
  const traceRuns = Math.ceil(budget * 0.6);
  targets.push(await runTarget('traces', traceProperty(real, traceStats), seed, traceRuns));
  log(`traces: ${traceStats.imported} imported and round-tripped, ${traceStats.refused} refused with TraceFormatError`);

  const messageStats: MessageStats = { accepted: 0, rejected: 0 };
  const messageRuns = Math.max(1, budget - traceRuns);
  targets.push(await runTarget('webview messages', messageProperty(messageStats), seed + 1, Math.ceil(messageRuns * 0.8)));
  targets.push(await runTarget('well-formed webview messages', validMessageProperty(), seed + 2, Math.ceil(messageRuns * 0.2)));
  log(`webview messages: ${messageStats.accepted} accepted, ${messageStats.rejected} rejected`);

  if (options.folders > 0) {
    const root = await makeFolderRoot();
    try {
      const folderStats: FolderStats = { loaded: 0, refused: 0, runErrors: [] };
      targets.push(await runTarget('model folders', folderProperty(root, folderStats), seed + 3, options.folders));
      log(`model folders: ${folderStats.refused} refused with ModelError, ${folderStats.loaded} loaded and ran (${folderStats.runErrors.length} of those runs ended in an error)`);
      for (const e of new Set(folderStats.runErrors)) log(`  run error: ${e.slice(0, 300)}`);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }

  const sum = (k: 'inputs' | 'crashes' | 'hangs') => targets.reduce((n, t) => n + t[k], 0);
  return { inputs: sum('inputs'), crashes: sum('crashes'), hangs: sum('hangs'), targets, failures: targets.flatMap((t) => (t.failure ? [t.failure] : [])) };
}
