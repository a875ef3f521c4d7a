/**
 * Token text made visible and inert for display: control, bidi and invisible characters become
 * escapes you can read (so a U+202E cannot reorder the panel), newlines and tabs become symbols, and
 * very long tokens are cut with the remaining length said. The result is rendered as a React text
 * node, never as markup.
 */

// C0 (but \n and \t, shown as symbols), DEL, C1, bidi marks/embeddings/overrides/isolates,
// zero-width and other invisible formatting characters, line/paragraph separators, BOM.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const INVISIBLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u061c\u115f\u1160\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g;

export const MAX_TOKEN_CHARS = 160;

export function escapeInvisible(text: string): string {
  return text.replace(INVISIBLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()}`);
}

/** What a token shows: escapes for invisible characters, ↵ and → for newline and tab, cut at `max`. */
export function visibleToken(text: string, max = MAX_TOKEN_CHARS): string {
  const cut = text.length > max ? text.slice(0, max) : text;
  const shown = escapeInvisible(cut).replace(/\n/g, '↵').replace(/\t/g, '→');
  return text.length > max ? `${shown}… (+${text.length - max} chars)` : shown;
}

/** A one-line quoted form for titles and hovers. */
export function quotedToken(text: string, max = 80): string {
  return `“${visibleToken(text, max)}”`;
}
