import { Tokenizer } from '@huggingface/tokenizers';

/** [start, end) in UTF-16 code units of the encoded text. */
export type Span = readonly [number, number];

export interface EncodedText {
  ids: number[];
  /** Source span of each token; special tokens span their literal text. */
  offsets: Span[];
}

/** GPT-2's byte ↔ printable-character table that byte-level BPE vocabularies are written in. */
function byteLevelDecoder(): Map<string, number> {
  const bytes: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bytes.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bytes.push(b);
  for (let b = 0xae; b <= 0xff; b++) bytes.push(b);
  const chars = [...bytes];
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    if (!bytes.includes(b)) {
      bytes.push(b);
      chars.push(256 + extra++);
    }
  }
  return new Map(bytes.map((b, i) => [String.fromCodePoint(chars[i]), b]));
}

const BYTE_OF = byteLevelDecoder();
const utf8 = new TextEncoder();
// ignoreBOM: a token that spells U+FEFF keeps it (by default a decoder drops it at the start of each call)
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Wraps the maintained tokenizers.js library; adds source offsets, which it does not report. */
/** Bytes of one code point in UTF-8 (a lone surrogate is encoded as U+FFFD: 3, as TextEncoder does). */
function utf8Length(codePoint: number): number {
  return codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
}

export class TextTokenizer {
  private readonly specialIds: Set<number>;
  private readonly byteLevel: boolean;

  constructor(
    private readonly tokenizer: Tokenizer,
    tokenizerJson: Record<string, unknown>,
  ) {
    this.specialIds = new Set([...tokenizer.get_added_tokens_decoder().keys()]);
    this.byteLevel = JSON.stringify(tokenizerJson.pre_tokenizer ?? {}).includes('"ByteLevel"');
  }

  static fromJson(tokenizerJson: Record<string, unknown>, tokenizerConfig: Record<string, unknown>): TextTokenizer {
    return new TextTokenizer(new Tokenizer(tokenizerJson, tokenizerConfig), tokenizerJson);
  }

  get vocabSize(): number {
    return Math.max(...this.tokenizer.get_vocab(true).values()) + 1;
  }

  tokenId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  encode(text: string): EncodedText {
    const { ids, tokens } = this.tokenizer.encode(text, { add_special_tokens: false });
    return { ids, offsets: this.byteLevel ? this.byteOffsets(text, ids, tokens) : this.prefixOffsets(text, ids) };
  }

  decode(ids: readonly number[], skipSpecial = false): string {
    return this.tokenizer.decode([...ids], { skip_special_tokens: skipSpecial });
  }

  private readonly bytesOf = new Map<number, Uint8Array>();

  /** The UTF-8 bytes a token stands for (its literal text for special tokens); remembered per id (one lookup per generated token). */
  tokenBytes(id: number): Uint8Array {
    let bytes = this.bytesOf.get(id);
    if (!bytes) {
      bytes = this.computeBytes(id);
      this.bytesOf.set(id, bytes);
    }
    return bytes;
  }

  private readonly wholeText = new Map<number, string | null>();

  /**
   * A token's text when its bytes are whole UTF-8 characters on their own (null when they begin or end
   * inside a character); remembered per id.
   */
  tokenText(id: number): string | null {
    let text = this.wholeText.get(id);
    if (text === undefined) {
      try {
        text = strictUtf8.decode(this.tokenBytes(id));
      } catch {
        text = null;
      }
      this.wholeText.set(id, text);
    }
    return text;
  }

  private computeBytes(id: number): Uint8Array {
    const token = this.tokenizer.id_to_token(id) ?? '';
    if (!this.byteLevel || this.specialIds.has(id)) return utf8.encode(token);
    const out: number[] = [];
    for (const ch of token) out.push(BYTE_OF.get(ch) ?? 0x3f);
    return Uint8Array.from(out);
  }

  private byteOffsets(text: string, ids: number[], tokens: string[]): Span[] {
    // byte index → UTF-16 index of the character that byte belongs to
    const charAt: number[] = [];
    let unit = 0;
    for (const ch of text) {
      const n = utf8Length(ch.codePointAt(0) as number);
      for (let k = 0; k < n; k++) charAt.push(unit);
      unit += ch.length;
    }
    charAt.push(text.length);
    let byte = 0;
    return ids.map((id, i) => {
      const n = this.specialIds.has(id) ? utf8.encode(tokens[i]).length : this.tokenBytes(id).length;
      const start = charAt[Math.min(byte, charAt.length - 1)];
      byte += n;
      return [start, charAt[Math.min(byte, charAt.length - 1)]] as const;
    });
  }

  /** Any other tokenizer: offsets from the decoded length of each prefix. */
  private prefixOffsets(text: string, ids: number[]): Span[] {
    let prev = 0;
    return ids.map((_, i) => {
      const end = Math.min(text.length, this.decode(ids.slice(0, i + 1)).length);
      const span = [prev, Math.max(prev, end)] as const;
      prev = span[1];
      return span;
    });
  }
}

/**
 * The text of generated tokens as they stream. A token's bytes may end inside a UTF-8 character that the
 * next token finishes: those bytes wait in a streaming decoder. A token that is whole characters on its
 * own, with nothing waiting, takes its text from the tokenizer's table instead (most tokens: no decoder
 * call in the decode loop). Special tokens are their literal text and leave waiting bytes waiting.
 */
export class TokenTextStream {
  /** Made at the first token that is not whole characters on its own (most runs have none). */
  private decoder: InstanceType<typeof TextDecoder> | undefined;
  /** The bytes the decoder holds: the start of a character not finished yet (at most 3). */
  private held: number[] = [];

  constructor(private readonly tokenizer: Pick<TextTokenizer, 'isSpecial' | 'decode' | 'tokenBytes' | 'tokenText'>) {}

  next(id: number): string {
    if (this.tokenizer.isSpecial(id)) return this.tokenizer.decode([id]);
    if (this.held.length === 0) {
      const whole = this.tokenizer.tokenText(id);
      if (whole !== null) return whole;
    }
    const bytes = this.tokenizer.tokenBytes(id);
    this.held = heldBytes([...this.held, ...bytes]);
    this.decoder ??= new TextDecoder('utf-8', { ignoreBOM: true });
    return this.decoder.decode(bytes, { stream: true });
  }
}

/**
 * What a streaming UTF-8 decoder (the WHATWG algorithm TextDecoder follows) keeps waiting after `bytes`:
 * the last character's start when it is valid so far but short of its length. Only C2–F4 start a
 * character, and a byte after them must be in the range its position allows.
 */
export function heldBytes(bytes: readonly number[]): number[] {
  for (let start = bytes.length - 1; start >= Math.max(0, bytes.length - 3); start--) {
    const lead = bytes[start];
    if (lead >= 0x80 && lead <= 0xbf) continue; // a continuation: look further back for the lead
    const need = lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
    const tail = bytes.slice(start);
    if (need === 0 || tail.length >= need) return [];
    for (let i = 1; i < tail.length; i++) {
      const [lo, hi] = i === 1 ? secondByteRange(lead) : [0x80, 0xbf];
      if (tail[i] < lo || tail[i] > hi) return [];
    }
    return tail;
  }
  return [];
}

function secondByteRange(lead: number): [number, number] {
  if (lead === 0xe0) return [0xa0, 0xbf];
  if (lead === 0xed) return [0x80, 0x9f];
  if (lead === 0xf0) return [0x90, 0xbf];
  if (lead === 0xf4) return [0x80, 0x8f];
  return [0x80, 0xbf];
}
