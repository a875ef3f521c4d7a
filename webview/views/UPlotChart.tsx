/** A uPlot chart that follows its container's width; rebuilt when `optionsKey` changes, else fed new data. */
import { useEffect, useLayoutEffect, useRef } from 'react';
import uPlot from 'uplot';

export function UPlotChart(p: { optionsKey: string; options: (width: number) => uPlot.Options; data: uPlot.AlignedData; label: string; testId?: string }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const latest = useRef(p);
  useLayoutEffect(() => {
    latest.current = p;
  });

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const width = Math.max(200, el.clientWidth);
    plot.current = new uPlot(latest.current.options(width), latest.current.data, el);
    const observer = new ResizeObserver(() => {
      const w = Math.max(200, el.clientWidth);
      if (plot.current && Math.abs(plot.current.width - w) > 1) plot.current.setSize({ width: w, height: plot.current.height });
    });
    observer.observe(el);
    return () => {
      observer.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [p.optionsKey]);

  useEffect(() => {
    plot.current?.setData(p.data);
  }, [p.data]);

  return <div ref={host} className="chart" role="img" aria-label={p.label} data-testid={p.testId} />;
}
