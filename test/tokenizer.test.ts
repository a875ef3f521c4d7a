import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { type ModelFolder, formatPrompt, readModelFolder } from '../extension/engine/modelDir';
import { type HeldoutProgram, PROGRAM_SETS, readHeldout } from '../extension/eval/heldout';
import { BUNDLED } from './helpers';

describe('tokenizer (tokenizers.js reading tokenizer.json)', () => {
  let folder: ModelFolder;
  let heldout: HeldoutProgram[];
  before(async () => {
    folder = await readModelFolder(BUNDLED);
    heldout = await readHeldout(BUNDLED);
  });

  it('encodes every held-out prompt exactly as the Python tokenizer that trained the model', () => {
    for (const h of heldout) assert.deepEqual(folder.tokenizer.encode(formatPrompt(folder, h.program)).ids, h.prompt_ids);
  });

  it('encodes the fresh test set the same way, and none of its programs is a held-out one', async () => {
    const test = await readHeldout(BUNDLED, PROGRAM_SETS.test);
    assert.equal(test.length, 600);
    const seen = new Set(heldout.map((h) => h.program));
    for (const t of test) {
      assert.ok(!seen.has(t.program), `test program also held out: ${JSON.stringify(t.program)}`);
      assert.deepEqual(folder.tokenizer.encode(formatPrompt(folder, t.program)).ids, t.prompt_ids);
    }
  });

  it('maps each token back to the source text it came from', () => {
    for (const h of heldout.slice(0, 50)) {
      const text = formatPrompt(folder, h.program);
      const { ids, offsets } = folder.tokenizer.encode(text);
      assert.equal(offsets[0][0], 0);
      assert.equal(offsets.at(-1)![1], text.length);
      for (let i = 0; i < ids.length; i++) {
        assert.equal(text.slice(...offsets[i]), folder.tokenizer.decode([ids[i]]), `token ${i}`);
        if (i > 0) assert.equal(offsets[i][0], offsets[i - 1][1], 'spans tile the text');
      }
    }
  });

  it('keeps offsets in UTF-16 units for text outside ASCII', () => {
    const text = 'x = 1  # naïve → 😀\nprint(x)';
    const { offsets } = folder.tokenizer.encode(text);
    assert.equal(offsets.at(-1)![1], text.length);
    const covered = offsets.map(([s, e]) => text.slice(s, e)).join('');
    assert.equal(covered, text);
  });
});
