/** Theme colours for canvas charts, read from VS Code's CSS variables (canvas cannot use var()). */
import { useEffect, useState } from 'react';

export interface ChartTheme {
  foreground: string;
  grid: string;
  reasoning: string;
  answer: string;
  prompt: string;
  mha: string;
  font: string;
}

function read(): ChartTheme {
  const style = getComputedStyle(document.body);
  const v = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  return {
    foreground: v('--vscode-foreground', '#888888'),
    grid: v('--vscode-editorWidget-border', v('--vscode-panel-border', '#80808040')),
    reasoning: v('--vscode-charts-purple', '#b180d7'),
    answer: v('--vscode-charts-green', '#89d185'),
    prompt: v('--vscode-charts-blue', '#75beff'),
    mha: v('--vscode-charts-red', '#f14c4c'),
    font: `${v('--vscode-font-size', '12px')} ${v('--vscode-font-family', 'sans-serif')}`,
  };
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
