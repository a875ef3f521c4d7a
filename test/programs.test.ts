import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { checkReasoning, type ReasoningCheck } from '../extension/programs/check';
import { MAX_STEPS, runProgram } from '../extension/programs/interpreter';

/**
 * The repository root: MOE_LENS_ROOT, else the nearest folder above this bundle (dist/test/ in the
 * project, anywhere when bundled elsewhere) or above the working directory that holds the held-out set.
 */
function repositoryRoot(): string {
  if (process.env.MOE_LENS_ROOT) return process.env.MOE_LENS_ROOT;
  for (const start of [__dirname, process.cwd()]) {
    for (let dir = start; ; dir = dirname(dir)) {
      if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'models', 'moe-lens-mini', 'heldout.jsonl'))) return dir;
      if (dirname(dir) === dir) break;
    }
  }
  throw new Error('cannot find the repository root: set MOE_LENS_ROOT');
}

const ROOT = repositoryRoot();
const LOOP = readFileSync(join(ROOT, 'media', 'samples', 'loop.py'), 'utf8');
const HELDOUT = readFileSync(join(ROOT, 'models', 'moe-lens-mini', 'heldout.jsonl'), 'utf8').split('\n').filter((l) => l.trim())
  .map((l) => JSON.parse(l) as { program: string; think: string; answer: string });

/** loop.py's true run, as training/programs.py's `execute` writes it. */
const LOOP_STEPS = [
  'L1: total = 0 ; total=0',
  'L2: n = 7 ; n=7',
  'L3: for i in range(3): ; i=0',
  'L4: total += n ; total=0 n=7 ; 0 + 7 = 7 ; total=7',
  'L5: if total > 12: ; total=7 ; 7 > 12 = False',
  'L3: for i in range(3): ; i=1',
  'L4: total += n ; total=7 n=7 ; 7 + 7 = 14 ; total=14',
  'L5: if total > 12: ; total=14 ; 14 > 12 = True',
  'L6: n = n - 2 ; n=7 ; 7 - 2 = 5 ; n=5',
  'L3: for i in range(3): ; i=2',
  'L4: total += n ; total=14 n=5 ; 14 + 5 = 19 ; total=19',
  'L5: if total > 12: ; total=19 ; 19 > 12 = True',
  'L6: n = n - 2 ; n=5 ; 5 - 2 = 3 ; n=3',
  'L7: print(total) ; total=19',
  'L8: print(n) ; n=3',
];

function refusalOf(source: string) {
  const run = runProgram(source);
  assert.ok(!run.ok, `${JSON.stringify(source)} ran`);
  return run.refusal;
}

function checked(program: string, reasoning: string, answer: string): ReasoningCheck {
  const result = checkReasoning(program, reasoning, answer);
  assert.ok(result.checkable);
  return result;
}

