import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import { type ModelFolder, formatPrompt, readModelFolder } from '../extension/engine/modelDir';
import { TokenTextStream, heldBytes } from '../extension/engine/tokenizer';
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

describe('generated token text (TokenTextStream)', () => {
  // byte-level vocabularies split characters across tokens: chunks of UTF-8 text cut anywhere, and stray bytes
  const chunk = fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 4 }),
    fc.tuple(fc.string({ unit: 'binary', minLength: 1, maxLength: 4 }), fc.nat(), fc.nat()).map(([s, a, b]) => {
      const bytes = new TextEncoder().encode(s);
      const from = a % bytes.length;
      return bytes.slice(from, from + 1 + (b % (bytes.length - from)));
    }),
  );

  it('gives exactly what one streaming TextDecoder gives over the same tokens', () => {
    fc.assert(fc.property(fc.array(chunk, { minLength: 1, maxLength: 40 }), fc.array(fc.boolean(), { maxLength: 40 }), (chunks, special) => {
      const whole = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
      const tokens = {
        isSpecial: (id: number) => special[id] === true,
        decode: (ids: readonly number[]) => `<special ${ids[0]}>`,
        tokenBytes: (id: number) => chunks[id],
        tokenText: (id: number) => {
          try {
            return whole.decode(chunks[id]);
          } catch {
            return null;
          }
        },
      };
      const stream = new TokenTextStream(tokens);
      const reference = new TextDecoder('utf-8', { ignoreBOM: true });
      chunks.forEach((bytes, id) => {
        const want = tokens.isSpecial(id) ? tokens.decode([id]) : reference.decode(bytes, { stream: true });
        assert.equal(stream.next(id), want, `token ${id} of ${JSON.stringify(chunks.map((c) => [...c]))}`);
      });
    }), { seed: 20261207, numRuns: 3000 });
  });

  it('takes whole tokens of the bundled model from its table', async () => {
    const { tokenizer } = await readModelFolder(BUNDLED);
    for (let id = 0; id < tokenizer.vocabSize; id++) {
      if (tokenizer.isSpecial(id)) continue;
      // a token that is not whole characters on its own decodes with replacement characters, and has no table entry
      const lenient = new TextDecoder('utf-8', { ignoreBOM: true }).decode(tokenizer.tokenBytes(id));
      assert.equal(tokenizer.tokenText(id), lenient.includes('\ufffd') ? null : lenient, `token ${id}`);
    }
  });

  it('knows which bytes a streaming decoder keeps waiting', () => {
    assert.deepEqual(heldBytes([0xe2, 0x82]), [0xe2, 0x82]); // € cut after two bytes
    assert.deepEqual(heldBytes([0xe2, 0x82, 0xac]), []);
    assert.deepEqual(heldBytes([0x41, 0xf0, 0x9f, 0x98]), [0xf0, 0x9f, 0x98]);
    assert.deepEqual(heldBytes([0xe0, 0x80]), []); // not a valid second byte after E0: an error, nothing waits
    assert.deepEqual(heldBytes([0xc0]), []); // never starts a character
    assert.deepEqual(heldBytes([0xe2, 0x41, 0x82]), []);
  });
});
