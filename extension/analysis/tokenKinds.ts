/** Coarse kinds of token text, for asking which experts take digits, names, operators or layout. */
export const TOKEN_KINDS = ['special', 'newline', 'whitespace', 'number', 'identifier', 'operator', 'other'] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

const SPECIAL = /^<[|｜]?\/?[^<>\s|｜]+[|｜]?>$/u; // <think>, </think>, <|end|>, <｜begin▁of▁sentence｜>
const BLANK = /^\s+$/u;
const NUMBER = /^\s*\d+(?:\.\d+)?\s*$/u;
const IDENTIFIER = /^\s*[\p{L}_][\p{L}\p{N}_]*\s*$/u;
const OPERATOR = /^\s*[\p{P}\p{S}]+\s*$/u;

/**
 * The kind of one token's text. Leading or trailing spaces do not change it (` total` is an
 * identifier); a word piece counts as an identifier; anything mixed (`L3:`) or empty is `other`.
 */
export function tokenKind(text: string): TokenKind {
  if (text === '') return 'other';
  if (SPECIAL.test(text)) return 'special';
  if (BLANK.test(text)) return text.includes('\n') ? 'newline' : 'whitespace';
  if (NUMBER.test(text)) return 'number';
  if (IDENTIFIER.test(text)) return 'identifier';
  if (OPERATOR.test(text)) return 'operator';
  return 'other';
}

/** TOKEN_KINDS index of the kind of each of `tokens` (indices into `texts`). */
export function tokenKindIndices(texts: readonly string[], tokens: Int32Array): Uint8Array {
  const byText = new Map<string, number>();
  const kinds = new Uint8Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) {
    const text = texts[tokens[i]] ?? '';
    let kind = byText.get(text);
    if (kind === undefined) {
      kind = TOKEN_KINDS.indexOf(tokenKind(text));
      byText.set(text, kind);
    }
    kinds[i] = kind;
  }
  return kinds;
}
