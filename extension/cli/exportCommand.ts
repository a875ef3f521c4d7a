import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { traceToHtml } from '../report/html';
import { perfettoJson } from '../report/perfetto';
import { routingToCsv, tokensToCsv } from '../trace/csv';
import { traceToJson } from '../trace/jsonFormat';
import { traceToJsonl } from '../trace/jsonl';
import { writeFileAtomic } from '../trace/writeAtomic';
import { readTraceFile } from './traceInput';

export const EXPORT_FORMATS = ['perfetto', 'html', 'csv', 'jsonl', 'json'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const EXPORT_USAGE = `moe-lens export TRACE --format perfetto|html|csv|jsonl|json --out FILE
  perfetto: Chrome trace-event JSON for ui.perfetto.dev; html: a self-contained report; csv: routing at
  FILE and tokens at FILE's name with .tokens.csv; jsonl, json: the trace in MoE Lens's own formats`;

export async function exportCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { format: { type: 'string' }, out: { type: 'string' } },
  });
  if (positionals.length !== 1) throw new RangeError(`export takes one trace file, got ${positionals.length}\n${EXPORT_USAGE}`);
  const format = values.format as ExportFormat | undefined;
  if (!format || !EXPORT_FORMATS.includes(format)) throw new RangeError(`--format must be one of ${EXPORT_FORMATS.join(', ')}${values.format ? `, got "${values.format}"` : ''}\n${EXPORT_USAGE}`);
  if (!values.out) throw new RangeError(`--out is required\n${EXPORT_USAGE}`);
  const store = await readTraceFile(positionals[0]);
  const out = resolve(values.out);
  const written = [out];
  if (format === 'csv') {
    const tokensPath = out.replace(/\.csv$/i, '') + '.tokens.csv';
    await writeFileAtomic(out, routingToCsv(store));
    await writeFileAtomic(tokensPath, tokensToCsv(store));
    written.push(tokensPath);
  } else {
    const text = format === 'perfetto' ? perfettoJson(store)
      : format === 'html' ? traceToHtml(store, { nonce: randomBytes(18).toString('base64') })
        : format === 'jsonl' ? traceToJsonl(store) : traceToJson(store);
    await writeFileAtomic(out, text);
  }
  for (const path of written) console.log(`${format}: ${path}`);
  return 0;
}