describe('program interpreter', () => {
  it('reproduces the reasoning and answer of all held-out programs', () => {
    assert.equal(HELDOUT.length, 600);
    for (const [i, p] of HELDOUT.entries()) {
      const run = runProgram(p.program);
      assert.ok(run.ok, `program ${i + 1}: ${run.ok ? '' : run.refusal.message}`);
      assert.equal(run.steps.join('\n'), p.think, `program ${i + 1} steps`);
      assert.equal(run.printed.join('\n'), p.answer, `program ${i + 1} answer`);
    }
  });

  it('runs media/samples/loop.py', () => {
    assert.deepEqual(runProgram(LOOP), { ok: true, steps: LOOP_STEPS, printed: ['19', '3'] });
  });

  it('writes every kind of step as training/programs.py does', () => {
    const program = ['a = -3', 'b = a', 'b -= 11', 'b *= 2', 'c = b % 5', 'if 4 != a:', '    print(7)', 'else:', '    c = 1', 'for j in range(2):',
      '    for i in range(1):', '        a = a * i', 'print(a)'].join('\n');
    assert.deepEqual(runProgram(program), {
      ok: false,
      // -3 - 11 = -14, -14 * 2 = -28, then -28 % 5: the language takes % only of a value ≥ 0
      refusal: { kind: 'out-of-range', line: 5, message: 'L5: -28 % 5: the language divides only a value ≥ 0 by a value > 0' },
      steps: ['L1: a = -3 ; a=-3', 'L2: b = a ; a=-3 ; b=-3', 'L3: b -= 11 ; b=-3 ; -3 - 11 = -14 ; b=-14', 'L4: b *= 2 ; b=-14 ; -14 * 2 = -28 ; b=-28'],
    });
    const fixed = program.replace('c = b % 5', 'c = a * a');
    assert.deepEqual(runProgram(fixed), {
      ok: true,
      steps: [
        'L1: a = -3 ; a=-3', 'L2: b = a ; a=-3 ; b=-3', 'L3: b -= 11 ; b=-3 ; -3 - 11 = -14 ; b=-14', 'L4: b *= 2 ; b=-14 ; -14 * 2 = -28 ; b=-28',
        'L5: c = a * a ; a=-3 ; -3 * -3 = 9 ; c=9', // a name read twice is listed once
        'L6: if 4 != a: ; a=-3 ; 4 != -3 = True', 'L7: print(7)', // a literal reads nothing
        'L10: for j in range(2): ; j=0', 'L11: for i in range(1): ; i=0', 'L12: a = a * i ; a=-3 i=0 ; -3 * 0 = 0 ; a=0',
        'L10: for j in range(2): ; j=1', 'L11: for i in range(1): ; i=0', 'L12: a = a * i ; a=0 i=0 ; 0 * 0 = 0 ; a=0',
        'L13: print(a) ; a=0',
      ],
      printed: ['7', '0'],
    });
  });

  it('refuses text that is not a program of the language, at its first offending line', () => {
    const english = refusalOf('Run this loop three times and tell me what it prints.\nThanks!');
    assert.deepEqual([english.kind, english.line], ['not-a-program', 1]);
    const javascript = refusalOf('function add(a, b) {\n  return a + b;\n}\n');
    assert.equal(javascript.kind, 'not-a-program');
    assert.equal(javascript.line, 1);
    assert.match(javascript.message, /line 1 is not a program of this language/);
    const cases: [string, number][] = [
      ['x = 1\ny = x + 2\nconst z = 3;', 3],
      ['x = 1\n\ny = 2', 2], // a blank line inside
      ['x = 1\n  y = 2', 2], // two-space indentation
      ['x = 1\n    y = 2', 2], // indented under no block
      ['if x < 1:\ny = 2', 2], // an unindented body
      ['x = 1\nelse:\n    y = 2', 2], // else with no if
      ['for i in range(2):', 1], // a block with no body
      ['x = 1\nx //= 2', 2], // not one of the augmented assignments
      ['x = 1\ny = x ** 2', 2],
      ['x = 1\nif x < 2 :\n    y = 1', 2],
      ['True = 1', 1], // a keyword is no name
      ['', 1],
      ['x = 1\tprint(x)', 1],
    ];
    for (const [text, line] of cases) {
      const refusal = refusalOf(text);
      assert.deepEqual([refusal.kind, refusal.line], ['not-a-program', line], JSON.stringify(text));
    }
    assert.equal(runProgram('x = 1  \r\nprint(x)\n\n\n').ok, true, 'trailing spaces and blank lines are ignored');
  });

  it('refuses what training/programs.py rejects: undefined names, values out of range, too many steps', () => {
    assert.deepEqual(refusalOf('x = 1\nif x > 0:\n    y = 2\nelse:\n    z = 3\nprint(z)'), {
      kind: 'undefined-name', line: 6, name: 'z', message: 'L6: `z` is read before it has a value',
    });
    assert.equal(refusalOf('x = 13\ny = x * 13').kind, 'out-of-range'); // both factors above 12
    assert.equal(runProgram('x = 13\ny = x * 12').ok, true);
    assert.equal(refusalOf('x = 999\nx += 1').kind, 'out-of-range');
    assert.equal(runProgram('x = 999\nx -= 1998\nprint(x)').ok, true); // -999 is in range
    assert.equal(refusalOf('x = 5\ny = x // 0').kind, 'out-of-range');
    assert.equal(refusalOf('x = -5\ny = x // 2').kind, 'out-of-range');
    // for + one assignment per turn: 20 turns are exactly 40 steps; one print more is 41
    const loop = 'for i in range(20):\n    x = i';
    const forty = runProgram(loop);
    assert.ok(forty.ok && forty.steps.length === MAX_STEPS);
    const refusal = refusalOf(`${loop}\nprint(x)`);
    assert.deepEqual([refusal.kind, refusal.line], ['too-many-steps', 3]);
    assert.equal(refusalOf('for i in range(999999999):\n    if i < 0:\n        x = 1').kind, 'too-many-steps');
  });

  it('never throws, whatever the text', () => {
    const pieces = fc.constantFrom('x', 'y', ' = ', ' += ', ' // ', ' < ', '1', '-', '13', 'if ', 'else', 'for i in range(', ')', '(', ':', '\n', '    ', 'print', '\t', ' ', 'é');
    fc.assert(fc.property(fc.oneof(fc.string(), fc.array(pieces, { maxLength: 40 }).map((p) => p.join(''))), (text) => {
      const run = runProgram(text);
      assert.ok(run.ok || run.refusal.message.length > 0);
    }), { numRuns: 2000 });
  });
});

