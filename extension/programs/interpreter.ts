/**
 * The bundled model's program language, parsed and run without eval: the TypeScript twin of
 * training/programs.py's `execute`, step for step and character for character.
 *
 * The language: one statement per line, 4 spaces per indentation level, no blank lines (trailing ones
 * and trailing spaces are ignored), names `[A-Za-z_][A-Za-z0-9_]*` that are not Python keywords,
 * integer literals `-?[0-9]+`, and exactly these statements, single-spaced:
 *   x = a            x = a OP b   (OP: + - * // %)      x OP= a   (OP=: += -= *= %=)
 *   if a CMP b:      else:        (CMP: < > <= >= == !=)
 *   for i in range(N):            print(a)
 */

export const MAX_STEPS = 40;
/** Every computed value stays within ±VALUE_LIMIT; a product's factors may not both exceed 12. */
export const VALUE_LIMIT = 999;
const FACTOR_LIMIT = 12;

/** Why a text cannot be run: the same programs training/programs.py rejects, with the reason. */
export type Refusal =
  | { kind: 'not-a-program'; line: number; text: string; message: string }
  | { kind: 'undefined-name'; line: number; name: string; message: string }
  | { kind: 'out-of-range'; line: number; message: string }
  | { kind: 'too-many-steps'; line: number; limit: number; message: string };

export type ProgramRun =
  | { ok: true; steps: string[]; printed: string[] }
  /** `steps`: those taken up to the refusal, a step past the limit included (none when the text did not parse). */
  | { ok: false; refusal: Refusal; steps: string[] };

type BinaryOperator = '+' | '-' | '*' | '//' | '%';
type Comparison = '<' | '>' | '<=' | '>=' | '==' | '!=';

export type Statement =
  | { kind: 'assign'; target: string; source: string }
  /** `x = a OP b`, and `x OP= a` as `x = x OP a`: the step text tells them apart through the line. */
  | { kind: 'compute'; target: string; left: string; op: BinaryOperator; right: string }
  | { kind: 'if'; left: string; op: Comparison; right: string }
  | { kind: 'else' }
  | { kind: 'for'; variable: string; count: number }
  | { kind: 'print'; operand: string };

export interface ProgramLine {
  /** 1-based, as steps write it (`L<n>:`). */
  number: number;
  indent: number;
  /** The line without its indentation: what steps quote. */
  text: string;
  statement: Statement;
}

const NAME = '[A-Za-z_][A-Za-z0-9_]*';
const OPERAND = `(?:${NAME}|-?[0-9]+)`;
const STATEMENTS: { pattern: RegExp; build: (m: RegExpExecArray) => Statement }[] = [
  { pattern: new RegExp(`^(${NAME}) = (${OPERAND})$`), build: (m) => ({ kind: 'assign', target: m[1], source: m[2] }) },
  { pattern: new RegExp(`^(${NAME}) = (${OPERAND}) (\\+|-|\\*|//|%) (${OPERAND})$`), build: (m) => ({ kind: 'compute', target: m[1], left: m[2], op: m[3] as BinaryOperator, right: m[4] }) },
  { pattern: new RegExp(`^(${NAME}) (\\+|-|\\*|%)= (${OPERAND})$`), build: (m) => ({ kind: 'compute', target: m[1], left: m[1], op: m[2] as BinaryOperator, right: m[3] }) },
  { pattern: new RegExp(`^if (${OPERAND}) (<=|>=|==|!=|<|>) (${OPERAND}):$`), build: (m) => ({ kind: 'if', left: m[1], op: m[2] as Comparison, right: m[3] }) },
  { pattern: /^else:$/, build: () => ({ kind: 'else' }) },
  { pattern: new RegExp(`^for (${NAME}) in range\\((-?[0-9]+)\\):$`), build: (m) => ({ kind: 'for', variable: m[1], count: Number(m[2]) }) },
  { pattern: new RegExp(`^print\\((${OPERAND})\\)$`), build: (m) => ({ kind: 'print', operand: m[1] }) },
];

const KEYWORDS = new Set(['False', 'None', 'True', 'and', 'as', 'assert', 'async', 'await', 'break', 'class', 'continue', 'def', 'del', 'elif', 'else',
  'except', 'finally', 'for', 'from', 'global', 'if', 'import', 'in', 'is', 'lambda', 'nonlocal', 'not', 'or', 'pass', 'raise', 'return', 'try', 'while', 'with', 'yield']);

