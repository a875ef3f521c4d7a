/**
 * The CLI's compare and export on real traces of the bundled model, and the checked reasoning of a
 * run: the demo's verdict, the trace's `checks` field (written, validated, round-tripped), its absence
 * for text that is not a program.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { compareTraces } from '../extension/analysis/compare';
import { fromStore } from '../extension/analysis/input';
import { traceFromJson, traceToJson } from '../extension/trace/jsonFormat';
import { traceFromJsonl } from '../extension/trace/jsonl';
import { TraceFormatError } from '../extension/trace/validate';
import { ROOT } from './helpers';
import { schemaErrors, traceSchema } from './schemaCheck';

const exec = promisify(execFile);
const CLI = join(ROOT, 'dist', 'cli.js');
const SAMPLE = join(ROOT, 'media', 'samples', 'loop.py');
const cli = (...args: string[]) => exec(process.execPath, [CLI, ...args], { cwd: ROOT });

interface Event { name?: unknown; ph?: unknown; pid?: unknown; tid?: unknown; ts?: unknown; dur?: unknown; args?: unknown }

/** Checks Chrome trace-event JSON: the fields each phase needs, times ≥ 0, and slices on one thread nest. */
export function traceEventProblems(doc: unknown): string[] {
  const problems: string[] = [];
  const events = (doc as { traceEvents?: unknown }).traceEvents;
  if (!Array.isArray(events)) return ['traceEvents is not an array'];
  const byThread = new Map<string, { ts: number; end: number; i: number }[]>();
  (events as Event[]).forEach((e, i) => {
    const where = `event ${i} (${String(e.ph)} ${JSON.stringify(e.name)?.slice(0, 30)})`;
    if (typeof e.name !== 'string') problems.push(`${where}: name is not a string`);
    if (!['X', 'C', 'M', 'B', 'E', 'i'].includes(e.ph as string)) problems.push(`${where}: unknown phase`);
    if (!Number.isInteger(e.pid)) problems.push(`${where}: pid is not an integer`);
    if (e.ph !== 'C' && !Number.isInteger(e.tid)) problems.push(`${where}: tid is not an integer`);
    if (e.ph === 'M') {
      if (typeof (e.args as { name?: unknown })?.name !== 'string') problems.push(`${where}: metadata without args.name`);
      return;
    }
    if (typeof e.ts !== 'number' || !Number.isFinite(e.ts) || e.ts < 0) problems.push(`${where}: ts ${String(e.ts)} is not a number ≥ 0`);
    if (e.ph === 'C') {
      const values = Object.values((e.args ?? {}) as object);
      if (values.length === 0 || values.some((v) => typeof v !== 'number' || !Number.isFinite(v))) problems.push(`${where}: counter args are not numbers`);
    }
    if (e.ph === 'X') {
      if (typeof e.dur !== 'number' || !Number.isFinite(e.dur) || e.dur < 0) problems.push(`${where}: dur ${String(e.dur)} is not a number ≥ 0`);
      const key = `${e.pid}/${e.tid}`;
      if (!byThread.has(key)) byThread.set(key, []);
      byThread.get(key)?.push({ ts: e.ts as number, end: (e.ts as number) + (e.dur as number), i });
    }
  });
  for (const [thread, slices] of byThread) {
    // parents first at equal start, as viewers sort them
    slices.sort((x, y) => x.ts - y.ts || y.end - x.end);
    const open: { end: number; i: number }[] = [];
    for (const s of slices) {
      while (open.length && open[open.length - 1].end <= s.ts) open.pop();
      const parent = open[open.length - 1];
      if (parent && s.end > parent.end) problems.push(`thread ${thread}: event ${s.i} [${s.ts}, ${s.end}) overlaps event ${parent.i} without nesting inside it`);
      open.push(s);
    }
  }
  return problems;
}

