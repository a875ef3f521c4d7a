/** ANSI colouring for the terminal: one colour per expert, readable on dark and light backgrounds. */

const useColor = process.stdout.isTTY === true && !('NO_COLOR' in process.env);

/** 24 hues of the 256-colour cube that stay legible on both dark and light terminals. */
const PALETTE = [196, 34, 27, 208, 129, 37, 166, 64, 161, 31, 136, 93, 202, 28, 57, 172, 125, 30, 99, 130, 162, 70, 63, 94];

export function expertColor(expert: number, text: string): string {
  if (!useColor) return text;
  const code = PALETTE[expert % PALETTE.length];
  // experts beyond the palette's length repeat a hue, underlined per wrap, so 48 stay distinct
  const underline = Math.floor(expert / PALETTE.length) % 2 === 1 ? '\x1b[4m' : '';
  return `\x1b[38;5;${code}m${underline}${text}\x1b[0m`;
}

export function dim(text: string): string {
  return useColor ? `\x1b[2m${text}\x1b[0m` : text;
}

export function bold(text: string): string {
  return useColor ? `\x1b[1m${text}\x1b[0m` : text;
}

/** Control characters and bidi overrides from model output must not drive the terminal. */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

