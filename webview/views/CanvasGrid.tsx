/**
 * A rows × columns grid drawn on one canvas: thousands of cells (60 layers × 256 experts) cost one draw,
 * not one DOM node each. Cell colour is `color` at the cell's intensity (0..1); marked cells get a dot.
 * Hovering reports the cell; the canvas carries a text summary for screen readers.
 */
import { useEffect, useRef, useState } from 'react';

export interface GridProps {
  rows: number;
  cols: number;
  /** Intensity of a cell in [0, 1]. */
  intensity(row: number, col: number): number;
  marked?(row: number, col: number): boolean;
  rowLabel(row: number): string;
  colLabel(col: number): string;
  /** CSS colour of full intensity. */
  color: string;
  foreground: string;
  label: string;
  /** Text for the cell under the pointer. */
  describe(row: number, col: number): string;
  testId?: string;
}

const LABEL_W = 44;
const LABEL_H = 16;

export function CanvasGrid(p: GridProps) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [width, setWidth] = useState(600);
  const [hover, setHover] = useState<{ row: number; col: number; x: number; y: number } | null>(null);
  const cell = Math.max(2, Math.min(22, Math.floor((width - LABEL_W) / Math.max(1, p.cols))));
  const height = LABEL_H + cell * p.rows;

  useEffect(() => {
    const el = canvas.current?.parentElement;
    if (!el) return;
    const observer = new ResizeObserver(() => setWidth(el.clientWidth));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  useEffect(() => {
    const c = canvas.current;
    const ctx = c?.getContext('2d');
    if (!c || !ctx) return;
    const dpr = window.devicePixelRatio || 1;
    c.width = Math.round((LABEL_W + cell * p.cols) * dpr);
    c.height = Math.round(height * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, c.width, c.height);
    ctx.fillStyle = p.color;
    for (let r = 0; r < p.rows; r++) {
      for (let col = 0; col < p.cols; col++) {
        const v = p.intensity(r, col);
        if (!(v > 0)) continue;
        ctx.globalAlpha = Math.min(1, v);
        ctx.fillRect(LABEL_W + col * cell, LABEL_H + r * cell, cell - (cell > 4 ? 1 : 0), cell - (cell > 4 ? 1 : 0));
      }
    }
    ctx.globalAlpha = 1;
    ctx.fillStyle = p.foreground;
    if (p.marked) {
      const radius = Math.max(1, cell / 5);
      for (let r = 0; r < p.rows; r++) {
        for (let col = 0; col < p.cols; col++) {
          if (!p.marked(r, col)) continue;
          ctx.beginPath();
          ctx.arc(LABEL_W + col * cell + cell / 2, LABEL_H + r * cell + cell / 2, radius, 0, 2 * Math.PI);
          ctx.fill();
        }
      }
    }
    ctx.font = '10px sans-serif';
    ctx.textBaseline = 'middle';
    const rowEvery = Math.ceil(12 / cell);
    for (let r = 0; r < p.rows; r += rowEvery) ctx.fillText(p.rowLabel(r), 2, LABEL_H + r * cell + cell / 2);
    const colEvery = Math.ceil(24 / cell);
    ctx.textBaseline = 'top';
    for (let col = 0; col < p.cols; col += colEvery) ctx.fillText(p.colLabel(col), LABEL_W + col * cell, 2);
  });

  return (
    <div className="canvas-grid">
      <canvas ref={canvas} role="img" aria-label={p.label} data-testid={p.testId} data-rows={p.rows} data-cols={p.cols}
        style={{ width: LABEL_W + cell * p.cols, height }}
        onMouseMove={(e) => {
          const rect = e.currentTarget.getBoundingClientRect();
          const col = Math.floor((e.clientX - rect.left - LABEL_W) / cell);
          const row = Math.floor((e.clientY - rect.top - LABEL_H) / cell);
          setHover(row >= 0 && row < p.rows && col >= 0 && col < p.cols ? { row, col, x: e.clientX, y: e.clientY } : null);
        }}
        onMouseLeave={() => setHover(null)} />
      {hover && <div className="hover-card" role="tooltip" style={{ left: Math.min(hover.x + 12, window.innerWidth - 260), top: hover.y + 14 }}>{p.describe(hover.row, hover.col)}</div>}
    </div>
  );
}