const isLiteral = (operand: string): boolean => /^-?[0-9]/.test(operand);

function namesOf(s: Statement): string[] {
  switch (s.kind) {
    case 'assign': return [s.target, s.source];
    case 'compute': return [s.target, s.left, s.right];
    case 'if': return [s.left, s.right];
    case 'else': return [];
    case 'for': return [s.variable];
    case 'print': return [s.operand];
  }
}

function notAProgram(line: number, text: string, why: string): { ok: false; refusal: Refusal } {
  return { ok: false, refusal: { kind: 'not-a-program', line, text, message: `line ${line} is not a program of this language: ${why}` } };
}

/** Parses a program; anything outside the language comes back as `not-a-program` at its first offending line. */
export function parseProgram(source: string): { ok: true; lines: ProgramLine[] } | { ok: false; refusal: Refusal } {
  const raw = source.split('\n').map((l) => l.replace(/\s+$/, ''));
  while (raw.length > 0 && raw[raw.length - 1] === '') raw.pop();
  if (raw.length === 0) return notAProgram(1, '', 'the text is empty');
  const lines: ProgramLine[] = [];
  for (const [i, full] of raw.entries()) {
    const number = i + 1;
    const spaces = /^ */.exec(full)?.[0].length ?? 0;
    const text = full.slice(spaces);
    if (text === '') return notAProgram(number, full, 'a blank line (the language numbers its lines without gaps)');
    if (/^\s/.test(text) || spaces % 4 !== 0) return notAProgram(number, full, 'indentation is 4 spaces per level');
    const match = STATEMENTS.map(({ pattern, build }) => {
      const m = pattern.exec(text);
      return m && build(m);
    }).find((s) => s !== null);
    if (!match) return notAProgram(number, full, `\`${text}\` is none of: x = a, x = a OP b, x OP= a, if a CMP b:, else:, for i in range(N):, print(a)`);
    const keyword = namesOf(match).find((n) => !isLiteral(n) && KEYWORDS.has(n));
    if (keyword) return notAProgram(number, full, `\`${keyword}\` is a keyword, not a name`);
    if (match.kind === 'for' && !Number.isSafeInteger(match.count)) return notAProgram(number, full, 'the loop count is too large');
    const literal = namesOf(match).find((n) => isLiteral(n) && !Number.isSafeInteger(Number(n)));
    if (literal) return notAProgram(number, full, `${literal} is too large a number`);
    const indent = spaces / 4;
    const previous = lines[lines.length - 1];
    const opensBlock = previous && (previous.statement.kind === 'if' || previous.statement.kind === 'else' || previous.statement.kind === 'for');
    if (!previous && indent !== 0) return notAProgram(number, full, 'the first line is indented');
    if (opensBlock && indent !== previous.indent + 1) return notAProgram(number, full, `expected a body indented one level under line ${previous.number}`);
    if (previous && !opensBlock && indent > previous.indent) return notAProgram(number, full, 'indented with no if, else or for above it');
    if (match.kind === 'else') {
      let owner: ProgramLine | undefined;
      for (let j = lines.length - 1; j >= 0 && !owner; j--) if (lines[j].indent <= indent) owner = lines[j];
      if (!owner || owner.indent !== indent || owner.statement.kind !== 'if') return notAProgram(number, full, '`else:` follows no if body');
    }
    lines.push({ number, indent, text, statement: match });
  }
  const last = lines[lines.length - 1];
  if (last.statement.kind === 'if' || last.statement.kind === 'else' || last.statement.kind === 'for') {
    return notAProgram(last.number, raw[last.number - 1], 'the program ends before this block has a body');
  }
  return { ok: true, lines };
}

/** Thrown inside execute only; runProgram turns it into a result. */
class Refused extends Error {
  constructor(readonly refusal: Refusal) {
    super(refusal.message);
  }
}

