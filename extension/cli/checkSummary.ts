import { describeMismatch, type TraceChecks } from '../trace/checks';
import { bold, printable } from './terminal';

/** Lines of the check verdict for the run summary: right or wrong, and where a wrong run first went wrong. */
export function checkLines(checks: TraceChecks): string[] {
  const r = checks.program.result;
  const oneLine = (s: string) => printable(s.split('\n').join(' '));
  const lines: string[] = [];
  const steps = `${r.writtenStepCount} steps written, the program runs ${r.expectedStepCount}`;
  if (r.correct) {
    lines.push(`  check: right: every reasoning step matches the program's run (${steps}), and the answer ${JSON.stringify(oneLine(r.answer.written))} is what it prints`);
    return lines;
  }
  lines.push(`  check: wrong (${steps})`);
  const m = r.firstMismatch;
  if (m) {
    lines.push(`    first wrong step: ${printable(describeMismatch(m))}`);
    if (m.kind !== 'missing') lines.push(`      written:  ${printable(m.written)}`);
    if (m.kind !== 'extra') lines.push(`      expected: ${printable(m.expected)}`);
  } else {
    lines.push('    every reasoning step matches the program\'s run');
  }
  lines.push(r.answer.ok
    ? `    answer: ${JSON.stringify(oneLine(r.answer.written))}, right`
    : `    answer: ${JSON.stringify(oneLine(r.answer.written))} where the program prints ${JSON.stringify(oneLine(r.answer.expected))}`);
  return lines;
}

export function printCheck(checks: TraceChecks): void {
  const [head, ...rest] = checkLines(checks);
  console.log(bold(head));
  for (const l of rest) console.log(l);
}
