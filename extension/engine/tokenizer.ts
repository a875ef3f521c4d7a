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

/** Wraps the maintained tokenizers.js library; adds source offsets, which it does not report. */
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
      const n = utf8.encode(ch).length;
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