/** Runs parsed lines exactly as training/programs.py's `execute` does. */
export function executeProgram(lines: readonly ProgramLine[], maxSteps = MAX_STEPS): ProgramRun {
  const env = new Map<string, number>();
  const steps: string[] = [];
  const printed: string[] = [];

  const value = (operand: string, line: ProgramLine): number => {
    if (isLiteral(operand)) return Number(operand);
    const v = env.get(operand);
    if (v === undefined) throw new Refused({ kind: 'undefined-name', line: line.number, name: operand, message: `L${line.number}: \`${operand}\` is read before it has a value` });
    return v;
  };
  /** `a=5 b=3`: each variable the line reads, in order, once. */
  const reads = (operands: string[], line: ProgramLine): string => {
    const names = [...new Set(operands.filter((o) => !isLiteral(o)))];
    return names.map((n) => `${n}=${value(n, line)}`).join(' ');
  };
  const step = (line: ProgramLine, ...parts: string[]): void => {
    steps.push([`L${line.number}: ${line.text}`, ...parts.filter((p) => p !== '')].join(' ; '));
    if (steps.length > maxSteps) {
      throw new Refused({ kind: 'too-many-steps', line: line.number, limit: maxSteps, message: `the program runs more than ${maxSteps} steps` });
    }
  };
  const compute = (op: BinaryOperator, u: number, w: number, line: ProgramLine): number => {
    const outOfRange = (why: string) => new Refused({ kind: 'out-of-range', line: line.number, message: `L${line.number}: ${u} ${op} ${w}: ${why}` });
    let r: number;
    if (op === '+') r = u + w;
    else if (op === '-') r = u - w;
    else if (op === '*') {
      if (Math.min(Math.abs(u), Math.abs(w)) > FACTOR_LIMIT) throw outOfRange(`both factors are above ${FACTOR_LIMIT}`);
      r = u * w;
    } else {
      if (u < 0 || w <= 0) throw outOfRange('the language divides only a value ≥ 0 by a value > 0');
      r = op === '//' ? Math.floor(u / w) : u % w;
    }
    if (Math.abs(r) > VALUE_LIMIT) throw outOfRange(`the result ${r} is outside ±${VALUE_LIMIT}`);
    return r === 0 ? 0 : r; // no -0
  };

  /** Lines [start, end) of one block; a compound statement's body is the deeper lines after it. */
  const runBlock = (start: number, end: number): void => {
    let i = start;
    while (i < end) {
      const line = lines[i];
      const s = line.statement;
      let bodyEnd = i + 1;
      while (bodyEnd < end && lines[bodyEnd].indent > line.indent) bodyEnd++;
      if (s.kind === 'if') {
        const u = value(s.left, line);
        const w = value(s.right, line);
        const holds = compare(s.op, u, w);
        step(line, reads([s.left, s.right], line), `${u} ${s.op} ${w} = ${holds ? 'True' : 'False'}`);
        const hasElse = bodyEnd < end && lines[bodyEnd].statement.kind === 'else' && lines[bodyEnd].indent === line.indent;
        let elseEnd = bodyEnd + 1;
        if (hasElse) while (elseEnd < end && lines[elseEnd].indent > line.indent) elseEnd++;
        if (holds) runBlock(i + 1, bodyEnd);
        else if (hasElse) runBlock(bodyEnd + 1, elseEnd);
        i = hasElse ? elseEnd : bodyEnd;
        continue;
      }
      if (s.kind === 'for') {
        for (let v = 0; v < s.count; v++) {
          env.set(s.variable, v);
          step(line, `${s.variable}=${v}`);
          runBlock(i + 1, bodyEnd);
        }
        i = bodyEnd;
        continue;
      }
      if (s.kind === 'print') {
        printed.push(String(value(s.operand, line)));
        step(line, reads([s.operand], line));
      } else if (s.kind === 'assign') {
        const v = value(s.source, line);
        step(line, reads([s.source], line), `${s.target}=${v}`);
        env.set(s.target, v);
      } else if (s.kind === 'compute') {
        const u = value(s.left, line);
        const w = value(s.right, line);
        const v = compute(s.op, u, w, line);
        step(line, reads([s.left, s.right], line), `${u} ${s.op} ${w} = ${v}`, `${s.target}=${v}`);
        env.set(s.target, v);
      }
      i++;
    }
  };

  try {
    runBlock(0, lines.length);
  } catch (e) {
    if (e instanceof Refused) return { ok: false, refusal: e.refusal, steps };
    throw e;
  }
  return { ok: true, steps, printed };
}

/** Parses and runs a program text. Never throws for any input text. */
export function runProgram(source: string, maxSteps = MAX_STEPS): ProgramRun {
  const parsed = parseProgram(source);
  return parsed.ok ? executeProgram(parsed.lines, maxSteps) : { ok: false, refusal: parsed.refusal, steps: [] };
}

function compare(op: Comparison, u: number, w: number): boolean {
  switch (op) {
    case '<': return u < w;
    case '>': return u > w;
    case '<=': return u <= w;
    case '>=': return u >= w;
    case '==': return u === w;
    case '!=': return u !== w;
  }
}
