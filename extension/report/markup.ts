/**
 * Markup helpers for the HTML report. Trace text is untrusted: everything that reaches the page goes
 * through `esc` (element text and quoted attribute values alike). No inline style attributes: the
 * report's CSP allows only its own nonce'd <style> element, so colours come from classes and SVG
 * presentation attributes.
 */

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function esc(text: string): string {
  return String(text).replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/** A token as shown in the stream: control characters and bidi overrides as visible escapes, newlines kept. */
export function visible(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export const fixed = (x: number, digits = 2): string => (Number.isFinite(x) ? x.toFixed(digits) : '–');

/** A table: `head` cells and rows of already-escaped cell markup. */
export function table(head: readonly string[], rows: readonly (readonly string[])[], className = ''): string {
  const th = head.map((h) => `<th>${esc(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n');
  return `<table${className ? ` class="${esc(className)}"` : ''}><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** A heat level 0–9 for a value in [0, 1], for the `h0`…`h9` classes. */
export const heat = (x: number): number => (Number.isFinite(x) ? Math.max(0, Math.min(9, Math.round(x * 9))) : 0);

/** Diverging colour for log2(lift): blue below 1, white at 1, red above; grey for no evidence. */
export function liftColour(lift: number): string {
  if (!Number.isFinite(lift)) return '#e8e8e8';
  if (lift === 0) return '#3b6fb6';
  const x = Math.max(-1, Math.min(1, Math.log2(lift) / 2));
  const mix = (a: number, b: number) => Math.round(a + (b - a) * Math.abs(x)).toString(16).padStart(2, '0');
  return x >= 0 ? `#${mix(255, 200)}${mix(255, 40)}${mix(255, 40)}` : `#${mix(255, 59)}${mix(255, 111)}${mix(255, 182)}`;
}

/** An E × E matrix as a small SVG heatmap; `title(i, j)` is each cell's tooltip. */
export function matrixSvg(size: number, order: ArrayLike<number>, colour: (i: number, j: number) => string, title: (i: number, j: number) => string, label: string): string {
  const cell = Math.max(6, Math.min(18, Math.floor(288 / Math.max(1, size))));
  const pad = 22;
  const side = pad + cell * size;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${side}" height="${side}" viewBox="0 0 ${side} ${side}" role="img" aria-label="${esc(label)}">`];
  for (let a = 0; a < size; a++) {
    const i = order[a];
    parts.push(`<text x="${pad - 3}" y="${pad + a * cell + cell * 0.75}" text-anchor="end" font-size="8">${i}</text>`);
    parts.push(`<text x="${pad + a * cell + cell / 2}" y="${pad - 4}" text-anchor="middle" font-size="8">${i}</text>`);
    for (let b = 0; b < size; b++) {
      const j = order[b];
      parts.push(`<rect x="${pad + b * cell}" y="${pad + a * cell}" width="${cell - 1}" height="${cell - 1}" fill="${colour(i, j)}"><title>${esc(title(i, j))}</title></rect>`);
    }
  }
  parts.push('</svg>');
  return parts.join('');
}

export interface Series {
  name: string;
  colour: string;
  dashed?: boolean;
  points: readonly [number, number][];
}

/** A line chart of one or more series over a shared x axis, with the axes' extremes labelled. */
export function lineChartSvg(series: readonly Series[], xLabel: string, yLabel: (y: number) => string, label: string): string {
  const width = 640;
  const height = 220;
  const left = 70;
  const bottom = 30;
  const all = series.flatMap((s) => s.points);
  const maxX = Math.max(1, ...all.map((p) => p[0]));
  const maxY = Math.max(1, ...all.map((p) => p[1]));
  const px = (x: number) => (left + (x / maxX) * (width - left - 10)).toFixed(1);
  const py = (y: number) => (height - bottom - (y / maxY) * (height - bottom - 10)).toFixed(1);
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(label)}">`,
    `<line x1="${left}" y1="${height - bottom}" x2="${width - 10}" y2="${height - bottom}" stroke="#888"/>`,
    `<line x1="${left}" y1="10" x2="${left}" y2="${height - bottom}" stroke="#888"/>`,
    `<text x="${left - 4}" y="14" text-anchor="end" font-size="10">${esc(yLabel(maxY))}</text>`,
    `<text x="${left - 4}" y="${height - bottom}" text-anchor="end" font-size="10">0</text>`,
    `<text x="${width - 10}" y="${height - 8}" text-anchor="end" font-size="10">${esc(`${maxX} ${xLabel}`)}</text>`];
  series.forEach((s, i) => {
    const d = s.points.map((p) => `${px(p[0])},${py(p[1])}`).join(' ');
    parts.push(`<polyline class="series" points="${d}" fill="none" stroke="${s.colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 4"' : ''}><title>${esc(s.name)}</title></polyline>`);
    parts.push(`<text x="${left + 10}" y="${24 + i * 14}" font-size="11" fill="${s.colour}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}
