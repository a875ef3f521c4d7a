import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatPrompt, textRange } from '../extension/engine/modelDir';
import { documentSpan, promptSource } from '../extension/vscode/sourceSpans';

describe('prompt spans back to the document', () => {
  const template = '<|begin|><|user|>\n{program}\n<|assistant|>\n';
  const program = 'n = 7\nprint(n)';
  const folder = { prompt: { kind: 'template' as const, template } };
  const prompt = formatPrompt(folder, program);
  const source = promptSource(textRange(folder, program), 100);

  it('places the program after the template prefix', () => {
    assert.deepEqual(source, { promptStart: '<|begin|><|user|>\n'.length, length: program.length, documentStart: 100 });
    assert.equal(prompt.slice(source!.promptStart, source!.promptStart + program.length), program);
  });

  it('maps a token inside the program to its document offsets', () => {
    const at = prompt.indexOf('print');
    assert.deepEqual(documentSpan([at, at + 5], source!), [100 + program.indexOf('print'), 100 + program.indexOf('print') + 5]);
  });

  it('drops template tokens and clips tokens that straddle the program edges', () => {
    assert.equal(documentSpan([0, 9], source!), undefined); // <|begin|>
    const end = source!.promptStart + program.length;
    assert.equal(documentSpan([end, end + 1], source!), undefined); // the newline after the program
    assert.deepEqual(documentSpan([source!.promptStart - 1, source!.promptStart + 1], source!), [100, 101]);
    assert.deepEqual(documentSpan([end - 1, end + 1], source!), [100 + program.length - 1, 100 + program.length]);
  });

  it('has no mapping when the prompt does not hold the selection', () => {
    assert.equal(promptSource(undefined, 0), undefined);
  });
});

describe('the prompt format keeps the program exactly', () => {
  it('inserts text with $&, $\', $` and $$ as written (String.replace would expand them and shift every span)', () => {
    const template = '<|begin|><|user|>\n{program}\n<|assistant|>\n';
    const program = "s = '$&'\nt = \"$'$`$$\"\nprint(s)";
    const folder = { prompt: { kind: 'template' as const, template } };
    const prompt = formatPrompt(folder, program);
    const source = promptSource(textRange(folder, program), 0);
    assert.ok(source);
    assert.equal(prompt, `<|begin|><|user|>\n${program}\n<|assistant|>\n`);
    assert.equal(prompt.slice(source.promptStart, source.promptStart + program.length), program);
    const at = prompt.indexOf('print');
    assert.deepEqual(documentSpan([at, at + 5], source), [program.indexOf('print'), program.indexOf('print') + 5]);
  });
});