describe('cli: checked reasoning, compare and export on real traces of the bundled model', () => {
  let dir: string;
  let demo: { stdout: string; path: string };
  let shortA: string;
  let shortB: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'moe-lens-cli-export-'));
    const path = join(dir, 'demo.moetrace.json');
    demo = { stdout: (await cli('run', '--prompt-file', SAMPLE, '--out', path)).stdout, path };
    const six = join(dir, 'six.py');
    await writeFile(six, (await readFile(SAMPLE, 'utf8')).replace('n = 7', 'n = 6'));
    shortA = join(dir, 'a.moetrace.json');
    shortB = join(dir, 'b.moetrace.json');
    await cli('run', '--prompt-file', SAMPLE, '--max-tokens', '24', '--out', shortA);
    await cli('run', '--prompt-file', six, '--max-tokens', '24', '--out', shortB);
  }, { timeout: 120_000 });

  it('the demo says the reasoning reads a stale n=7 at step 13 and answers 19 5 where the program prints 19 3', async () => {
    assert.match(demo.stdout, /check: wrong \(15 steps written, the program runs 15\)/);
    assert.match(demo.stdout, /first wrong step: step 13 \(line 6\) wrote n=7 where the program has n=5/);
    assert.match(demo.stdout, /written: {2}L6: n = n - 2 ; n=7 ; 7 - 2 = 5 ; n=5/);
    assert.match(demo.stdout, /expected: L6: n = n - 2 ; n=5 ; 5 - 2 = 3 ; n=3/);
    assert.match(demo.stdout, /answer: "19 5" where the program prints "19 3"/);
    const text = await readFile(demo.path, 'utf8');
    const store = traceFromJson(text);
    const check = store.checks?.program;
    assert.ok(check, 'the trace carries the check');
    assert.equal(store.checks?.version, 1);
    assert.equal(check.result.correct, false);
    assert.equal(check.result.firstMismatch?.index, 12);
    assert.equal(check.stepTokens?.length, 15, 'each written step has its tokens');
    const [start, end] = check.stepTokens?.[12] ?? [0, 0];
    assert.match(store.tokenTexts().slice(start, end).join(''), /L6: n = n - 2 ; n=7/);
    assert.equal(traceToJson(store), text, 'the checks field round-trips byte for byte');
    assert.deepEqual(schemaErrors(traceSchema, JSON.parse(text)), [], 'docs/trace.schema.json describes the checks field');
    const jsonlPath = join(dir, 'demo.moetrace.jsonl');
    await cli('export', demo.path, '--format', 'jsonl', '--out', jsonlPath);
    assert.equal(traceToJson(traceFromJsonl(await readFile(jsonlPath, 'utf8'))), text, 'JSONL keeps the checks too');
  });

  it('reads the checks field as untrusted input: typed, bounded; a newer checks version is dropped; older traces load', async () => {
    const root = JSON.parse(await readFile(demo.path, 'utf8')) as Record<string, unknown> & { checks: { version: number; program: { result: { answer: { written: unknown } }; stepTokens: unknown } } };
    const withChecks = (edit: (r: typeof root) => void) => {
      const copy = structuredClone(root);
      edit(copy);
      return JSON.stringify(copy);
    };
    assert.equal(traceFromJson(withChecks((r) => delete (r as { checks?: unknown }).checks)).checks, undefined, 'a trace without checks loads');
    assert.equal(traceFromJson(withChecks((r) => { r.checks.version = 2; })).checks, undefined, 'a newer checks version is left out');
    const bad = (edit: (r: typeof root) => void, path: RegExp) => assert.throws(() => traceFromJson(withChecks(edit)), (e: unknown) => e instanceof TraceFormatError && path.test(e.path));
    bad((r) => { r.checks.program.result.answer.written = 5; }, /^checks\.program\.result\.answer\.written$/);
    bad((r) => { r.checks.program.result.answer.written = 'x'.repeat(5000); }, /^checks\.program\.result\.answer\.written$/);
    bad((r) => { r.checks.program.stepTokens = [[0, 1]]; }, /^checks\.program\.stepTokens$/);
    bad((r) => { (r.checks.program.stepTokens as number[][])[0] = [0, 1e9]; }, /^checks\.program\.stepTokens\[0\]\[1\]$/);
    bad((r) => { (r as { checks: unknown }).checks = []; }, /^checks$/);
    const text = (await readFile(demo.path, 'utf8')).replace('"result":{"checkable":true', '"result":{"__proto__":{"polluted":true},"checkable":true');
    const polluted = traceFromJson(text);
    assert.equal((polluted.checks?.program.result as unknown as { polluted?: boolean }).polluted, undefined, 'unknown keys never reach the result');
    assert.equal(Object.getPrototypeOf(polluted.checks?.program.result), Object.prototype);
  });

  it('prints nothing about a check for text that is not a program', async () => {
    const prose = join(dir, 'prose.txt');
    await writeFile(prose, 'Please add two and two.\n');
    const out = join(dir, 'prose.moetrace.json');
    const { stdout } = await cli('run', '--prompt-file', prose, '--max-tokens', '8', '--out', out);
    assert.doesNotMatch(stdout, /check:/);
    assert.equal(traceFromJson(await readFile(out, 'utf8')).checks, undefined);
    assert.doesNotMatch(await readFile(out, 'utf8'), /"checks"/);
  });

  it('compare: prints where two runs part, and --json agrees with the pure comparison', async () => {
    const { stdout } = await cli('compare', shortA, shortB);
    assert.match(stdout, /tokens: the streams first differ at position 11 \(A "7", B "6"\)/);
    assert.match(stdout, /routing: first divergence at token \d+ ".*", layer \d/);
    assert.match(stdout, /^ +1 +0\.\d{3} +\d+\/\d+ +0\.\d{3} +token \d+ /m);
    const json = JSON.parse((await cli('compare', shortA, shortB, '--json')).stdout) as { alignedTokens: number; firstTokenDifference: number; layers: { layer: number; meanJaccard: number; loadDifference: number[] }[] };
    const [a, b] = await Promise.all([shortA, shortB].map(async (p) => traceFromJson(await readFile(p, 'utf8'))));
    const pure = compareTraces(fromStore(a), fromStore(b));
    assert.equal(json.firstTokenDifference, 11);
    assert.equal(json.alignedTokens, pure.aligned.length);
    assert.deepEqual(json.layers.map((l) => l.layer), a.meta.model.moeLayers);
    json.layers.forEach((l, i) => {
      assert.equal(l.meanJaccard, pure.layers[i].meanJaccard);
      assert.equal(l.loadDifference.reduce((s, x) => s + x, 0), 0, 'every aligned token has k experts on both sides');
    });
    const self = await cli('compare', shortA, shortA);
    assert.match(self.stdout, /the token streams are identical/);
    assert.match(self.stdout, /every aligned token chose the same experts/);
    await assert.rejects(cli('compare', shortA), (e: { code: number; stderr: string }) => e.code === 2 && /compare takes two trace files/.test(e.stderr));
  });

  it('export --format perfetto writes valid trace-event JSON, timed or (without timings) by token index', async () => {
    const out = join(dir, 'a.perfetto.json');
    await cli('export', demo.path, '--format', 'perfetto', '--out', out);
    const doc = JSON.parse(await readFile(out, 'utf8')) as { traceEvents: { ph: string; name: string; tid: number; args?: Record<string, unknown> }[] };
    assert.deepEqual(traceEventProblems(doc), []);
    const store = traceFromJson(await readFile(demo.path, 'utf8'));
    const tokens = doc.traceEvents.filter((e) => e.ph === 'X' && e.tid === 2);
    assert.equal(tokens.length, store.tokenCount, 'one slice per token');
    assert.equal(doc.traceEvents.filter((e) => e.ph === 'X' && e.tid === 1).length, store.stepCount, 'one slice per model call');
    assert.equal(doc.traceEvents.filter((e) => e.ph === 'C').length, store.stepCount + 1);
    assert.ok(doc.traceEvents.some((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'reasoning steps'));
    const steps = doc.traceEvents.filter((e) => e.tid === 3 && e.name.startsWith('step '));
    assert.equal(steps.length, 15);
    assert.equal(steps[12].args?.ok, false, 'the wrong step carries its verdict');
    assert.match(String((tokens[60].args?.routing as Record<string, string>)['layer 1']), /^e\d+ \d\.\d{3}, e\d+ \d\.\d{3}/);
    // the same trace with no timings: one millisecond per token
    const untimed = JSON.parse(await readFile(demo.path, 'utf8')) as { steps: { runMs: number[] } };
    untimed.steps.runMs = untimed.steps.runMs.map(() => 0);
    const untimedPath = join(dir, 'untimed.moetrace.json');
    await writeFile(untimedPath, JSON.stringify(untimed));
    await cli('export', untimedPath, '--format', 'perfetto', '--out', out);
    const doc2 = JSON.parse(await readFile(out, 'utf8')) as { traceEvents: { ph: string; tid: number; ts: number; dur: number }[] };
    assert.deepEqual(traceEventProblems(doc2), []);
    const t2 = doc2.traceEvents.filter((e) => e.ph === 'X' && e.tid === 2);
    assert.deepEqual([t2[5].ts, t2[5].dur], [5000, 1000]);
  });

  it('export --format html escapes hostile token text and model names', async () => {
    const root = JSON.parse(await readFile(shortA, 'utf8')) as { tokens: { texts: string[] }; meta: { model: { name: string } } };
    const hostile = '</span><script>alert(1)</script><img src=x onerror="alert(2)">\'&amp;';
    root.tokens.texts[3] = hostile;
    root.meta.model.name = '<b onmouseover=alert(3)>m</b>';
    const path = join(dir, 'hostile.moetrace.json');
    await writeFile(path, JSON.stringify(root));
    const out = join(dir, 'hostile.html');
    await cli('export', path, '--format', 'html', '--out', out);
    const html = await readFile(out, 'utf8');
    assert.doesNotMatch(html, /<script|<img|<b /i);
    assert.ok(html.includes('&lt;/span&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&quot;alert(2)&quot;&gt;&#39;&amp;amp;'));
    assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; style-src &#39;nonce-[A-Za-z0-9+/=]{24}&#39;/);
    assert.doesNotMatch(html, /style="/, 'no inline style attributes: the CSP would block them');
    assert.doesNotMatch(html, /\s(src|href)=["']/, 'nothing is loaded from anywhere');
  });

  it('export --format csv, jsonl and json reuse the trace writers; bad arguments exit 2', async () => {
    const csv = join(dir, 'a.csv');
    const { stdout } = await cli('export', shortA, '--format', 'csv', '--out', csv);
    assert.match(stdout, /csv: .*a\.csv\ncsv: .*a\.tokens\.csv/);
    const store = traceFromJson(await readFile(shortA, 'utf8'));
    const routing = (await readFile(csv, 'utf8')).trim().split('\n');
    assert.equal(routing.length, 1 + store.tokenCount * store.meta.model.moeLayers.length * store.meta.model.expertsPerToken);
    // a newline token's quoted text spans two lines: count rows by their start
    assert.equal((await readFile(join(dir, 'a.tokens.csv'), 'utf8')).match(/^\d+,\d+,(prompt|reasoning|answer),"/gm)?.length, store.tokenCount);
    const json = join(dir, 'copy.moetrace.json');
    await cli('export', shortA, '--format', 'json', '--out', json);
    assert.equal(await readFile(json, 'utf8'), await readFile(shortA, 'utf8'));
    await assert.rejects(cli('export', shortA, '--format', 'pdf', '--out', json), (e: { code: number; stderr: string }) => e.code === 2 && /--format must be one of perfetto, html, csv, jsonl, json, got "pdf"/.test(e.stderr));
    await writeFile(json, '{"format":"moe-lens-trace","version":1}');
    await assert.rejects(cli('export', json, '--format', 'html', '--out', csv), (e: { code: number; stderr: string }) => e.code === 2 && /^error: Invalid MoE Lens trace at meta: is missing/.test(e.stderr));
  });
});
