/** Grouped bars for uPlot: series `index` of `count` side by side within each x slot. */
import type uPlot from 'uplot';

export function barPaths(index: number, count: number, group = 0.8): uPlot.Series.PathBuilder {
  return (u, seriesIdx, idx0, idx1) => {
    const xs = u.data[0];
    const ys = u.data[seriesIdx];
    const fill = new Path2D();
    const slot = Math.abs(u.valToPos(1, 'x', true) - u.valToPos(0, 'x', true));
    const barW = (slot * group) / count;
    const y0 = u.valToPos(0, 'y', true);
    for (let i = idx0; i <= idx1; i++) {
      const y = ys[i];
      if (y == null) continue;
      const cx = u.valToPos(xs[i], 'x', true);
      const left = cx - (slot * group) / 2 + index * barW;
      const top = u.valToPos(y, 'y', true);
      fill.rect(Math.round(left), Math.round(top), Math.max(1, Math.round(barW) - 1), Math.round(y0 - top));
    }
    return { stroke: fill, fill, clip: undefined, flags: 0 } as unknown as uPlot.Series.Paths;
  };
}