describe('reasoning checker', () => {
  const think = (steps: readonly string[]) => `\n${steps.join('\n')}\n`;

  it('finds every held-out reasoning and answer right', () => {
    for (const p of HELDOUT) {
      const c = checked(p.program, p.think, p.answer);
      assert.ok(c.correct && c.firstWrongStep === null && c.verdicts.every((v) => v.ok) && c.missing.length === 0, p.program);
    }
  });

  it('finds the stale read in the bundled model\'s loop.py reasoning', () => {
    // the model's 13th step read n=7 where n was 5, and it answered 19 5 where the program prints 19 3
    const written = [...LOOP_STEPS];
    written[12] = 'L6: n = n - 2 ; n=7 ; 7 - 2 = 5 ; n=5';
    const c = checked(LOOP, think(written), '19\n5');
    assert.equal(c.firstWrongStep, 12);
    assert.deepEqual(c.verdicts[12], {
      index: 12, line: 6, ok: false, written: written[12], expected: LOOP_STEPS[12], expectedIndex: 12,
      difference: { written: 'n=7', expected: 'n=5', name: 'n' },
    });
    assert.deepEqual(c.verdicts.filter((v) => !v.ok).map((v) => v.index), [12]);
    assert.deepEqual(c.firstMismatch, { kind: 'wrong', index: 12, written: written[12], expected: LOOP_STEPS[12], difference: { written: 'n=7', expected: 'n=5', name: 'n' } });
    assert.equal(c.stepCountDiffers, false);
    assert.deepEqual(c.answer, { ok: false, expected: '19\n3', written: '19\n5' });
    assert.equal(c.correct, false);

    written[14] = 'L8: print(n) ; n=5'; // carrying the wrong value on: still the first wrong step is the 13th
    const carried = checked(LOOP, think(written), '19\n5');
    assert.equal(carried.firstWrongStep, 12);
    assert.deepEqual(carried.verdicts[14].difference, { written: 'n=5', expected: 'n=3', name: 'n' });
  });

  it('reports a wrong comparison by its truth value', () => {
    const written = [...LOOP_STEPS];
    written[4] = 'L5: if total > 12: ; total=7 ; 7 > 12 = True';
    assert.deepEqual(checked(LOOP, think(written), '19\n3').verdicts[4].difference, { written: 'True', expected: 'False' });
  });

  it('reports a skipped step as missing before the step that follows it', () => {
    const written = LOOP_STEPS.filter((_, i) => i !== 4);
    const c = checked(LOOP, think(written), '19\n3');
    assert.deepEqual(c.missing, [{ expectedIndex: 4, expected: LOOP_STEPS[4], beforeWritten: 4 }]);
    assert.ok(c.verdicts.every((v) => v.ok), 'the steps around it still pair with theirs');
    assert.equal(c.firstWrongStep, 4);
    assert.deepEqual(c.firstMismatch, { kind: 'missing', index: 4, expected: LOOP_STEPS[4] });
    assert.deepEqual([c.expectedStepCount, c.writtenStepCount, c.stepCountDiffers], [15, 14, true]);
    assert.equal(c.answer.ok, true);
    assert.equal(c.correct, false);
  });

  it('reports a repeated or made-up step as extra', () => {
    const repeated = [...LOOP_STEPS.slice(0, 4), LOOP_STEPS[3], ...LOOP_STEPS.slice(4)];
    const c = checked(LOOP, think(repeated), '19\n3');
    assert.deepEqual(c.verdicts[4], { index: 4, line: 4, ok: false, written: LOOP_STEPS[3], expected: null, expectedIndex: null });
    assert.deepEqual(c.firstMismatch, { kind: 'extra', index: 4, written: LOOP_STEPS[3] });
    assert.equal(c.verdicts.filter((v) => !v.ok).length, 1);

    const chatter = checked(LOOP, think(['Let me trace this.', ...LOOP_STEPS]), '19\n3');
    assert.deepEqual([chatter.verdicts[0].line, chatter.verdicts[0].ok, chatter.firstWrongStep], [null, false, 0]);
  });

  it('reports reasoning that stops early, pointing past its last step', () => {
    const c = checked(LOOP, think(LOOP_STEPS.slice(0, 10)), '');
    assert.equal(c.firstWrongStep, 10);
    assert.deepEqual(c.missing.map((m) => [m.expectedIndex, m.beforeWritten]), [[10, 10], [11, 10], [12, 10], [13, 10], [14, 10]]);
    assert.deepEqual(c.answer, { ok: false, expected: '19\n3', written: '' });
  });

  it('reads the answer line by line, around blank lines and spaces', () => {
    assert.equal(checked(LOOP, think(LOOP_STEPS), '\n19 \n\n3\n').answer.ok, true);
    assert.equal(checked(LOOP, think(LOOP_STEPS), '19 3').answer.ok, false);
  });

  it('says why a text cannot be checked', () => {
    const result = checkReasoning('Please add two and two.', 'L1: x = 2', '4');
    assert.equal(result.checkable, false);
    assert.ok(!result.checkable && result.refusal.kind === 'not-a-program');
  });
});
