/**
 * Expert colours: greedy farthest-point picks from a grid of in-gamut OKLCH colours (mid lightness,
 * clearly chromatic), so every new expert gets the colour farthest from all earlier ones and 64+
 * experts stay distinguishable. Given the background they sit on, only colours with at least 3:1
 * contrast against it are candidates (WCAG's minimum for graphics), so light, dark and high-contrast
 * themes each get a legible palette. Each comes with the text colour (black or white) that reads best
 * on it. Pure: no DOM.
 */

export interface ExpertColor {
  background: string;
  /** '#000000' or '#ffffff', whichever contrasts more with `background`. */
  foreground: string;
}

const toHex = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 255).toString(16).padStart(2, '0');

function gammaEncode(x: number): number {
  return x <= 0.0031308 ? 12.92 * x : 1.055 * x ** (1 / 2.4) - 0.055;
}

function gammaDecode(x: number): number {
  return x <= 0.04045 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
}

/** OKLab → linear sRGB (Björn Ottosson's matrices). */
function oklabToLinear(L: number, a: number, b: number): [number, number, number] {
  const l = (L + 0.3963377774 * a + 0.2158037573 * b) ** 3;
  const m = (L - 0.1055613458 * a - 0.0638541728 * b) ** 3;
  const s = (L - 0.0894841775 * a - 1.291485548 * b) ** 3;
  return [
    4.0767416621 * l - 3.3077115913 * m + 0.2309699292 * s,
    -1.2684380046 * l + 2.6097574011 * m - 0.3413193965 * s,
    -0.0041960863 * l - 0.7034186147 * m + 1.707614701 * s,
  ];
}

/** sRGB hex → OKLab, for distance checks. */
export function hexToOklab(hex: string): [number, number, number] {
  const [r, g, b] = [1, 3, 5].map((i) => gammaDecode(parseInt(hex.slice(i, i + 2), 16) / 255));
  const l = Math.cbrt(0.4122214708 * r + 0.5363325363 * g + 0.0514459929 * b);
  const m = Math.cbrt(0.2119034982 * r + 0.6806995451 * g + 0.1073969566 * b);
  const s = Math.cbrt(0.0883024619 * r + 0.2817188376 * g + 0.6299787005 * b);
  return [
    0.2104542553 * l + 0.793617785 * m - 0.0040720468 * s,
    1.9779984951 * l - 2.428592205 * m + 0.4505937099 * s,
    0.0259040371 * l + 0.7827717662 * m - 0.808675766 * s,
  ];
}

/** OKLCH → hex, reducing chroma until the colour is inside sRGB. */
function oklchToHex(L: number, C: number, hueDeg: number): string {
  const h = (hueDeg * Math.PI) / 180;
  for (let c = C; c >= 0; c -= 0.005) {
    const rgb = oklabToLinear(L, c * Math.cos(h), c * Math.sin(h));
    if (rgb.every((v) => v >= -1e-4 && v <= 1 + 1e-4)) return `#${rgb.map((v) => toHex(gammaEncode(Math.min(1, Math.max(0, v))))).join('')}`;
  }
  const grey = toHex(gammaEncode(L ** 3));
  return `#${grey}${grey}${grey}`;
}

export function relativeLuminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => gammaDecode(parseInt(hex.slice(i, i + 2), 16) / 255));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

export function contrastRatio(a: string, b: string): number {
  const [x, y] = [relativeLuminance(a), relativeLuminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

let candidates: { hex: string; lab: [number, number, number] }[] | undefined;

function candidateColors() {
  if (candidates) return candidates;
  const seen = new Set<string>();
  candidates = [];
  for (const L of [0.4, 0.45, 0.5, 0.58, 0.66, 0.74, 0.82])
    for (const C of [0.09, 0.13, 0.17])
      for (let hue = 0; hue < 360; hue += 7.5) {
        const hex = oklchToHex(L, C, hue);
        if (seen.has(hex)) continue;
        seen.add(hex);
        const lab = hexToOklab(hex);
        if (Math.hypot(lab[1], lab[2]) < 0.07) continue; // chroma clipped away: too grey
        candidates.push({ hex, lab });
      }
  return candidates;
}

const distance = (a: [number, number, number], b: [number, number, number]) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);

/** The minimum contrast an expert colour keeps against the background it sits on. */
export const MIN_CONTRAST = 3;

interface Sequence {
  pool: { hex: string; lab: [number, number, number] }[];
  picked: { hex: string; lab: [number, number, number] }[];
  nearest: number[];
}
const sequences = new Map<string, Sequence>();

/** Extends the memoised greedy sequence for `background` to `n` colours. */
function pick(n: number, background: string | undefined): Sequence['picked'] {
  const key = background ?? '';
  let seq = sequences.get(key);
  if (!seq) {
    // without a background: the mid-lightness colours that read on light and dark alike
    const pool = candidateColors().filter((c) => (background ? contrastRatio(c.hex, background) >= MIN_CONTRAST : c.lab[0] >= 0.5));
    seq = { pool, picked: [], nearest: [] };
    sequences.set(key, seq);
  }
  const { pool, picked } = seq;
  if (picked.length === 0 && pool.length > 0) {
    picked.push(pool.reduce((best, c) => (distance(c.lab, [0.62, 0.2, 0.1]) < distance(best.lab, [0.62, 0.2, 0.1]) ? c : best)));
    seq.nearest = pool.map((c) => distance(c.lab, picked[0].lab));
  }
  while (picked.length < n && pool.length > 0) {
    let best = 0;
    for (let i = 1; i < pool.length; i++) if (seq.nearest[i] > seq.nearest[best]) best = i;
    const next = pool[best];
    picked.push(next);
    for (let i = 0; i < pool.length; i++) seq.nearest[i] = Math.min(seq.nearest[i], distance(pool[i].lab, next.lab));
  }
  return picked;
}

/**
 * Colours for `n` experts, index = expert id, each with at least 3:1 contrast against `background`
 * (a `#rrggbb` colour) when one is given. The first k colours are the same for every n ≥ k.
 */
export function expertPalette(n: number, background?: string): ExpertColor[] {
  const bg = background && /^#[0-9a-f]{6}$/i.test(background) ? background.toLowerCase() : undefined;
  return pick(n, bg).slice(0, n).map(({ hex }) => ({
    background: hex,
    foreground: contrastRatio(hex, '#000000') >= contrastRatio(hex, '#ffffff') ? '#000000' : '#ffffff',
  }));
}
