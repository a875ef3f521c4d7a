/** Theme colours for canvas charts, read from VS Code's CSS variables (canvas cannot use var()). */
import { useEffect, useState } from 'react';

export interface ChartTheme {
  /** The panel's background as #rrggbb (expert colours keep 3:1 contrast against it), '' when unknown. */
  background: string;
  foreground: string;
  grid: string;
  reasoning: string;
  answer: string;
  prompt: string;
  mha: string;
  /** Heatmap colour at full intensity. */
  heat: string;
  font: string;
}

function read(): ChartTheme {
  const style = getComputedStyle(document.body);
  const v = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  return {
    background: toHex(v('--vscode-editor-background', '')),
    foreground: v('--vscode-foreground', '#888888'),
    grid: v('--vscode-editorWidget-border', v('--vscode-panel-border', '#80808040')),
    reasoning: v('--vscode-charts-purple', '#b180d7'),
    answer: v('--vscode-charts-green', '#89d185'),
    prompt: v('--vscode-charts-blue', '#75beff'),
    mha: v('--vscode-charts-red', '#f14c4c'),
    heat: v('--vscode-charts-blue', '#3794ff'),
    font: `${v('--vscode-font-size', '12px')} ${v('--vscode-font-family', 'sans-serif')}`,
  };
}

/** `#rgb`, `#rrggbb`, `#rrggbbaa` or `rgb(r, g, b)` → `#rrggbb`; '' for anything else. */
function toHex(css: string): string {
  const s = css.trim().toLowerCase();
  if (/^#[0-9a-f]{6}([0-9a-f]{2})?$/.test(s)) return s.slice(0, 7);
  if (/^#[0-9a-f]{3}$/.test(s)) return `#${[...s.slice(1)].map((c) => c + c).join('')}`;
  const m = /^rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(s);
  return m ? `#${[m[1], m[2], m[3]].map((x) => Number(x).toString(16).padStart(2, '0')).join('')}` : '';
}

/** The chart theme, re-read when VS Code switches theme (it changes body's class and html's style). */
export function useChartTheme(): ChartTheme {
  const [theme, setTheme] = useState(read);
  useEffect(() => {
    const observer = new MutationObserver(() => setTheme(read()));
    observer.observe(document.body, { attributes: true, attributeFilter: ['class'] });
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
    return () => observer.disconnect();
  }, []);
  return theme;
}

export const themeKey = (t: ChartTheme) => Object.values(t).join('|');
